"""Actual values per plan period: the points of a driver's or metric's series, bucketed into
the plan's months, weeks or days and aggregated to one value each (pure; no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capplan._types import Array
from capplan.data.frame import MetricFrame
from capplan.timeline import Timeline

__all__ = ["PeriodActuals", "aggregate_periods", "period_edges"]


@dataclass(frozen=True)
class PeriodActuals:
    """One driver's or metric's actuals, one value per period 0..``len(values) - 1``.

    ``values[t]`` is NaN for a period with no point; ``counts[t]`` is how many points fell in
    it (summed over the series read); ``series`` are the series ids read."""

    name: str
    agg: str
    series: tuple[str, ...]
    values: Array
    counts: Array
    notes: tuple[str, ...] = field(default=())


def period_edges(timeline: Timeline, periods: int) -> np.ndarray:
    """The start of periods 0..``periods`` and the end of the last, as ``datetime64[s]``."""
    days = [timeline.date(t) for t in range(periods + 2)]
    return np.array([np.datetime64(d, "s") for d in days], dtype="datetime64[s]")


def _one(values: Array, agg: str) -> float:
    if agg == "mean":
        return float(values.mean())
    if agg == "max":
        return float(values.max())
    if agg == "min":
        return float(values.min())
    if agg == "sum":
        return float(values.sum())
    if agg == "median":
        return float(np.median(values))
    if agg == "first":
        return float(values[0])
    if agg == "last":
        return float(values[-1])
    return float(np.percentile(values, float(agg[1:])))  # pNN


def aggregate_periods(
    frame: MetricFrame,
    name: str,
    timeline: Timeline,
    periods: int,
    agg: str,
    scale: float = 1.0,
) -> PeriodActuals:
    """Every series of ``frame`` bucketed into periods 0..``periods`` of ``timeline`` and
    aggregated with ``agg`` (``last`` is the newest point of the period); several series are
    aggregated each and summed per period. Points before period 0 or after the last are left
    out, and a note says how many."""
    frame, dropped = frame.deduplicated()
    notes: list[str] = []
    if dropped:
        notes.append(f"{name}: {dropped} points at a time already seen; the last of each kept")
    finite = np.isfinite(frame.values)
    if not finite.all():
        notes.append(f"{name}: {int((~finite).sum())} missing values skipped")
        frame = frame.take(finite)
    edges = period_edges(timeline, periods)
    bucket = np.searchsorted(edges, frame.timestamps, side="right") - 1
    inside = (bucket >= 0) & (bucket <= periods)
    before = int((bucket < 0).sum())
    after = int((bucket > periods).sum())
    if before:
        start = timeline.date(0).isoformat()
        notes.append(f"{name}: {before} points before the plan's start ({start}) left out")
    if after:
        notes.append(f"{name}: {after} points after the compared periods left out")
    values = np.full(periods + 1, np.nan)
    counts = np.zeros(periods + 1)
    for code in range(frame.n_series):
        mine = inside & (frame.codes == code)
        if not mine.any():
            continue
        b, v = bucket[mine], frame.values[mine]
        order = np.argsort(b, kind="stable")  # time order kept within a period
        b, v = b[order], v[order]
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        for chunk_start, chunk in zip(starts, np.split(v, starts[1:]), strict=True):
            t = int(b[chunk_start])
            one = _one(chunk, agg) * scale
            values[t] = one if np.isnan(values[t]) else values[t] + one
            counts[t] += len(chunk)
    if frame.n_series > 1:
        notes.append(f"{name}: {frame.n_series} series summed per period")
    return PeriodActuals(name, agg, tuple(frame.names), values, counts, tuple(notes))
