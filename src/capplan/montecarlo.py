"""Monte Carlo: many paths of sampled growth rates, summarised as P10/P50/P90 of every figure
and the probability of each event by each period."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from capplan.evaluate import Evaluation, evaluate
from capplan.events import EventProbability, event_hits
from capplan.plan.compiled import CompiledPlan
from capplan.sizing.result import Array
from capplan.timeline import Timeline

__all__ = ["QUANTILES", "MonteCarlo", "simulate"]

QUANTILES = (0.1, 0.5, 0.9)
DEFAULT_CHUNK = 5000


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
    """Run ``paths`` paths in chunks of ``chunk`` (calling ``progress(done)`` after each)."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[Array]] = {}
    reached: dict[str, Array] = {}
    described: dict[str, str] = {}
    done = 0
    while done < paths:
        n = min(chunk, paths - done)
        ev = evaluate(compiled, scenario, timeline, n, rng)
        for name, arr in ev.values.items():
            parts.setdefault(name, []).append(arr)
        for key, text, hit in event_hits(compiled.plan, ev, base):
            counts = np.logical_or.accumulate(hit, axis=1).sum(axis=0)
            reached[key] = reached.get(key, 0) + counts
            described[key] = text
        done += n
        if progress is not None:
            progress(done)
    quantiles: dict[str, Array] = {}
    for name, chunks in parts.items():
        arr = chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=0)
        quantiles[name] = _quantiles(arr)
    probabilities = [
        EventProbability(key, described[key], [round(float(c) / paths, 4) for c in counts])
        for key, counts in reached.items()
        if key.endswith((".exceeded",)) is False or counts[-1] > 0
    ]
    return MonteCarlo(quantiles, probabilities)


def _quantiles(arr: Array) -> Array:
    """P10/P50/P90 over paths; columns that do not vary across paths cost nothing."""
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    if np.array_equal(lo, hi, equal_nan=True):
        return np.repeat(lo[None, :], len(QUANTILES), axis=0)
    return np.quantile(arr, QUANTILES, axis=0)
