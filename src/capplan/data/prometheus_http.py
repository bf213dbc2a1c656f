"""HTTP exchanges with a Prometheus server that does not have to be trusted.

Every request runs under :class:`PrometheusLimits`: a connect timeout, a read timeout per
chunk, and an overall deadline from connecting to the last byte (a server that drips a byte
every few seconds never trips the read timeout, so a watchdog shuts the socket down at the
deadline); the answer is streamed and refused once it passes ``max_bytes``; redirects are
followed by hand, at most ``max_redirects`` of them, a loop is an error, and a redirect to
another origin loses the credentials and every header but the ordinary ones (the
``Authorization`` a bearer token or basic auth set, ``X-Scope-OrgID``, any ``--header``).
Timeouts, 429 and 5xx answers are retried ``retries`` times with exponential backoff.

Credentials in the URL (``http://alice:S3CRET@host:9090``) are moved into basic auth by
:func:`make_client`; :func:`redact_url` hides them in any text shown (``alice:***@``).
"""

from __future__ import annotations

import contextlib
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from capplan.errors import SourceError, UsageError

__all__ = [
    "Answer",
    "PrometheusLimits",
    "PrometheusOptions",
    "exchange",
    "make_client",
    "redact_url",
    "split_credentials",
]

MIB = 1024 * 1024
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
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/?#\s@]*(?:@[^/?#\s@]*)*)@"
)


@dataclass(frozen=True)
class PrometheusLimits:
    """How long and how much one Prometheus request may take.

    ``connect_timeout``, ``read_timeout`` (the longest wait for any one chunk of the answer)
    and ``deadline`` (the whole request: connecting, redirects, the last byte) are seconds;
    a request is tried ``1 + retries`` times; ``max_bytes`` caps one answer (decoded);
    ``points_ratio`` caps the points of one series at that many times the points asked for
    (``(end - start) / step + 1``); ``max_redirects`` caps the redirects of one request.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    retries: int = 2
    max_bytes: int = 64 * MIB
    points_ratio: float = 2.0
    max_redirects: int = 5

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "deadline"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 < value <= 86_400:
                raise UsageError(
                    f"Prometheus {name.replace('_', ' ')} must be a number of seconds above 0 "
                    f"and at most 86400, got {value!r}"
                )
        if not _is_int(self.retries) or not 0 <= self.retries <= 100:
            raise UsageError(f"Prometheus retries must be 0 to 100, got {self.retries!r}")
        if not _is_int(self.max_bytes) or self.max_bytes < 1024:
            raise UsageError(
                f"Prometheus max bytes must be a whole number of at least 1024, got "
                f"{self.max_bytes!r}"
            )
        if not _is_number(self.points_ratio) or not 1 <= self.points_ratio <= 1_000_000:
            raise UsageError(
                f"Prometheus points ratio must be a number from 1 to 1000000, got "
                f"{self.points_ratio!r}"
            )
        if not _is_int(self.max_redirects) or not 0 <= self.max_redirects <= 100:
            raise UsageError(
                f"Prometheus max redirects must be 0 to 100, got {self.max_redirects!r}"
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PrometheusOptions:
    """How to reach a Prometheus server, apart from its URL: authentication, extra headers,
    TLS and limits. The secrets are left out of ``repr``."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    ca_file: str | None = None
    insecure: bool = False
    limits: PrometheusLimits = field(default_factory=PrometheusLimits)

    def client(self, url: str) -> httpx.Client:
        """An ``httpx.Client`` for the server at ``url`` with these options."""
        clean, options = self.for_url(url)
        return _client(clean, options)

    def for_url(self, url: str) -> tuple[str, PrometheusOptions]:
        """``url`` without credentials, and these options with the URL's credentials as basic
        auth. Credentials both in the URL and in ``username``/``password``, a password without
        a user, or basic auth and a bearer token together are a UsageError."""
        clean, user, password = split_credentials(url)
        options = self
        if user is not None or password is not None:
            if self.username is not None or self.password is not None:
                raise UsageError(
                    "give the Prometheus credentials in the URL or with --username/--password, "
                    "not both"
                )
            options = replace(self, username=user or "", password=password)
        if options.password is not None and options.username is None:
            raise UsageError("a Prometheus password needs a user name (--username)")
        if options.username is not None and options.bearer_token is not None:
            raise UsageError("give Prometheus basic auth or a bearer token, not both")
        return clean, options


def redact_url(text: str) -> str:
    """``text`` with the credentials of every URL in it hidden: ``http://alice:S3CRET@host``
    reads ``http://alice:***@host``, ``http://TOKEN@host`` reads ``http://***@host``."""

    def hide(match: re.Match[str]) -> str:
        user, sep, _ = match["info"].partition(":")
        shown = f"{user}:***" if sep else "***"
        return f"{match['scheme']}{shown}@"

    return _USERINFO.sub(hide, text)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without credentials, user, password)`` of an ``http(s)://`` URL; the user and
    password are percent-decoded (``None`` when absent). A URL that is not http(s) with a
    host is a :class:`UsageError` (whose message hides the credentials)."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc
        info, at, host = netloc.rpartition("@")
        if parts.scheme.lower() not in ("http", "https") or not host or host.startswith(":"):
            raise ValueError("not an http(s) URL with a host")
        _ = urlsplit(f"//{host}").port  # a port that is not a number fails here
    except ValueError:
        raise UsageError(
            f"the Prometheus URL must look like http://prometheus:9090, got {redact_url(url)!r}"
        ) from None
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    if not at:
        return clean, None, None
    user, sep, password = info.partition(":")
    return clean, unquote(user), unquote(password) if sep else None


def make_client(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
    headers: Mapping[str, str] | None = None,
    ca_file: str | None = None,
    insecure: bool = False,
    limits: PrometheusLimits | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for a Prometheus server: base URL, auth, TLS and headers.

    Credentials in ``url`` become basic auth (the base URL keeps none); see
    :meth:`PrometheusOptions.for_url`. Redirects are not followed by the client:
    :func:`exchange` follows them."""
    options = PrometheusOptions(
        username=username,
        password=password,
        bearer_token=bearer_token,
        headers=dict(headers or {}),
        ca_file=ca_file,
        insecure=insecure,
        limits=limits or PrometheusLimits(),
    )
    return options.client(url)


def _client(url: str, options: PrometheusOptions) -> httpx.Client:
    all_headers = {"Accept-Encoding": "gzip, deflate", **options.headers}
    if options.bearer_token is not None:
        all_headers["Authorization"] = f"Bearer {options.bearer_token}"
    auth = None
    if options.username is not None:
        auth = httpx.BasicAuth(options.username, options.password or "")
    limits = options.limits
    try:
        verify: bool | ssl.SSLContext = (
            False
            if options.insecure
            else ssl.create_default_context(cafile=options.ca_file)
            if options.ca_file
            else True
        )
        return httpx.Client(
            base_url=url.rstrip("/"),
            auth=auth,
            headers=all_headers,
            verify=verify,
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
            follow_redirects=False,
        )
    except (ValueError, TypeError, OSError) as exc:  # bad header text, unreadable CA file
        raise UsageError(f"cannot set up the Prometheus client: {redact_url(str(exc))}") from None


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
