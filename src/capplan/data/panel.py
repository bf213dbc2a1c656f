"""Panels: metric history regularized onto a fixed step, the form forecasting models use.

:func:`to_panel` buckets every point of a :class:`MetricFrame` onto a grid of ``step``
seconds aligned to the Unix epoch (buckets are ``[start, start + step)`` and are labelled by
their start, like Prometheus range queries aligned to the step), aggregates each bucket
(mean, max, min, sum, first, last, count, median or any ``pNN`` percentile), and lays the
series out RIGHT-ALIGNED: column ``-1`` is each series' own last bucket. Columns before a
series starts and buckets with no point (gaps) are NaN; gaps are never filled in, only counted
(``Panel.gaps``) and visible (``Panel.counts == 0``).

The work is vectorized over all points at once: one stable sort only if the frame is not
already grouped by series and time, then ``np.add.reduceat`` / ``np.maximum.reduceat`` over
the runs of equal (series, bucket); when every bucket holds one point (step = sampling
interval) the values are placed as they are. Percentiles sort each bucket's values (rows of
equal-size buckets at once) and interpolate linearly (numpy's default and Prometheus'
``quantile_over_time``). Large temporaries are reused in place: on this kind of machine
allocating fresh memory costs more than the arithmetic.

Counters are turned into per-second rates first (:func:`rate`): a drop means the counter was
reset, so the increase over that interval is the new value.

Implausible input is refused or set aside before anything is allocated: stray points (a few
points decades away from the rest of their series, see :mod:`capplan.data.times`) are
dropped with a warning in ``Panel.warnings``; a grid of more than :data:`MAX_STEPS` steps
for one series, or :data:`MAX_CELLS` cells in all, is a :class:`DataError` naming the
longest series and its time range, and suggesting a longer step or a shorter history.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from capplan._types import Array, IndexArray, IntArray
from capplan.data.cleaning import stray_warnings
from capplan.data.frame import (
    FrameWarning,
    MetricFrame,
    MetricKind,
    TimeArray,
    grouping_order,
    is_grouped,
)
from capplan.data.times import find_strays
from capplan.errors import DataError, UsageError
from capplan.units import number_or_duration

__all__ = [
    "AGGREGATIONS",
    "MAX_CELLS",
    "MAX_STEPS",
    "Panel",
    "parse_agg",
    "parse_step",
    "rate",
    "to_panel",
]

MAX_STEPS = 5_000_000  # per series: 9.5 years of minutes, 58 days of seconds
MAX_CELLS = 200_000_000  # in all: 1.6 GB of float64 values plus 0.8 GB of counts
AGGREGATIONS = ("mean", "max", "min", "sum", "first", "last", "count", "median", "pNN")
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(?:\.\d+)?)$")


def parse_step(step: str | int) -> int:
    """Whole seconds in a step such as ``"5m"``, ``"1h"``, ``"1d"`` or ``300``.

    Raises :class:`UsageError` saying what was expected when the text is not a duration of at
    least one whole second.
    """
    if isinstance(step, bool):
        raise UsageError(f"step must be a duration such as 5m, 1h or 1d, got {step!r}")
    if isinstance(step, int):
        seconds: float = step
    else:
        try:
            seconds = number_or_duration(str(step))  # a bare number counts seconds
        except ValueError as exc:
            raise UsageError(f"step: {exc}") from None
    if seconds < 1 or seconds != int(seconds):
        raise UsageError(f"step must be a whole number of seconds, at least 1s, got {step!r}")
    return int(seconds)


def parse_agg(agg: str) -> tuple[str, float | None]:
    """``(kind, quantile)`` for an aggregation name: ``"p95"`` → ``("quantile", 0.95)``."""
    name = agg.strip().lower()
    if name == "median":
        return "quantile", 0.5
    match = _PERCENTILE.match(name)
    if match:
        return "quantile", float(match.group(1)) / 100.0
    if name in AGGREGATIONS:
        return name, None
    raise UsageError(
        f"unknown aggregation '{agg}'; available: {', '.join(AGGREGATIONS)} "
        "(pNN is any percentile, e.g. p95, p99.9)"
    )


@dataclass(frozen=True, eq=False)
class Panel:
    """Regular, right-aligned history: ``values[i, -1]`` is series i at ``end[i]``.

    ``counts[i, t]`` is how many points fell into that bucket (0 = a gap or before the
    series starts); ``gaps[i]`` counts the empty buckets between a series' first and last.
    ``warnings`` says what was set aside (stray points).
    """

    ids: list[str]
    values: Array
    end: TimeArray
    step_seconds: int
    labels: list[dict[str, str]]
    gaps: IntArray
    counts: NDArray[np.int32]
    kinds: list[MetricKind]
    agg: str = "mean"
    warnings: tuple[FrameWarning, ...] = ()

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def n_steps(self) -> int:
        return int(self.values.shape[1])

    @property
    def lengths(self) -> IntArray:
        """Steps from each series' first bucket to its last (inclusive)."""
        if self.n_steps == 0:
            return np.zeros(self.n_series, dtype=np.int64)
        first: IntArray = np.argmax(self.counts > 0, axis=1).astype(np.int64)
        return self.n_steps - first

    def index(self, series_id: str) -> int:
        """Row of a series; ``KeyError`` naming it when absent."""
        try:
            return self.ids.index(series_id)
        except ValueError:
            raise KeyError(series_id) from None

    def timestamps(self, i: int) -> TimeArray:
        """Bucket start times of row ``i`` (length ``n_steps``, the last one is ``end[i]``)."""
        back = np.arange(self.n_steps - 1, -1, -1, dtype=np.int64) * self.step_seconds
        stamps: TimeArray = self.end[i] - back.astype("timedelta64[s]")
        return stamps

    def future_timestamps(self, h: int) -> TimeArray:
        """``(n_series, h)`` bucket starts of the next ``h`` steps after each series' end."""
        ahead = np.arange(1, h + 1, dtype=np.int64) * self.step_seconds
        stamps: TimeArray = self.end[:, None] + ahead.astype("timedelta64[s]")[None, :]
        return stamps


