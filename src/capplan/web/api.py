"""The JSON API under ``/api`` (documented by the app's OpenAPI spec)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from capplan.errors import PlanError
from capplan.plan.models import Plan
from capplan.policy.freshness import instant, iso_time
from capplan.report.formats import scenario_summary
from capplan.web.errors import ApiError
from capplan.web.security import check_token
from capplan.web.state import AppState, to_json, validate_text

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"])

PlanName = Annotated[str, Path(description="Plan file name without extension.", max_length=100)]
Months = Annotated[int | None, Query(ge=1, le=120, description="Horizon in months.")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request"},
    404: {"description": "Not found"},
    422: {"description": "Invalid plan or parameters"},
}
_TEXT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            m: {"schema": {"type": "string"}}
            for m in ("application/yaml", "text/plain", "application/json")
        },
    }
}


def state_of(request: Request) -> AppState:
    """The app's state object."""
    state: AppState = request.app.state.capplan
    return state


async def _text(request: Request) -> str:
    raw = await request.body()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError.single("is not UTF-8 text", file="<request>") from None


def plan_summary(name: str, plan: Plan) -> dict[str, Any]:
    """Name, system, scenarios, drivers, components and thresholds of a plan."""
    return {
        "name": name,
        "system": plan.system,
        "description": plan.description,
        "step": plan.step,
        "horizon": plan.horizon,
        "currency": plan.currency,
        "scenarios": plan.scenario_names(),
        "default_scenario": plan.resolve_scenario(None),
        "drivers": {k: {"initial": d.initial, "unit": d.unit} for k, d in plan.drivers.items()},
        "components": {k: c.kind for k, c in plan.components.items()},
        "thresholds": {
            k: {
                "metric": t.metric,
                "direction": t.direction,
                "unit": t.unit,
                "levels": {lv: level.value for lv, level in t.levels()},
            }
            for k, t in plan.thresholds.items()
        },
    }


