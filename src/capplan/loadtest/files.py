"""Reading load-test result files and directories (the only I/O of the package)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from capplan.errors import DataError
from capplan.loadtest.runs import LoadRun, parse_run
from capplan.loadtest.steps import locust_steps

__all__ = ["read_runs"]

_SUFFIXES = (".json", ".yaml", ".yml", ".csv")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("does not exist", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot be read: {exc}", file=str(path)) from None


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and p.suffix.lower() in _SUFFIXES
                and not p.name.endswith(("_stats_history.csv", "_failures.csv", "_exceptions.csv"))
            )
            if not found:
                raise DataError(
                    "holds no load-test result (.json, .yaml, .yml or Locust *_stats.csv)",
                    file=str(path),
                )
            out += found
        else:
            out.append(path)
    return out


def read_runs(paths: Iterable[Path]) -> list[LoadRun]:
    """Every run in ``paths`` (files, or directories whose result files are read); a Locust
    ``X_stats.csv`` takes its user count from ``X_stats_history.csv`` beside it, or gives a
    run per step when that history holds several user counts (a stepped load shape)."""
    runs = []
    for path in _files(paths):
        text = _read(path)
        history = history_file = None
        if path.name.endswith("_stats.csv"):
            history_path = path.with_name(path.name[: -len(".csv")] + "_history.csv")
            if history_path.exists():
                history, history_file = _read(history_path), str(history_path)
        steps = locust_steps(history, history_file or "", str(path)) if history else None
        if steps:  # a stepped test: a run per user count it held
            parse_run(text, str(path), history, history_file or "")  # the stats file is valid
            runs += steps
            continue
        runs.append(parse_run(text, str(path), history, history_file or ""))
    return runs
