"""The APM runbook's weekly capacity report and monthly capacity review, for any plan.

:func:`periodic_report` computes everything a report says, with no I/O: per observed series
its average, peak and p95 over the period and its trend against the period before; the
thresholds that fired and for how long (:func:`~capplan.policy.plan_check.check_plan` over the
period); the runway to every level (:func:`~capplan.forecast.run.run_forecast` with the plans);
the plan's scaling events and recommendations; and, monthly, the number of scaling events,
the cost of the month to date against ``budget.monthly_limit`` (a warning at 80% of it, as
the runbook's billing alerts) and, when :mod:`capplan.review` is installed, plan vs actual.

A period ends at ``now``: a week is the 7 days before it, a month the 30 days before it; the
previous period is the same length just before. Renderers are in
:mod:`capplan.report.periodic_text` (Markdown, the notification summary) and
:mod:`capplan.report.periodic_html` (HTML with charts).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from capplan._types import Array
from capplan.data.frame import MetricFrame
from capplan.engine.events import Event
from capplan.engine.planner import run_plan
from capplan.engine.projection import Projection
from capplan.errors import CapplanError, UsageError
from capplan.formatting import json_float
from capplan.plan.models import Plan
from capplan.policy.freshness import instant, iso_time
from capplan.policy.plan_check import CheckResult, check_plan, series_of_metric
from capplan.policy.slo_budget import SloResult

__all__ = [
    "BUDGET_WARNING_SHARE",
    "PERIOD_DAYS",
    "REVIEW_KINDS",
    "BudgetSummary",
    "Firing",
    "MetricSummary",
    "PeriodicReport",
    "ReportKind",
    "iso_day",
    "periodic_report",
    "span",
]

ReportKind = Literal["daily", "weekly", "monthly", "quarterly"]
PERIOD_DAYS: dict[str, int] = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91}
#: the reports that review the plan: an executive summary, the budget and plan vs actual
REVIEW_KINDS = ("monthly", "quarterly")
#: the runbook's "Set up billing alerts at 80% of budget"
BUDGET_WARNING_SHARE = 0.8
_SCALING_KINDS = ("scale", "tier", "rung", "capacity_exceeded")


@dataclass(frozen=True)
class MetricSummary:
    """One series over the period: average, peak (and when), p95, and the previous period's
    average with the change in percent (None without data)."""

    series: str
    metric: str | None
    unit: str
    samples: int
    average: float | None
    peak: float | None
    peak_at: np.datetime64 | None
    p95: float | None
    previous_average: float | None
    change_pct: float | None
    times: np.ndarray[Any, np.dtype[np.datetime64]] = field(repr=False, compare=False)
    values: Array = field(repr=False, compare=False)

    @property
    def trend(self) -> str:
        """``up 12.3%``, ``down 4.0%``, ``flat`` or ``-`` (no previous data)."""
        if self.change_pct is None:
            return "-"
        if abs(self.change_pct) < 0.5:
            return "flat"
        return f"{'up' if self.change_pct > 0 else 'down'} {abs(self.change_pct):.1f}%"

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "metric": self.metric,
            "unit": self.unit,
            "samples": self.samples,
            "average": _num(self.average),
            "peak": _num(self.peak),
            "peak_at": iso_time(self.peak_at),
            "p95": _num(self.p95),
            "previous_average": _num(self.previous_average),
            "change_pct": _num(self.change_pct),
            "trend": self.trend,
        }


@dataclass(frozen=True)
class Firing:
    """One threshold level on one series over the period: how often it fired, for how long,
    and the status at the end of the period."""

    threshold: str
    series: str
    level: str
    value: float
    unit: str
    firings: int
    seconds_firing: float
    status: str
    direction: str = "above"

    @property
    def sign(self) -> str:
        return ">" if self.direction == "above" else "<"

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "direction": self.direction,
            "series": self.series,
            "level": self.level,
            "value": self.value,
            "unit": self.unit,
            "firings": self.firings,
            "seconds_firing": self.seconds_firing,
            "status": self.status,
        }


@dataclass(frozen=True)
class BudgetSummary:
    """The plan's cost in the calendar month of ``today``: the whole month, the share of it
    to date (prorated by days), the cost of the plan's periods so far, and the limit."""

    month: str
    currency: str
    month_cost: float
    cost_to_date: float
    cumulative_to_date: float
    limit: float | None

    @property
    def share_to_date(self) -> float | None:
        return None if not self.limit else self.cost_to_date / self.limit

    @property
    def share_of_month(self) -> float | None:
        return None if not self.limit else self.month_cost / self.limit

    @property
    def warning(self) -> str | None:
        """Why the month needs a look: over the limit, or past 80% of it (to date or by the
        month's planned cost)."""
        if not self.limit:
            return None
        share = self.share_of_month or 0.0
        if share > 1:
            return f"the month's planned cost is {share:.0%} of the monthly limit"
        if (self.share_to_date or 0.0) >= BUDGET_WARNING_SHARE:
            return f"the cost to date is {self.share_to_date:.0%} of the monthly limit"
        if share >= BUDGET_WARNING_SHARE:
            return (
                f"the month's planned cost is {share:.0%} of the monthly limit "
                f"(alert at {BUDGET_WARNING_SHARE:.0%})"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "currency": self.currency,
            "month_cost": _num(self.month_cost),
            "cost_to_date": _num(self.cost_to_date),
            "cumulative_to_date": _num(self.cumulative_to_date),
            "monthly_limit": self.limit,
            "share_to_date": _num(self.share_to_date),
            "share_of_month": _num(self.share_of_month),
            "warning": self.warning,
        }


