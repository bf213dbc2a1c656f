"""The dashboard: server-rendered pages (Jinja2, autoescaped) with Plotly charts."""

from __future__ import annotations

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

    def page(request: Request, template: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, template, context)

    @router.get("/static/plotly.min.js")
    def plotly_bundle() -> Response:
        return Response(
            plotly_js,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        state = state_of(request)
        plans = []
        for name in state.plan_names():
            entry = state.entry(name)
            plans.append(
                {
                    "name": name,
                    "system": entry.plan.system if entry.plan else "",
                    "error": str(entry.error) if entry.error else "",
                }
            )
        snap = state.snapshot
        return page(
            request,
            "index.html",
            plans=plans,
            runways=snap.runways[:10],
            snapshot=snap,
            refresh_error=state.refresh_error,
            stale=[f for f in snap.freshness() if f.stale],
        )

    @router.get("/plans/{name}", response_class=HTMLResponse)
    def plan_page(
        request: Request,
        name: str,
        scenario: Annotated[str | None, Query(max_length=200)] = None,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        p = state_of(request).projection(name, scenario, months)
        cols = summary_columns(p)
        rows = [
            [str(t), p.timeline.label(t)] + [cell(p, c, t) for c, _ in cols]
            for t in range(p.timeline.periods + 1)
        ]
        return page(
            request,
            "plan.html",
            name=name,
            p=p,
            header=["period", "date"] + [h for _, h in cols],
            rows=rows,
            cost_chart=cost_chart(p),
            events_chart=events_chart(p),
        )

    @router.get("/plans/{name}/scenarios", response_class=HTMLResponse)
    def scenarios_page(
        request: Request,
        name: str,
        months: Annotated[int | None, Query(ge=1, le=120)] = None,
    ) -> HTMLResponse:
        projections = state_of(request).scenarios(name, months)
        summary = scenario_summary(projections)
        return page(
            request,
            "scenarios.html",
            name=name,
            names=list(projections),
            summary=summary,
            system=next(iter(projections.values())).plan.system,
            chart=scenario_chart(projections),
        )

    @router.get("/forecasts", response_class=HTMLResponse)
    def forecasts_page(request: Request) -> HTMLResponse:
        state = state_of(request)
        snap = state.snapshot
        ids = list(snap.run.panel.ids) if snap.run is not None else []
        return page(
            request,
            "forecasts.html",
            runways=snap.runways,
            series=ids,
            snapshot=snap,
            refresh_error=state.refresh_error,
        )

    @router.get("/forecasts/view", response_class=HTMLResponse)
    def forecast_page(
        request: Request, series: Annotated[str, Query(max_length=2000)]
    ) -> HTMLResponse:
        snap = state_of(request).snapshot
        if not snap.has_series(series) or snap.run is None:
            raise ApiError(404, "not_found", f"no forecast for series '{series}'")
        try:
            history = snap.frame.get(series)
        except (KeyError, CapplanError):
            raise ApiError(404, "not_found", f"no history for series '{series}'") from None
        runways = [r for r in snap.runways if r.series == series]
        return page(
            request,
            "forecast.html",
            series=series,
            runways=runways,
            chart=forecast_chart(snap.run, series, history, runways),
        )

    return router