def rate(frame: MetricFrame) -> MetricFrame:
    """Counters as per-second rates (kind becomes gauge); gauges pass through unchanged.

    The rate at a sample is the increase since the previous sample divided by the seconds
    between them; a decrease means a reset, so the increase is the new value itself. The first
    sample of each counter has no rate and is dropped. Unlike Prometheus ``rate()`` there is no
    extrapolation to window edges: the panel's bucketing plays the role of the window.
    """
    is_counter_series = np.array([k == "counter" for k in frame.kinds], dtype=bool)
    if not is_counter_series.any():
        return frame
    frame, _ = frame.take(~np.isnan(frame.values)).deduplicated()
    v = frame.values
    t = frame.timestamps.view(np.int64)
    is_counter = is_counter_series[frame.codes]
    follows = np.zeros(len(frame), dtype=bool)
    follows[1:] = frame.codes[1:] == frame.codes[:-1]
    delta = np.zeros(len(frame))
    seconds = np.ones(len(frame))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # where ~follows
        delta[1:] = np.diff(v)
        seconds[1:] = np.diff(t)
        increase = np.where(delta >= 0, delta, v)
        new_values = np.where(is_counter, increase / seconds, v)
    keep = ~is_counter | follows
    kinds: tuple[MetricKind, ...] = tuple("gauge" for _ in frame.kinds)
    out = MetricFrame(
        frame.codes[keep],
        frame.names,
        frame.timestamps[keep],
        new_values[keep],
        frame.labels,
        kinds,
        frame.warnings,
    )
    return out.compact()


