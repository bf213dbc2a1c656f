"""Plausible times: the range a sample's time must lie in, and stray points far from the rest.

**Real times.** Readers accept a sample time only when it is a real time after
``1970-01-01T00:00:00Z`` and before ``2200-01-01T00:00:00Z`` (both excluded): the epoch
itself is what an empty or broken time turns into (``epoch``, ``0``), and nothing measured
by a running service lies before it or centuries ahead. Words DuckDB would read as times
(``infinity``, ``epoch``), numbers that are not finite (``inf``, ``nan``, ``1e400``) and
numbers outside the range (``1e30``) are errors naming the file and row.

**Stray points.** A real time can still be implausible for its series: one row of a
minute-resolution series dated decades before the rest (a clock reset, a typo in the year).
Regularizing across such a gap would lay out decades of empty minutes, so such points are
dropped with a warning naming the series and the point. The rule, per series of at least
:data:`STRAY_MIN_POINTS` points in time order: up to ``k = max(1, n // 100)`` points at
either end may be strays; the *core* (the points between them) spans ``S`` seconds; when the
widest of the first ``k`` gaps is longer than ``10 × max(S, 1 day)``, the points before it
are strays, and likewise the points after the widest of the last ``k`` gaps. Two large parts
of a series far apart are left as they are (neither is a few stray points): the panel's size
limit (:data:`capplan.data.panel.MAX_STEPS`) then refuses the grid with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capplan._types import BoolArray, IntArray

__all__ = [
    "EARLIEST_SECONDS",
    "LATEST_SECONDS",
    "STRAY_MIN_POINTS",
    "TIME_RANGE",
    "Stray",
    "find_strays",
    "in_range",
    "span_text",
]

EARLIEST_SECONDS = 0  # 1970-01-01T00:00:00Z, excluded
LATEST_SECONDS = 7_258_118_400  # 2200-01-01T00:00:00Z, excluded
TIME_RANGE = "a time after 1970-01-01T00:00:00Z and before 2200-01-01T00:00:00Z"
STRAY_MIN_POINTS = 10
STRAY_RATIO = 10.0
STRAY_MIN_GAP = 86_400.0


def in_range(seconds: NDArray[np.floating] | NDArray[np.integer]) -> BoolArray:
    """True where an epoch-seconds figure is a real, plausible time (NaN and ±inf are not)."""
    with np.errstate(invalid="ignore"):
        inside: BoolArray = (seconds > EARLIEST_SECONDS) & (seconds < LATEST_SECONDS)
    return inside


@dataclass(frozen=True)
class Stray:
    """Points ``first`` … ``last`` (positions in the arrays given) of series ``code`` lie
    ``gap`` seconds ``side`` (``before`` or ``after``) the rest, which runs from
    ``rest_first`` to ``rest_last`` (epoch seconds)."""

    code: int
    first: int
    last: int
    side: str
    gap: int
    rest_first: int
    rest_last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def find_strays(codes: NDArray[np.int32], seconds: IntArray, n_series: int) -> list[Stray]:
    """The stray points of every series (see the module docstring).

    ``codes`` must be grouped by series and ``seconds`` in time order within each series
    (duplicates allowed). A cheap test on each series' ends finds the candidates; only those
    are looked at point by point, so regular data costs a few operations per series.
    """
    if len(codes) < STRAY_MIN_POINTS:
        return []
    bounds = np.searchsorted(codes, np.arange(n_series + 1, dtype=codes.dtype))
    start, end = bounds[:-1], bounds[1:]
    n = end - start
    candidates = np.flatnonzero(n >= STRAY_MIN_POINTS)
    if not len(candidates):
        return []
    start, end, n = start[candidates], end[candidates], n[candidates]
    k = np.maximum(1, n // 100)
    first = seconds[start].astype(np.float64)
    last = seconds[end - 1].astype(np.float64)
    core_lo = seconds[start + k].astype(np.float64)
    core_hi = seconds[end - 1 - k].astype(np.float64)
    limit = STRAY_RATIO * np.maximum(core_hi - core_lo, STRAY_MIN_GAP)
    suspect = (core_lo - first > limit) | (last - core_hi > limit)
    found: list[Stray] = []
    for i in np.flatnonzero(suspect):
        s, e, ki, lim = int(start[i]), int(end[i]), int(k[i]), float(limit[i])
        code = int(candidates[i])
        rest_first, rest_last = s, e - 1
        head = np.diff(seconds[s : s + ki + 1].astype(np.float64))
        j = int(np.argmax(head))
        if float(head[j]) > lim:
            rest_first = s + j + 1
        tail = np.diff(seconds[e - 1 - ki : e].astype(np.float64))
        m = int(np.argmax(tail))
        if float(tail[m]) > lim:
            rest_last = e - 1 - ki + m
        rest = (int(seconds[rest_first]), int(seconds[rest_last]))
        if rest_first > s:
            found.append(Stray(code, s, rest_first - 1, "before", int(head[j]), *rest))
        if rest_last < e - 1:
            found.append(Stray(code, rest_last + 1, e - 1, "after", int(tail[m]), *rest))
    return found


def span_text(seconds: float) -> str:
    """A long duration for people: ``54 years``, ``3 days``, ``5 hours``."""
    for unit, size in (("years", 365.25 * 86_400), ("days", 86_400), ("hours", 3_600)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"
