"""Cleaning a freshly read frame: missing values, time order, duplicates and stray points,
with a warning for each thing changed and for series that look odd (negative, constant)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from capplan._types import Array, IntArray
from capplan.data.frame import FrameWarning, MetricFrame, grouping_order, is_grouped
from capplan.data.times import Stray, find_strays, span_text

__all__ = ["drop_strays", "prepare", "stray_warnings"]


def prepare(frame: MetricFrame, *, source: str | None = None) -> MetricFrame:
    """Clean a freshly read frame, attaching a warning for each thing changed or suspicious.

    Drops missing (NaN) values and series left with none, sorts, deduplicates (last wins),
    drops stray points far from the rest of their series (:func:`drop_strays`), and flags
    series with negative values or a constant value.
    """
    warnings: list[FrameWarning] = []
    missing = np.isnan(frame.values)
    if missing.any():
        per = np.bincount(frame.codes[missing], minlength=frame.n_series)
        total = np.bincount(frame.codes, minlength=frame.n_series)
        empty = [frame.names[i] for i in np.flatnonzero((per == total) & (total > 0))]
        partial = int(missing.sum()) - int(per[(per == total)].sum())
        if partial:
            warnings.append(
                FrameWarning(
                    "missing",
                    f"{partial} missing values (empty or NaN) skipped",
                    file=source,
                    count=partial,
                )
            )
        for name in empty:
            warnings.append(
                FrameWarning(
                    "all_missing",
                    "has no numeric values (all missing or NaN); dropped",
                    series=name,
                    file=source,
                )
            )
        frame = frame.take(~missing).compact()
    if _time_goes_back(frame):
        warnings.append(
            FrameWarning("unsorted", "rows were not in time order; sorted", file=source)
        )
    deduped, dropped = frame.deduplicated()
    if dropped:
        bad = _duplicate_series(frame.sorted())
        warnings.append(
            FrameWarning(
                "duplicates",
                f"{dropped} points at a duplicate timestamp replaced by a later row "
                f"(series {_names_text(bad)})",
                file=source,
                count=dropped,
            )
        )
    deduped = drop_strays(deduped, source)
    warnings.extend(_value_warnings(deduped, source))
    return deduped.with_warnings(*warnings)


def drop_strays(frame: MetricFrame, source: str | None = None) -> MetricFrame:
    """The frame without its stray points (a few points decades away from the rest of their
    series; the rule is in :mod:`capplan.data.times`), a ``stray`` warning for each run
    dropped naming the series, the point and the gap. ``frame`` must be sorted."""
    seconds = frame.timestamps.view(np.int64)
    strays = find_strays(frame.codes, seconds, frame.n_series)
    if not strays:
        return frame
    keep = np.ones(len(frame), dtype=bool)
    for stray in strays:
        keep[stray.first : stray.last + 1] = False
    warnings = stray_warnings(strays, frame.names, seconds, frame.values, source)
    return frame.take(keep).with_warnings(*warnings)


def stray_warnings(
    strays: Sequence[Stray],
    names: Sequence[str],
    seconds: IntArray,
    values: Array,
    source: str | None = None,
) -> list[FrameWarning]:
    """One ``stray`` warning per run of stray points (positions index ``seconds``/``values``)."""

    def stamp(t: int, unit: Literal["s", "m"] = "s") -> str:
        return str(np.datetime_as_string(np.datetime64(int(t), "s"), unit=unit)) + "Z"

    out = []
    for stray in strays:
        if stray.count > 1:
            what = f"{stray.count} points from {stamp(seconds[stray.first])} to "
            what += f"{stamp(seconds[stray.last])} lie"
        else:
            what = f"1 point at {stamp(seconds[stray.first])} (value "
            what += f"{values[stray.first]:g}) lies"
        out.append(
            FrameWarning(
                "stray",
                f"{what} {span_text(stray.gap)} {stray.side} the rest of the series "
                f"({stamp(stray.rest_first, 'm')} to {stamp(stray.rest_last, 'm')}); "
                "dropped as implausible",
                series=names[stray.code],
                file=source,
                count=stray.count,
            )
        )
    return out


def _time_goes_back(frame: MetricFrame) -> bool:
    """True when some series' timestamps decrease in input order (series may interleave)."""
    if frame.is_sorted:
        return False
    seconds = frame.timestamps.view(np.int64)
    by_series = grouping_order(frame.codes, np.zeros(len(frame), dtype=np.int64))
    return not is_grouped(frame.codes[by_series], seconds[by_series])


def _duplicate_series(frame: MetricFrame) -> list[str]:
    same = (frame.codes[1:] == frame.codes[:-1]) & (frame.timestamps[1:] == frame.timestamps[:-1])
    return [frame.names[i] for i in np.unique(frame.codes[1:][same])]


def _value_warnings(frame: MetricFrame, source: str | None) -> list[FrameWarning]:
    """Negative values (capacity metrics are rarely negative) and constant series."""
    if not len(frame):
        return []
    out: list[FrameWarning] = []
    n = frame.n_series
    negative = np.bincount(frame.codes, weights=frame.values < 0, minlength=n).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, frame.codes[1:] != frame.codes[:-1]])
    lo = np.minimum.reduceat(frame.values, starts)
    hi = np.maximum.reduceat(frame.values, starts)
    sizes = np.diff(np.r_[starts, len(frame)])

    def warning(code: str, text: str, series: int, count: int) -> FrameWarning:
        return FrameWarning(code, text, series=frame.names[series], file=source, count=count)

    for i in np.flatnonzero(negative):
        text = f"{negative[i]} negative values; capacity metrics are usually non-negative"
        out.append(warning("negative", text, int(i), int(negative[i])))
    for k in np.flatnonzero((lo == hi) & (sizes > 1)):
        text = f"is constant ({lo[k]:g} at all {sizes[k]} points)"
        out.append(warning("constant", text, int(frame.codes[starts[k]]), int(sizes[k])))
    return out


def _names_text(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown
