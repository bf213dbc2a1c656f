"""Settings of the capplan service, passed to :func:`capplan.web.create_app` (never global)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know; build one and pass it to ``create_app``.

    ``refresh_seconds`` 0 disables the background refresh (the cache is computed once at
    start-up). ``prometheus_url``: when set, each refresh pulls the last ``history`` of every
    observed plan metric that has a ``query`` into the store before recomputing forecasts.
    ``max_age_seconds``: a series whose newest sample is older is stale (``/api/status``
    says ``stale``); None gives each series the default of ``capplan check`` (the larger of 3
    steps of its data and the longest ``for:`` of the plans' thresholds on it), 0 turns the
    check off.
    """

    plans_dir: Path = Path(".")
    store: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    max_body_bytes: int = 1024 * 1024
    refresh_seconds: float = 300.0
    forecast_horizon: str = "7d"
    prometheus_url: str | None = None
    history: str = "30d"
    max_age_seconds: float | None = None
