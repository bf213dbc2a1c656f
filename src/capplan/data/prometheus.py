"""Prometheus (and VictoriaMetrics, Thanos, Mimir) as a source of metric history.

The HTTP client is injected (an ``httpx.Client``), so the same code runs against a real server
and ``httpx.MockTransport`` in tests. Long ranges are split so that no request asks for more
than Prometheus' 11,000 points per series; many queries run with a bounded concurrency.
Each request runs under :class:`PrometheusLimits` (deadlines, retries, answer size, redirects:
``prometheus_http``) and its answer is checked before anything is kept (shapes, times within
the range, points per series against those asked for: ``prometheus_answer``); Prometheus' own
error message is shown for a bad query.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import httpx

from capplan.data.frame import FrameWarning, MetricFrame, concat
from capplan.data.prometheus_answer import AskedRange, read_answer
from capplan.data.prometheus_http import exchange
from capplan.data.prometheus_options import (
    PrometheusLimits,
    PrometheusOptions,
    make_client,
    redact_url,
    split_credentials,
)
from capplan.errors import SourceError
from capplan.plan.models import Plan

__all__ = [
    "MAX_POINTS",
    "PrometheusLimits",
    "PrometheusOptions",
    "PrometheusSource",
    "RangeQuery",
    "choose_step",
    "make_client",
    "pull_history",
    "pull_plan_metrics",
    "redact_url",
    "split_credentials",
    "split_range",
]

MAX_POINTS = 11_000
MIN_STEP = 15
_URL_LIMIT = 2000


def choose_step(start: float, end: float, step: float | None = None) -> float:
    """The requested step, else the smallest step (at least 15 s) that keeps one request
    under ``MAX_POINTS`` points."""
    if step is not None:
        if step <= 0:
            raise SourceError("step must be positive")
        return float(step)
    return float(max(MIN_STEP, math.ceil((end - start) / (MAX_POINTS - 1))))


def split_range(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """Consecutive ``[start, end]`` pieces of at most ``MAX_POINTS`` points each, aligned on
    ``step`` so that no sample is fetched twice."""
    if end < start:
        raise SourceError(f"the range ends ({end}) before it starts ({start})")
    span = (MAX_POINTS - 1) * step
    pieces = []
    lo = start
    while lo <= end:
        hi = min(end, lo + span)
        pieces.append((lo, hi))
        lo = hi + step
    return pieces


@dataclass(frozen=True)
class RangeQuery:
    """One PromQL query over a time range; ``name`` replaces the series' metric name."""

    query: str
    start: float
    end: float
    step: float | None = None
    name: str | None = None


@dataclass
class PrometheusSource:
    """Reads ``query_range`` results into metric frames; ``retries`` (default
    ``limits.retries``) overrides the limits' retry count."""

    client: httpx.Client
    retries: int | None = None
    backoff: float = 0.5
    concurrency: int = 4
    sleep: Callable[[float], None] = time.sleep
    warnings: list[str] = field(default_factory=list)
    limits: PrometheusLimits = field(default_factory=PrometheusLimits)

    def query_range(
        self,
        query: str,
        start: float,
        end: float,
        step: float | None = None,
        name: str | None = None,
    ) -> MetricFrame:
        """Every series the query returns over ``[start, end]`` (epoch seconds)."""
        return self.query_many([RangeQuery(query, start, end, step, name)])

    def query_many(self, queries: Sequence[RangeQuery]) -> MetricFrame:
        """Several queries, each split into requests of at most 11,000 points, run with at
        most ``concurrency`` requests in flight; the first failure cancels the requests not
        yet started and is raised."""
        jobs: list[AskedRange] = []
        for q in queries:
            step = choose_step(q.start, q.end, q.step)
            jobs += [
                AskedRange(q.query, lo, hi, step, q.name)
                for lo, hi in split_range(q.start, q.end, step)
            ]
        pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency))
        try:
            futures: list[Future[MetricFrame]] = [pool.submit(self._fetch, job) for job in jobs]
            parts = [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        frames = [p for p in parts if p.values.size]
        if not frames:
            shown = ", ".join(q.query for q in queries)
            raise SourceError(f"the query returned no data over the range: {shown}")
        notes = [
            FrameWarning("partial", f"Prometheus warned (the data may be partial): {text}")
            for text in dict.fromkeys(self.warnings)
        ]
        return concat(frames).with_warnings(*notes)

    def _fetch(self, asked: AskedRange) -> MetricFrame:
        params = {
            "query": asked.query,
            "start": _num(asked.start),
            "end": _num(asked.end),
            "step": _num(asked.step),
        }
        limits = self.limits
        if self.retries is not None and self.retries != limits.retries:
            limits = replace(limits, retries=self.retries)
        answer = exchange(
            self.client,
            "/api/v1/query_range",
            params,
            limits,
            post=len(str(httpx.QueryParams(params))) > _URL_LIMIT,
            backoff=self.backoff,
            sleep=self.sleep,
        )
        frame, warnings = read_answer(
            answer.status, answer.body, asked, where=answer.where, points_ratio=limits.points_ratio
        )
        self.warnings.extend(warnings)  # list.extend is atomic: safe across the pool
        return frame


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def pull_history(
    client: httpx.Client,
    queries: Sequence[str],
    *,
    since: str = "30d",
    step: str | None = None,
    name: str | None = None,
    now: float | None = None,
    limits: PrometheusLimits | None = None,
) -> MetricFrame:
    """The last ``since`` of every query, at ``step`` (automatic when None), each request
    within ``limits`` (default :class:`PrometheusLimits`)."""
    from capplan.data.panel import parse_step
    from capplan.units import duration_seconds

    try:
        span = duration_seconds(since)
    except ValueError as exc:
        raise SourceError(f"--since: {exc}") from None
    end = float(now if now is not None else time.time())
    step_seconds = float(parse_step(step)) if step is not None else None
    source = PrometheusSource(client, limits=limits or PrometheusLimits())
    return source.query_many([RangeQuery(q, end - span, end, step_seconds, name) for q in queries])


def pull_plan_metrics(
    plan: Plan,
    client: httpx.Client,
    since: str = "30d",
    step: str | None = None,
    now: float | None = None,
    limits: PrometheusLimits | None = None,
) -> MetricFrame:
    """Fresh history of every observed metric of the plan that names a ``query``, each
    series named after its metric: the ``since`` before ``now`` (Unix seconds, default the
    current time), each request within ``limits``."""
    named = {name: m.query for name, m in plan.metrics.items() if m.query and m.expr is None}
    if not named:
        raise SourceError(f"no metric of {plan.source} names a query to pull from Prometheus")
    frames = [
        pull_history(client, [query], since=since, step=step, name=name, now=now, limits=limits)
        for name, query in named.items()
    ]
    return concat(frames)
