"""Prometheus (and VictoriaMetrics, Thanos, Mimir) as a source of metric history.

The HTTP client is injected (an ``httpx.Client``), so the same code runs against a real server
and ``httpx.MockTransport`` in tests. Long ranges are split so that no request asks for more
than Prometheus' 11,000 points per series; many queries run with a bounded concurrency;
5xx answers, 429 and timeouts are retried with exponential backoff; Prometheus' own error
message is shown for a bad query.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from capplan.data.frame import FrameWarning, MetricFrame, concat, series_id
from capplan.errors import SourceError
from capplan.plan.models import Plan

__all__ = [
    "MAX_POINTS",
    "PrometheusSource",
    "RangeQuery",
    "choose_step",
    "make_client",
    "pull_history",
    "pull_plan_metrics",
    "split_range",
]

MAX_POINTS = 11_000
MIN_STEP = 15
_URL_LIMIT = 2000
_RETRY_STATUS = {429, 500, 502, 503, 504}


def make_client(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
    headers: Mapping[str, str] | None = None,
    ca_file: str | None = None,
    insecure: bool = False,
    timeout: float = 30.0,
) -> httpx.Client:
    """An ``httpx.Client`` for a Prometheus server: base URL, auth, TLS and headers."""
    all_headers = dict(headers or {})
    if bearer_token is not None:
        all_headers["Authorization"] = f"Bearer {bearer_token}"
    auth = httpx.BasicAuth(username, password or "") if username is not None else None
    verify: bool | str = False if insecure else (ca_file or True)
    return httpx.Client(
        base_url=url.rstrip("/"),
        auth=auth,
        headers=all_headers,
        verify=verify,
        timeout=timeout,
        follow_redirects=True,
    )


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
    """Reads ``query_range`` results into metric frames."""

    client: httpx.Client
    retries: int = 3
    backoff: float = 0.5
    concurrency: int = 4
    sleep: Callable[[float], None] = time.sleep
    warnings: list[str] = field(default_factory=list)

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
        most ``concurrency`` requests in flight."""
        jobs: list[tuple[RangeQuery, float, float, float]] = []
        for q in queries:
            step = choose_step(q.start, q.end, q.step)
            jobs += [(q, lo, hi, step) for lo, hi in split_range(q.start, q.end, step)]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            parts = list(pool.map(lambda job: self._fetch(*job), jobs))
        frames = [p for p in parts if p.values.size]
        if not frames:
            shown = ", ".join(q.query for q in queries)
            raise SourceError(f"the query returned no data over the range: {shown}")
        notes = [
            FrameWarning("partial", f"Prometheus warned (the data may be partial): {text}")
            for text in dict.fromkeys(self.warnings)
        ]
        return concat(frames).with_warnings(*notes)

    def _fetch(self, q: RangeQuery, start: float, end: float, step: float) -> MetricFrame:
        params = {"query": q.query, "start": _num(start), "end": _num(end), "step": _num(step)}
        payload = self._request("/api/v1/query_range", params)
        return _to_frame(payload, q)

    def _request(self, path: str, params: dict[str, str]) -> Any:
        long_query = len(httpx.QueryParams(params).__str__()) > _URL_LIMIT
        where = f"{self.client.base_url}{path}"
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                if long_query:
                    response = self.client.post(path, data=params)
                else:
                    response = self.client.get(path, params=params)
            except httpx.TimeoutException:
                last_problem = "timed out"
                continue
            except httpx.TransportError as exc:
                raise SourceError(f"cannot reach Prometheus at {where}: {exc}") from None
            if response.status_code in _RETRY_STATUS:
                last_problem = f"HTTP {response.status_code}"
                continue
            data, warnings = _payload(response, where)
            self.warnings.extend(warnings)  # list.append is atomic: safe across the pool
            return data
        raise SourceError(
            f"Prometheus at {where} failed {self.retries + 1} times (last: {last_problem})"
        )


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _payload(response: httpx.Response, where: str) -> tuple[Any, list[str]]:
    """``data`` of a successful answer and its ``warnings`` (set when the answer is partial,
    e.g. a Thanos store or a Mimir ingester did not respond)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        snippet = response.text[:200].replace("\n", " ")
        raise SourceError(
            f"Prometheus at {where} answered HTTP {response.status_code} with something that "
            f"is not JSON: {snippet!r}"
        ) from None
    if not isinstance(body, dict):
        raise SourceError(f"Prometheus at {where} answered with unexpected JSON: {body!r:.200}")
    if body.get("status") != "success":
        kind = body.get("errorType", "error")
        raise SourceError(f"Prometheus rejected the query ({kind}): {body.get('error', body)}")
    data = body.get("data")
    if not isinstance(data, dict) or "result" not in data:
        raise SourceError(f"Prometheus at {where} answered without data.result: {body!r:.200}")
    warnings = body.get("warnings") or []
    return data, [str(w) for w in warnings] if isinstance(warnings, list) else [str(warnings)]


def _to_frame(data: dict[str, Any], q: RangeQuery) -> MetricFrame:
    if data.get("resultType") != "matrix":
        raise SourceError(
            f"query_range returned a {data.get('resultType')!r}, expected a matrix: {q.query}"
        )
    series: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    labels: dict[str, dict[str, str]] = {}
    for item in data["result"]:
        try:
            metric = dict(item.get("metric", {}))
            pairs = item["values"]
            stamps = np.array([float(p[0]) for p in pairs], dtype=np.float64)
            # Prometheus sends values as strings, "NaN" and "+Inf" included
            values = np.array([float(p[1]) for p in pairs], dtype=np.float64)
        except (KeyError, TypeError, ValueError, IndexError):
            raise SourceError(
                f"malformed series in the answer to {q.query}: {item!r:.200}"
            ) from None
        name = q.name or metric.pop("__name__", None) or "value"
        metric.pop("__name__", None)
        sid = series_id(name, metric)
        series[sid] = (stamps.astype(np.int64), values)
        labels[sid] = metric
    if not series:
        return MetricFrame.empty()
    return MetricFrame.from_series(series, labels=labels)


def pull_history(
    client: httpx.Client,
    queries: Sequence[str],
    *,
    since: str = "30d",
    step: str | None = None,
    name: str | None = None,
    now: float | None = None,
) -> MetricFrame:
    """The last ``since`` of every query, at ``step`` (automatic when None)."""
    from capplan.data.panel import parse_step
    from capplan.plan.durations import duration_seconds

    try:
        span = duration_seconds(since)
    except ValueError as exc:
        raise SourceError(f"--since: {exc}") from None
    end = float(now if now is not None else time.time())
    step_seconds = float(parse_step(step)) if step is not None else None
    source = PrometheusSource(client)
    return source.query_many([RangeQuery(q, end - span, end, step_seconds, name) for q in queries])


def pull_plan_metrics(
    plan: Plan,
    client: httpx.Client,
    since: str = "30d",
    step: str | None = None,
    now: float | None = None,
) -> MetricFrame:
    """Fresh history of every observed metric of the plan that names a ``query``, each
    series named after its metric: the ``since`` before ``now`` (Unix seconds, default the
    current time)."""
    named = {name: m.query for name, m in plan.metrics.items() if m.query and m.expr is None}
    if not named:
        raise SourceError(f"no metric of {plan.source} names a query to pull from Prometheus")
    frames = [
        pull_history(client, [query], since=since, step=step, name=name, now=now)
        for name, query in named.items()
    ]
    return concat(frames)
