"""The API docs pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served offline.

Their JavaScript and CSS come from the ``fastapi-offline`` package, which ships Swagger UI's
and ReDoc's distribution files, served under ``/static/docs/`` by the service itself: no CDN,
no web fonts, no favicon from elsewhere. ReDoc's bundle draws its maker's logo from their CDN
in the side menu; the copy served here has that one address replaced by an empty picture, so
the page asks for nothing outside the service (and logs no error). Swagger UI starts from a
small inline script (and its OAuth2 redirect page has one); each page's Content-Security-Policy
allows exactly those scripts by their SHA-256 hash, nothing else inline.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_ASSETS", "docs_policy", "inline_script_hashes", "install_docs", "redoc_bundle"]

#: Swagger UI's and ReDoc's files (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js).
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/static/docs"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_PICTURE = (
    b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(html: str) -> list[str]:
    """The CSP source (``'sha256-…'``) of every inline ``<script>`` of ``html``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: str) -> str:
    """The Content-Security-Policy of a docs page: the dashboard's, plus the page's own
    inline scripts by hash and ``blob:`` workers (ReDoc's search)."""
    scripts = " ".join(["'self'", *inline_script_hashes(html)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


@functools.cache
def redoc_bundle() -> bytes:
    """``redoc.standalone.js`` with the one outside address it loads (its maker's logo)
    replaced by an empty picture."""
    return (DOCS_ASSETS / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, _EMPTY_PICTURE)


def _body(response: HTMLResponse) -> str:
    return bytes(response.body).decode()


def install_docs(app: FastAPI) -> dict[str, str]:
    """Add ``/docs``, its OAuth2 redirect page, ``/redoc`` and their assets to ``app``
    (made with ``docs_url=None, redoc_url=None``); the Content-Security-Policy of each page,
    by path."""
    openapi_url = app.openapi_url or "/openapi.json"
    pages = {
        DOCS_URL: _body(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=OAUTH2_REDIRECT_URL,
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url="data:,",
                # no badge asking the online validator about the spec
                swagger_ui_parameters={"validatorUrl": None},
            )
        ),
        OAUTH2_REDIRECT_URL: _body(get_swagger_ui_oauth2_redirect_html()),
        REDOC_URL: _body(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url="data:,",
                with_google_fonts=False,
            )
        ),
    }
    for path, html in pages.items():
        app.add_api_route(
            path,
            _page(html),
            methods=["GET"],
            include_in_schema=False,
            response_class=HTMLResponse,
        )

    @app.get(f"{ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(
            redoc_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount(ASSETS_URL, StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")
    return {path: docs_policy(html) for path, html in pages.items()}


def _page(html: str) -> Callable[[], Awaitable[HTMLResponse]]:
    body = html.encode()

    async def page() -> HTMLResponse:
        return HTMLResponse(body)

    return page
