"""``capplan serve``: the dashboard, the JSON API and ``/metrics`` (FastAPI under Uvicorn)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from capplan.cli import source_options as prom
from capplan.cli.app import app
from capplan.cli.errors import handle_errors
from capplan.data.prometheus import PrometheusOptions
from capplan.errors import UsageError

if TYPE_CHECKING:
    from capplan.web import Settings
    from capplan.web.rightsizing import RightsizeOptions

__all__ = ["build_settings", "serve"]


def build_settings(
    plans: Path,
    store: Path | None,
    host: str,
    port: int,
    token: str | None,
    refresh: float,
    prometheus: str | None,
    horizon: str,
    max_body: int,
    max_age: str | None = None,
    allowed_hosts: list[str] | None = None,
    request_timeout: float = 30.0,
    prometheus_options: PrometheusOptions | None = None,
    allow_anonymous_writes: bool = False,
    allow_anonymous: bool = False,
    report_schedules: list[str] | None = None,
    rightsize: RightsizeOptions | None = None,
) -> Settings:
    """Checked :class:`capplan.web.Settings` from the command-line options. The Host names
    answered are the loopback names, ``allowed_hosts`` and the address listened on, when it
    is one address (not 0.0.0.0 or ::). Credentials in the ``prometheus`` URL move into the
    options' basic auth: the settings' URL carries none. ``report_schedules`` (``weekly mon
    08:00``, ``monthly 1 08:00``) need a store and a background refresh."""
    from capplan.policy.freshness import parse_max_age
    from capplan.report.schedule import parse_schedule
    from capplan.web import Settings
    from capplan.web.rightsizing import RightsizeOptions
    from capplan.web.settings import LOOPBACK_HOSTS

    if not plans.is_dir():
        raise UsageError(f"--plans {plans} is not a directory")
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    if refresh < 0:
        raise UsageError(f"--refresh must be 0 (off) or a number of seconds, got {refresh}")
    if max_body < 1:
        raise UsageError(f"--max-body must be at least 1 byte, got {max_body}")
    if store is not None and store.is_dir():
        raise UsageError(f"--store {store} is a directory, not a store file")
    if not request_timeout > 0:
        raise UsageError(
            f"--request-timeout must be a positive number of seconds, got {request_timeout}"
        )
    if not token and not allow_anonymous and not _loopback(host):
        raise UsageError(
            f"--host {host} serves other machines, but no --token (or CAPPLAN_TOKEN) is set: "
            "anyone who reaches it reads every plan; set a token, or --allow-anonymous to "
            "serve it so anyway"
        )
    schedules = tuple(dict.fromkeys(parse_schedule(s) for s in report_schedules or []))
    if schedules and store is None:
        raise UsageError(
            "--report-schedule needs --store: the reports are built from it and kept in it"
        )
    if schedules and refresh == 0:
        raise UsageError(
            "--report-schedule needs a background refresh (--refresh > 0): the reports due "
            "are built at each refresh"
        )
    max_age_seconds = parse_max_age(max_age, "--max-age") if max_age is not None else None
    options = prometheus_options or PrometheusOptions()
    if prometheus is not None:
        prometheus, options = options.for_url(prometheus)
        options.client(prometheus).close()  # a CA file that cannot be read fails here
    hosts = list(LOOPBACK_HOSTS)
    for name in [*(h.strip() for h in allowed_hosts or []), host]:
        if name and name not in ("0.0.0.0", "::") and name not in hosts:
            hosts.append(name)
    return Settings(
        plans_dir=plans,
        store=store,
        host=host,
        port=port,
        token=token or None,
        max_body_bytes=max_body,
        refresh_seconds=refresh,
        forecast_horizon=horizon,
        prometheus_url=prometheus,
        prometheus_options=options,
        max_age_seconds=max_age_seconds,
        allowed_hosts=tuple(hosts),
        request_seconds=request_timeout,
        allow_anonymous_writes=allow_anonymous_writes,
        report_schedules=schedules,
        rightsize=rightsize or RightsizeOptions(),
    )


def rightsize_options(
    namespaces: list[str] | None,
    selector: str | None,
    strategy: str,
    since: str,
    price_vcpu: float,
    price_gb: float,
    currency: str,
) -> RightsizeOptions:
    """Checked right-sizing options of the service (``--rightsize-*``)."""
    from capplan.rightsize import STRATEGIES, Prices, parse_selector
    from capplan.units import duration_seconds
    from capplan.web.rightsizing import RightsizeOptions

    STRATEGIES.get(strategy)  # an unknown name lists the available ones
    try:
        parse_selector(selector)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--selector", "--rightsize-selector", 1)) from None
    try:
        seconds = int(duration_seconds(since))
    except ValueError as exc:
        raise UsageError(f"--rightsize-since: {exc}") from None
    for flag, value in (("--rightsize-price-vcpu", price_vcpu), ("--rightsize-price-gb", price_gb)):
        if value < 0:
            raise UsageError(f"{flag} must be >= 0, got {value:g}")
    return RightsizeOptions(
        tuple(namespaces or ()), selector, strategy, seconds, Prices(price_vcpu, price_gb, currency)
    )


def _loopback(host: str) -> bool:
    """Whether ``host`` is an address only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
