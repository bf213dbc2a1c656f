"""From load-test runs to a per-instance capacity: the USL fit and the largest throughput
that keeps p95 latency and the error rate within their limits."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from capplan.loadtest.runs import LoadRun
from capplan.loadtest.usl import MIN_LEVELS, UslFit, fit_usl

__all__ = ["ERROR_DOMINATED", "Analysis", "Capacity", "Limits", "analyse", "capacity_at_limits"]

#: A run whose error rate is above this share is dominated by errors.
ERROR_DOMINATED = 0.5


@dataclass(frozen=True)
class Limits:
    """What a run must keep to: p95 latency at most ``latency_ms``, errors at most
    ``error_rate`` (a share)."""

    latency_ms: float = 500.0
    error_rate: float = 0.01


@dataclass(frozen=True)
class Capacity:
    """The largest throughput within the limits, the level it is reached at and the run
    that bounds it (the first run past a limit, or the best run when none is past)."""

    throughput: float
    level: float
    bound_by: str
    reason: str


@dataclass
class Analysis:
    """Every run (by level), the USL fit (None with fewer than 3 levels), the capacity at
    the limits (None when even the lowest run breaks them) and warnings."""

    runs: list[LoadRun]
    limits: Limits
    fit: UslFit | None
    capacity: Capacity | None
    warnings: list[str] = field(default_factory=list)


def _within(run: LoadRun, limits: Limits) -> bool:
    return run.p95_ms <= limits.latency_ms and run.error_rate <= limits.error_rate


def _crossing(a: float, b: float, limit: float) -> float | None:
    """Where, as a share of the way from a to b, a quantity going from a (within) to b
    crosses ``limit``; None when b is within too."""
    if b <= limit:
        return None
    return (limit - a) / (b - a)


def _what(run: LoadRun, limits: Limits) -> str:
    """Which limit a run breaks, and by how much."""
    if run.p95_ms > limits.latency_ms:
        return f"p95 {run.p95_ms:g} ms > {limits.latency_ms:g} ms"
    return f"errors {run.error_rate:.2%} > {limits.error_rate:.2%}"


def capacity_at_limits(runs: Sequence[LoadRun], limits: Limits) -> Capacity | None:
    """The largest throughput whose p95 latency and error rate are within ``limits``:
    every run within them counts, and between a run within and the next level past them
    the figures are interpolated linearly in the level to where the first limit is met.
    None when no run is within the limits."""
    ordered = sorted(runs, key=lambda r: r.level)
    best: Capacity | None = None
    for run in ordered:
        if _within(run, limits) and (best is None or run.throughput > best.throughput):
            best = Capacity(run.throughput, run.level, run.source, "measured, within the limits")
    if best is None:
        return None
    for a, b in itertools.pairwise(ordered):
        if not _within(a, limits) or _within(b, limits):
            continue
        latency = _crossing(a.p95_ms, b.p95_ms, limits.latency_ms)
        errors = _crossing(a.error_rate, b.error_rate, limits.error_rate)
        if latency is not None and (errors is None or latency <= errors):
            t, met = latency, f"p95 reaches {limits.latency_ms:g} ms"
        else:
            assert errors is not None
            t, met = errors, f"errors reach {limits.error_rate:.2%}"
        throughput = a.throughput + t * (b.throughput - a.throughput)
        if throughput > best.throughput:
            level = a.level + t * (b.level - a.level)
            reason = f"interpolated between levels {a.level:g} and {b.level:g}, where {met}"
            best = Capacity(throughput, level, b.source, reason)
    if all(_within(r, limits) for r in ordered):
        best = Capacity(
            best.throughput,
            best.level,
            best.bound_by,
            "no run reached the limits: at least this much (test at higher levels)",
        )
    return best


def _unimodal(values: Sequence[float]) -> bool:
    """Whether ``values`` rise then fall (each part may be empty), as the USL's do."""
    i = 1
    while i < len(values) and values[i] >= values[i - 1]:
        i += 1
    return all(values[j] <= values[j - 1] for j in range(i, len(values)))


def analyse(runs: Sequence[LoadRun], limits: Limits) -> Analysis:
    """Fit the USL over the runs' levels and throughputs, find the capacity at ``limits``
    and say what a reader should doubt."""
    ordered = sorted(runs, key=lambda r: (r.level, r.source))
    warnings: list[str] = []
    for run in ordered:
        if run.error_rate > ERROR_DOMINATED:
            warnings.append(
                f"{run.source}: {run.error_rate:.0%} of requests failed; its throughput is "
                "mostly errors"
            )
    levels = np.array([r.level for r in ordered])
    throughput = np.array([r.throughput for r in ordered])
    distinct = len(set(levels.tolist()))
    if distinct < len(levels):
        warnings.append("several runs share a concurrency level; all are fitted")
    fit = None
    usable = (levels > 0) & (throughput > 0)
    if distinct < MIN_LEVELS:
        warnings.append(
            f"{distinct} concurrency level{'' if distinct == 1 else 's'}: the USL needs at "
            f"least {MIN_LEVELS} to be fitted; only the capacity at the limits is given"
        )
    elif len(set(levels[usable].tolist())) < MIN_LEVELS:
        warnings.append(
            f"fewer than {MIN_LEVELS} levels with a throughput above zero: the USL is not fitted"
        )
    else:
        fit = fit_usl(levels[usable], throughput[usable])
        if fit.r_squared < 0.9:
            warnings.append(f"the USL fits poorly (R² {fit.r_squared:.2f}); check the runs")
    if not _unimodal(throughput.tolist()):
        warnings.append(
            "throughput is not monotonic in the level (it falls, then rises again): "
            "noisy or mixed runs"
        )
    capacity = capacity_at_limits(ordered, limits)
    if capacity is not None and all(_within(r, limits) for r in ordered):
        warnings.append(
            "no run reached the limits: the capacity is at least the best measured throughput"
        )
    if capacity is None and ordered:
        warnings.append(
            f"every run breaks the limits (the lowest level, {ordered[0].level:g}, has "
            f"{_what(ordered[0], limits)}): no capacity can be given"
        )
    return Analysis(ordered, limits, fit, capacity, warnings)
