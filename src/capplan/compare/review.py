"""Plan vs actual: each projected driver and derived metric next to its actual values per
period, the deviation in percent and in terms of the Monte Carlo band, tolerance flags, the
growth the actuals imply and the plan re-anchored on them (pure; the caller reads the data).

Figures compared: every driver, and every metric with an expression, whose actual series
(``actual.series``, a metric's own ``series``, else its name) is in the actuals. The period
holding ``today`` is ``partial``: shown, but left out of the fit and the anchor.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capplan._types import Array
from capplan.compare.periods import PeriodActuals, aggregate_periods
from capplan.compare.reanchor import Reanchor, reanchor_changes, reanchored_plan, what_moved
from capplan.compare.refit import GrowthFit, fit_growth
from capplan.data.frame import MetricFrame
from capplan.engine.planner import run_plan
from capplan.engine.projection import Projection
from capplan.errors import DataError
from capplan.formatting import json_float
from capplan.growth.models import central_rate, scheduled_rates
from capplan.plan.actuals import ActualSource
from capplan.plan.compiled import compile_plan
from capplan.plan.models import Plan
from capplan.policy.plan_check import series_of_metric
from capplan.timeline import Timeline

__all__ = ["FigureReview", "PeriodRow", "PlanReview", "actual_sources", "compare_plan"]

BANDS = ("below P10", "P10-P50", "P50-P90", "above P90")


@dataclass(frozen=True)
class PeriodRow:
    """One period of one figure: projected (with its P10-P90 band after a Monte Carlo run)
    next to the actual; ``deviation`` is (actual - projected) / projected."""

    period: int
    label: str
    projected: float
    p10: float | None
    p90: float | None
    actual: float | None
    points: int
    partial: bool
    deviation: float | None
    band: str | None
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "period_label": self.label,
            "projected": json_float(self.projected),
            "p10": None if self.p10 is None else json_float(self.p10),
            "p90": None if self.p90 is None else json_float(self.p90),
            "actual": None if self.actual is None else json_float(self.actual),
            "points": self.points,
            "partial": self.partial,
            "deviation_pct": None if self.deviation is None else round(100 * self.deviation, 2),
            "band": self.band,
            "outside_tolerance": self.flagged,
        }


@dataclass
class FigureReview:
    """One driver or metric: its rows, a one-line summary, and the growth fit."""

    name: str
    kind: str  # driver or metric
    unit: str
    agg: str
    series: tuple[str, ...]
    rows: list[PeriodRow]
    summary: str
    fit: GrowthFit | None = None
    #: the plan's own rate in the fit's terms (a driver's declared rate net of churn, or the
    #: rate the projection shows over the same periods for a metric)
    assumed: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "agg": self.agg,
            "series": list(self.series),
            "summary": self.summary,
            "rows": [r.to_dict() for r in self.rows],
        }
        if self.fit is not None:
            f = self.fit
            out["refit"] = {
                "model": f.model,
                "what": f.what,
                "rate": round(f.rate, 6),
                "low": None if f.low is None else round(f.low, 6),
                "high": None if f.high is None else round(f.high, 6),
                "level": f.level,
                "periods": f.periods,
                "plan": None if self.assumed is None else round(self.assumed, 6),
            }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class PlanReview:
    """Everything ``capplan compare`` shows."""

    plan: Plan
    projection: Projection
    today: dt.date
    tolerance: float
    figures: list[FigureReview]
    not_compared: dict[str, str]
    reanchor: Reanchor | None
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(r.flagged for f in self.figures for r in f.rows)

    def to_dict(self) -> dict[str, Any]:
        tl = self.projection.timeline
        out: dict[str, Any] = {
            "system": self.plan.system,
            "scenario": self.projection.scenario,
            "step": tl.step,
            "start": tl.start.isoformat(),
            "today": self.today.isoformat(),
            "tolerance_pct": round(100 * self.tolerance, 4),
            "simulations": self.projection.simulations,
            "figures": [f.to_dict() for f in self.figures],
            "not_compared": dict(self.not_compared),
            "notes": list(self.notes),
        }
        ra = self.reanchor
        if ra is not None:
            out["reanchored"] = {
                "from": ra.anchor_date.isoformat(),
                "changes": ra.changes,
                "moved": list(ra.moved),
                "notes": list(ra.notes),
                "rows": ra.projection.rows(),
            }
        return out


def actual_sources(plan: Plan) -> dict[str, tuple[str, ActualSource]]:
    """Each driver and derived metric → (kind, where its actuals live), defaults filled in:
    the series glob is ``actual.series``, else a metric's ``series``, else the name."""
    out: dict[str, tuple[str, ActualSource]] = {}
    for name, drv in plan.drivers.items():
        src = drv.actual or ActualSource()
        out[name] = ("driver", src if src.series else src.model_copy(update={"series": name}))
    for name, metric in plan.metrics.items():
        if metric.expr is None:
            continue
        src = metric.actual or ActualSource()
        update: dict[str, Any] = {}
        if not src.series:
            update["series"] = metric.series or name
        if not src.query and metric.query:
            update["query"] = metric.query
        out[name] = ("metric", src.model_copy(update=update) if update else src)
    return out


