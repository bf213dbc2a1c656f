"""Load traces for ``capplan simulate``: one load series and the series of the policies'
metrics, regularized onto one step and aligned on the times they all cover.

A trace file (or the store) may hold several series. A series named after a metric key (``cpu``
and ``memory`` for an HPA's resource metrics, the plan metric of a pods, external or queue
metric; labels after the name are ignored) is that metric's trace; the load trace is the one
``--series`` names, else the only series left over (none when every series is a metric's).
Errors name the file: a negative value (with its line and column in a CSV file, and its
time), a gap (its time range) unless ``fill`` is ``hold`` (carry the last value over it).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capplan._types import Array
from capplan.cli.forecasting import load_history
from capplan.data import MetricFrame, to_panel
from capplan.errors import DataError, UsageError

__all__ = ["Traces", "load_trace", "load_traces"]

_VALUE_COLUMNS = ("value", "y", "val")
_SERIES_COLUMNS = ("series", "series_id", "unique_id", "id", "name", "metric", "metric_name")


@dataclass(frozen=True)
class Traces:
    """The load trace (None when every series is a metric's), the metrics' traces by key,
    the step, the first time, and the series names used (the load's first)."""

    load: Array | None
    series: dict[str, Array]
    step_seconds: int
    start: np.datetime64
    names: dict[str, str]


def _negative_cell(path: Path, series: str) -> tuple[int | None, str | None]:
    """Line and column of the first negative value of ``series`` in a CSV file (best effort:
    the metric readers keep no line numbers once a file is read)."""
    if not path.name.lower().endswith((".csv", ".tsv")):
        return None, None
    base = series.split("{", 1)[0]
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        sample = fh.readline()
        fh.seek(0)
        delimiter = max(",;\t|", key=sample.count)
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        lower = [h.lower() for h in header]
        if base in header:
            col, key = header.index(base), None
        else:
            col = next((lower.index(v) for v in _VALUE_COLUMNS if v in lower), -1)
            key = next((lower.index(s) for s in _SERIES_COLUMNS if s in lower), None)
        if col < 0:
            return None, None
        for row in reader:
            if len(row) <= col or (key is not None and row[key].strip() != base):
                continue
            try:
                value = float(row[col])
            except ValueError:
                continue
            if value < 0:
                return reader.line_num, header[col]
    return None, None


def _regular(
    frame: MetricFrame, path: Path | None, source: str, step: str, agg: str, fill: str | None
) -> tuple[Array, int, np.datetime64]:
    """One series regularized onto ``step``: (values, step seconds, first time)."""
    name = frame.names[0]
    negative = frame.values < 0
    if negative.any():
        i = int(np.argmax(negative))
        line, column = _negative_cell(path, name) if path else (None, None)
        raise DataError(
            f"demand must be >= 0, got {frame.values[i]:g} at {frame.timestamps[i]}Z",
            file=source,
            row=line,
            column=column,
            series=name,
        )
    panel = to_panel(frame, step, agg, counters="rate")
    values = panel.values[0].copy()
    stamps = panel.timestamps(0)
    empty = panel.counts[0] == 0
    if empty.any():
        if fill is None:
            first = int(np.argmax(empty))
            after = np.flatnonzero(~empty[first:])
            last = first + (int(after[0]) if after.size else len(empty) - first) - 1
            raise DataError(
                f"the trace has a gap: no data from {stamps[first]}Z to "
                f"{stamps[last] + np.timedelta64(panel.step_seconds, 's')}Z "
                f"({last - first + 1} steps of {panel.step_seconds}s; {int(empty.sum())} empty "
                "steps in all); fill gaps with --fill hold or use a longer --step",
                file=source,
                series=name,
            )
        idx = np.where(empty, 0, np.arange(len(values)))
        np.maximum.accumulate(idx, out=idx)
        values = values[idx]
    return values, panel.step_seconds, stamps[0]


def _check(fill: str | None, path: Path | None, store: Path | None) -> None:
    if fill not in (None, "hold"):
        raise UsageError(f"unknown --fill '{fill}'; available: hold")
    if (path is None) == (store is None):
        raise UsageError("give the load trace with --trace FILE or --store STORE (not both)")


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")


def load_trace(
    path: Path | None,
    series: str | None,
    step: str,
    agg: str,
    fill: str | None,
    store: Path | None = None,
) -> tuple[Array, int, np.datetime64, str]:
    """Demand per step of one series: (values, step seconds, first time, series id).

    The trace is read from ``path``, else from the metric ``store`` (``--series`` picks the
    series; several series without it are an error)."""
    _check(fill, path, store)
    frame: MetricFrame = load_history([path] if path else None, store, series, None)
    source = str(path or store)
    if frame.n_series == 0:
        raise UsageError(f"{source} holds no series")
    if frame.n_series != 1:
        raise UsageError(
            f"{source} holds {frame.n_series} series ({_shown(frame.names)}); choose one with "
            "--series"
        )
    values, step_s, start = _regular(frame, path, source, step, agg, fill)
    return values, step_s, start, frame.names[0]


def _named(names: Sequence[str], keys: Sequence[str], source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        found = [n for n in names if n == key or n.split("{", 1)[0] == key]
        if len(found) > 1:
            raise UsageError(
                f"{source} holds {len(found)} series of '{key}' ({_shown(found)}); keep one"
            )
        if found:
            out[key] = found[0]
    return out


def _only(frame: MetricFrame, name: str) -> MetricFrame:
    return frame.take(frame.codes == frame.names.index(name)).compact()


def load_traces(
    path: Path | None,
    series: str | None,
    step: str,
    agg: str,
    fill: str | None,
    store: Path | None,
    keys: Sequence[str],
) -> Traces:
    """The load trace and the traces of the metric ``keys``; see the module docstring."""
    _check(fill, path, store)
    frame: MetricFrame = load_history([path] if path else None, store, None, None)
    source = str(path or store)
    names = list(frame.names)
    if not names:
        raise UsageError(f"{source} holds no series")
    named = _named(names, keys, source)
    if series is not None:
        chosen = [n for n in names if n in frame.select(series).names]
        if len(chosen) != 1:
            found = f"{len(chosen)} series ({_shown(chosen)})" if chosen else "no series"
            raise UsageError(f"--series {series} matches {found} of {source}; name one")
        load: str | None = chosen[0]
    elif len(names) == 1 and not named:
        load = names[0]
    else:
        left = [n for n in names if n not in named.values()]
        if len(left) > 1:
            raise UsageError(
                f"{source} holds {len(names)} series ({_shown(names)}); choose one with "
                "--series as the load trace (series named cpu, memory or after a policy's "
                "metric are that metric's traces)"
            )
        load = left[0] if left else None
    wanted = ([load] if load else []) + [n for n in named.values() if n != load]
    regular = {n: _regular(_only(frame, n), path, source, step, agg, fill) for n in wanted}
    step_s = next(iter(regular.values()))[1]
    firsts = {n: r[2] for n, r in regular.items()}
    begin = max(firsts.values())
    end = min(firsts[n] + np.timedelta64(step_s * (len(r[0]) - 1), "s") for n, r in regular.items())
    if end < begin:
        raise DataError(f"the series of {source} ({_shown(wanted)}) share no time", file=source)
    count = int((end - begin) // np.timedelta64(step_s, "s")) + 1

    def window(name: str) -> Array:
        offset = int((begin - firsts[name]) // np.timedelta64(step_s, "s"))
        return regular[name][0][offset : offset + count]

    return Traces(
        load=window(load) if load else None,
        series={key: window(name) for key, name in named.items()},
        step_seconds=step_s,
        start=begin,
        names=({"load": load} if load else {}) | dict(named),
    )
