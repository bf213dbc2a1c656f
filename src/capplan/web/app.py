"""The app factory: ``create_app(settings)`` builds a FastAPI app with the JSON API, the
dashboard, ``/metrics``, error handlers, request hardening and the background refresh.

Refresh: the lifespan handler computes the first snapshot (in a worker thread), then, when
``refresh_seconds`` > 0, an asyncio task reruns :meth:`AppState.refresh` in a worker thread
every ``refresh_seconds``. A refresh builds a whole new snapshot and swaps it in one
assignment; requests always read the last complete one and never wait for a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from capplan.web.api import router as api_router
from capplan.web.errors import install_error_handlers
from capplan.web.metrics import RequestMetrics, make_registry
from capplan.web.pages import make_router
from capplan.web.security import BodyLimit
from capplan.web.settings import Settings
from capplan.web.state import AppState

__all__ = ["create_app", "refresh_loop"]

log = logging.getLogger("capplan.web")


async def refresh_loop(state: AppState, interval: float) -> None:
    """Refresh ``state`` every ``interval`` seconds, each time in a worker thread."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(state.refresh)
        except Exception:  # a refresh bug must not kill the loop; the last cache stays
            log.exception("background refresh failed")


def create_app(settings: Settings) -> FastAPI:
    """A new capplan service app for ``settings`` (each app has its own caches and registry)."""
    from capplan import __version__

    state = AppState(settings)
    registry, requests, duration = make_registry(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(state.refresh)
        task = None
        if settings.refresh_seconds > 0:
            task = asyncio.create_task(refresh_loop(state, settings.refresh_seconds))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="capplan",
        version=__version__,
        description="Capacity plans, scenarios, forecasts and runway of the plans directory.",
        lifespan=lifespan,
    )
    app.state.capplan = state
    app.state.registry = registry
    install_error_handlers(app)
    app.include_router(api_router)

    @app.get("/metrics", include_in_schema=True, tags=["metrics"], summary="Prometheus metrics")
    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(make_router())
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, requests=requests, duration=duration)
    return app