def _band(actual: float, q: np.ndarray | None, t: int) -> str | None:
    if q is None:
        return None
    p10, p50, p90 = (float(q[i, t]) for i in range(3))
    if actual < p10:
        return BANDS[0]
    if actual < p50:
        return BANDS[1]
    return BANDS[2] if actual <= p90 else BANDS[3]


def _rows(
    name: str, acts: PeriodActuals, projection: Projection, last: int, today: dt.date, tol: float
) -> list[PeriodRow]:
    tl = projection.timeline
    q = projection.quantiles.get(name)
    rows = []
    for t in range(last + 1):
        value = float(acts.values[t])
        actual = None if math.isnan(value) else value
        projected = float(projection.values[name][t])
        deviation = None
        if actual is not None and projected != 0:
            deviation = (actual - projected) / projected
        band = None if actual is None else _band(actual, q, t)
        rows.append(
            PeriodRow(
                period=t,
                label=tl.label(t),
                projected=projected,
                p10=None if q is None else float(q[0, t]),
                p90=None if q is None else float(q[2, t]),
                actual=actual,
                points=int(acts.counts[t]),
                partial=tl.date(t + 1) > today,
                deviation=deviation,
                band=band,
                flagged=deviation is not None and abs(deviation) > tol,
            )
        )
    return rows


def _trailing(rows: list[PeriodRow], test: Any) -> PeriodRow | None:
    """The first row of the trailing run of observed rows that pass ``test``."""
    first = None
    for r in reversed([r for r in rows if r.actual is not None]):
        if not test(r):
            break
        first = r
    return first


def _summary(rows: list[PeriodRow], tol: float, banded: bool) -> str:
    seen = [r for r in rows if r.actual is not None]
    if not seen:
        return "no actuals in the compared periods"
    last = seen[-1]
    parts = []
    if last.deviation is not None:
        parts.append(f"{100 * last.deviation:+.1f}% in {last.label}")
    if banded:
        for band in (BANDS[0], BANDS[3]):
            run = _trailing(rows, lambda r, b=band: r.band == b)
            if run is not None:
                parts.append(f"{band} since {run.label}")
                break
        else:
            parts.append("within the P10-P90 band")
    pct = f"{100 * tol:g}%"
    below = _trailing(rows, lambda r: r.flagged and (r.deviation or 0) < 0)
    above = _trailing(rows, lambda r: r.flagged and (r.deviation or 0) > 0)
    if below is not None:
        parts.append(f"more than {pct} below the plan since {below.label}")
    elif above is not None:
        parts.append(f"more than {pct} above the plan since {above.label}")
    elif not last.flagged:
        parts.append(f"within {pct} of the plan")
    return "; ".join(parts)