def to_panel(
    frame: MetricFrame,
    step: str | int,
    agg: str = "mean",
    *,
    counters: Literal["rate", "raw"] = "rate",
    max_steps: int | None = None,
) -> Panel:
    """Regularize ``frame`` onto ``step`` with aggregation ``agg``; see the module docstring.

    ``counters="rate"`` (the default) turns counter series into per-second rates first;
    ``max_steps`` keeps only the last N steps of every series. NaN values are ignored; stray
    points are dropped (``Panel.warnings``); a grid over :data:`MAX_STEPS` steps per series
    or :data:`MAX_CELLS` cells is a :class:`DataError`.
    """
    step_s = parse_step(step)
    kind, q = parse_agg(agg)
    if max_steps is not None and max_steps < 1:
        raise UsageError(f"max_steps must be at least 1, got {max_steps}")
    if counters == "rate":
        frame = rate(frame)
    codes, seconds, values, warnings = _grouped_points(frame)
    bounds = np.searchsorted(codes, np.arange(frame.n_series + 1, dtype=codes.dtype))
    present = np.flatnonzero(bounds[1:] > bounds[:-1])
    n = len(present)
    if n == 0:
        return Panel(
            [], np.zeros((0, 0)), np.zeros(0, "datetime64[s]"), step_s, [],
            np.zeros(0, np.int64), np.zeros((0, 0), np.int32), [], agg,
        )  # fmt: skip
    if n < frame.n_series:
        remap = np.zeros(frame.n_series, dtype=np.int32)
        remap[present] = np.arange(n, dtype=np.int32)
        codes = remap[codes]
    first_b = seconds[bounds[present]] // step_s  # the first and last bucket of each series
    last_b = seconds[bounds[present + 1] - 1] // step_s
    spans = last_b.astype(np.float64) - first_b + 1  # float: wild times must not wrap
    _check_size(frame, present, seconds, bounds, spans, step_s, max_steps)
    steps = int(spans.max())
    if max_steps is not None:
        steps = min(steps, max_steps)
    seg_flat, seg_n, result = _buckets(
        codes, seconds, values, last_b, steps, step_s, max_steps, kind, q
    )
    out = np.full(n * steps, np.nan)
    out[seg_flat] = result
    counts = np.zeros(n * steps, dtype=np.int32)
    counts[seg_flat] = seg_n
    occupied = np.diff(np.searchsorted(seg_flat, np.arange(n + 1, dtype=np.int64) * steps))
    spans = np.minimum(last_b - first_b + 1, steps)
    return Panel(
        ids=[frame.names[i] for i in present],
        values=out.reshape(n, steps),
        end=(last_b * step_s).astype("datetime64[s]"),
        step_seconds=step_s,
        labels=[dict(frame.labels[i]) for i in present],
        gaps=(spans - occupied).astype(np.int64),
        counts=counts.reshape(n, steps),
        kinds=[frame.kinds[i] for i in present],
        agg=agg,
        warnings=warnings,
    )


def _grouped_points(
    frame: MetricFrame,
) -> tuple[NDArray[np.int32], IntArray, Array, tuple[FrameWarning, ...]]:
    """The codes, seconds and values of the points of ``frame`` that have a value, grouped by
    series in time order, with the stray points dropped; and the warnings about those."""
    codes, seconds, values = frame.codes, frame.timestamps.view(np.int64), frame.values
    missing = np.isnan(values)
    if missing.any():
        codes, seconds, values = codes[~missing], seconds[~missing], values[~missing]
    del missing
    if not is_grouped(codes, seconds):
        order = grouping_order(codes, seconds)
        codes, seconds, values = codes[order], seconds[order], values[order]
        del order
    strays = find_strays(codes, seconds, frame.n_series)
    warnings = tuple(stray_warnings(strays, frame.names, seconds, values))
    if strays:
        keep = np.ones(len(codes), dtype=bool)
        for stray in strays:
            keep[stray.first : stray.last + 1] = False
        codes, seconds, values = codes[keep], seconds[keep], values[keep]
    return codes, seconds, values, warnings


def _buckets(
    codes: NDArray[np.int32],
    seconds: IntArray,
    values: Array,
    last_b: IntArray,
    steps: int,
    step_s: int,
    max_steps: int | None,
    kind: str,
    q: float | None,
) -> tuple[IntArray, IntArray | int, Array]:
    """The occupied cells of the ``(series, steps)`` grid as flat indices, how many points
    each holds (1 for all when every cell holds one) and their aggregate."""
    # flat index of every point in the (n, steps) output, built in place in ``flat``
    flat = seconds // step_s
    series_base = np.arange(len(last_b), dtype=np.int64) * steps
    flat += (series_base + (steps - 1) - last_b)[codes]
    if max_steps is not None:
        inside = flat >= series_base[codes]
        if not inside.all():
            flat, values = flat[inside], values[inside]
        del inside
    total = len(flat)
    breaks = np.empty(total, dtype=bool)
    breaks[0] = True
    np.not_equal(flat[1:], flat[:-1], out=breaks[1:])
    seg_start = np.flatnonzero(breaks)
    del breaks
    if len(seg_start) == total:  # every bucket holds exactly one point: nothing to aggregate
        return flat, 1, np.ones(total) if kind == "count" else values
    seg_flat = flat[seg_start]
    del flat
    sizes = np.empty(len(seg_start), dtype=np.int64)
    np.subtract(seg_start[1:], seg_start[:-1], out=sizes[:-1])
    sizes[-1] = total - seg_start[-1]
    return seg_flat, sizes, _aggregate(kind, q, values, seg_start, sizes)


