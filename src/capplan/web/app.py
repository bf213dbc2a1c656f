"""The app factory: ``create_app(settings)`` builds a FastAPI app with the JSON API, the
dashboard, ``/metrics``, error handlers, request hardening and the background refresh.

Refresh: the lifespan handler computes the first snapshot (in a worker thread), then, when
``refresh_seconds`` > 0, an asyncio task reruns :meth:`AppState.refresh` in a worker thread
every ``refresh_seconds``. A refresh builds a whole new snapshot and swaps it in one
assignment; requests always read the last complete one and never wait for a refresh. With
a background refresh, the first snapshot is read from the store alone and the first pull
from Prometheus starts right after, in the background: a Prometheus that is down or hangs
does not hold up the start, and the store's series are served meanwhile.

Hardening, outermost first: security headers (and relative redirects), the Host
allow-list, request metrics, the body size limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from capplan.web.api import router as api_router
from capplan.web.docs import install_docs
from capplan.web.errors import install_error_handlers
from capplan.web.metrics import Exposition, RequestMetrics, RequestStats
from capplan.web.pages import make_router
from capplan.web.rightsizing import RightsizeCache, make_rightsize_router
from capplan.web.security import BodyLimit, HostCheck, SecurityHeaders
from capplan.web.settings import Settings
from capplan.web.state import AppState

__all__ = ["create_app", "refresh_loop"]

log = logging.getLogger("capplan.web")


async def refresh_loop(state: AppState, interval: float, first_delay: float | None = None) -> None:
    """Refresh ``state`` every ``interval`` seconds (the first time after ``first_delay``,
    default ``interval``), each time in a worker thread."""
    delay = interval if first_delay is None else first_delay
    while True:
        await asyncio.sleep(delay)
        delay = interval
        try:
            await asyncio.to_thread(state.refresh)
        except Exception:  # a refresh bug must not kill the loop; the last cache stays
            log.exception("background refresh failed")


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> FastAPI:
    """A new capplan service app for ``settings`` (each app has its own caches and registry);
    ``clock`` is what the report schedules read the time from."""
    from capplan import __version__

    state = AppState(settings, clock)
    requests = RequestStats()
    exposition = Exposition(state, requests)
    rightsize = RightsizeCache(settings.rightsize)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = settings.refresh_seconds > 0
        pull_later = background and settings.prometheus_url is not None
        await asyncio.to_thread(state.refresh, not pull_later)
        task = None
        if background:
            first = 0.0 if pull_later else None
            task = asyncio.create_task(refresh_loop(state, settings.refresh_seconds, first))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            state.workers.close()

    app = FastAPI(
        title="capplan",
        version=__version__,
        description="Capacity plans, scenarios, forecasts and runway of the plans directory.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.capplan = state
    app.state.registry = requests
    app.state.rightsize = rightsize
    install_error_handlers(app)
    app.include_router(api_router)

    @app.get("/metrics", include_in_schema=True, tags=["metrics"], summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        plan_text = exposition.cached_plan_text()
        if plan_text is None:
            plan_text = await state.workers.run("the plan metrics", exposition.plan_text)
        snap = state.snapshot
        sized = rightsize.peek(snap)
        if sized is None:
            sized = await state.workers.run("the right-sizing", rightsize.get, snap)
        return Response(exposition.render(plan_text) + sized[1], media_type=CONTENT_TYPE_LATEST)

    app.include_router(make_router())
    app.include_router(make_rightsize_router())
    docs_policies = install_docs(app)  # before /static: its assets are under /static/docs
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, stats=requests)
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders, policies=docs_policies)
    return app
