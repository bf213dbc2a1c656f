"""Right-sizing in the service: ``/rightsize``, ``GET /api/rightsize`` and the
``capplan_rightsize_*`` gauges of ``/metrics``.

Source: the container series of the metric store the service already reads at each refresh
(the snapshot's frame): cAdvisor's ``container_cpu_usage_seconds_total`` and
``container_memory_working_set_bytes`` and kube-state-metrics' requests, limits and OOM
kills, put there by ``capplan ingest`` (or a pull into the store). Only the last ``since``
(KRR's 14 days) before the newest of those samples counts. The namespaces, selector,
strategy and prices are serve options (``--rightsize-*``). The recommendations are computed
once per snapshot, in a worker thread, and served from that cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from capplan.data import MetricFrame
from capplan.errors import DataError
from capplan.rightsize import (
    CONTAINER_SERIES,
    SEVERITIES,
    STRATEGIES,
    Prices,
    Recommendation,
    StrategySettings,
    container_usage,
    parse_selector,
    recommend,
)
from capplan.rightsize.usage import (
    CPU_METRIC,
    MEMORY_METRIC,
)

if TYPE_CHECKING:
    from capplan.web.snapshot import Snapshot
    from capplan.web.state import AppState

__all__ = [
    "RightsizeCache",
    "RightsizeOptions",
    "Rightsizing",
    "make_rightsize_router",
    "rightsize_of",
    "state_of",
]


@dataclass(frozen=True)
class RightsizeOptions:
    """What the service right-sizes and how (serve's ``--rightsize-*`` options)."""

    namespaces: tuple[str, ...] = ()
    selector: str | None = None
    strategy: str = "simple"
    since_seconds: int = 14 * 86400
    prices: Prices = field(default_factory=Prices)


@dataclass(frozen=True)
class Rightsizing:
    """The recommendations of one snapshot, or why there are none (``problem``)."""

    options: RightsizeOptions
    recommendations: tuple[Recommendation, ...] = ()
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``GET /api/rightsize``."""
        return {
            "strategy": self.options.strategy,
            "source": "store",
            "namespaces": list(self.options.namespaces),
            "selector": self.options.selector,
            "since_seconds": self.options.since_seconds,
            "currency": self.options.prices.currency,
            "problem": self.problem,
            "containers": [r.row() for r in self.recommendations],
        }


def _container_series(frame: MetricFrame, since_seconds: int) -> MetricFrame:
    """The points of the container series only, in the last ``since_seconds`` before the
    newest of them."""
    wanted = [i for i, name in enumerate(frame.names) if name.split("{", 1)[0] in CONTAINER_SERIES]
    if not wanted:
        return frame.take(np.zeros(frame.codes.size, dtype=bool))
    part = frame.take(np.isin(frame.codes, wanted))
    if part.values.size:
        cutoff = part.timestamps.max() - np.timedelta64(int(since_seconds), "s")
        part = part.take(part.timestamps >= cutoff)
    return part


def rightsize_of(frame: MetricFrame, options: RightsizeOptions) -> Rightsizing:
    """Recommendations for the container series of ``frame``; a :class:`Rightsizing` with
    the reason as ``problem`` when there is nothing to size."""
    part = _container_series(frame, options.since_seconds)
    if part.values.size == 0:
        return Rightsizing(
            options,
            problem=f"the store holds no container series ({CPU_METRIC} or {MEMORY_METRIC} "
            "from cAdvisor): ingest them to see recommendations here",
        )
    try:
        containers = container_usage(part, options.namespaces, parse_selector(options.selector))
    except DataError as exc:
        return Rightsizing(options, problem=str(exc))
    sizes = STRATEGIES.get(options.strategy)(containers, StrategySettings())
    return Rightsizing(options, tuple(recommend(containers, sizes, options.prices)))


class RightsizeCache:
    """The :class:`Rightsizing` of the snapshot served, computed once per snapshot."""

    def __init__(self, options: RightsizeOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._cached: tuple[Snapshot, Rightsizing, bytes] | None = None

    def peek(self, snap: Snapshot) -> tuple[Rightsizing, bytes] | None:
        """The result and the gauges' text of ``snap`` when already computed."""
        cached = self._cached
        if cached is not None and cached[0] is snap:
            return cached[1], cached[2]
        return None

    def get(self, snap: Snapshot) -> tuple[Rightsizing, bytes]:
        """The result and the gauges' text of ``snap``. Blocking: run it in a worker."""
        with self._lock:
            hit = self.peek(snap)
            if hit is not None:
                return hit
            result = rightsize_of(snap.frame, self.options)
            text = generate_latest(_Families(_families(result)))
            self._cached = (snap, result, text)
            return result, text


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


_LABELS = ["namespace", "kind", "workload", "container"]


def _families(result: Rightsizing) -> list[Metric]:
    """``capplan_rightsize_*`` gauges: settings now and recommended, change, severity."""
    cpu = GaugeMetricFamily(
        "capplan_rightsize_cpu_request_cores",
        "CPU request of each container: set now, and recommended (none: not set).",
        labels=[*_LABELS, "state"],
    )
    memory = GaugeMetricFamily(
        "capplan_rightsize_memory_request_bytes",
        "Memory request of each container: set now, and recommended (none: not set).",
        labels=[*_LABELS, "state"],
    )
    limit = GaugeMetricFamily(
        "capplan_rightsize_memory_limit_bytes",
        "Memory limit of each container: set now, and recommended (none: not set).",
        labels=[*_LABELS, "state"],
    )
    change = GaugeMetricFamily(
        "capplan_rightsize_monthly_change",
        f"Monthly cost of moving the requests to the recommendation, in "
        f"{result.options.prices.currency} (negative: a saving).",
        labels=_LABELS,
    )
    severity = GaugeMetricFamily(
        "capplan_rightsize_severity",
        "1 for the severity of each container's requests (critical: under-provisioned by "
        "over 50%, unset or OOM-killed; warning: by 10-50%; over: over-provisioned; ok).",
        labels=[*_LABELS, "severity"],
    )
    unset = GaugeMetricFamily(
        "capplan_rightsize_request_unset",
        "1 when the container has no request for the resource.",
        labels=[*_LABELS, "resource"],
    )
    for r in result.recommendations:
        u, s = r.usage, r.sizing
        labels = [u.workload.namespace, u.workload.kind, u.workload.name, u.container]
        for family, now, wanted in (
            (cpu, u.cpu_request, s.cpu_request),
            (memory, u.memory_request, s.memory_request),
            (limit, u.memory_limit, s.memory_limit),
        ):
            for state, value in (("now", now), ("recommended", wanted)):
                if value is not None:
                    family.add_metric([*labels, state], float(value))
        change.add_metric(labels, float(r.monthly_change))
        for name in SEVERITIES:
            severity.add_metric([*labels, name], 1.0 if r.severity == name else 0.0)
        for resource, now in (("cpu", u.cpu_request), ("memory", u.memory_request)):
            unset.add_metric([*labels, resource], 1.0 if now is None else 0.0)
    return [cpu, memory, limit, change, severity, unset]


# routes --------------------------------------------------------------------------------------
def state_of(request: Request) -> AppState:
    """The app's state (as :func:`capplan.web.api.state_of`; that module imports the
    settings, which import this one)."""
    state: AppState = request.app.state.capplan
    return state


def make_rightsize_router() -> APIRouter:
    """``GET /api/rightsize`` (in the OpenAPI spec) and the ``/rightsize`` page."""
    from capplan.rightsize.page import SEVERITY_COLOURS, display_rows, summary
    from capplan.web.pages import AGE_MARK, data_age

    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    router = APIRouter()

    async def computed(request: Request) -> tuple[Rightsizing, bytes]:
        state = state_of(request)
        cache: RightsizeCache = request.app.state.rightsize
        snap = state.snapshot
        hit = cache.peek(snap)
        if hit is not None:
            return hit
        return await state.workers.run("the right-sizing", cache.get, snap)

    @router.get(
        "/api/rightsize",
        tags=["api"],
        summary="Recommended container requests and limits from the stored container usage",
    )
    async def rightsize_api(request: Request) -> dict[str, Any]:
        """Every container of the stored cAdvisor / kube-state-metrics series (within the
        serve's ``--rightsize-*`` options): requests and limits now and recommended, the
        monthly change, severity and flags; ``problem`` says why the list is empty."""
        result, _ = await computed(request)
        return result.to_dict()

    @router.get("/rightsize", response_class=HTMLResponse, include_in_schema=False)
    async def rightsize_page(request: Request) -> HTMLResponse:
        result, _ = await computed(request)
        recs = list(result.recommendations)
        prices = result.options.prices
        body = templates.get_template("rightsize.html").render(
            result=result,
            rows=display_rows(recs, prices),
            totals=summary(recs, prices),
            colours=SEVERITY_COLOURS,
            headings=["CPU request", "CPU limit", "memory request", "memory limit"],
        )
        age = data_age(state_of(request).snapshot, time.time())
        return HTMLResponse(body.encode().replace(AGE_MARK, age.encode(), 1))

    return router
