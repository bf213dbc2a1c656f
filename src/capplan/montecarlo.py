"""Monte Carlo: many paths of sampled growth rates, summarised as P10/P50/P90 of every figure
and the probability of each event by each period.

Rates are drawn first, ``chunk`` paths at a time (the order of the draws, and so every result
for a seed, does not depend on how the figures are computed). All paths are then evaluated at
once and each figure is summarised as soon as it is computed (:func:`capplan.evaluate.stream`),
so a run never holds every figure of every path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.derivations import Derived
from capplan.evaluate import Evaluation, stream
from capplan.events import EventProbability, exceeded_event, level_events, threshold_hits
from capplan.growth import sample_rates
from capplan.plan.compiled import CompiledPlan
from capplan.plan.models import Plan, Threshold
from capplan.sizing.result import Array, BoolArray, IntArray, Sized
from capplan.timeline import Timeline

__all__ = [
    "QUANTILES",
    "MonteCarlo",
    "PathQuantiles",
    "draw_rates",
    "path_quantiles",
    "reached_by_period",
    "simulate",
]

QUANTILES = (0.1, 0.5, 0.9)
DEFAULT_CHUNK = 5000
_PROGRESS_STEPS = 100
_TRANSPOSE_STEP = 512
#: Per rank needed (the rows, in the order of ``PathQuantiles.ranks``; 0 = smallest), its
#: value over paths in each period (the columns).
Statistics = npt.NDArray[Any]


class MonteCarlo:
    """Quantiles (name → array of shape (3, periods + 1)) and event probabilities."""

    def __init__(self, quantiles: dict[str, Array], probabilities: list[EventProbability]):
        self.quantiles = quantiles
        self.probabilities = probabilities


def simulate(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    base: Evaluation,
    seed: int = 0,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> MonteCarlo:
    """Run ``paths`` paths, rates drawn ``chunk`` paths at a time. ``progress(done)`` is
    called as figures are computed, ``done`` being the share of the work done, in paths."""
    rng = np.random.default_rng(seed)
    rates = draw_rates(compiled, scenario, timeline, paths, rng, chunk)
    summary = _Summary(compiled.plan, base, paths, timeline.periods + 1, progress)
    stream(compiled, scenario, timeline, paths, summary, rates, keep=summary.thresholds)
    if progress is not None and summary.reported < paths:
        progress(paths)
    return summary.result()


def draw_rates(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    rng: np.random.Generator,
    chunk: int = DEFAULT_CHUNK,
) -> dict[str, Array | None]:
    """Sampled rates of every driver for ``paths`` paths (None: no uncertainty), drawn in
    chunks of ``chunk`` paths, each chunk driver by driver."""
    specs = compiled.drivers[scenario]
    drawn: dict[str, list[Array]] = {name: [] for name in specs}
    for start in range(0, paths, chunk):
        n = min(chunk, paths - start)
        for name, spec in specs.items():
            rate = sample_rates(spec.growth, n, timeline.periods, rng)
            if rate is not None:
                drawn[name].append(rate)
    return {
        name: (parts[0] if len(parts) == 1 else np.concatenate(parts)) if parts else None
        for name, parts in drawn.items()
    }


def reached_by_period(hit: BoolArray) -> IntArray:
    """Per period, the number of paths on which ``hit`` has held in that period or before."""
    paths, periods = hit.shape
    # The common case of a limit never reached (often a read-only False): nothing to count.
    never = not hit.flat[0] if hit.strides == (0, 0) else not hit.any()
    if never:
        return np.zeros(periods, dtype=np.int64)
    first = hit.argmax(axis=1)
    ever = hit[np.arange(paths), first]
    return np.cumsum(np.bincount(first[ever], minlength=periods))


class _Summary:
    """A :class:`~capplan.evaluate.ColumnSink` that keeps quantiles and event counts only."""

    def __init__(
        self,
        plan: Plan,
        base: Evaluation,
        paths: int,
        periods: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.plan = plan
        self.base = base
        self.paths = paths
        self.quantiles: dict[str, Array] = {}
        # Per component, paths whose capacity is exceeded by period, and paths at each level
        # (summed block by block).
        self.exceeded: dict[str, IntArray] = {}
        self.levels: dict[str, _LevelTally] = {}
        self.threshold_counts: dict[str, list[tuple[str, str, IntArray]]] = {}
        self.thresholds: dict[str, list[tuple[str, Threshold]]] = {}
        for tname, thr in plan.thresholds.items():
            self.thresholds.setdefault(thr.metric, []).append((tname, thr))
        self.summarise = PathQuantiles(paths, periods)
        # Order statistics of the figures (and levels) seen, to derive others from.
        self.statistics: dict[str, tuple[weakref.ref[npt.NDArray[Any]], Statistics]] = {}
        self.progress = progress
        self.columns = max(1, len(base.values))
        self.seen = 0
        self.reported = 0

    def component(self, name: str, sized: Sized, rows: slice) -> None:
        if sized.level is not None:
            tally = self.levels.get(name)
            if tally is None:
                events = level_events(name, sized, self.base.sized[name])
                tally = self.levels[name] = _LevelTally(len(sized.level_names), events)
            tally.add(sized.level)
        counts = reached_by_period(sized.exceeded)
        self.exceeded[name] = self.exceeded[name] + counts if name in self.exceeded else counts

    def column(
        self,
        name: str,
        values: Array | None,
        derived: Derived | None = None,
        spare: bool = False,
    ) -> None:
        if values is None:
            assert derived is not None, name
            self.quantiles[name] = self.summarise.from_statistics(
                self._statistics(name, None, derived)
            )
        elif values.dtype == np.float64:
            stats = self._statistics(name, values, derived, spare)
            self.quantiles[name] = self.summarise.from_statistics(stats)
        else:
            self.quantiles[name] = _np_quantiles(values)
        for tname, thr in self.thresholds.get(name, ()):
            assert values is not None, name
            self.threshold_counts[tname] = [
                (key, text, reached_by_period(hit))
                for key, text, hit in threshold_hits(tname, thr, values)
            ]
        if self.progress is not None:
            self.seen += 1
            done = min(self.paths, self.paths * self.seen // self.columns)
            if done - self.reported >= self.paths // _PROGRESS_STEPS:
                self.reported = done
                self.progress(done)

    def _statistics(
        self,
        name: str,
        values: npt.NDArray[Any] | None,
        derived: Derived | None,
        spare: bool = False,
    ) -> Statistics:
        """The order statistics of a figure: known already, derived from its source's
        (found the same way, once), or found by partitioning its values (in place when
        ``spare``). ``values`` is None only for a derived figure nothing derives from."""
        known = self.statistics.get(name)
        if known is not None and values is not None and known[0]() is values:
            return known[1]
        tally = self.levels.get(name.removesuffix(".level")) if name.endswith(".level") else None
        if tally is not None:  # a component's level: counted block by block
            return tally.order_statistics(self.summarise.ranks)
        if derived is not None:
            source = self._statistics(derived.source, derived.values, derived.parent)
            stats = derived.apply(source)
        else:
            assert values is not None, name
            stats = self.summarise.order_statistics(values, spare)
        if values is not None and not spare:  # (a spare array's memory is reused)
            self.statistics[name] = (weakref.ref(values), stats)
        return stats

    def result(self) -> MonteCarlo:
        hits: list[tuple[str, str, IntArray]] = []
        for name, exceeded in self.exceeded.items():
            if name in self.levels:
                hits += self.levels[name].reached()
            hits.append((*exceeded_event(name), exceeded))
        for tname in self.plan.thresholds:
            hits += self.threshold_counts.get(tname, [])
        reached: dict[str, IntArray] = {}
        described: dict[str, str] = {}
        for key, text, counts in hits:
            reached[key] = reached[key] + counts if key in reached else counts
            described[key] = text
        probabilities = [
            EventProbability(key, described[key], [round(float(c) / self.paths, 4) for c in n])
            for key, n in reached.items()
            if not key.endswith(".exceeded") or n[-1] > 0
        ]
        return MonteCarlo(self.quantiles, probabilities)


class _LevelTally:
    """Per period, how many paths are at each level of a component and how many have been at
    each level as their highest so far, counted block by block: the level's order statistics
    and the paths reaching each level follow from them."""

    def __init__(self, levels: int, events: list[tuple[str, str, int]]) -> None:
        self.levels = levels
        self.events = events
        self.at: IntArray | None = None  # shape (periods, levels)
        self.highest: IntArray | None = None

    def add(self, level: IntArray) -> None:
        at = self._count(level)
        # A level that never goes down along a path is its own highest so far.
        rising = level.shape[1] < 2 or bool(np.all(level[:, 1:] >= level[:, :-1]))
        highest = at if rising else self._count(np.maximum.accumulate(level, axis=1))
        if self.at is None or self.highest is None:
            self.at, self.highest = at, highest.copy()
        else:
            self.at += at
            self.highest += highest

    def _count(self, level: IntArray) -> IntArray:
        return _per_period_counts(level, 0, self.levels)

    def order_statistics(self, ranks: list[int]) -> Statistics:
        """The level of each rank (0 = lowest) in each period."""
        assert self.at is not None
        return _ranked(np.cumsum(self.at, axis=1), ranks, 0, np.dtype(np.int64))

    def reached(self) -> list[tuple[str, str, IntArray]]:
        """Per level event: its key, description and paths at that level or above by period."""
        assert self.highest is not None
        return [(key, text, self.highest[:, k:].sum(axis=1)) for key, text, k in self.events]


def path_quantiles(values: Array) -> Array:
    """P10/P50/P90 over paths (axis 0) of ``values``: see :class:`PathQuantiles`."""
    return PathQuantiles(*values.shape)(values)


class PathQuantiles:
    """P10/P50/P90 over the paths (axis 0) of arrays of shape (paths, periods).

    The figures are those of ``np.quantile(values, QUANTILES, axis=0)`` (``linear``
    interpolation; NaN where a period holds a NaN), and a figure that does not vary across
    paths in any period gets its value in every row. They are found with a few single-rank
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
            return _np_quantiles(values)
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
        below = np.cumsum(_per_period_counts(values, low, span), axis=1)
        return _ranked(below, self.ranks, low, values.dtype)

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


def _per_period_counts(values: npt.NDArray[Any], low: int, span: int) -> IntArray:
    """Per period (column), how many paths hold each of the integers ``low`` ... ``low + span
    - 1``: one count in which each (period, value) pair has its own bin."""
    periods = values.shape[1]
    offsets = span * np.arange(periods, dtype=np.int64) - low
    bins = values.astype(np.int64, copy=False) + offsets
    counts: IntArray = np.bincount(bins.ravel(), minlength=span * periods).reshape(periods, span)
    return counts


def _ranked(below: IntArray, ranks: list[int], low: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
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


def _np_quantiles(arr: Array) -> Array:
    """P10/P50/P90 over paths with np.quantile; columns that do not vary cost nothing."""
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    if np.array_equal(lo, hi, equal_nan=True):
        return np.repeat(lo[None, :], len(QUANTILES), axis=0)
    return np.quantile(arr, QUANTILES, axis=0)
