"""Settings of the capplan service, passed to :func:`capplan.web.create_app` (never global)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from capplan.data.prometheus import PrometheusOptions
from capplan.report.schedule import ReportSchedule
from capplan.web.rightsizing import RightsizeOptions

__all__ = ["LOOPBACK_HOSTS", "Settings"]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know; build one and pass it to ``create_app``.

    ``refresh_seconds`` 0 disables the background refresh (the cache is computed once at
    start-up). ``prometheus_url``: when set, each refresh pulls the last ``history`` of every
    observed plan metric that has a ``query`` into the store before recomputing forecasts;
    a pull that has not finished within ``pull_timeout_seconds`` counts as failed.
    ``prometheus_options``: authentication, TLS and limits of each pull; credentials in
    ``prometheus_url`` become basic auth and are never shown.
    ``max_age_seconds``: a series whose newest sample is older is stale (``/api/status``
    says ``stale``); None gives each series the default of ``capplan check`` (the larger of 3
    steps of its data and the longest ``for:`` of the plans' thresholds on it), 0 turns the
    check off. ``stale_refreshes``: forecasts older than that many refresh intervals make
    the status ``degraded``.

    ``allowed_hosts``: the names a request's ``Host`` header may carry (``*``: any); others
    get 400. ``request_seconds``: the time budget of a request that computes (validation,
    projections, scenarios, exports, pages); past it the answer is 503. ``workers``: the
    threads such requests run in, beside the event loop.

    ``report_schedules``: when to build the weekly and monthly reports of every plan with
    observed metrics, from the store, kept in the store (:mod:`capplan.web.reports`);
    ``report_horizon``: how far their runways look ahead.

    ``rightsize``: which stored containers ``/rightsize``, ``/api/rightsize`` and the
    ``capplan_rightsize_*`` gauges size, and how (:mod:`capplan.web.rightsizing`).
    """

    plans_dir: Path = Path(".")
    store: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    allow_anonymous_writes: bool = False  # writes without a token (a trusted machine only)
    max_body_bytes: int = 1024 * 1024
    refresh_seconds: float = 300.0
    forecast_horizon: str = "7d"
    prometheus_url: str | None = None
    prometheus_options: PrometheusOptions = field(default_factory=PrometheusOptions)
    history: str = "30d"
    max_age_seconds: float | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    request_seconds: float = 30.0
    workers: int = 4
    pull_timeout_seconds: float = 300.0
    stale_refreshes: float = 3.0
    report_schedules: tuple[ReportSchedule, ...] = ()
    report_horizon: str = "90d"
    rightsize: RightsizeOptions = field(default_factory=RightsizeOptions)
