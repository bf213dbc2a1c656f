"""The JSON API under ``/api`` (documented by the app's OpenAPI spec).

Routes that compute (validation, projections, scenarios, exports, checks) run in the app's
worker threads within the request time budget (:class:`~capplan.web.work.Workers`); an
answer already computed is served from its cache straight from the event loop.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from capplan.errors import PlanError
from capplan.plan.models import Plan
from capplan.policy.freshness import instant, iso_time
from capplan.report.formats import scenario_summary
from capplan.web.errors import ApiError
from capplan.web.security import check_nesting, check_token
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


async def _text(request: Request, file: str = "<request>") -> str:
    """The body as text, refused at once when not UTF-8 or nested too deep to be a plan."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError.single("is not UTF-8 text", file=file) from None
    check_nesting(raw, file)
    return text


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


def plan_listing(state: AppState) -> list[dict[str, Any]]:
    """Each plan file: name, file, whether it is valid, its system or its issues."""
    out = []
    for name in state.plan_names():
        try:
            entry = state.entry(name)
        except ApiError:
            continue  # removed meanwhile
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


@router.get("/plans", summary="List the plans of the plans directory")
async def list_plans(request: Request) -> Response:
    state = state_of(request)
    versions = state.plan_versions()
    cached = state.listing
    if cached is not None and cached[0] == versions:
        return Response(cached[1], media_type="application/json")

    def build() -> bytes:
        body = to_json(plan_listing(state))
        state.listing = (versions, body)
        return body

    return Response(
        await state.workers.run("listing the plans", build), media_type="application/json"
    )


