"""Where CLI output goes: the terminal (Rich), or a file written atomically."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from capplan.errors import UsageError

__all__ = [
    "console",
    "emit",
    "err_console",
    "forecast_progress",
    "monte_carlo_progress",
    "progress_bar",
    "write_text",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
PROGRESS_MIN_PATHS = 20_000
PROGRESS_MIN_SERIES = 2_048  # a few seconds of forecasting


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new, never half."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--output {target} is a directory; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def render_text(renderable: RenderableType, width: int = 160) -> str:
    """A Rich renderable as plain text (for ``--output`` of tables)."""
    recorder = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    recorder.print(renderable)
    return recorder.export_text()


def emit(content: str | RenderableType, output: Path | None) -> None:
    """Print to the terminal, or write to ``output`` (tables as plain text)."""
    if output is not None:
        text = content if isinstance(content, str) else render_text(content)
        write_text(output, text)
        err_console.print(f"Wrote {output}")
    elif isinstance(content, str):
        sys.stdout.write(content)
    else:
        wide_console(content).print(content)


def wide_console(renderable: RenderableType, limit: int = 400) -> Console:
    """The terminal console, or a wider one when a table would otherwise be squashed:
    figures are worth a wrapped line, never an ellipsis."""
    needed = Measurement.get(console, console.options.update(width=limit), renderable).maximum
    if needed <= console.width:
        return console
    return Console(width=min(needed, limit), highlight=False, file=console.file)


@contextlib.contextmanager
def progress_bar(
    what: str, unit: str, total: int, minimum: int
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for long work (``total`` at least ``minimum``), yielding
    the callback that reports how much is done; None for short work."""
    if total < minimum:
        yield None
        return
    columns = (
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(unit, total=total)
        yield lambda done: bar.update(task, completed=done)


def monte_carlo_progress(
    paths: int,
) -> contextlib.AbstractContextManager[Callable[[int], None] | None]:
    """A progress bar for long Monte Carlo runs."""
    return progress_bar("Monte Carlo", "paths", paths, PROGRESS_MIN_PATHS)


def forecast_progress(
    series: int,
) -> contextlib.AbstractContextManager[Callable[[int], None] | None]:
    """A progress bar for forecasts of many series."""
    return progress_bar("Forecasting", "series", series, PROGRESS_MIN_SERIES)