def _assumed(
    plan: Plan, scenario: str, name: str, kind: str, tl: Timeline, periods: Array
) -> float | None:
    """The plan's rate over the fitted periods (a schedule's mean over them)."""
    if kind != "driver":
        return None
    growth = compile_plan(plan).drivers[scenario][name].growth
    rate = central_rate(growth)
    schedule = scheduled_rates(growth, tl)
    if schedule is not None and periods.size:
        steps = np.clip(periods.astype(int)[1:] - 1, 0, schedule.shape[1] - 1)
        rate = float(schedule[0, steps].mean()) if steps.size else float(schedule[0, 0])
    if growth.model == "compound" and rate is not None:
        return float(rate - growth.churn)
    if growth.model in ("annual", "linear"):
        return rate
    return 0.0 if growth.model == "none" else None


def _growth_model(plan: Plan, scenario: str, name: str, kind: str) -> str:
    if kind == "driver":
        model = compile_plan(plan).drivers[scenario][name].growth.model
        return model if model in ("compound", "annual", "linear") else "compound"
    return "compound"


def _unit_check(name: str, kind: str, plan_unit: str, src: ActualSource, frame: MetricFrame) -> str:
    """The unit the actuals are in, or a DataError when it differs from the plan's with no
    ``scale`` to convert it."""
    units = {lab["unit"] for lab in frame.labels if "unit" in lab}
    if src.unit:
        units = {src.unit}
    if len(units) > 1:
        raise DataError(
            f"{kind}s.{name}: the actual series are in several units ({', '.join(sorted(units))})"
        )
    unit = next(iter(units), "")
    if unit and plan_unit and unit != plan_unit and src.scale == 1.0:
        raise DataError(
            f"{kind}s.{name}: the actuals are in '{unit}' but the plan counts '{plan_unit}'; "
            f"give {kind}s.{name}.actual.scale, the factor from {unit} to {plan_unit}"
        )
    return unit


