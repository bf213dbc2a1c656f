"""The dashboard: server-rendered pages (Jinja2, autoescaped) with Plotly charts.

Pages are rendered in the app's worker threads within the request budget and cached: a plan
page and a scenarios page until the plan file changes, a forecast page per snapshot. A page
already rendered is served straight from the event loop.

Every page says how old its data is ("data as of 2026-12-03 13:05 UTC, 4m 12s ago", the time
of the forecasts served, and the newest stored sample): the navigation bar holds a marker that
is filled in as each page is served, so a cached page tells the age at the time it is read.
Runway rows are coloured only when the crossing is made, past due or plausible soon
(:meth:`~capplan.web.snapshot.RunwayRow.due`, counted from the time of the forecasts).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from plotly.offline import get_plotlyjs

from capplan.engine.projection import Projection
from capplan.errors import CapplanError, DataError
from capplan.forecast.run import ForecastRun
from capplan.formatting import fmt_age, fmt_money, fmt_number, money_affixes
from capplan.policy.freshness import iso_time
from capplan.report.formats import (
    OVER_MARK,
    cell,
    over_capacity_note,
    scenario_summary,
    summary_columns,
)
from capplan.web.api import report_listing, state_of
from capplan.web.charts import (
    cost_chart,
    events_chart,
    forecast_chart,
    plan_actual_chart,
    scenario_chart,
)
from capplan.web.errors import ApiError
from capplan.web.snapshot import SOON_SECONDS, Snapshot
from capplan.web.state import AppState

__all__ = ["make_router"]

_HERE = Path(__file__).parent
AGE_MARK = b"<!--data-age-->"


def unit_money(value: float, currency: str) -> str:
    """An amount per unit, with the currency and as many digits as it needs (``$0.00186``:
    :func:`~capplan.formatting.fmt_money` keeps cents only)."""
    prefix, suffix = money_affixes(currency)
    return f"{prefix}{fmt_number(value)}{suffix}"


def _when(at: np.datetime64 | None) -> str:
    """``2026-10-13 11:00`` (UTC), or ``-`` for no time."""
    if at is None:
        return "-"
    return str(np.datetime_as_string(at.astype("datetime64[m]"), unit="m")).replace("T", " ")


def _clock(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix))


def _ago(unix: float, now: float) -> str:
    return f"{fmt_age(max(0.0, now - unix))} ago"


def data_age(snap: Snapshot, now: float) -> str:
    """The text telling how old the data of ``snap`` is at ``now`` (Unix seconds): when its
    forecasts were computed and the time of its newest stored sample."""
    if not snap.forecast_at:
        return "no data yet: the first refresh has not finished"
    text = f"data as of {_clock(snap.forecast_at)}, {_ago(snap.forecast_at, now)}"
    newest = max((s.unix_seconds for s in snap.last_samples), default=None)
    if newest is not None:
        text += f" · newest sample {_clock(newest)}, {_ago(newest, now)}"
    return text


def over_capacity(p: Projection) -> list[dict[str, Any]]:
    """Each component of ``p`` over capacity within the horizon: its name, and the first
    period it is (number and label)."""
    return [
        {"component": c, "period": t, "label": p.timeline.label(t)}
        for c, t in p.over_capacity_components.items()
    ]


def _served(state: AppState, body: bytes) -> HTMLResponse:
    """A rendered page with the age of the data served filled in."""
    age = data_age(state.snapshot, time.time())
    return HTMLResponse(body.replace(AGE_MARK, age.encode(), 1))


def _runway_context(snap: Snapshot) -> dict[str, Any]:
    """What the runway table needs: the time its rows are due from (the forecasts')."""
    return {"now": snap.forecast_at or time.time(), "soon_days": f"{SOON_SECONDS / 86400:g}"}


class _Pages:
    """The dashboard's templates and the pages rendered from them, each as bytes."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(_HERE / "templates"))
        self.templates.env.filters["figure"] = fmt_number
        self.templates.env.filters["age"] = fmt_age
        self.templates.env.filters["iso"] = iso_time
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["money"] = fmt_money
        self.templates.env.filters["unit_money"] = unit_money

    def render(self, template: str, **context: Any) -> bytes:
        return self.templates.env.get_template(template).render(context).encode()

    def index(self, state: AppState) -> bytes:
        plans = []
        for name in state.plan_names():
            try:
                entry = state.entry(name)
            except ApiError:
                continue  # removed meanwhile
            plans.append(
                {
                    "name": name,
                    "system": entry.plan.system if entry.plan else "",
                    "error": str(entry.error) if entry.error else "",
                }
            )
        snap = state.snapshot
        return self.render(
            "index.html",
            plans=plans,
            runways=snap.runways[:10],
            snapshot=snap,
            reasons=state.problems(),
            stale=[f for f in snap.freshness() if f.stale],
            **_runway_context(snap),
        )

    def plan(self, state: AppState, name: str, scenario: str | None, months: int | None) -> bytes:
        p = state.projection(name, scenario, months)
        cols = summary_columns(p)
        rows = [
            {
                "cells": [str(t), p.timeline.label(t)] + [cell(p, c, t) for c, _ in cols],
                "over": any(flags[t] for flags in p.over_capacity.values()),
            }
            for t in range(p.timeline.periods + 1)
        ]
        return self.render(
            "plan.html",
            name=name,
            p=p,
            header=["period", "date"] + [h for _, h in cols],
            rows=rows,
            over=over_capacity(p),
            over_note=over_capacity_note(p),
            over_mark=OVER_MARK,
            cost_chart=cost_chart(p),
            events_chart=events_chart(p),
            source=self.source(state, name),
        )

    @staticmethod
    def source(state: AppState, name: str) -> str:
        """``plan file apm.yaml, modified 2026-12-03 13:05 UTC``: what a plan page shows."""
        entry = state.entry(name)
        return f"plan file {entry.path.name}, modified {_clock(entry.mtime_ns / 1e9)}"

    def scenarios(self, state: AppState, name: str, months: int | None) -> bytes:
        projections = state.scenarios(name, months)
        return self.render(
            "scenarios.html",
            name=name,
            names=list(projections),
            summary=scenario_summary(projections),
            over={n: over_capacity(p) for n, p in projections.items()},
            system=next(iter(projections.values())).plan.system,
            currency=next(iter(projections.values())).plan.currency,
            chart=scenario_chart(projections),
            source=self.source(state, name),
        )

    def plan_actual(self, state: AppState, name: str, scenario: str | None) -> bytes:
        from capplan.compare import compare_plan
        from capplan.report.plan_actual import fit_sentence, review_notes

        plan = state.plan(name)
        context: dict[str, Any] = {"name": name, "plan": plan, "source": self.source(state, name)}
        try:
            review = compare_plan(plan, state.snapshot.frame, dt.date.today(), scenario)
        except DataError as exc:
            return self.render("plan_actual.html", review=None, problem=str(exc), **context)
        figures = [
            {
                "f": f,
                "chart": plan_actual_chart(review, f.name),
                "fit": fit_sentence(f),
                "banded": f.name in review.projection.quantiles,
            }
            for f in review.figures
        ]
        return self.render(
            "plan_actual.html",
            review=review,
            figures=figures,
            notes=review_notes(review),
            **context,
        )

    def forecasts(self, state: AppState) -> bytes:
        snap = state.snapshot
        return self.render(
            "forecasts.html",
            runways=snap.runways,
            series=list(snap.run.panel.ids) if snap.run is not None else [],
            snapshot=snap,
            reasons=state.problems(),
            **_runway_context(snap),
        )

    def reports(self, state: AppState) -> bytes:
        stage = state.stages.get("reports")
        return self.render(
            "reports.html",
            reports=report_listing(state),
            schedules=[s.spec for s in state.settings.report_schedules],
            failure=stage.reason if stage.state == "failed" else None,
        )

    def forecast(self, snap: Snapshot, run: ForecastRun, series: str) -> bytes:
        try:
            history = snap.frame.get(series)
        except (KeyError, CapplanError):
            raise ApiError(404, "not_found", f"no history for series '{series}'") from None
        runways = [r for r in snap.runways if r.series == series]
        return self.render(
            "forecast.html",
            series=series,
            runways=runways,
            chart=forecast_chart(run, series, history, runways),
            **_runway_context(snap),
        )


async def _computed(state: AppState, what: str, build: Callable[[], bytes]) -> HTMLResponse:
    """The page ``build`` makes, rendered in a worker thread (``what`` names it in errors)."""
    return _served(state, await state.workers.run(what, build))


async def _plan_page(
    state: AppState, name: str, what: tuple[Any, ...], title: str, build: Callable[[], bytes]
) -> HTMLResponse:
    """A page of plan ``name``, cached under ``what`` until the plan file changes."""
    hit = state.peek_bytes(name, what)
    if hit is not None:
        return _served(state, hit)
    return await _computed(state, title, lambda: state.cached_bytes(name, what, build))


def make_router() -> APIRouter:
    """The dashboard routes (excluded from the OpenAPI spec)."""
    pages = _Pages()
    plotly_js = get_plotlyjs()
    router = APIRouter(include_in_schema=False)

    @router.get("/static/plotly.min.js")
    async def plotly_bundle() -> Response:
        return Response(
            plotly_js,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        state = state_of(request)
        return await _computed(state, "the overview page", lambda: pages.index(state))

    @router.get("/plans/{name}", response_class=HTMLResponse)
    async def plan_page(
        request: Request,
        name: str,
        scenario: Annotated[str | None, Query(max_length=200)] = None,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        state = state_of(request)
        return await _plan_page(
            state,
            name,
            ("page", scenario, months),
            f"the page of plan '{name}'",
            lambda: pages.plan(state, name, scenario, months),
        )

    @router.get("/plans/{name}/scenarios", response_class=HTMLResponse)
    async def scenarios_page(
        request: Request,
        name: str,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        state = state_of(request)
        return await _plan_page(
            state,
            name,
            ("scenarios-page", months),
            f"the scenarios of plan '{name}'",
            lambda: pages.scenarios(state, name, months),
        )

    @router.get("/plans/{name}/compare", response_class=HTMLResponse)
    async def plan_actual_page(
        request: Request,
        name: str,
        scenario: Annotated[str | None, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        state = state_of(request)
        what = f"plan vs actual of plan '{name}'"
        return await _computed(state, what, lambda: pages.plan_actual(state, name, scenario))

    @router.get("/forecasts", response_class=HTMLResponse)
    async def forecasts_page(request: Request) -> HTMLResponse:
        state = state_of(request)
        return await _computed(state, "the forecasts page", lambda: pages.forecasts(state))

    @router.get("/reports", response_class=HTMLResponse)
    async def reports_page(request: Request) -> HTMLResponse:
        state = state_of(request)
        return await _computed(state, "the reports page", lambda: pages.reports(state))

    @router.get("/forecasts/view", response_class=HTMLResponse)
    async def forecast_page(
        request: Request, series: Annotated[str, Query(max_length=2000)]
    ) -> HTMLResponse:
        state = state_of(request)
        snap = state.snapshot
        run = snap.run
        if run is None or not snap.has_series(series):
            raise ApiError(404, "not_found", f"no forecast for series '{series}'")
        key = f"page:{series}"
        hit = snap.peek(key)
        if hit is not None:
            return _served(state, hit)
        what = f"the forecast page of '{series}'"
        build = partial(pages.forecast, snap, run, series)
        return await _computed(state, what, lambda: snap.cached(key, build))

    return router
