"""Where CLI output goes: the terminal (Rich), or a file written atomically."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from capplan.errors import UsageError
from capplan.files import write_atomic

__all__ = [
    "FittingTable",
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
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new, never
    half), with the mode the umask gives a new file (0644 under umask 022)."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--output {target} is a directory; give a file name")
    try:
        write_atomic(target, text)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


class FittingTable(Table):
    """A table that names the columns a narrow terminal may leave out, least important
    first (by heading); the rest are wrapped, never cut."""

    def __init__(self, *args: Any, drop_order: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drop_order = list(drop_order)


_UNLIMITED = 100_000


def _tables(renderable: RenderableType) -> Iterator[Table]:
    if isinstance(renderable, Table):
        yield renderable
    elif isinstance(renderable, Group):
        for part in renderable.renderables:
            yield from _tables(part)


def _width(console_: Console, renderable: RenderableType) -> int:
    """The width ``renderable`` takes when nothing is wrapped."""
    options = console_.options.update(width=_UNLIMITED)
    return Measurement.get(console_, options, renderable).maximum


def fit(renderable: RenderableType, width: int, on: Console | None = None) -> None:
    """Make the tables in ``renderable`` fit ``width`` columns: leave out the columns a
    :class:`FittingTable` names, least important first, until it fits (saying which in its
    caption), then let Rich wrap what is left. A cell is folded onto a second line, never
    cut with an ellipsis."""
    on = on or console
    for table in _tables(renderable):
        for column in table.columns:
            column.overflow = "fold"
        if not isinstance(table, FittingTable):
            continue
        hidden = []
        for heading in table.drop_order:
            if _width(on, table) <= width:
                break
            found = [c for c in table.columns if str(c.header) == heading]
            if found:
                table.columns.remove(found[0])
                hidden.append(heading)
        if hidden:
            table.caption = (
                f"Left out to fit {width} columns: {', '.join(hidden)}. "
                "Choose with --columns, or write the whole table with --output."
            )
            table.caption_justify = "left"


def render_text(renderable: RenderableType) -> str:
    """A Rich renderable as plain text as wide as it needs: every figure whole (for
    ``--output`` and for output to a pipe)."""
    with open(os.devnull, "w") as sink:
        width = max(_width(Console(file=sink), renderable), 20)
        recorder = Console(width=width, record=True, file=sink)
        recorder.print(renderable)
    return recorder.export_text()


def emit(content: str | RenderableType, output: Path | None) -> None:
    """Print to the terminal (tables fitted to its width), or write to ``output`` or a pipe
    (tables as plain text, as wide as they need)."""
    if output is not None:
        text = content if isinstance(content, str) else render_text(content)
        write_text(output, text)
        err_console.print(f"Wrote {output}")
    elif isinstance(content, str):
        sys.stdout.write(content)
    elif console.is_terminal:
        fit(content, console.width)
        console.print(content)
    else:
        sys.stdout.write(render_text(content))


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
