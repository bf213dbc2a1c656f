"""A plan's thresholds checked against metric history, as of one instant ``now``.

Each threshold on an observed metric (one without an expression) is evaluated with
:func:`~capplan.policy.thresholds.evaluate_threshold` on every series matching the metric, over
the samples at or before ``now`` (and, with ``since_seconds``, not older than
``now - since_seconds``); the most severe level firing at the last of them sets the status.

Every series is also checked for freshness (:mod:`capplan.policy.freshness`): a series whose
newest sample is older than its maximum age is ``stale`` whatever its levels say, since the
alert state of data that stopped arriving tells nothing about now. Statuses and exit codes:

============  ====  ==========================================================
status        exit  when
============  ====  ==========================================================
ok            0     no warning, critical or emergency level is firing
stale         1     the newest sample is older than the maximum age
no data       1     no series matches, or none has a sample in the window
warning       1     a warning level is firing
critical      2     a critical or emergency level is firing
============  ====  ==========================================================

HTTP probes (:mod:`capplan.policy.probe_status`) and SLO error budgets
(:mod:`capplan.policy.slo_budget`) made alongside give a status of the same scale, and count
in the report's status.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from capplan._types import Array, IntArray
from capplan.data.frame import MetricFrame
from capplan.formatting import fmt_age
from capplan.plan.bands import band_of
from capplan.plan.models import Plan, Threshold
from capplan.policy.freshness import (
    Freshness,
    default_max_age,
    freshness,
    instant,
    iso_time,
    longest_for,
)
from capplan.policy.probe_status import ProbeResult
from capplan.policy.slo_budget import SloResult, check_slos
from capplan.policy.thresholds import SEVERITY, ThresholdEvaluation, evaluate_threshold
from capplan.units import format_duration

__all__ = [
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "ReportStatus",
    "check_plan",
    "series_of_metric",
    "thresholds_on",
]

CheckStatus = Literal["ok", "warning", "critical", "stale", "no data", "not observed"]
ReportStatus = Literal["ok", "stale", "warning", "critical"]
# the overall status is the worst result; "no data" counts as a warning, as it always has
_REPORT_RANK: dict[str, int] = {
    "ok": 0,
    "not measured": 0,
    "stale": 1,
    "no data": 2,
    "warning": 2,
    "critical": 3,
}
_REPORT_STATUS: tuple[ReportStatus, ...] = ("ok", "stale", "warning", "critical")
_EXIT: dict[str, int] = {"ok": 0, "stale": 1, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class CheckResult:
    """The current status of one threshold on one series (or on none, see ``status``).

    ``status`` is the most severe level FIRING at the last sample (``emergency`` counts as
    ``critical``; ``target`` never changes it); ``stale`` when the series' newest sample is
    older than its maximum age (``level``, ``pending`` and ``since`` then tell the state at
    that sample); ``no data`` when no stored series matches an observed metric, or a series
    has no sample in the window checked; ``not observed`` for a threshold on a plan-computed
    quantity. ``freshness`` is the newest sample's time and age (None without a series).
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
    freshness: Freshness | None = None
    band: str | None = None

    @property
    def value_text(self) -> str:
        """The last value evaluated, in the unit (``+23% over 7d`` for a change); ``-``."""
        return "-" if self.evaluation is None else self.evaluation.value_text(self.unit)

    @property
    def last_sample(self) -> np.datetime64 | None:
        """Time of the series' newest sample at or before ``now``."""
        return self.freshness.last_sample if self.freshness is not None else None

    @property
    def age_seconds(self) -> float | None:
        """Seconds from the newest sample to ``now``."""
        return self.freshness.age_seconds if self.freshness is not None else None

    @property
    def stale(self) -> bool:
        """Whether the newest sample is older than the maximum age."""
        return self.freshness is not None and self.freshness.stale

    def to_dict(self, timeline: bool = False) -> dict[str, object]:
        """JSON-ready form."""
        ev = self.evaluation
        fresh = self.freshness
        return {
            "threshold": self.threshold,
            "metric": self.metric,
            "series": self.series,
            "status": self.status,
            "level": self.level,
            "pending": self.pending,
            "since": iso_time(self.since),
            "unit": self.unit,
            "message": self.message,
            "last_sample": iso_time(self.last_sample),
            "age_seconds": self.age_seconds,
            "max_age_seconds": fresh.max_age_seconds if fresh is not None else None,
            "stale": self.stale,
            "band": self.band,
            "evaluation": ev.to_dict(timeline) if ev is not None else None,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every threshold of a plan checked against metric history as of ``now``.

    ``since_seconds``: the window checked (None: all history); ``max_age_seconds``: the
    maximum age asked for (None: each series' default, 0: freshness not checked)."""

    results: tuple[CheckResult, ...]
    now: np.datetime64 | None = None
    since_seconds: float | None = None
    max_age_seconds: float | None = None
    probes: tuple[ProbeResult, ...] = ()
    slos: tuple[SloResult, ...] = ()

    @property
    def checked(self) -> list[CheckResult]:
        """Results of thresholds on observed metrics (the ones that set the exit code)."""
        return [r for r in self.results if r.status != "not observed"]

    @property
    def status(self) -> ReportStatus:
        """Overall status: critical if any is (threshold, probe or SLO); else warning if any
        is warning or has no data; else stale if any is; else ok."""
        statuses: list[str] = [r.status for r in self.checked]
        statuses += [p.status for p in self.probes] + [s.status for s in self.slos]
        rank = max((_REPORT_RANK[s] for s in statuses), default=0)
        return _REPORT_STATUS[rank]

    @property
    def exit_code(self) -> int:
        """0 ok, 1 warning, stale or no data, 2 critical."""
        return _EXIT[self.status]

    def to_dict(self, timeline: bool = False) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "now": iso_time(self.now),
            "since_seconds": self.since_seconds,
            "max_age_seconds": self.max_age_seconds,
            "results": [r.to_dict(timeline) for r in self.results],
            "probes": [p.to_dict() for p in self.probes],
            "slos": [s.to_dict() for s in self.slos],
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


def _step(seconds: IntArray) -> float:
    """Median spacing of sorted epoch seconds (0 with fewer than two distinct ones)."""
    diffs = np.diff(seconds)
    diffs = diffs[diffs > 0]
    return float(np.median(diffs)) if diffs.size else 0.0


def _stale_message(fresh: Freshness, result: CheckResult) -> str:
    assert fresh.age_seconds is not None
    assert fresh.max_age_seconds is not None
    text = (
        f"last sample {fmt_age(fresh.age_seconds)} ago, older than the max age "
        f"{format_duration(fresh.max_age_seconds)}"
    )
    if result.level is not None:
        text += f"; {result.level} was firing then"
    return text


def _change_message(ev: ThresholdEvaluation) -> str:
    """What a change threshold saw last: ``+23% over 7d``, or why it has no value."""
    if np.isfinite(ev.last_value):
        return ev.value_text()
    return f"no change over {ev.change_over}: no nonzero sample that long before the last"


def series_of_metric(names: Iterable[str], pattern: str) -> list[str]:
    """The series of an observed metric among ``names``: those matching its ``series`` glob
    (``pattern``), or named after it with any labels (``cpu`` or ``cpu{job="api"}``), as
    :func:`capplan.forecast.run_runways.plan_runways` finds them."""
    return [s for s in names if fnmatch.fnmatchcase(s, pattern) or s.split("{", 1)[0] == pattern]


def thresholds_on(plan: Plan, names: Iterable[str]) -> dict[str, list[Threshold]]:
    """The thresholds of ``plan`` on observed metrics checked on each series of ``names``
    (matched by :func:`series_of_metric`); series that none checks are left out."""
    names = list(names)
    out: dict[str, list[Threshold]] = {}
    for spec in _observed(plan).values():
        if spec is not None:
            for series in series_of_metric(names, spec[1]):
                out.setdefault(series, []).append(spec[0])
    return out


def _observed(plan: Plan) -> dict[str, tuple[Threshold, str, str] | None]:
    """Each threshold: (threshold, series glob, unit) when on an observed metric, else None."""
    out: dict[str, tuple[Threshold, str, str] | None] = {}
    for name, thr in plan.thresholds.items():
        metric = plan.metrics.get(thr.metric)
        if metric is None or metric.expr is not None:
            out[name] = None
        else:
            out[name] = (
                _alerting_for(plan, thr),
                metric.series or thr.metric,
                thr.unit or metric.unit,
            )
    return out


def _alerting_for(plan: Plan, thr: Threshold) -> Threshold:
    """The threshold as its alert rules see it: ``alerting.for`` when it gives no ``for``."""
    return thr if thr.for_ is not None else thr.model_copy(update={"for_": plan.alerting.for_})


def _histories(
    plan: Plan, frame: MetricFrame, at: np.datetime64, max_age_seconds: float | None
) -> dict[str, tuple[IntArray, Array, Freshness]]:
    """Each series a threshold of ``plan`` checks: its samples up to ``at`` (epoch seconds and
    values) and their freshness (see :func:`check_plan` for ``max_age_seconds``)."""
    history: dict[str, tuple[IntArray, Array, Freshness]] = {}
    for series, thresholds in thresholds_on(plan, frame.names).items():
        ts, vals = frame.get(series)
        seconds = ts.astype("datetime64[s]").astype(np.int64)
        upto = seconds <= at.astype(np.int64)
        seconds, vals = seconds[upto], vals[upto]
        limit = max_age_seconds
        if limit is None:
            limit = default_max_age(_step(seconds), longest_for(thresholds))
        last = np.datetime64(int(seconds[-1]), "s") if seconds.size else None
        history[series] = (seconds, vals, freshness(series, last, at, limit))
    return history


def check_plan(
    plan: Plan,
    frame: MetricFrame,
    *,
    now: np.datetime64 | None = None,
    since_seconds: float | None = None,
    max_age_seconds: float | None = None,
    eval_interval_seconds: int | None = None,
) -> CheckReport:
    """Evaluate every threshold of ``plan`` on the observed metrics' history in ``frame``, as
    of ``now`` (default: the current time; samples after it are ignored).

    A metric is observed when it has no expression; its series are those of ``frame`` whose id
    matches ``Metric.series`` (a glob), else those named after the metric with any labels
    (:func:`series_of_metric`), each checked on its own over
    its samples in ``[now - since_seconds, now]`` (all up to ``now`` when None). Thresholds on
    drivers, derived metrics and component outputs are plan events, reported as ``not
    observed``; an observed metric without a matching series is ``no data``.

    ``max_age_seconds``: a series whose newest sample is older is ``stale``; None gives each
    series its default (:func:`~capplan.policy.freshness.default_max_age` of its step and the
    longest ``for:`` of the thresholds checked on it), 0 turns the check off.

    The plan's SLOs are measured over the same window (see :mod:`capplan.policy.slo_budget`).
    """
    at = instant(now)
    frame = frame.sorted()
    observed = _observed(plan)
    matched = {
        name: series_of_metric(frame.names, spec[1])
        for name, spec in observed.items()
        if spec is not None
    }
    history = _histories(plan, frame, at, max_age_seconds)
    results: list[CheckResult] = []
    for name, spec in observed.items():
        thr = plan.thresholds[name]
        if spec is None:
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
        thr, glob, unit = spec
        if not matched[name]:
            results.append(
                CheckResult(
                    name,
                    thr.metric,
                    None,
                    "no data",
                    unit=unit,
                    message=f"no series matches '{glob}'",
                )
            )
            continue
        for series in matched[name]:
            seconds, vals, fresh = history[series]
            results.append(
                _check_series(
                    name,
                    thr,
                    series,
                    unit,
                    seconds,
                    vals,
                    fresh,
                    at,
                    since_seconds,
                    eval_interval_seconds,
                )
            )
    slos = tuple(check_slos(plan, frame, at, since_seconds))
    return CheckReport(tuple(results), at, since_seconds, max_age_seconds, slos=slos)


def _check_series(
    name: str,
    thr: Threshold,
    series: str,
    unit: str,
    seconds: IntArray,
    vals: Array,
    fresh: Freshness,
    at: np.datetime64,
    since_seconds: float | None,
    eval_interval_seconds: int | None,
) -> CheckResult:
    earlier: tuple[IntArray, Array] | None = None
    if since_seconds is not None:
        keep = seconds >= at.astype(np.int64) - int(since_seconds)
        earlier = (seconds[~keep], vals[~keep])  # bases of a change over the window
        seconds, vals = seconds[keep], vals[keep]
    if seconds.size == 0:
        base = CheckResult(name, thr.metric, series, "no data", unit=unit, freshness=fresh)
        if fresh.last_sample is None:
            return replace(base, message=f"no sample at or before {iso_time(at)}")
        if fresh.stale:
            return replace(base, status="stale", message=_stale_message(fresh, base))
        window = format_duration(since_seconds or 0)
        return replace(
            base,
            message=f"no sample in the last {window}; last sample {fmt_age(fresh.age_seconds)} ago",
        )
    ev = evaluate_threshold(
        seconds, vals, thr, eval_interval_seconds=eval_interval_seconds, earlier=earlier
    )
    result = replace(_status(name, thr.metric, series, unit, ev), freshness=fresh)
    if thr.bands and ev.change_over is None:
        result = replace(result, band=band_of(thr.bands, float(ev.last_value), thr.direction))
    if ev.change_over is not None:
        result = replace(result, message=_change_message(ev))
    if fresh.stale:
        result = replace(result, status="stale", message=_stale_message(fresh, result))
    return result