@dataclass
class PeriodicReport:
    """Everything a weekly or monthly report says (see the module docstring)."""

    kind: ReportKind
    system: str
    now: np.datetime64
    start: np.datetime64
    previous_start: np.datetime64
    today: dt.date
    metrics: list[MetricSummary]
    status: str
    checked: list[CheckResult]
    firings: list[Firing]
    runways: list[dict[str, Any]]
    forecast_advice: list[str]
    events: list[Event]
    recommendations: list[str]
    currency: str
    projection: Projection | None = None
    scaling_events: int | None = None
    budget: BudgetSummary | None = None
    review: list[dict[str, Any]] | None = None
    review_note: str | None = None
    notes: list[str] = field(default_factory=list)
    slos: list[SloResult] = field(default_factory=list)

    @property
    def title(self) -> str:
        day = iso_day(self.now)
        if self.kind == "daily":
            return f"Daily Capacity Summary - {self.system} - {day}"
        if self.kind == "weekly":
            return f"Weekly Capacity Report - {self.system} - {day}"
        if self.kind == "quarterly":
            return f"Quarterly Capacity Review - {self.system} - {self.review_period}"
        return f"Monthly Capacity Review - {self.system} - {day[:7]}"

    @property
    def review_period(self) -> str:
        """The month (2026-10) or, for a quarterly review, the quarter (2026-Q4) of ``today``
        whose scaling events the review counts."""
        if self.kind == "quarterly":
            return f"{self.today.year}-Q{(self.today.month - 1) // 3 + 1}"
        return self.today.strftime("%Y-%m")

    @property
    def period_text(self) -> str:
        return f"{_minute(self.start)} to {_minute(self.now)} UTC"

    def summary(self) -> list[str]:
        """The few lines a notification carries: status, what fired, the soonest runways,
        the budget warning."""
        lines = [f"Status: {self.status}; period {self.period_text}."]
        fired = [f for f in self.firings if f.firings or f.status in ("warning", "critical")]
        for f in fired[:6]:
            lines.append(
                f"{f.threshold} {f.level} ({f.sign} {f.value:g}{_sp(f.unit)}) on {f.series}: "
                f"fired {f.firings}x, {span(f.seconds_firing)} firing"
            )
        for r in self.runways[:3]:
            when = r.get("crossed_since") or r.get("p50")
            if when:
                lines.append(
                    f"Runway: {r['series']} reaches {r['threshold']} {r['level']} "
                    f"({r['value']:g}) {'since' if r.get('crossed_since') else 'on'} {when[:10]}"
                )
        if self.budget is not None and self.budget.warning:
            lines.append(f"Budget: {self.budget.warning}.")
        if self.scaling_events is not None:
            lines.append(f"Scaling events planned this month: {self.scaling_events}.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "system": self.system,
            "now": iso_time(self.now),
            "start": iso_time(self.start),
            "previous_start": iso_time(self.previous_start),
            "today": self.today.isoformat(),
            "status": self.status,
            "metrics": [m.to_dict() for m in self.metrics],
            "firings": [f.to_dict() for f in self.firings],
            "runways": self.runways,
            "forecast_advice": self.forecast_advice,
            "events": [e.to_dict() for e in self.events],
            "recommendations": self.recommendations,
            "scaling_events": self.scaling_events,
            "budget": self.budget.to_dict() if self.budget else None,
            "review": self.review,
            "review_note": self.review_note,
            "notes": self.notes,
            "slos": [o.to_dict() for o in self.slos],
        }


