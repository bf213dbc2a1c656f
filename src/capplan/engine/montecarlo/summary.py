"""The fast Monte Carlo: every figure summarised as soon as it is computed.

Rates are drawn as for the reference (:func:`~capplan.engine.evaluate.draw_rates`). All paths
are then evaluated at once by :func:`.stream.stream`, which hands each figure to
:class:`_Summary` as soon as it is final: its quantiles are found from order statistics
(:mod:`.quantiles`), derived ones from their source's, levels are tallied block by block,
and events counted, so a run never holds every figure of every path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.engine.evaluate import DEFAULT_CHUNK, Evaluation, draw_rates
from capplan.engine.hits import exceeded_event, level_events, threshold_hits
from capplan.engine.montecarlo.blocks import DEFAULT_TUNING, Tuning
from capplan.engine.montecarlo.derivations import Derived
from capplan.engine.montecarlo.quantiles import (
    PathQuantiles,
    Statistics,
    np_quantiles,
    per_period_counts,
    ranked,
)
from capplan.engine.montecarlo.stream import stream
from capplan.engine.simulation import MonteCarlo, probabilities
from capplan.plan.compiled import CompiledPlan
from capplan.plan.models import Plan, Threshold
from capplan.sizing.result import Array, BoolArray, IntArray, Sized
from capplan.timeline import Timeline

__all__ = ["reached_by_period_fast", "simulate_fast"]

_PROGRESS_STEPS = 100


def simulate_fast(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    base: Evaluation,
    seed: int = 0,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> MonteCarlo:
    """What :func:`~capplan.engine.simulation.simulate_reference` returns, with every figure
    summarised as soon as it is computed. ``progress(done)`` is called as figures are
    computed, ``done`` being the share of the work done, in paths. ``tuning`` sets the
    block sizes (the figures do not depend on it)."""
    rng = np.random.default_rng(seed)
    rates = draw_rates(compiled, scenario, timeline, paths, rng, chunk)
    summary = _Summary(compiled.plan, base, paths, timeline.periods + 1, progress)
    stream(compiled, scenario, timeline, paths, summary, rates, summary.thresholds, tuning)
    if progress is not None and summary.reported < paths:
        progress(paths)
    return summary.result()


def reached_by_period_fast(hit: BoolArray) -> IntArray:
    """:func:`~capplan.engine.simulation.reached_by_period`, from each path's first hit."""
    paths, periods = hit.shape
    # The common case of a limit never reached (often a read-only False): nothing to count.
    never = not hit.flat[0] if hit.strides == (0, 0) else not hit.any()
    if never:
        return np.zeros(periods, dtype=np.int64)
    first = hit.argmax(axis=1)
    ever = hit[np.arange(paths), first]
    return np.cumsum(np.bincount(first[ever], minlength=periods))


class _Summary:
    """A :class:`~.stream.ColumnSink` that keeps quantiles and event counts only."""

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
        # (A figure is handed over once per run, so its name tells its values.)
        self.statistics: dict[str, Statistics] = {}
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
        counts = reached_by_period_fast(sized.exceeded)
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
            self.quantiles[name] = np_quantiles(values)
        for tname, thr in self.thresholds.get(name, ()):
            assert values is not None, name
            self.threshold_counts[tname] = [
                (key, text, reached_by_period_fast(hit))
                for key, text, hit in threshold_hits(tname, thr, values, self.plan.step)
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
        if known is not None:
            return known
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
            self.statistics[name] = stats
        return stats

    def result(self) -> MonteCarlo:
        hits: list[tuple[str, str, IntArray]] = []
        for name, exceeded in self.exceeded.items():
            if name in self.levels:
                hits += self.levels[name].reached()
            hits.append((*exceeded_event(name), exceeded))
        for tname in self.plan.thresholds:
            hits += self.threshold_counts.get(tname, [])
        return MonteCarlo(self.quantiles, probabilities(hits, self.paths))


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
        return per_period_counts(level, 0, self.levels)

    def order_statistics(self, ranks: list[int]) -> Statistics:
        """The level of each rank (0 = lowest) in each period."""
        assert self.at is not None
        return ranked(np.cumsum(self.at, axis=1), ranks, 0, np.dtype(np.int64))

    def reached(self) -> list[tuple[str, str, IntArray]]:
        """Per level event: its key, description and paths at that level or above by period."""
        assert self.highest is not None
        return [(key, text, self.highest[:, k:].sum(axis=1)) for key, text, k in self.events]
