"""Monte Carlo, the reference way: every path evaluated whole, then summarised.

Rates are drawn as :func:`~capplan.engine.evaluate.draw_rates` says, every path is evaluated
at once by :func:`~capplan.engine.evaluate.evaluate`, each figure is summarised by
``np.quantile`` over paths, and each event's probability by period is the share of paths on
which it has happened by then. The fast engine (:mod:`capplan.engine.montecarlo`) returns
the same :class:`MonteCarlo` without ever holding every figure of every path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.engine.evaluate import DEFAULT_CHUNK, QUANTILES, Evaluation, draw_rates, evaluate
from capplan.engine.events import EventProbability
from capplan.engine.hits import event_hits
from capplan.plan.compiled import CompiledPlan
from capplan.sizing.result import Array, BoolArray, IntArray
from capplan.timeline import Timeline

__all__ = [
    "MonteCarlo",
    "probabilities",
    "quantiles_over_paths",
    "reached_by_period",
    "simulate_reference",
]


@dataclass
class MonteCarlo:
    """Quantiles (figure → array of shape (3, periods + 1): P10, P50, P90) and the
    probability of each event by each period."""

    quantiles: dict[str, Array]
    probabilities: list[EventProbability]


def quantiles_over_paths(values: Array) -> Array:
    """P10, P50 and P90 over paths (axis 0): ``np.quantile`` (linear), except that a
    period where every path holds the same value has that value (an infinite cost per unit,
    for which ``np.quantile`` interpolates NaN)."""
    out: Array = np.quantile(values, QUANTILES, axis=0)
    same = values.min(axis=0) == values.max(axis=0)
    out[:, same] = values[0, same]
    return out


def reached_by_period(hit: BoolArray) -> IntArray:
    """Per period, the number of paths on which ``hit`` has held in that period or before."""
    counts: IntArray = np.logical_or.accumulate(hit, axis=1).sum(axis=0)
    return counts


def probabilities(hits: list[tuple[str, str, IntArray]], paths: int) -> list[EventProbability]:
    """Event probabilities from (key, description, paths reached by period), the counts of
    one key summed; an ``exceeded`` event is left out when it never happens."""
    reached: dict[str, IntArray] = {}
    described: dict[str, str] = {}
    for key, text, counts in hits:
        reached[key] = reached[key] + counts if key in reached else counts
        described[key] = text
    return [
        EventProbability(key, described[key], [round(float(c) / paths, 4) for c in n])
        for key, n in reached.items()
        if not key.endswith(".exceeded") or n[-1] > 0
    ]


def simulate_reference(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    base: Evaluation,
    seed: int = 0,
    chunk: int = DEFAULT_CHUNK,
) -> MonteCarlo:
    """``paths`` paths of sampled rates (``seed``), summarised; ``base`` is the
    deterministic run, whose levels today the level events start from."""
    rates = draw_rates(compiled, scenario, timeline, paths, np.random.default_rng(seed), chunk)
    every = evaluate(compiled, scenario, timeline, paths, rates=rates)
    quantiles = {name: quantiles_over_paths(v) for name, v in every.values.items()}
    hits = [
        (key, text, reached_by_period(hit))
        for key, text, hit in event_hits(compiled.plan, every, base)
    ]
    return MonteCarlo(quantiles, probabilities(hits, paths))
