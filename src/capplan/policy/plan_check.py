"""A plan's thresholds checked against metric history: the status of each observed metric.

Each threshold on an observed metric (one without an expression) is evaluated with
:func:`~capplan.policy.evaluate.evaluate_threshold` on every series matching the metric; the
most severe level firing at the last sample sets the status of that series.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal

import numpy as np

from capplan.data.frame import MetricFrame
from capplan.plan.models import Plan
from capplan.policy.evaluate import SEVERITY, ThresholdEvaluation, evaluate_threshold

__all__ = ["CheckReport", "CheckResult", "CheckStatus", "check_plan"]


def _iso(t: np.datetime64 | None) -> str | None:
    return None if t is None else f"{np.datetime_as_string(t, unit='s')}Z"


CheckStatus = Literal["ok", "warning", "critical", "no data", "not observed"]
_STATUS_RANK: dict[str, int] = {"ok": 0, "no data": 1, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class CheckResult:
    """The current status of one threshold on one series (or on none, see ``status``).

    ``status`` is the most severe level FIRING at the last sample (``emergency`` counts as
    ``critical``; ``target`` never changes it), ``no data`` when no stored series matches an
    observed metric, ``not observed`` for a threshold on a plan-computed quantity.
    """

    threshold: str
    metric: str
    series: str | None
    status: CheckStatus
    level: str | None = None
    pending: str | None = None
    since: np.datetime64 | None = None
    unit: str = ""
    evaluation: ThresholdEvaluation | None = None
    message: str = ""

    def to_dict(self, timeline: bool = False) -> dict[str, object]:
        """JSON-ready form."""
        ev = self.evaluation
        return {
            "threshold": self.threshold,
            "metric": self.metric,
            "series": self.series,
            "status": self.status,
            "level": self.level,
            "pending": self.pending,
            "since": _iso(self.since),
            "unit": self.unit,
            "message": self.message,
            "evaluation": ev.to_dict(timeline) if ev is not None else None,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every threshold of a plan checked against metric history."""

    results: tuple[CheckResult, ...]

    @property
    def checked(self) -> list[CheckResult]:
        """Results of thresholds on observed metrics (the ones that set the exit code)."""
        return [r for r in self.results if r.status != "not observed"]

    @property
    def status(self) -> Literal["ok", "warning", "critical"]:
        """Overall status: critical if any is, else warning if any is warning or has no data."""
        rank = max((_STATUS_RANK[r.status] for r in self.checked), default=0)
        return ("ok", "warning", "critical")[rank]

    @property
    def exit_code(self) -> int:
        """0 ok, 1 warning (or no data), 2 critical."""
        return _STATUS_RANK[self.status]

    def to_dict(self, timeline: bool = False) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "results": [r.to_dict(timeline) for r in self.results],
        }


def _status(name: str, metric: str, series: str, unit: str, ev: ThresholdEvaluation) -> CheckResult:
    firing = ev.highest("firing")
    pending = ev.highest("pending")
    rank = SEVERITY[firing.level] if firing else 0
    if pending is not None and SEVERITY[pending.level] <= rank:
        pending = None
    status: CheckStatus = "ok"
    if firing is not None:
        status = "critical" if SEVERITY[firing.level] >= SEVERITY["critical"] else "warning"
    return CheckResult(
        threshold=name,
        metric=metric,
        series=series,
        status=status,
        level=firing.level if firing else None,
        pending=pending.level if pending else None,
        since=firing.state_since if firing else None,
        unit=unit,
        evaluation=ev,
    )


def check_plan(
    plan: Plan, frame: MetricFrame, *, eval_interval_seconds: int | None = None
) -> CheckReport:
    """Evaluate every threshold of ``plan`` on the observed metrics' history in ``frame``.

    A metric is observed when it has no expression; its series are those of ``frame`` whose id
    matches ``Metric.series`` (a glob, default the metric's name), each checked on its own.
    Thresholds on drivers, derived metrics and component outputs are plan events, reported as
    ``not observed``; an observed metric without a matching series is ``no data``.
    """
    frame = frame.sorted()
    results: list[CheckResult] = []
    for name, thr in plan.thresholds.items():
        metric = plan.metrics.get(thr.metric)
        if metric is None or metric.expr is not None:
            results.append(
                CheckResult(
                    name,
                    thr.metric,
                    None,
                    "not observed",
                    unit=thr.unit,
                    message="computed by the plan, not observed; see `capplan plan`",
                )
            )
            continue
        glob = metric.series or thr.metric
        matched = [s for s in frame.names if fnmatch.fnmatchcase(s, glob)]
        if not matched:
            results.append(
                CheckResult(
                    name,
                    thr.metric,
                    None,
                    "no data",
                    unit=thr.unit or metric.unit,
                    message=f"no series matches '{glob}'",
                )
            )
            continue
        for series in matched:
            ts, vals = frame.get(series)
            ev = evaluate_threshold(ts, vals, thr, eval_interval_seconds=eval_interval_seconds)
            results.append(_status(name, thr.metric, series, thr.unit or metric.unit, ev))
    return CheckReport(tuple(results))
