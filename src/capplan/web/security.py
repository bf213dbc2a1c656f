"""Request hardening: bearer token, body size and nesting limits, plan names that stay in
plans_dir, the Host allow-list and the security headers of every answer."""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capplan.errors import PlanSyntaxError
from capplan.web.errors import ApiError

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "MAX_NESTING",
    "PLAN_NAME",
    "PLAN_NAME_RE",
    "BodyLimit",
    "HostCheck",
    "SecurityHeaders",
    "check_nesting",
    "check_token",
    "host_name",
    "plan_path",
]

PLAN_NAME = r"^[A-Za-z0-9_-]{1,100}$"
PLAN_NAME_RE = re.compile(PLAN_NAME)
PLAN_SUFFIXES = (".yaml", ".yml", ".json")


def check_token(
    expected: str | None, authorization: str | None, anonymous_writes: bool = False
) -> None:
    """Raise 401 unless ``authorization`` is ``Bearer <expected>``. Without a token set,
    writes are refused (403) unless ``anonymous_writes`` allows them."""
    if expected is None:
        if anonymous_writes:
            return
        raise ApiError(
            403,
            "writes_off",
            "writing plans needs a token: start the service with --token (or CAPPLAN_TOKEN), "
            "or with --allow-anonymous-writes on a machine only you can reach",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the bearer token is wrong")


#: How deep under the plans directory plan files are looked for (``examples/metrics/x.yaml``).
PLAN_DEPTH = 3


def plan_files(plans_dir: Path) -> dict[str, Path]:
    """Plan name → its file, under ``plans_dir`` and its folders (``PLAN_DEPTH`` levels,
    hidden folders and links to folders skipped). Where two folders hold the same name, the
    shallower one (then the first in name order) is the plan."""
    found: dict[str, Path] = {}
    level = [plans_dir]
    for _ in range(PLAN_DEPTH):
        deeper: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue  # removed meanwhile, or unreadable
            for entry in entries:
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        deeper.append(path)
                elif path.suffix in PLAN_SUFFIXES and PLAN_NAME_RE.fullmatch(path.stem):
                    found.setdefault(path.stem, path)
        level = deeper
    return found


def plan_path(plans_dir: Path, name: str, *, must_exist: bool = True) -> Path:
    """The file of plan ``name`` inside ``plans_dir`` (or a folder of it, see
    :func:`plan_files`): 400 for a bad name, 404 when absent. A new plan goes at the top."""
    if not PLAN_NAME_RE.fullmatch(name):
        raise ApiError(400, "bad_name", "a plan name must be 1-100 letters, digits, '_' or '-'")
    root = plans_dir.resolve()
    for suffix in PLAN_SUFFIXES:
        candidate = (root / f"{name}{suffix}").resolve()
        if not candidate.is_relative_to(root):
            raise ApiError(404, "not_found", f"no plan named '{name}'")
        if candidate.is_file():
            return candidate
    nested = plan_files(root).get(name)
    if nested is not None:
        candidate = nested.resolve()
        if not candidate.is_relative_to(root):
            raise ApiError(404, "not_found", f"no plan named '{name}'")
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
        message = f"the request body is larger than {self.limit} bytes"
        await send_error(send, 413, "too_large", message)


async def send_error(send: Send, status: int, kind: str, message: str) -> None:
    """A JSON error answer (``{"error", "message", "issues"}``) straight from a middleware."""
    payload = json.dumps({"error": kind, "message": message, "issues": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


MAX_NESTING = 64
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def check_nesting(body: bytes, file: str, limit: int = MAX_NESTING) -> None:
    """A :class:`PlanSyntaxError` when ``[ ]`` and ``{ }`` nest deeper than ``limit`` levels
    in ``body`` (JSON, or YAML flow style). One vectorized pass, so a deeply nested body is
    refused in milliseconds, before any parser walks it. Brackets inside strings count too:
    a plan nests a handful of levels, so only a hostile body comes near the limit."""
    if not body:
        return
    depth = np.cumsum(_OPEN[np.frombuffer(body, dtype=np.uint8)], dtype=np.int64)
    if int(depth.max()) <= limit:
        return
    at = int(np.argmax(depth > limit))
    raise PlanSyntaxError.single(
        f"nests [ ] and {{ }} deeper than {limit} levels; a plan needs a handful",
        file=file,
        line=body.count(b"\n", 0, at) + 1,
    )


def host_name(header: str) -> str:
    """The host name of a ``Host`` header: lower case, without port, brackets or final dot
    (``[::1]:8080`` → ``::1``, ``LocalHost.:80`` → ``localhost``)."""
    value = header.strip().lower()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


class HostCheck:
    """ASGI middleware: 400 unless the ``Host`` header names an allowed host (``*``: any;
    ``*.example.com``: any subdomain), so that a name an attacker points at this address
    (DNS rebinding) reaches nothing."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        names = {host_name(h) for h in allowed}
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))

    def allows(self, host: str) -> bool:
        """Whether a request with ``Host: host`` is answered."""
        name = host_name(host)
        if self.any:
            return True
        return bool(name) and (name in self.exact or name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any:
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        message = "the Host header names a host this service does not answer for"
        await send_error(send, 400, "bad_host", message)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def relative_location(location: str) -> str:
    """``location`` without scheme and host: redirects never carry the request's Host."""
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


class SecurityHeaders:
    """ASGI middleware: ``Content-Security-Policy``, ``X-Frame-Options: DENY``,
    ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every
    answer, and redirects made relative. The policy is :data:`CONTENT_SECURITY_POLICY`
    except at the paths of ``policies`` (the API docs pages, whose inline scripts their
    policy allows by hash)."""

    def __init__(self, app: ASGIApp, policies: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.policy = CONTENT_SECURITY_POLICY.encode()
        self.policies = {path: p.encode() for path, p in (policies or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policies.get(scope["path"], self.policy)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, relative_location(v.decode("latin-1")).encode("latin-1"))
                    if k == b"location"
                    else (k, v)
                    for k, v in message.get("headers", [])
                    if k not in _REPLACED
                ]
                headers.append((b"content-security-policy", policy))
                headers.extend(_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REPLACED = frozenset({b"content-security-policy", *(k for k, _ in _HEADERS)})
