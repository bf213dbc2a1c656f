"""The options every command that reads Prometheus takes: authentication, TLS and limits.

Each is a flag and an environment variable (``CAPPLAN_PROMETHEUS_...``). A command takes
them all with :func:`with_connection_options`, which adds them to its signature and passes
them as one :class:`~capplan.data.prometheus.PrometheusOptions` (``connection``); the URL
option (:func:`url_option`) each command declares itself, with its own help.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from capplan.data.prometheus import PrometheusLimits, PrometheusOptions
from capplan.errors import UsageError

__all__ = [
    "ambient",
    "bearer_token_option",
    "ca_file_option",
    "connect_timeout_option",
    "deadline_option",
    "header_option",
    "insecure_option",
    "max_bytes_option",
    "parse_headers",
    "parse_size",
    "password_option",
    "points_ratio_option",
    "prometheus_options",
    "read_timeout_option",
    "retries_option",
    "url_option",
    "username_option",
    "with_connection_options",
]

PANEL = "Prometheus"
_DEFAULT = PrometheusLimits()
_SIZE = re.compile(r"\s*(\d{1,15}(?:\.\d{1,6})?)\s*([kmg]?)(i?)(b?)\s*", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3}


def _option(flag: str, env: str, help_text: str, metavar: str | None = None) -> Any:
    return typer.Option(
        None,
        flag,
        envvar=f"CAPPLAN_PROMETHEUS_{env}",
        metavar=metavar,
        help=help_text,
        rich_help_panel=PANEL,
        show_default=False,
    )


def url_option(help_text: str) -> Any:
    """``--prometheus URL``, also from ``CAPPLAN_PROMETHEUS_URL`` or the configuration file
    (see :func:`ambient`)."""
    return typer.Option(
        None,
        "--prometheus",
        envvar="CAPPLAN_PROMETHEUS_URL",
        metavar="URL",
        help=help_text,
        show_envvar=True,
    )


def ambient(ctx: typer.Context, name: str = "prometheus") -> bool:
    """Whether the parameter ``name`` came from the environment or the configuration file
    rather than the command line: such a Prometheus URL is read only when the command was
    given no other source (files, a store)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("ENVIRONMENT", "DEFAULT_MAP")


def bearer_token_option() -> Any:
    return _option("--bearer-token", "TOKEN", "Bearer token sent to Prometheus.", "TOKEN")


def username_option() -> Any:
    return _option("--username", "USERNAME", "Basic-auth user for Prometheus.", "USER")


def password_option() -> Any:
    return _option("--password", "PASSWORD", "Basic-auth password for Prometheus.", "PASSWORD")


def header_option() -> Any:
    return typer.Option(
        None,
        "--header",
        help="'Name: value' sent to Prometheus (repeatable), e.g. 'X-Scope-OrgID: team'.",
        rich_help_panel=PANEL,
        show_default=False,
    )


def ca_file_option() -> Any:
    return _option("--ca-file", "CA_FILE", "CA bundle for Prometheus' TLS.", "FILE")


def insecure_option() -> Any:
    return typer.Option(
        False,
        "--insecure",
        envvar="CAPPLAN_PROMETHEUS_INSECURE",
        help="Skip TLS verification of Prometheus.",
        rich_help_panel=PANEL,
    )


def connect_timeout_option() -> Any:
    return _option(
        "--prometheus-connect-timeout",
        "CONNECT_TIMEOUT",
        f"Seconds to connect to Prometheus (default {_DEFAULT.connect_timeout:g}).",
        "SECONDS",
    )


def read_timeout_option() -> Any:
    return _option(
        "--prometheus-read-timeout",
        "READ_TIMEOUT",
        f"Longest wait for any chunk of an answer (default {_DEFAULT.read_timeout:g}).",
        "SECONDS",
    )


def deadline_option() -> Any:
    return _option(
        "--prometheus-deadline",
        "DEADLINE",
        f"Longest one request may take, connecting to last byte (default {_DEFAULT.deadline:g}).",
        "SECONDS",
    )


