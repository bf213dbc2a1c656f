"""``/metrics``: capacity figures and the service's own request metrics, in Prometheus text.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (never the global one).
Capacity gauges are collected at scrape time from the app's caches.

``capplan_runway_seconds`` is counted from the scrape: negative once the crossing time is
past (a level already crossed, or a forecast from data that stopped arriving), ``+Inf`` for
a quantile whose crossing is not within the horizon, so ``capplan_runway_seconds < 14 * 86400``
fires only for crossings due. ``capplan_series_last_sample_timestamp_seconds`` and
``capplan_refresh_last_success_timestamp_seconds`` tell "no data" from "no risk":
``time() - capplan_series_last_sample_timestamp_seconds > 3600``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capplan.errors import CapplanError
from capplan.web.snapshot import RunwayRow
from capplan.web.state import AppState

__all__ = ["CapacityCollector", "RequestMetrics", "make_registry", "runway_seconds"]

_QUANTILES = (("p10", "0.1"), ("p50", "0.5"), ("p90", "0.9"))


class CapacityCollector(Collector):
    """Runway, headroom, forecast and cost gauges read from an :class:`AppState`."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        """Yield the gauge families (called by the registry on each scrape)."""
        yield from self._forecast_metrics()
        yield from self._freshness_metrics()
        yield from self._plan_metrics()

    def _forecast_metrics(self) -> Iterable[Metric]:
        snap = self.state.snapshot
        run_g = GaugeMetricFamily(
            "capplan_runway_seconds",
            "Seconds from now until the series crosses the threshold level (p10/p50/p90); "
            "negative once the crossing time is past, +Inf when not within the horizon.",
            labels=["series", "threshold", "quantile", "plan", "level"],
        )
        now = time.time()
        for row in snap.runways:
            for attr, q in _QUANTILES:
                run_g.add_metric(
                    [row.series, row.threshold, q, row.plan, row.level],
                    runway_seconds(row, attr, now),
                )
        yield run_g
        fc_g = GaugeMetricFamily(
            "capplan_forecast_value",
            "Forecast of the series at the end of the horizon (mean and interval bounds).",
            labels=["series", "quantile"],
        )
        run = snap.run
        if run is not None:
            res = run.result
            for i, series in enumerate(run.panel.ids):
                _add_finite(fc_g, [series, "mean"], float(res.mean[i, -1]))
                for lv in run.levels:
                    lo_q = f"{(100 - lv) / 200:g}"
                    hi_q = f"{1 - (100 - lv) / 200:g}"
                    _add_finite(fc_g, [series, lo_q], float(res.lower[lv][i, -1]))
                    _add_finite(fc_g, [series, hi_q], float(res.upper[lv][i, -1]))
        yield fc_g

    def _freshness_metrics(self) -> Iterable[Metric]:
        last = GaugeMetricFamily(
            "capplan_series_last_sample_timestamp_seconds",
            "Unix time of the newest stored sample of each series (at the last refresh).",
            labels=["series"],
        )
        for sample in self.state.snapshot.last_samples:
            last.add_metric([sample.series], sample.unix_seconds)
        yield last
        yield GaugeMetricFamily(
            "capplan_refresh_last_success_timestamp_seconds",
            "Unix time of the last successful refresh of the forecasts (0: none yet).",
            value=self.state.last_success or 0.0,
        )

    def _plan_metrics(self) -> Iterable[Metric]:
        head = GaugeMetricFamily(
            "capplan_headroom_ratio",
            "1 - utilization of each component today (period 0 of the default scenario).",
            labels=["component", "plan"],
        )
        monthly = GaugeMetricFamily(
            "capplan_plan_monthly_cost",
            "Cost of the plan in its first period (today), default scenario.",
            labels=["plan"],
        )
        total = GaugeMetricFamily(
            "capplan_plan_total_cost",
            "Cost of the plan summed over its horizon, default scenario.",
            labels=["plan"],
        )
        for name in self.state.valid_plans():
            try:
                proj = self.state.projection(name, None, None)
            except CapplanError:
                continue
            for comp in proj.plan.components:
                util = proj.values.get(f"{comp}.utilization")
                if util is not None:
                    _add_finite(head, [comp, name], 1.0 - float(util[0]))
            _add_finite(monthly, [name], float(proj.values["total.cost"][0]))
            _add_finite(total, [name], proj.total_cost)
        yield head
        yield monthly
        yield total


def runway_seconds(row: RunwayRow, quantile: str, now: float) -> float:
    """Seconds from ``now`` (Unix time) to the crossing of ``quantile`` (``p10``, ``p50``,
    ``p90``): negative when it is past, +Inf when there is none within the horizon."""
    at = row.crossing(quantile)
    if at is None:
        return float("inf")
    return float(at.astype("datetime64[s]").astype(np.int64)) - now


def _add_finite(family: GaugeMetricFamily, labels: list[str], value: float) -> None:
    if np.isfinite(value):
        family.add_metric(labels, value)


def make_registry(state: AppState) -> tuple[CollectorRegistry, Counter, Histogram]:
    """A registry with the capacity collector and the request counter and histogram."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CapacityCollector(state))
    requests = Counter(
        "capplan_http_requests",
        "HTTP requests answered, by method, route template and status.",
        ["method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        "capplan_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template.",
        ["route"],
        registry=registry,
    )
    return registry, requests, duration


class RequestMetrics:
    """ASGI middleware counting requests and timing them by route template (not raw path)."""

    def __init__(self, app: ASGIApp, requests: Counter, duration: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.duration = duration

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"
            self.requests.labels(scope["method"], label, str(status)).inc()
            self.duration.labels(label).observe(time.perf_counter() - start)