def iso_day(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t, unit="D"))


def _minute(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t, unit="m")).replace("T", " ")


def _sp(unit: str) -> str:
    return unit if unit.strip() == "%" or not unit else f" {unit}"


def span(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def _num(value: float | None) -> float | int | None:
    return None if value is None else json_float(float(value))


def _observed_names(plans: Sequence[Plan], names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Each series of ``names`` an observed metric of a plan names: (metric, unit)."""
    out: dict[str, tuple[str, str]] = {}
    for plan in plans:
        for name, metric in plan.metrics.items():
            if metric.expr is None:
                for series in series_of_metric(names, metric.series or name):
                    out.setdefault(series, (name, metric.unit))
    return out


def _summaries(
    plans: Sequence[Plan],
    frame: MetricFrame,
    start: np.datetime64,
    previous: np.datetime64,
    now: np.datetime64,
) -> list[MetricSummary]:
    observed = _observed_names(plans, frame.names)
    names = [n for n in frame.names if n in observed] or list(frame.names)
    out = []
    for name in names:
        ts, vs = frame.get(name)
        ok = np.isfinite(vs)
        ts, vs = ts[ok], vs[ok]
        cur = (ts > start) & (ts <= now)
        prev = (ts > previous) & (ts <= start)
        metric, unit = observed.get(name, (None, ""))
        t, v = ts[cur], vs[cur]
        prev_avg = float(vs[prev].mean()) if prev.any() else None
        avg = float(v.mean()) if v.size else None
        change = None
        if avg is not None and prev_avg:
            change = (avg - prev_avg) / abs(prev_avg) * 100
        peak_i = int(np.argmax(v)) if v.size else None
        out.append(
            MetricSummary(
                series=name,
                metric=metric,
                unit=unit,
                samples=int(v.size),
                average=avg,
                peak=float(v[peak_i]) if peak_i is not None else None,
                peak_at=t[peak_i] if peak_i is not None else None,
                p95=float(np.percentile(v, 95)) if v.size else None,
                previous_average=prev_avg,
                change_pct=change,
                times=t,
                values=v,
            )
        )
    return out


def _firings(results: Sequence[CheckResult]) -> list[Firing]:
    out = []
    for r in results:
        ev = r.evaluation
        if ev is None or r.series is None:
            continue
        for lv in ev.levels:
            if lv.level == "target":
                continue
            status = r.status if r.level == lv.level else "ok"
            out.append(
                Firing(
                    r.threshold,
                    r.series,
                    lv.level,
                    lv.value,
                    r.unit,
                    lv.firings,
                    lv.seconds_firing,
                    status,
                    ev.direction,
                )
            )
    return out


_STATUS_RANK = {"ok": 0, "stale": 1, "warning": 2, "critical": 3}


def _budget(projection: Projection, today: dt.date) -> BudgetSummary:
    """Each period's cost is spread evenly over its days; the month of ``today`` takes the
    days it shares with each period (to date: up to and including ``today``)."""
    tl = projection.timeline
    cost = np.asarray(projection.values["total.cost"], dtype=np.float64)
    month_start = today.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    upto = today + dt.timedelta(days=1)
    dates = [tl.date(t) for t in range(tl.periods + 1)]
    last = dates[-1] - dates[-2] if len(dates) > 1 else dt.timedelta(days=30)
    ends = [*dates[1:], dates[-1] + last]

    def days(a: dt.date, b: dt.date) -> int:
        return max((b - a).days, 0)

    month_cost = to_date = cumulative = 0.0
    for t, (begin, end) in enumerate(zip(dates, ends, strict=True)):
        per_day = float(cost[t]) / max((end - begin).days, 1)
        month_cost += per_day * days(max(begin, month_start), min(end, next_month))
        to_date += per_day * days(max(begin, month_start), min(end, upto))
        cumulative += per_day * days(begin, min(end, upto))
    return BudgetSummary(
        month=month_start.strftime("%Y-%m"),
        currency=projection.plan.currency,
        month_cost=month_cost,
        cost_to_date=to_date,
        cumulative_to_date=cumulative,
        limit=projection.plan.budget.monthly_limit,
    )


def _review(
    plan: Plan, frame: MetricFrame, today: dt.date
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """Plan vs actual (``capplan compare``) when this capplan has it: one row per figure
    compared, with its one-line summary; else a note why there is none."""
    module = None
    for name in ("capplan.review", "capplan.compare"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "compare_plan"):
            break
        module = None
    if module is None:
        return None, "Plan vs actual is not available in this version of capplan."
    try:
        result = module.compare_plan(plan, frame, today=today)
    except CapplanError as exc:
        return None, f"Plan vs actual: {exc}"
    rows = [
        {
            "figure": str(getattr(f, "name", "")),
            "kind": str(getattr(f, "kind", "")),
            "summary": str(getattr(f, "summary", "")),
        }
        for f in getattr(result, "figures", [])
    ]
    if not rows:
        return None, "Plan vs actual: no figure of the plan has actuals in the history."
    return rows, None


def _watches(plan: Plan) -> bool:
    """Whether a threshold of ``plan`` is on an observed metric (one a forecast can reach)."""
    metrics = plan.metrics
    return any(
        t.metric in metrics and metrics[t.metric].expr is None for t in plan.thresholds.values()
    )


def periodic_report(
    kind: ReportKind,
    plan: Plan,
    frame: MetricFrame,
    *,
    now: np.datetime64,
    today: dt.date | None = None,
    checks: Sequence[Plan] = (),
    horizon: str = "90d",
    forecast: bool = True,
) -> PeriodicReport:
    """The ``kind`` report of ``plan`` (and the thresholds of the ``checks`` plans) over
    ``frame``, as of ``now``; ``today`` (default: the day of ``now``) dates the plan's
    projection and the month of the budget. ``horizon``: how far the runways look ahead;
    ``forecast=False`` leaves the runways out."""
    if kind not in PERIOD_DAYS:
        raise UsageError(f"unknown report '{kind}'; available: {', '.join(sorted(PERIOD_DAYS))}")
    now = instant(now)
    today = today or dt.date.fromisoformat(iso_day(now))
    length = np.timedelta64(PERIOD_DAYS[kind] * 86400, "s")
    start, previous = now - length, now - 2 * length
    frame = frame.sorted()
    plans = [plan, *checks]
    metrics = _summaries(plans, frame, start, previous, now)
    checked: list[CheckResult] = []
    notes: list[str] = []
    slos: list[SloResult] = []
    for p in plans:
        rep = check_plan(p, frame, now=now, since_seconds=float(length.astype(np.int64)))
        checked += rep.checked
        slos += rep.slos
    # a metric with no series in the history is said in the notes, not as a warning
    missing = [r for r in checked if r.status == "no data" and r.series is None]
    checked = [r for r in checked if r not in missing]
    if missing:
        names = ", ".join(sorted({r.metric for r in missing}))
        notes.append(f"not in the metric history, so not checked: {names}")
    status = max(
        (("warning" if r.status == "no data" else r.status) for r in checked),
        key=lambda s: _STATUS_RANK.get(s, 0),
        default="ok",
    )
    runways: list[dict[str, Any]] = []
    advice: list[str] = []
    upto = frame.take(frame.timestamps <= now).compact()
    watched = [p for p in plans if _watches(p)]
    if forecast and watched and upto.values.size:
        from capplan.forecast.run import run_forecast

        try:
            run = run_forecast(upto, horizon, plans=watched, now=now)
        except CapplanError as exc:
            notes.append(f"no runway: {exc}")
        else:
            runways = sorted(
                run.plan_runway,
                key=lambda r: (r["crossed_since"] or r["p50"] or "9999", r["series"]),
            )
            advice = list(run.advice)
    projection = run_plan(plan, today=today)
    horizon_end = today + dt.timedelta(days=92)
    period_start = dt.date.fromisoformat(iso_day(start))
    events = [
        e
        for e in projection.events
        if e.date <= horizon_end and (e.date >= period_start.replace(day=1) or e.overdue)
    ]
    report = PeriodicReport(
        kind=kind,
        system=plan.system,
        now=now,
        start=start,
        previous_start=previous,
        today=today,
        metrics=metrics,
        status=status,
        checked=checked,
        firings=_firings(checked),
        runways=runways,
        forecast_advice=advice,
        events=events,
        recommendations=list(projection.recommendations),
        currency=plan.currency,
        projection=projection,
        notes=notes,
        slos=slos,
    )
    if kind in REVIEW_KINDS:
        # the month of today, or the three months of its quarter
        first = (today.month - 1) // 3 * 3 + 1 if kind == "quarterly" else today.month
        last = first + 2 if kind == "quarterly" else today.month
        months = {f"{today.year}-{m:02d}" for m in range(first, last + 1)}
        report.scaling_events = sum(
            1
            for e in projection.events
            if e.kind in _SCALING_KINDS and e.date.strftime("%Y-%m") in months
        )
        report.budget = _budget(projection, today)
        report.review, report.review_note = _review(plan, upto, today)
    return report