def retries_option() -> Any:
    return _option(
        "--prometheus-retries",
        "RETRIES",
        f"Retries of a request that timed out or got 429/5xx (default {_DEFAULT.retries}).",
        "N",
    )


def max_bytes_option() -> Any:
    return _option(
        "--prometheus-max-bytes",
        "MAX_BYTES",
        "Largest answer accepted, e.g. 64MiB (the default) or 1GB.",
        "SIZE",
    )


def points_ratio_option() -> Any:
    return _option(
        "--prometheus-points-ratio",
        "POINTS_RATIO",
        f"Refuse a series with more than this many times the points asked for (default "
        f"{_DEFAULT.points_ratio:g}).",
        "RATIO",
    )


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``512KiB``, ``64MiB``, ``64M`` (binary) or ``10MB`` (decimal)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UsageError(f"--prometheus-max-bytes must be a size like 64MiB or 10MB, got {text!r}")
    number, prefix, binary, _ = match.groups()
    power = _POWERS[prefix.lower()]
    base = 1000 if prefix and not binary and match.group(4) else 1024
    return int(float(number) * base**power)


def parse_headers(items: list[str]) -> dict[str, str]:
    """``{"Name": "value"}`` from ``Name: value`` items."""
    out = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key.strip() or any(ord(c) < 32 or ord(c) == 127 for c in item):
            raise UsageError(f"--header must look like 'Name: value', got {item!r}")
        out[key.strip()] = value.strip()
    return out


def prometheus_options(
    *,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
    headers: list[str] | None = None,
    ca_file: str | None = None,
    insecure: bool = False,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    deadline: float | None = None,
    retries: int | None = None,
    max_bytes: str | None = None,
    points_ratio: float | None = None,
) -> PrometheusOptions:
    """Checked options from the command line (None: the default)."""
    given: dict[str, Any] = {
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "deadline": deadline,
        "retries": retries,
        "max_bytes": parse_size(max_bytes) if max_bytes is not None else None,
        "points_ratio": points_ratio,
    }
    limits = PrometheusLimits(**{k: v for k, v in given.items() if v is not None})
    return PrometheusOptions(
        username=username,
        password=password,
        bearer_token=bearer_token or None,
        headers=parse_headers(headers or []),
        ca_file=ca_file,
        insecure=insecure,
        limits=limits,
    )


def _connection_parameters() -> list[inspect.Parameter]:
    """The options of :func:`prometheus_options` as command parameters (typed, with their
    Typer option as default)."""
    options: dict[str, tuple[Any, Any]] = {
        "bearer_token": (str | None, bearer_token_option()),
        "username": (str | None, username_option()),
        "password": (str | None, password_option()),
        "headers": (list[str] | None, header_option()),
        "ca_file": (str | None, ca_file_option()),
        "insecure": (bool, insecure_option()),
        "connect_timeout": (float | None, connect_timeout_option()),
        "read_timeout": (float | None, read_timeout_option()),
        "deadline": (float | None, deadline_option()),
        "retries": (int | None, retries_option()),
        "max_bytes": (str | None, max_bytes_option()),
        "points_ratio": (float | None, points_ratio_option()),
    }
    assert set(options) == set(inspect.signature(prometheus_options).parameters)
    return [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in options.items()
    ]


P = ParamSpec("P")
R = TypeVar("R")


def with_connection_options(command: Callable[P, R]) -> Callable[..., R]:
    """Give a command every connection option (authentication, TLS, limits) and pass them,
    checked, as its ``connection`` argument (a :class:`PrometheusOptions`).

    Written by hand because Typer has no parameter groups: the wrapper's signature (which
    Typer reads) is the command's, without ``connection``, plus the options."""
    extra = _connection_parameters()
    names = [p.name for p in extra]
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "connection"]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        values = {name: kwargs.pop(name) for name in names}
        return command(*args, connection=prometheus_options(**values), **kwargs)  # type: ignore[arg-type]

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{p.name: p.annotation for p in own},
        **{p.name: p.annotation for p in extra},
        "return": signature.return_annotation,
    }
    return wrapper