def _check_size(
    frame: MetricFrame,
    present: IndexArray,
    seconds: IntArray,
    bounds: IndexArray,
    spans: Array,
    step_s: int,
    max_steps: int | None,
) -> None:
    """Refuse a grid over :data:`MAX_STEPS` steps per series or :data:`MAX_CELLS` cells,
    naming the longest series and its time range, before anything is allocated."""
    widest = int(np.argmax(spans))
    steps = float(spans[widest]) if max_steps is None else min(float(spans[widest]), max_steps)
    cells = steps * len(present)
    if steps <= MAX_STEPS and cells <= MAX_CELLS:
        return
    i = int(present[widest])
    first, last = (
        str(np.datetime_as_string(np.datetime64(int(seconds[b]), "s"), unit="m")) + "Z"
        for b in (bounds[i], bounds[i + 1] - 1)
    )
    where = f"spans {first} to {last}: {steps:,.0f} steps of {step_s}s"
    if steps > MAX_STEPS:
        why = f"over the limit of {MAX_STEPS:,} steps per series"
    else:
        why = (
            f"which for {len(present):,} series is {cells:,.0f} cells, over the limit of "
            f"{MAX_CELLS:,}"
        )
    raise DataError(
        f"{where}, {why}; use a longer --step or a shorter --since (or max_steps), or "
        "check the series' oldest and newest points",
        series=frame.names[i],
    )


def _aggregate(
    kind: str,
    q: float | None,
    values: Array,
    seg_start: IndexArray,
    seg_n: IntArray,
) -> Array:
    """One figure per run of points in the same bucket (runs are contiguous)."""
    if kind == "mean":
        return np.add.reduceat(values, seg_start) / seg_n
    if kind == "sum":
        return np.add.reduceat(values, seg_start)
    if kind == "max":
        return np.maximum.reduceat(values, seg_start)
    if kind == "min":
        return np.minimum.reduceat(values, seg_start)
    if kind == "first":
        first: Array = values[seg_start]
        return first
    if kind == "last":
        last: Array = values[seg_start + seg_n - 1]
        return last
    if kind == "count":
        return seg_n.astype(np.float64)
    assert q is not None
    return _quantile(q, values, seg_start, seg_n)


def _quantile(q: float, values: Array, seg_start: IndexArray, seg_n: IntArray) -> Array:
    """Linear-interpolation quantile of each run of points.

    Runs of the same size are gathered into one ``(runs, size)`` matrix and sorted along
    rows with ``np.sort`` (fast for short rows), so there is one NumPy pass per distinct run
    size rather than a global argsort of every value; regular data has few distinct sizes.
    """
    result: Array = values[seg_start].copy()
    multi = np.flatnonzero(seg_n > 1)
    if not len(multi):
        return result
    sizes = seg_n[multi]
    if int(sizes.min()) != int(sizes.max()):
        key = (sizes << 32) | np.arange(len(multi), dtype=np.int64)
        key.sort()
        multi = multi[key & 0xFFFFFFFF]
        sizes = key >> 32
    edges = np.flatnonzero(np.r_[True, sizes[1:] != sizes[:-1], True])
    for lo_edge, hi_edge in itertools.pairwise(edges):
        which = multi[lo_edge:hi_edge]
        size = int(sizes[lo_edge])
        block = values[seg_start[which][:, None] + np.arange(size)]
        block.sort(axis=1)
        pos = (size - 1) * q
        lo = int(np.floor(pos))
        hi = min(lo + 1, size - 1)
        result[which] = block[:, lo] + (pos - lo) * (block[:, hi] - block[:, lo])
    return result
