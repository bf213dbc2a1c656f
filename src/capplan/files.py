"""Writing files the way a user's own tools would: atomically, with the mode the umask gives.

A reader never sees half a file: the text goes to a temporary file beside the target, which
is then renamed over it. :func:`tempfile.mkstemp` creates that file readable by its owner
only (0600); it is given the mode a plain ``open()`` would have given it (``0666`` less the
umask: 0644 under umask 022), so Prometheus, Grafana or a web server running as another
user can read what capplan wrote.

:func:`write_files` writes several files as one: every file is written to its temporary
first, and only once all of them are written are they renamed into place; if a rename fails,
those already renamed are put back as they were. Either every file is new or none is.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["file_mode", "umask", "write_atomic", "write_files"]


def umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux:
    ``/proc/self/status``), else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0666 less the umask."""
    return 0o666 & ~umask()


def _temporary(target: Path, text: str, mode: int) -> str:
    """``text`` in a new temporary file beside ``target``, with ``mode``; its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (its folder created) atomically, with the umask's mode.
    Raises :class:`OSError`; nothing is left behind on failure."""
    write_files({Path(path): text})


def write_files(files: Mapping[Path, str]) -> None:
    """Write every file of ``files`` (path → text), all or none, each atomically and with
    the umask's mode. Raises :class:`OSError` with the target's name in ``filename``;
    then no file has changed and no temporary file is left."""
    mode = file_mode()
    staged: list[tuple[Path, str]] = []
    try:
        for path, text in files.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                staged.append((path, _temporary(path, text, mode)))
            except OSError as exc:
                exc.filename = str(path)
                raise
        _rename_all(staged)
    finally:
        for _, tmp in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _rename_all(staged: list[tuple[Path, str]]) -> None:
    """Rename each temporary over its target; on a failure, put back what was replaced."""
    done: list[tuple[Path, bool, str | None]] = []  # target, existed, link to its old version
    try:
        for path, tmp in staged:
            existed, backup = path.exists(), None
            if existed:
                backup = f"{tmp}.old"
                try:
                    os.link(path, backup)
                except OSError:
                    backup = None  # no hard links here: the old version cannot be put back
            try:
                os.replace(tmp, path)
            except OSError as exc:
                if backup is not None:
                    os.unlink(backup)
                exc.filename = str(path)
                raise
            done.append((path, existed, backup))
    except OSError:
        for path, existed, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                elif not existed:
                    path.unlink()
        raise
    finally:
        for _, _, backup in done:
            if backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(backup)