@router.post(
    "/plans/validate",
    summary="Validate a plan (YAML or JSON text) without saving it",
    openapi_extra=_TEXT_BODY,
    responses=_ERRORS,
)
async def validate_plan(request: Request) -> dict[str, Any]:
    text = await _text(request)

    def validate() -> dict[str, Any]:
        return {"valid": True, "plan": plan_summary("<request>", validate_text(text, "<request>"))}

    return await state_of(request).workers.run("validating the plan", validate)


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
    check_token(state.settings.token, authorization, state.settings.allow_anonymous_writes)
    text = await _text(request, f"{name}.yaml")

    def write() -> tuple[dict[str, Any], bool]:
        plan, created = state.write_plan(name, text)
        return {"written": True, "plan": plan_summary(name, plan)}, created

    body, created = await state.workers.run("writing the plan", write)
    return JSONResponse(body, status_code=201 if created else 200)


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
    worker thread, within the request budget, so it never blocks other requests."""
    data = state.peek_bytes(name, what)
    if data is None:
        data = await state.workers.run(f"computing plan '{name}'", compute)
    return Response(data, media_type="application/json")


@router.get(
    "/plans/{name}/exports/{kind}",
    summary="Generated files (alert rules, dashboards, manifests) of a plan",
    responses={501: {"description": "Exporters not installed"}, **_ERRORS},
)
async def export(
    request: Request, name: PlanName, kind: Annotated[str, Path(max_length=100)]
) -> dict[str, Any]:
    state = state_of(request)

    def build() -> dict[str, Any]:
        plan = state.plan(name)
        try:
            from capplan.export import EXPORTERS
        except ImportError:
            raise ApiError(501, "not_implemented", "exporters are not available") from None
        if kind not in EXPORTERS:
            available = ", ".join(EXPORTERS.names())
            raise ApiError(404, "not_found", f"no exporter '{kind}'; available: {available}")
        return {"kind": kind, "files": EXPORTERS.get(kind)(plan)}

    return await state.workers.run(f"exporting plan '{name}'", build)


@router.get(
    "/plans/{name}/check",
    summary="The plan's thresholds checked against the stored history",
    responses={501: {"description": "Checking not available"}, **_ERRORS},
)
async def check(request: Request, name: PlanName) -> dict[str, Any]:
    state = state_of(request)
    frame = state.snapshot.frame

    def build() -> dict[str, Any]:
        plan = state.plan(name)
        try:
            from capplan.policy.plan_check import check_plan
        except ImportError:
            raise ApiError(501, "not_implemented", "checking is not available") from None
        max_age = state.settings.max_age_seconds
        return check_plan(plan, frame, max_age_seconds=max_age).to_dict()

    return await state.workers.run(f"checking plan '{name}'", build)


@router.get(
    "/plans/{name}/compare",
    summary="The plan against its actuals in the store: deviation, re-fit growth, re-anchored",
    responses=_ERRORS,
)
async def compare(
    request: Request,
    name: PlanName,
    scenario: Annotated[str | None, Query(max_length=200)] = None,
    tolerance: Annotated[float, Query(gt=0, le=10)] = 0.1,
    simulations: Annotated[int | None, Query(ge=0, le=20000)] = None,
    today: Annotated[dt.date | None, Query()] = None,
) -> dict[str, Any]:
    if simulations == 1:
        raise ApiError(400, "usage_error", "simulations must be 0 or at least 2")
    state = state_of(request)
    frame = state.snapshot.frame

    def build() -> dict[str, Any]:
        from capplan.compare import compare_plan

        plan = state.plan(name)
        day = today or dt.date.today()
        return compare_plan(plan, frame, day, scenario, tolerance, simulations).to_dict()

    return await state.workers.run(f"comparing plan '{name}' with its actuals", build)


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


_REPORT_FILE = re.compile(r"^(\d{1,18})\.(md|html|pdf)$")
_REPORT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def report_listing(state: AppState) -> list[dict[str, Any]]:
    """The kept reports, newest first, each with the links to its forms."""
    out = []
    for r in state.reports.listing():
        out.append(
            {
                "id": r.id,
                "plan": r.plan,
                "kind": r.kind,
                "title": r.title,
                "period_end": iso_time(instant(r.period_end)),
                "built_at": iso_time(instant(r.built_at)),
                "formats": list(r.formats),
                "pdf_note": r.pdf_note,
                "links": {f: f"/api/reports/{r.id}.{f}" for f in r.formats},
            }
        )
    return out


@router.get("/reports", summary="Reports built on the schedule (--report-schedule), newest first")
async def reports(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    return await state.workers.run("the report listing", report_listing, state)


@router.get(
    "/reports/{file}",
    summary="One kept report as Markdown, HTML or PDF: /api/reports/{id}.md|.html|.pdf",
    responses={404: {"description": "No such report, or it has no PDF"}},
)
async def report_file(
    request: Request, file: Annotated[str, Path(description="{id}.md, {id}.html or {id}.pdf")]
) -> Response:
    state = state_of(request)
    got = _REPORT_FILE.match(file)
    if got is None:
        raise ApiError(404, "not_found", f"no report file '{file}'; give {{id}}.md|.html|.pdf")
    report_id, fmt = int(got.group(1)), got.group(2)
    content = await state.workers.run("the report", state.reports.content, report_id, fmt)
    if content is None:
        raise ApiError(404, "not_found", f"no report file '{file}'")
    body = content.encode() if isinstance(content, str) else content
    return Response(
        body,
        media_type=_REPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="capplan-report-{file}"'},
    )


@router.get("/status", summary="Service status: plans, store, freshness of the data, last refresh")
async def status(request: Request) -> dict[str, Any]:
    """``degraded`` (with ``reasons``) when a refresh stage failed or ran only in part
    (``stages``: plans, prometheus, store, forecasts, reports, each with its state, reason and last
    success) or the forecasts are older than ``stale_refreshes`` refresh intervals; else
    ``stale`` when a series' newest sample is older than its maximum age; else ``ok``.
    ``freshness`` has every series' last sample and age."""
    state = state_of(request)
    snap = state.snapshot
    now = time.time()
    fresh = snap.freshness(now)
    stale = [f.series for f in fresh if f.stale]
    reasons = state.problems(now)
    overall = "degraded" if reasons else "stale" if stale else "ok"
    return {
        "status": overall,
        "reasons": reasons,
        "plans": len(state.plan_names()),
        "skipped_plans": sorted(state.skipped),
        "series": len(snap.series),
        "stale_series": stale,
        "now": iso_time(instant(now)),
        "max_age_seconds": state.settings.max_age_seconds,
        "freshness": [f.to_dict() for f in fresh],
        "last_refresh": snap.computed_at or None,
        "snapshot_age_seconds": now - snap.computed_at if snap.computed_at else None,
        "last_success": state.last_success,
        "refreshes": state.refreshes,
        "refresh_error": state.refresh_error,
        "refresh_seconds": state.settings.refresh_seconds,
        "stages": {name: stage.to_dict() for name, stage in state.stages.all().items()},
    }
