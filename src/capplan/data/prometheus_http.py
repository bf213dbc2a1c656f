"""HTTP exchanges with a Prometheus server that does not have to be trusted.

Every request runs under :class:`PrometheusLimits`: a connect timeout, a read timeout per
chunk, and an overall deadline from connecting to the last byte (a server that drips a byte
every few seconds never trips the read timeout, so a watchdog shuts the socket down at the
deadline); the answer is streamed and refused once it passes ``max_bytes``; redirects are
followed by hand, at most ``max_redirects`` of them, a loop is an error, and a redirect to
another origin loses the credentials and every header but the ordinary ones (the
``Authorization`` a bearer token or basic auth set, ``X-Scope-OrgID``, any ``--header``).
Timeouts, 429 and 5xx answers are retried ``retries`` times with exponential backoff. The
limits, the options and the client are in :mod:`capplan.data.prometheus_options`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from capplan.data.prometheus_options import MIB, PrometheusLimits, redact_url
from capplan.errors import SourceError

__all__ = ["Answer", "exchange"]

_RETRY_STATUS = {429, 500, 502, 503, 504}
# the only headers a redirect to another origin keeps
_ORDINARY_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "user-agent",
    }
)


@dataclass(frozen=True)
class Answer:
    """A final (not redirected, not retried) answer: its status, body and where it came from
    (the URL with credentials hidden)."""

    status: int
    body: bytes
    where: str


class _Expired(Exception):
    """The overall deadline passed (internal: becomes a retry, then a SourceError)."""


class _Deadline:
    """The overall deadline of one request: per-phase timeouts never wait past it, and a
    watchdog shuts down the request's sockets when it passes (waking a blocked read)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.001, self.end - time.monotonic())

    def timeouts(self, limits: PrometheusLimits) -> dict[str, float]:
        left = self.remaining()
        connect, read = min(limits.connect_timeout, left), min(limits.read_timeout, left)
        return {"connect": connect, "read": read, "write": read, "pool": connect}

    def check(self, slack: float = 0.0) -> None:
        """Raise _Expired once the deadline is past (``slack`` seconds early: a timeout that
        was cut to the time left is the deadline)."""
        if self.expired or time.monotonic() >= self.end - slack:
            self.expired = True
            raise _Expired

    def watch(self, stream: Any) -> None:
        """Shut ``stream``'s socket (an httpcore network stream) down at the deadline."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if self.expired:
                _shutdown(sock)
            else:
                self._sockets.append(sock)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: watch each new connection as soon as it exists."""
        if event == "connection.connect_tcp.complete":
            self.watch(info.get("return_value"))

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _send_once(client: httpx.Client, first: httpx.Request, limits: PrometheusLimits) -> Answer:
    """One try: follow redirects, read the answer; raises _Expired, httpx errors or
    SourceError (redirect loop, too many redirects, answer too large)."""
    deadline = _Deadline(limits.deadline)
    request, left_origin = first, False
    seen = [first.url]
    origin = _origin(first.url)
    try:
        while True:
            request.extensions["timeout"] = deadline.timeouts(limits)
            request.extensions["trace"] = deadline.trace
            try:
                if left_origin:  # no client auth either
                    response = client.send(request, stream=True, auth=None)
                else:
                    response = client.send(request, stream=True)
            except httpx.TransportError:
                deadline.check(0.05)  # a socket shut down by the watchdog: the deadline
                raise
            try:
                deadline.watch(response.extensions.get("network_stream"))
                where = redact_url(str(request.url.copy_with(query=None)))
                if response.next_request is None:
                    return Answer(response.status_code, _read(response, limits, deadline), where)
                following = response.next_request
            finally:
                response.close()
            _check_redirect(following.url, seen, limits, where)
            seen.append(following.url)
            if _origin(following.url) != origin:  # credentials stay with their origin
                left_origin = True
                for name in list(following.headers):
                    if name.lower() not in _ORDINARY_HEADERS:
                        del following.headers[name]
            request = following
            deadline.check()
    except httpx.TransportError:
        deadline.check(0.05)
        raise
    finally:
        deadline.cancel()


def _check_redirect(
    url: httpx.URL, seen: list[httpx.URL], limits: PrometheusLimits, where: str
) -> None:
    if url in seen:
        hops = " -> ".join(redact_url(str(u.copy_with(query=None))) for u in [*seen, url])
        raise SourceError(f"Prometheus at {where} redirects in a loop: {hops}")
    if len(seen) > limits.max_redirects:
        raise SourceError(
            f"Prometheus at {where} redirected more than {limits.max_redirects} times "
            f"(last to {redact_url(str(url.copy_with(query=None)))})"
        )


def _read(response: httpx.Response, limits: PrometheusLimits, deadline: _Deadline) -> bytes:
    """The decoded body, refused past ``max_bytes`` (an endless body stops there)."""
    cap = limits.max_bytes
    declared = response.headers.get("content-length", "")
    where = redact_url(str(response.request.url.copy_with(query=None)))
    too_large = f"Prometheus at {where} answered more than the {_size(cap)} allowed"
    if declared.isdigit() and int(declared) > cap:
        raise SourceError(f"{too_large} (Content-Length {int(declared):,} bytes)")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise SourceError(f"{too_large}; raise --prometheus-max-bytes if this is expected")
        deadline.check()
    return bytes(body)


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n:,} bytes"


def exchange(
    client: httpx.Client,
    path: str,
    params: dict[str, str],
    limits: PrometheusLimits,
    *,
    post: bool = False,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """The answer to ``path`` with ``params`` (GET, or a form POST), within ``limits``:
    timeouts, 429 and 5xx are retried ``limits.retries`` times with exponential backoff;
    anything else that goes wrong is a SourceError naming the server."""
    where = redact_url(f"{str(client.base_url).rstrip('/')}{path}")
    problem = ""
    for attempt in range(limits.retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            if post:
                request = client.build_request("POST", path, data=params)
            else:
                request = client.build_request("GET", path, params=params)
            answer = _send_once(client, request, limits)
        except _Expired:
            problem = f"no complete answer within the {limits.deadline:g} s deadline"
            continue
        except httpx.TimeoutException as exc:
            problem = _timeout_problem(exc, limits)
            continue
        except httpx.DecodingError as exc:
            raise SourceError(
                f"Prometheus at {where} answered a body that cannot be decoded: {exc}"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = redact_url(str(exc)) or type(exc).__name__
            raise SourceError(f"cannot reach Prometheus at {where}: {reason}") from None
        if answer.status in _RETRY_STATUS:
            problem = f"HTTP {answer.status}"
            continue
        return answer
    tries = limits.retries + 1
    raise SourceError(
        f"Prometheus at {where} failed {tries} time{'s' if tries > 1 else ''} (last: {problem})"
    )


def _timeout_problem(exc: httpx.TimeoutException, limits: PrometheusLimits) -> str:
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return f"no connection within {limits.connect_timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"nothing read for {limits.read_timeout:g} s"
    return "timed out"
