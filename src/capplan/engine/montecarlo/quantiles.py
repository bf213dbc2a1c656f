"""P10/P50/P90 over paths, from a few partitions instead of a sort.

:class:`PathQuantiles` gives the figures of ``np.quantile(values, QUANTILES, axis=0)``
(linear interpolation) from the order statistics of the ranks it needs, found with
single-rank partitions of a transposed copy, or by counting for small integers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.engine.evaluate import QUANTILES
from capplan.sizing.result import Array, IntArray

__all__ = [
    "PathQuantiles",
    "Statistics",
    "np_quantiles",
    "path_quantiles",
    "per_period_counts",
    "ranked",
]

_TRANSPOSE_STEP = 512
#: Per rank needed (the rows, in the order of ``PathQuantiles.ranks``; 0 = smallest), its
#: value over paths in each period (the columns).
Statistics = npt.NDArray[Any]


def path_quantiles(values: Array) -> Array:
    """P10/P50/P90 over paths (axis 0) of ``values``: see :class:`PathQuantiles`."""
    return PathQuantiles(*values.shape)(values)


class PathQuantiles:
    """P10/P50/P90 over the paths (axis 0) of arrays of shape (paths, periods).

    The figures are those of ``np.quantile(values, QUANTILES, axis=0)`` (``linear``
    interpolation; NaN where a period holds a NaN), except that a period where every path
    holds the same value has that value in every row (as in
    :func:`~capplan.engine.simulation.quantiles_over_paths`). They are found with a few single-rank
    partitions of a transposed copy, in a buffer reused from one array to the next; periods
    that do not vary are not partitioned.
    """

    def __init__(self, paths: int, periods: int) -> None:
        self.paths = paths
        self.periods = periods
        self.below, self.above, self.gamma = _interpolation(paths)
        self.ranks = sorted({0, paths - 1, *self.below, *self.above})
        # Rows of the statistics below and above each quantile, and the weight of the upper.
        self.below_rows = [self.ranks.index(r) for r in self.below]
        self.above_rows = [self.ranks.index(r) for r in self.above]
        weight = np.asarray(self.gamma)[:, None]
        self.upper = weight >= 0.5
        self.weight, self.rest = weight, 1 - weight
        self.samples = np.unique(np.linspace(0, paths - 1, 9).astype(np.intp))
        self.buffers: dict[np.dtype[Any], npt.NDArray[Any]] = {}

    def __call__(self, values: Array) -> Array:
        if values.dtype != np.float64:
            return np_quantiles(values)
        return self.from_statistics(self.order_statistics(values))

    def order_statistics(self, values: npt.NDArray[Any], spare: bool = False) -> Statistics:
        """Per period, the values of the ranks needed (0 = smallest, paths - 1 = largest).
        With ``spare``, values stored period by period are partitioned where they are."""
        first = values[0]
        every = (len(self.ranks), self.periods)
        if values.strides[0] == 0 or self.paths == 1:  # the same row on every path
            return np.broadcast_to(first, every)
        if values.dtype.kind in "iu" and (counted := self._counted(values)) is not None:
            return counted
        # Periods where a few paths agree, then those where all do, are left out.
        maybe = np.all(values[self.samples] == first, axis=0)
        if maybe.all() and (values == first).all():
            return np.broadcast_to(first, every)
        same = [t for t in np.flatnonzero(maybe) if values[:, t].min() == values[:, t].max()]
        varying = np.flatnonzero(~np.isin(np.arange(self.periods), same))
        if not len(varying):
            return np.broadcast_to(first, every)
        lo, hi = int(varying[0]), int(varying[-1]) + 1
        if spare and values.T.flags.c_contiguous and values.flags.writeable:
            block = values.T[lo:hi]
        else:
            block = self._transposed(values, lo, hi)
        found = _order_statistics(block, self.ranks)
        stats = np.repeat(first[None, :], len(self.ranks), axis=0)
        for i, r in enumerate(self.ranks):
            stats[i, lo:hi] = found[r]
        return stats

    def _counted(self, values: npt.NDArray[Any]) -> Statistics | None:
        """Order statistics of small integers (tiers, rungs) by counting each value per
        period, in one pass; None when the values span too wide a range for that."""
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if span > 64:
            return None
        below = np.cumsum(per_period_counts(values, low, span), axis=1)
        return ranked(below, self.ranks, low, values.dtype)

    def _transposed(self, values: npt.NDArray[Any], lo: int, hi: int) -> npt.NDArray[Any]:
        """Periods ``lo:hi`` of ``values`` period by period, in a buffer reused."""
        block = self.buffers.get(values.dtype)
        if block is None:
            block = self.buffers[values.dtype] = np.empty((self.periods, self.paths), values.dtype)
        block = block[: hi - lo]
        if values.T.flags.c_contiguous:
            block[...] = values.T[lo:hi]
            return block
        for start in range(0, self.paths, _TRANSPOSE_STEP):  # by slices that stay in cache
            stop = start + _TRANSPOSE_STEP
            block[:, start:stop] = values[start:stop, lo:hi].T
        return block

    def from_statistics(self, stats: Statistics) -> Array:
        """The quantiles from the order statistics of :meth:`order_statistics`."""
        lo, hi = stats[0], stats[-1]
        has_nan = np.isnan(hi)  # partitioning puts NaN last
        if np.all(has_nan | (lo == hi)):
            return np.repeat(np.where(has_nan, np.nan, lo)[None, :], len(QUANTILES), axis=0)
        below, above = stats[self.below_rows], stats[self.above_rows]
        with np.errstate(invalid="ignore"):
            # NumPy's lerp: from the lower value, or back from the upper one if t >= 0.5.
            diff = above - below
            out: Array = np.where(self.upper, above - diff * self.rest, below + diff * self.weight)
        same = lo == hi  # a value every path shares (an infinity would interpolate NaN)
        out[:, same] = lo[same]
        out[:, has_nan] = np.nan
        return out


def _interpolation(paths: int) -> tuple[list[int], list[int], list[float]]:
    """The ranks below and above each quantile and the weight of the upper one, computed as
    ``np.quantile`` does for its default ``linear`` method."""
    virtual = (paths - 1) * np.asarray(QUANTILES, dtype=np.float64)
    below = np.floor(virtual)
    above = below + 1
    beyond = virtual >= paths - 1
    below[beyond] = above[beyond] = -1
    before = virtual < 0
    below[before] = above[before] = 0
    gamma = virtual - below.astype(np.intp)
    return (
        [int(r) % paths for r in below],
        [int(r) % paths for r in above],
        [float(g) for g in gamma],
    )


def per_period_counts(values: npt.NDArray[Any], low: int, span: int) -> IntArray:
    """Per period (column), how many paths hold each of the integers ``low`` ... ``low + span
    - 1``: one count in which each (period, value) pair has its own bin."""
    periods = values.shape[1]
    offsets = span * np.arange(periods, dtype=np.int64) - low
    bins = values.astype(np.int64, copy=False) + offsets
    counts: IntArray = np.bincount(bins.ravel(), minlength=span * periods).reshape(periods, span)
    return counts


def ranked(below: IntArray, ranks: list[int], low: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """From ``below`` (per period, the paths at or below each value ``low``, ``low + 1``...),
    the value of each rank: ``low`` plus the number of values with at most ``rank`` paths at
    or below them."""
    ranked = np.count_nonzero(below[None, :, :] <= np.asarray(ranks)[:, None, None], axis=2)
    values: npt.NDArray[Any] = (ranked + low).astype(dtype)
    return values


def _order_statistics(block: npt.NDArray[Any], ranks: list[int]) -> dict[int, npt.NDArray[Any]]:
    """Row by row, the values of the given ranks (0 = smallest) of ``block``, which is
    partitioned in place: one single-rank partition per inner rank, min / max at the ends.

    Floats with their sign bit clear (>= 0, or NaN put last) are ordered as their bit patterns
    are as integers, and NumPy partitions integers about twice as fast as floats: a block of
    floats is partitioned as integers first, and again as floats (the rows still hold the same
    values) only when its smallest integer shows a sign bit set (a value < 0, -0.0, a NaN
    with its sign bit set)."""
    if block.dtype == np.float64 and 0 in ranks:
        as_integers = _order_statistics(block.view(np.int64), ranks)
        if block.size == 0 or as_integers[0].min() >= 0:
            return {r: v.view(np.float64) for r, v in as_integers.items()}
    found: dict[int, npt.NDArray[Any]] = {}
    todo = [(0, block.shape[1], ranks)]
    while todo:
        lo, hi, wanted = todo.pop()
        if not wanted:
            continue
        part = block[:, lo:hi]
        if all(r in (lo, hi - 1) for r in wanted):
            if wanted[0] == lo:
                found[lo] = part.min(axis=1)
            if wanted[-1] == hi - 1:
                found[hi - 1] = part.max(axis=1)
            continue
        mid = wanted[len(wanted) // 2]
        part.partition(mid - lo, axis=1)
        found[mid] = block[:, mid].copy()
        todo.append((lo, mid, [r for r in wanted if r < mid]))
        todo.append((mid + 1, hi, [r for r in wanted if r > mid]))
    return found


def np_quantiles(arr: Array) -> Array:
    """P10/P50/P90 over paths with np.quantile; columns that do not vary cost nothing."""
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    if np.array_equal(lo, hi, equal_nan=True):
        return np.repeat(lo[None, :], len(QUANTILES), axis=0)
    return np.quantile(arr, QUANTILES, axis=0)