def compare_plan(
    plan: Plan,
    frame: MetricFrame,
    today: dt.date,
    scenario: str | None = None,
    tolerance: float = 0.1,
    simulations: int | None = None,
    seed: int | None = None,
    level: float = 0.8,
) -> PlanReview:
    """Hold ``plan`` (``scenario``) against the actuals in ``frame`` up to ``today``.

    ``simulations`` (default: 1,000 when a driver has an uncertain rate, else 0) gives the
    P10-P90 band. Raises :class:`DataError` when no figure of the plan has actuals, or when
    actuals are in another unit than the plan's without a ``scale``.
    """
    if plan.start is None:
        raise DataError(
            f"{plan.source}: the plan has no 'start', so its periods move with today; "
            "give start: (the date of period 0) to compare it with actuals"
        )
    name = plan.resolve_scenario(scenario)
    if simulations is None:
        specs = compile_plan(plan).drivers[name].values()
        simulations = 1000 if any(getattr(s.growth, "uncertainty", None) for s in specs) else 0
    projection = run_plan(plan, name, None, simulations, seed, today=today)
    tl = projection.timeline
    if today < tl.start:
        raise DataError(
            f"today ({today.isoformat()}) is before the plan's start ({tl.start.isoformat()}): "
            "there is nothing to compare yet"
        )
    last = 0
    while last < tl.periods and tl.date(last + 1) <= today:
        last += 1
    figures: list[FigureReview] = []
    not_compared: dict[str, str] = {}
    notes: list[str] = []
    fits: dict[str, GrowthFit] = {}
    at_anchor: dict[str, float] = {}
    anchors: list[int] = []
    if today >= tl.date(tl.periods + 1):
        notes.append(
            f"today is past the plan's horizon: periods to {tl.label(tl.periods)} compared"
        )
    for fig, (kind, src) in actual_sources(plan).items():
        assert src.series is not None
        # named after the figure with any labels too (a query's answer: api_cpu{job="api"})
        names = series_of_metric(frame.names, src.series)
        chosen = frame.select(*names) if names else frame.select(src.series)
        if chosen.n_series == 0 or len(chosen) == 0:
            how = f"{kind}s.{fig}.actual.series" if kind == "driver" else f"metrics.{fig}.series"
            not_compared[fig] = f"no series '{src.series}' in the actuals (name one with {how})"
            continue
        plan_unit = plan.drivers[fig].unit if kind == "driver" else plan.metrics[fig].unit
        unit = _unit_check(fig, kind, plan_unit, src, chosen)
        acts = aggregate_periods(chosen, fig, tl, last, src.agg, src.scale)
        fnotes = list(acts.notes)
        if src.scale != 1.0:
            fnotes.append(f"{fig}: actuals{f' in {unit}' if unit else ''} × {src.scale:g}")
        observed = np.flatnonzero(~np.isnan(acts.values))
        if observed.size == 0:
            not_compared[fig] = (
                f"series '{src.series}' has no point between {tl.label(0)} and {today.isoformat()}"
            )
            continue
        gaps = [
            tl.label(t)
            for t in range(int(observed[0]), int(observed[-1]) + 1)
            if math.isnan(acts.values[t])
        ]
        if gaps:
            fnotes.append(f"{fig}: no actuals for {', '.join(gaps)}: not compared, not fitted")
        rows = _rows(fig, acts, projection, last, today, tolerance)
        complete = [r for r in rows if r.actual is not None and not r.partial]
        fit = None
        assumed = None
        if len(complete) >= 2:
            model = _growth_model(plan, name, fig, kind)
            x = np.array([r.period for r in complete], dtype=float)
            y = np.array([r.actual for r in complete], dtype=float)
            fit = fit_growth(x, y, model, tl.months_per_period, level)
            if fit is not None:
                assumed = _assumed(plan, name, fig, kind, tl, x)
                if assumed is None:
                    proj = np.array([r.projected for r in complete])
                    plan_fit = fit_growth(x, proj, model, tl.months_per_period, level)
                    assumed = None if plan_fit is None else plan_fit.rate
        else:
            fnotes.append(f"{fig}: fewer than 2 complete periods of actuals: no growth fit")
        if kind == "driver" and complete:
            at_anchor[fig] = float(complete[-1].actual or 0.0)
            anchors.append(complete[-1].period)
            if fit is not None:
                fits[fig] = fit
        figures.append(
            FigureReview(
                fig,
                kind,
                plan_unit or unit,
                src.agg,
                acts.series,
                rows,
                _summary(rows, tolerance, bool(projection.quantiles.get(fig) is not None)),
                fit,
                assumed,
                fnotes,
            )
        )
    if not figures:
        looked = "; ".join(f"{k}: {v}" for k, v in not_compared.items())
        raise DataError(f"no driver or metric of {plan.source} has actuals: {looked}")
    reanchor = None
    if anchors:
        anchor = max(anchors)
        for fig in list(at_anchor):
            row_period = next(f for f in figures if f.name == fig)
            done = [r for r in row_period.rows if r.actual is not None and not r.partial]
            if done[-1].period != anchor:
                # an older last actual: carried to the anchor with its fitted growth
                fit_g = fits.get(fig)
                if fit_g is not None:
                    steps = (anchor - done[-1].period) * tl.months_per_period
                    at_anchor[fig] = _carry(at_anchor[fig], fit_g, steps)
                notes.append(
                    f"{fig}: last actual in {done[-1].label}, carried to {tl.label(anchor)}"
                )
        changes, rnotes = reanchor_changes(plan, name, projection, anchor, at_anchor, fits)
        new_plan = reanchored_plan(plan, changes)
        after = run_plan(new_plan, name, None, 0, today=today)
        before = projection
        if projection.simulations:
            before = run_plan(plan, name, None, 0, today=today)
        reanchor = Reanchor(
            anchor, tl.date(anchor), changes, after, what_moved(before, after, anchor), rnotes
        )
    return PlanReview(plan, projection, today, tolerance, figures, not_compared, reanchor, notes)


def _carry(value: float, fit: GrowthFit, months: float) -> float:
    if fit.model == "linear":
        return value + fit.rate * months
    monthly = fit.rate if fit.model != "annual" else (1 + fit.rate) ** (1 / 12) - 1
    return float(value * (1 + monthly) ** months)
