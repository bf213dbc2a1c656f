"""Request hardening: bearer token, body size limit and plan names that stay in plans_dir."""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capplan.web.errors import ApiError

__all__ = ["PLAN_NAME", "PLAN_NAME_RE", "BodyLimit", "check_token", "plan_path"]

PLAN_NAME = r"^[A-Za-z0-9_-]{1,100}$"
PLAN_NAME_RE = re.compile(PLAN_NAME)
PLAN_SUFFIXES = (".yaml", ".yml", ".json")


def check_token(expected: str | None, authorization: str | None) -> None:
    """Raise 401 unless ``authorization`` is ``Bearer <expected>`` (no check when unset)."""
    if expected is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the bearer token is wrong")


def plan_path(plans_dir: Path, name: str, *, must_exist: bool = True) -> Path:
    """The file of plan ``name`` inside ``plans_dir``: 400 for a bad name, 404 when absent."""
    if not PLAN_NAME_RE.fullmatch(name):
        raise ApiError(400, "bad_name", "a plan name must be 1-100 letters, digits, '_' or '-'")
    root = plans_dir.resolve()
    for suffix in PLAN_SUFFIXES:
        candidate = (root / f"{name}{suffix}").resolve()
        if not candidate.is_relative_to(root):
            raise ApiError(404, "not_found", f"no plan named '{name}'")
        if candidate.is_file():
            return candidate
    if must_exist:
        raise ApiError(404, "not_found", f"no plan named '{name}'")
    return root / f"{name}.yaml"


class BodyLimit:
    """ASGI middleware: 413 when Content-Length or the streamed body exceeds ``limit`` bytes.

    The body is read (up to the limit) before the app sees it, so an oversize stream is
    refused before any handler runs.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps(
            {
                "error": "too_large",
                "message": f"the request body is larger than {self.limit} bytes",
                "issues": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
