"""How to reach a Prometheus server: the limits of a request, authentication, headers and
TLS, credentials in the URL, and the ``httpx`` client made from them.

Credentials in the URL (``http://alice:S3CRET@host:9090``) are moved into basic auth by
:func:`make_client`; :func:`redact_url` hides them in any text shown (``alice:***@``).
"""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from capplan.errors import UsageError

__all__ = [
    "MIB",
    "PrometheusLimits",
    "PrometheusOptions",
    "make_client",
    "redact_url",
    "split_credentials",
]

MIB = 1024 * 1024
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
