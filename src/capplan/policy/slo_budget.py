"""SLO error budgets measured on metric history: the share of bad samples against the budget.

For an SLO (:class:`~capplan.plan.slos.Slo`) the samples of its indicator's series in the
window checked are pooled: a sample is bad when past ``limit`` (``metric``), when ``up`` is 0
(``job``), or, for ``error_ratio``, each sample IS the bad share (its mean is taken). Then:

- ``bad_share`` — bad samples / samples (the mean, for an error ratio);
- ``burn_rate`` — ``bad_share / (1 − objective)``: 1 spends the budget exactly over the
  window, 14.4 spends a 30-day budget in about two days;
- ``budget_used`` — the bad time in the span checked (``bad_share × span``) as a share of
  the window's budget (43.2 min for 99.9% of 30d).

Status: ``critical`` when the budget is used up (``budget_used >= 1``), ``warning`` when it is
being spent faster than it lasts (``burn_rate > 1``), else ``ok``; ``no data`` when no series
matches, ``not measured`` for an ``error_ratio`` SLO with no ``series`` (only Prometheus can
compute it; its burn-rate alerts do).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from capplan._types import Array
from capplan.data.frame import MetricFrame
from capplan.plan.models import Plan
from capplan.plan.slos import Slo

__all__ = ["SloResult", "SloStatus", "check_slos", "slo_series"]

SloStatus = Literal["ok", "warning", "critical", "no data", "not measured"]


@dataclass(frozen=True)
class SloResult:
    """One SLO measured on the history checked."""

    name: str
    objective: float
    window: str
    budget_seconds: float
    status: SloStatus
    series: tuple[str, ...] = ()
    samples: int = 0
    bad_share: float | None = None
    span_seconds: float = 0.0
    message: str = ""

    @property
    def budget_fraction(self) -> float:
        return 1 - self.objective / 100

    @property
    def burn_rate(self) -> float | None:
        """The bad share over the budget's share: 1 spends the budget exactly in the window."""
        return None if self.bad_share is None else self.bad_share / self.budget_fraction

    @property
    def bad_seconds(self) -> float | None:
        """Time all bad in the span checked: the bad share of the span."""
        return None if self.bad_share is None else self.bad_share * self.span_seconds

    @property
    def budget_used(self) -> float | None:
        """The bad time as a share of the window's budget (1: all spent)."""
        bad = self.bad_seconds
        return None if bad is None else bad / self.budget_seconds

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "slo": self.name,
            "objective": self.objective,
            "window": self.window,
            "budget_seconds": self.budget_seconds,
            "status": self.status,
            "series": list(self.series),
            "samples": self.samples,
            "bad_share": self.bad_share,
            "burn_rate": self.burn_rate,
            "span_seconds": self.span_seconds,
            "bad_seconds": self.bad_seconds,
            "budget_used": self.budget_used,
            "message": self.message,
        }


def _base(name: str) -> str:
    return name.split("{", 1)[0]


def slo_series(plan: Plan, slo: Slo, names: Iterable[str]) -> list[str]:
    """The stored series of an SLO's indicator among ``names``: its ``series`` glob (or a
    series of that name with labels), else the metric's series, else ``up`` of the job."""
    names = list(names)
    pattern = slo.series
    if pattern is None and slo.metric is not None:
        metric = plan.metrics.get(slo.metric)
        pattern = (metric.series if metric is not None else None) or slo.metric
    if pattern is not None:
        return [s for s in names if fnmatch.fnmatchcase(s, pattern) or _base(s) == pattern]
    if slo.job is not None:
        job = re.compile(r'[{,]job="' + re.escape(slo.job) + r'"[,}]')
        return [s for s in names if _base(s) == "up" and job.search(s)]
    return []


def _bad(slo: Slo, values: Array) -> Array:
    """Each sample's bad share: 0 or 1, or the sample itself for an error ratio."""
    if slo.error_ratio is not None:
        return np.clip(values, 0.0, 1.0)
    if slo.job is not None:
        return (values < 0.5).astype(float)
    assert slo.limit is not None
    bad = values > slo.limit if slo.direction == "above" else values < slo.limit
    return bad.astype(float)


def _measure(
    name: str,
    slo: Slo,
    frame: MetricFrame,
    series: list[str],
    at: np.datetime64,
    since_seconds: float | None,
) -> SloResult:
    base = SloResult(name, slo.objective, slo.window, slo.budget_seconds, "no data", tuple(series))
    end = int(at.astype("datetime64[s]").astype(np.int64))
    start = end - int(since_seconds) if since_seconds is not None else None
    shares: list[Array] = []
    first, last = None, None
    for s in series:
        ts, vals = frame.get(s)
        seconds = ts.astype("datetime64[s]").astype(np.int64)
        keep = (seconds <= end) & np.isfinite(vals)
        if start is not None:
            keep &= seconds >= start
        if not keep.any():
            continue
        shares.append(_bad(slo, vals[keep]))
        lo, hi = int(seconds[keep][0]), int(seconds[keep][-1])
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
    if not shares or first is None or last is None:
        return replace(base, message="no sample of its series in the window checked")
    pooled = np.concatenate(shares)
    bad_share = float(pooled.mean())
    result = SloResult(
        name,
        slo.objective,
        slo.window,
        slo.budget_seconds,
        "ok",
        tuple(series),
        int(pooled.size),
        bad_share,
        float(last - first),
    )
    used = result.budget_used or 0.0
    burn = result.burn_rate or 0.0
    status: SloStatus = "critical" if used >= 1 else "warning" if burn > 1 else "ok"
    message = (
        f"{bad_share:.3%} bad, burn rate {burn:.2f}, {used:.0%} of the {slo.window} budget used"
    )
    return replace(result, status=status, message=message)


def check_slos(
    plan: Plan, frame: MetricFrame, at: np.datetime64, since_seconds: float | None
) -> list[SloResult]:
    """Every SLO of ``plan`` measured on ``frame`` over ``[at − since_seconds, at]``."""
    results = []
    for name, slo in plan.slos.items():
        series = slo_series(plan, slo, frame.names)
        if slo.error_ratio is not None and slo.series is None:
            results.append(
                SloResult(
                    name,
                    slo.objective,
                    slo.window,
                    slo.budget_seconds,
                    "not measured",
                    message="an error_ratio is computed by Prometheus (its burn-rate alerts); "
                    "give series to measure it here",
                )
            )
            continue
        if not series:
            results.append(
                SloResult(
                    name,
                    slo.objective,
                    slo.window,
                    slo.budget_seconds,
                    "no data",
                    message="no stored series holds its indicator",
                )
            )
            continue
        results.append(_measure(name, slo, frame, series, at, since_seconds))
    return results