@router.get("/plans", summary="List the plans of the plans directory")
def list_plans(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    out = []
    for name in state.plan_names():
        entry = state.entry(name)
        out.append(
            {
                "name": name,
                "file": entry.path.name,
                "valid": entry.plan is not None,
                "system": entry.plan.system if entry.plan is not None else None,
                "issues": [i.to_dict() for i in entry.error.issues] if entry.error else [],
            }
        )
    return out


@router.post(
    "/plans/validate",
    summary="Validate a plan (YAML or JSON text) without saving it",
    openapi_extra=_TEXT_BODY,
    responses=_ERRORS,
)
async def validate_plan(request: Request) -> dict[str, Any]:
    plan = validate_text(await _text(request), "<request>")
    return {"valid": True, "plan": plan_summary("<request>", plan)}


@router.get(
    "/plans/{name}", summary="One plan: scenarios, components, thresholds", responses=_ERRORS
)
async def read_plan(request: Request, name: PlanName) -> Response:
    state = state_of(request)

    def build() -> bytes:
        return state.cached_json(name, ("summary",), lambda: plan_summary(name, state.plan(name)))

    return await _cached_response(state, name, ("summary",), build)


@router.put(
    "/plans/{name}",
    summary="Write a plan (validated first; bearer token when configured)",
    openapi_extra=_TEXT_BODY,
    responses={401: {"description": "Missing or wrong token"}, **_ERRORS},
)
async def write_plan(
    request: Request,
    name: PlanName,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    state = state_of(request)
    check_token(state.settings.token, authorization)
    text = await _text(request)
    existed = name in state.plan_names()
    plan = state.write_plan(name, text)
    return JSONResponse(
        {"written": True, "plan": plan_summary(name, plan)}, status_code=200 if existed else 201
    )


@router.get("/plans/{name}/projection", summary="Project a plan month by month", responses=_ERRORS)
async def projection(
    request: Request,
    name: PlanName,
    months: Months = None,
    scenario: Annotated[str | None, Query(max_length=200)] = None,
    simulations: Annotated[int, Query(ge=0, le=20000)] = 0,
) -> Response:
    if simulations == 1:
        raise ApiError(400, "usage_error", "simulations must be 0 or at least 2")
    state = state_of(request)
    return await _cached_response(
        state,
        name,
        ("pj", scenario, months, simulations),
        lambda: state.projection_json(name, scenario, months, simulations),
    )


@router.get("/plans/{name}/scenarios", summary="Compare every scenario", responses=_ERRORS)
async def scenarios(request: Request, name: PlanName, months: Months = None) -> Response:
    state = state_of(request)

    def build() -> dict[str, Any]:
        projections = state.scenarios(name, months)
        return {
            "summary": scenario_summary(projections),
            "scenarios": {n: p.to_dict() for n, p in projections.items()},
        }

    return await _cached_response(
        state, name, ("sj", months), lambda: state.cached_json(name, ("sj", months), build)
    )


async def _cached_response(
    state: AppState, name: str, what: tuple[object, ...], compute: Callable[[], bytes]
) -> Response:
    """Cached JSON straight from the event loop; anything to load or compute runs in a
    worker thread so it never blocks other requests."""
    data = state.peek_json(name, what)
    if data is None:
        data = await run_in_threadpool(compute)
    return Response(data, media_type="application/json")


@router.get(
    "/plans/{name}/exports/{kind}",
    summary="Generated files (alert rules, dashboards, manifests) of a plan",
    responses={501: {"description": "Exporters not installed"}, **_ERRORS},
)
def export(
    request: Request, name: PlanName, kind: Annotated[str, Path(max_length=100)]
) -> dict[str, Any]:
    plan = state_of(request).plan(name)
    try:
        from capplan.export import EXPORTERS
    except ImportError:
        raise ApiError(501, "not_implemented", "exporters are not available") from None
    if kind not in EXPORTERS:
        raise ApiError(
            404, "not_found", f"no exporter '{kind}'; available: {', '.join(EXPORTERS.names())}"
        )
    return {"kind": kind, "files": EXPORTERS.get(kind)(plan)}


@router.get(
    "/plans/{name}/check",
    summary="The plan's thresholds checked against the stored history",
    responses={501: {"description": "Checking not available"}, **_ERRORS},
)
def check(request: Request, name: PlanName) -> dict[str, Any]:
    state = state_of(request)
    plan = state.plan(name)
    try:
        from capplan.policy.plan_check import check_plan
    except ImportError:
        raise ApiError(501, "not_implemented", "threshold checking is not available") from None
    report = check_plan(plan, state.snapshot.frame, max_age_seconds=state.settings.max_age_seconds)
    return report.to_dict()


@router.get("/series", summary="Series of the metric store")
async def series(request: Request) -> list[dict[str, Any]]:
    return list(state_of(request).snapshot.series)


@router.get("/forecasts", summary="Runway of every series, most urgent first")
async def forecasts(request: Request) -> Response:
    state = state_of(request)
    snap = state.snapshot
    body = snap.cached_json(
        "all",
        lambda: {
            "computed_at": snap.computed_at,
            "horizon": state.settings.forecast_horizon,
            "series": list(snap.run.panel.ids) if snap.run is not None else [],
            "runway": [r.to_dict() for r in snap.runways],
            "error": snap.error,
        },
    )
    # the last refresh's error is not part of the snapshot: prepend it to the cached body
    head = b'{"refresh_error":' + to_json(state.refresh_error) + b","
    return Response(head + body[1:], media_type="application/json")


@router.get(
    "/forecasts/{series:path}",
    summary="Forecast and runway of one series (URL-encode braces and quotes)",
    responses={404: {"description": "Unknown series"}},
)
async def forecast_of(request: Request, series: str) -> Response:
    snap = state_of(request).snapshot
    if not snap.has_series(series):
        raise ApiError(404, "not_found", f"no forecast for series '{series}'")
    body = snap.cached_json(f"series:{series}", lambda: snap.forecast_of(series))
    return Response(body, media_type="application/json")


@router.get("/status", summary="Service status: plans, store, freshness of the data, last refresh")
def status(request: Request) -> dict[str, Any]:
    """``degraded`` when the last refresh failed, else ``stale`` when a series' newest sample
    is older than its maximum age, else ``ok``; ``freshness`` has every series' last sample
    and age."""
    state = state_of(request)
    snap = state.snapshot
    now = time.time()
    fresh = snap.freshness(now)
    stale = [f.series for f in fresh if f.stale]
    overall = "degraded" if state.refresh_error is not None else "stale" if stale else "ok"
    return {
        "status": overall,
        "plans": len(state.plan_names()),
        "series": len(snap.series),
        "stale_series": stale,
        "now": iso_time(instant(now)),
        "max_age_seconds": state.settings.max_age_seconds,
        "freshness": [f.to_dict() for f in fresh],
        "last_refresh": snap.computed_at or None,
        "last_success": state.last_success,
        "refreshes": state.refreshes,
        "refresh_error": state.refresh_error,
        "refresh_seconds": state.settings.refresh_seconds,
    }