@handle_errors
@prom.with_connection_options
def serve(
    store: Path | None = typer.Option(None, "--store", help="Metric store (DuckDB file)."),
    plans: Path = typer.Option(Path("."), "--plans", help="Directory of plan files."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    token: str | None = typer.Option(
        None, "--token", envvar="CAPPLAN_TOKEN", help="Bearer token required by write endpoints."
    ),
    refresh: float = typer.Option(
        300, "--refresh", help="Seconds between background refreshes (0: off)."
    ),
    prometheus: str | None = prom.url_option(
        "Prometheus URL to pull observed metrics from on refresh."
    ),
    horizon: str = typer.Option("7d", "--horizon", help="Forecast horizon, e.g. 7d or 14d."),
    max_body: int = typer.Option(
        1024 * 1024, "--max-body", help="Largest accepted request body, in bytes."
    ),
    max_age: str | None = typer.Option(
        None,
        "--max-age",
        metavar="DURATION",
        help="A series whose newest sample is older is stale in /api/status; 'off' (or 0) "
        "disables. Default: the larger of 3 steps of its data and the longest for: on it.",
        show_default=False,
    ),
    allowed_host: list[str] | None = typer.Option(
        None,
        "--allowed-host",
        metavar="NAME",
        help="A Host name requests may use besides localhost, 127.0.0.1, ::1 and the --host "
        "address (repeatable; '*' for any); others get 400 (against DNS rebinding).",
        show_default=False,
    ),
    allow_anonymous_writes: bool = typer.Option(
        False,
        "--allow-anonymous-writes",
        help="Let requests without a token write plans (without --token, writes are refused).",
    ),
    allow_anonymous: bool = typer.Option(
        False,
        "--allow-anonymous",
        help="Serve a non-loopback --host without --token (refused otherwise).",
    ),
    request_timeout: float = typer.Option(
        30.0,
        "--request-timeout",
        metavar="SECONDS",
        help="Time budget of a request that computes (validation, projection, page); "
        "past it the answer is 503.",
    ),
    report_schedule: list[str] | None = typer.Option(
        None,
        "--report-schedule",
        metavar="SPEC",
        help="Build the daily, weekly, monthly or quarterly report of every plan with observed "
        "metrics on this schedule, UTC: 'daily 08:00', 'weekly mon 08:00', 'monthly 1 08:00' "
        "or 'quarterly 1 08:00' (repeatable). Kept in the --store, listed at /reports.",
        show_default=False,
    ),
    rightsize_namespace: list[str] | None = typer.Option(
        None,
        "--rightsize-namespace",
        help="Right-size only the stored containers of this namespace (a glob; repeatable).",
        show_default=False,
    ),
    rightsize_selector: str | None = typer.Option(
        None,
        "--rightsize-selector",
        help="Right-size only the containers whose labels match: 'app=api,team!=ops'.",
    ),
    rightsize_strategy: str = typer.Option(
        "simple", "--rightsize-strategy", help="Right-sizing strategy: simple (KRR's), forecast."
    ),
    rightsize_since: str = typer.Option(
        "14d", "--rightsize-since", help="Container usage history right-sizing looks at."
    ),
    rightsize_price_vcpu: float = typer.Option(
        0.0, "--rightsize-price-vcpu", help="Monthly price of a vCPU, for the savings."
    ),
    rightsize_price_gb: float = typer.Option(
        0.0, "--rightsize-price-gb", help="Monthly price of a GiB of memory, for the savings."
    ),
    rightsize_currency: str = typer.Option(
        "USD", "--rightsize-currency", help="Currency of the right-sizing prices."
    ),
    *,
    connection: PrometheusOptions,
) -> None:
    """Serve the dashboard, the JSON API (docs at /docs) and /metrics for Prometheus.

    Example: `capplan serve --plans examples --store metrics.duckdb --port 8080`
    """
    import uvicorn

    from capplan.web import create_app

    options = connection
    settings = build_settings(
        plans, store, host, port, token, refresh, prometheus, horizon, max_body, max_age,
        allowed_host, request_timeout, options, allow_anonymous_writes, allow_anonymous,
        report_schedule,
        rightsize_options(
            rightsize_namespace, rightsize_selector, rightsize_strategy, rightsize_since,
            rightsize_price_vcpu, rightsize_price_gb, rightsize_currency,
        ),
    )  # fmt: skip
    # Requests that compute run in worker threads; the event loop, which answers the cheap
    # ones, waits for the interpreter lock at every switch. 1 ms instead of the default 5 ms
    # keeps /api/status and cached pages fast while a projection runs beside them.
    sys.setswitchinterval(0.001)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
