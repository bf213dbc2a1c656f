"""The dashboard: server-rendered pages (Jinja2, autoescaped) with Plotly charts.

Pages are rendered in the app's worker threads within the request budget and cached: a plan
page and a scenarios page until the plan file changes, a forecast page per snapshot. A page
already rendered is served straight from the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from plotly.offline import get_plotlyjs

from capplan.errors import CapplanError
from capplan.formatting import fmt_age, fmt_number
from capplan.policy.freshness import iso_time
from capplan.report.formats import cell, scenario_summary, summary_columns
from capplan.web.api import state_of
from capplan.web.charts import cost_chart, events_chart, forecast_chart, scenario_chart
from capplan.web.errors import ApiError
from capplan.web.state import AppState

__all__ = ["make_router"]

_HERE = Path(__file__).parent


def make_router() -> APIRouter:
    """The dashboard routes (excluded from the OpenAPI spec)."""
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters["figure"] = fmt_number
    templates.env.filters["age"] = fmt_age
    templates.env.filters["iso"] = iso_time
    plotly_js = get_plotlyjs()
    router = APIRouter(include_in_schema=False)

    def render(template: str, **context: Any) -> bytes:
        return templates.env.get_template(template).render(context).encode()

    async def computed(state: AppState, what: str, build: Callable[[], bytes]) -> HTMLResponse:
        return HTMLResponse(await state.workers.run(what, build))

    @router.get("/static/plotly.min.js")
    async def plotly_bundle() -> Response:
        return Response(
            plotly_js,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    def index_page(state: AppState) -> bytes:
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
        return render(
            "index.html",
            plans=plans,
            runways=snap.runways[:10],
            snapshot=snap,
            reasons=state.problems(),
            stale=[f for f in snap.freshness() if f.stale],
        )

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        state = state_of(request)
        return await computed(state, "the overview page", lambda: index_page(state))

    def plan_page_of(state: AppState, name: str, scenario: str | None, months: int | None) -> bytes:
        p = state.projection(name, scenario, months)
        cols = summary_columns(p)
        rows = [
            [str(t), p.timeline.label(t)] + [cell(p, c, t) for c, _ in cols]
            for t in range(p.timeline.periods + 1)
        ]
        return render(
            "plan.html",
            name=name,
            p=p,
            header=["period", "date"] + [h for _, h in cols],
            rows=rows,
            cost_chart=cost_chart(p),
            events_chart=events_chart(p),
        )

    @router.get("/plans/{name}", response_class=HTMLResponse)
    async def plan_page(
        request: Request,
        name: str,
        scenario: Annotated[str | None, Query(max_length=200)] = None,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        state = state_of(request)
        what = ("page", scenario, months)
        hit = state.peek_bytes(name, what)
        if hit is not None:
            return HTMLResponse(hit)
        return await computed(
            state,
            f"the page of plan '{name}'",
            lambda: state.cached_bytes(
                name, what, lambda: plan_page_of(state, name, scenario, months)
            ),
        )

    def scenarios_page_of(state: AppState, name: str, months: int | None) -> bytes:
        projections = state.scenarios(name, months)
        return render(
            "scenarios.html",
            name=name,
            names=list(projections),
            summary=scenario_summary(projections),
            system=next(iter(projections.values())).plan.system,
            chart=scenario_chart(projections),
        )

    @router.get("/plans/{name}/scenarios", response_class=HTMLResponse)
    async def scenarios_page(
        request: Request,
        name: str,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        state = state_of(request)
        what = ("scenarios-page", months)
        hit = state.peek_bytes(name, what)
        if hit is not None:
            return HTMLResponse(hit)
        return await computed(
            state,
            f"the scenarios of plan '{name}'",
            lambda: state.cached_bytes(name, what, lambda: scenarios_page_of(state, name, months)),
        )

    def forecasts_page_of(state: AppState) -> bytes:
        snap = state.snapshot
        return render(
            "forecasts.html",
            runways=snap.runways,
            series=list(snap.run.panel.ids) if snap.run is not None else [],
            snapshot=snap,
            reasons=state.problems(),
        )

    @router.get("/forecasts", response_class=HTMLResponse)
    async def forecasts_page(request: Request) -> HTMLResponse:
        state = state_of(request)
        return await computed(state, "the forecasts page", lambda: forecasts_page_of(state))

    @router.get("/forecasts/view", response_class=HTMLResponse)
    async def forecast_page(
        request: Request, series: Annotated[str, Query(max_length=2000)]
    ) -> HTMLResponse:
        snap = state_of(request).snapshot
        run = snap.run
        if run is None or not snap.has_series(series):
            raise ApiError(404, "not_found", f"no forecast for series '{series}'")
        key = f"page:{series}"
        hit = snap.peek(key)
        if hit is not None:
            return HTMLResponse(hit)

        def build() -> bytes:
            try:
                history = snap.frame.get(series)
            except (KeyError, CapplanError):
                raise ApiError(404, "not_found", f"no history for series '{series}'") from None
            runways = [r for r in snap.runways if r.series == series]
            return render(
                "forecast.html",
                series=series,
                runways=runways,
                chart=forecast_chart(run, series, history, runways),
            )

        what = f"the forecast page of '{series}'"
        return await computed(state_of(request), what, lambda: snap.cached(key, build))

    return router
