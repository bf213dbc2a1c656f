"""The one place where errors become HTTP responses: ``{"error", "message", "issues"}``.

Never a traceback: every handler answers with a short JSON body; the catch-all answers 500
with a generic message only (and is a bug to fix: inputs are validated before use).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from capplan.errors import (
    CapplanError,
    DataError,
    ForecastError,
    PlanError,
    SourceError,
    StoreError,
    UsageError,
)

__all__ = ["ApiError", "install_error_handlers", "status_for"]

log = logging.getLogger("capplan.web")

# Most specific first: the first class an error is an instance of gives its status.
_STATUS: tuple[tuple[type[CapplanError], int, str], ...] = (
    (PlanError, 422, "plan_error"),
    (UsageError, 400, "usage_error"),
    (DataError, 422, "data_error"),
    (ForecastError, 422, "forecast_error"),
    (StoreError, 503, "store_error"),
    (SourceError, 502, "source_error"),
)


class ApiError(CapplanError):
    """An HTTP-level problem found by the service itself (unknown plan, bad token...)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def status_for(exc: CapplanError) -> tuple[int, str]:
    """The HTTP status and error kind of a capplan error."""
    if isinstance(exc, ApiError):
        return exc.status, exc.kind
    for cls, status, kind in _STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 400, "error"


_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>{status} · capplan</title>"
    '<link rel="stylesheet" href="/static/style.css"></head>'
    '<body><nav><a href="/">capplan</a></nav>'
    "<main><h1>{status}</h1><p>{message}</p><ul>{issues}</ul></main></body></html>"
)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(("/plans/", "/forecasts"))


def _respond(
    request: Request,
    status: int,
    kind: str,
    message: str,
    issues: list[dict[str, object]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """JSON for the API; an escaped HTML page for the dashboard's own pages."""
    all_headers = {"X-Content-Type-Options": "nosniff", **(headers or {})}
    if _is_page(request):
        items = "".join(
            f"<li>{html.escape(str(i.get('path', '')))}: {html.escape(str(i.get('message')))}</li>"
            for i in issues or []
        )
        page = _PAGE.format(status=status, message=html.escape(message), issues=items)
        return HTMLResponse(page, status_code=status, headers=all_headers)
    body = {"error": kind, "message": message, "issues": issues or []}
    return JSONResponse(body, status_code=status, headers=all_headers)


async def _capplan_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CapplanError)
    status, kind = status_for(exc)
    issues = [i.to_dict() for i in exc.issues] if isinstance(exc, PlanError) else []
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _respond(request, status, kind, str(exc), issues, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues: list[dict[str, object]] = [
        {
            "file": None,
            "line": None,
            "path": ".".join(str(p) for p in err.get("loc", ())),
            "message": str(err.get("msg", "invalid")),
        }
        for err in exc.errors()
    ]
    return _respond(request, 422, "invalid_request", "the request is invalid", issues)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _respond(request, exc.status_code, kind, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(CapplanError, _capplan_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
