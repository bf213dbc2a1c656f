"""``/metrics``: the capacity gauges and the request metrics, in Prometheus text."""

from __future__ import annotations

import math
import time

import numpy as np
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def samples(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_capacity_metrics(client: TestClient) -> None:
    got = samples(client)
    runway = got["capplan_runway_seconds"]
    assert runway
    history_end = float(np.datetime64("2026-10-12T23:00:00", "s").astype(np.int64))
    for labels, value in runway:
        assert labels["quantile"] in {"0.1", "0.5", "0.9"}
        assert labels["series"] in {"avg_cpu_usage", "avg_memory_usage"}
        # crossings forecast a week past the history's end, counted from now; +Inf for none
        assert value == math.inf or value < history_end + 8 * 86400 - time.time()
    head = got["capplan_headroom_ratio"]
    assert {lb["plan"] for lb, _ in head} >= {"svc"}
    svc_api = [v for lb, v in head if lb == {"component": "api", "plan": "svc"}]
    assert svc_api
    assert abs(svc_api[0] - (1 - 100 / 150)) < 1e-9
    fc = got["capplan_forecast_value"]
    quantiles = {lb["quantile"] for lb, _ in fc}
    assert quantiles == {"mean", "0.1", "0.9", "0.025", "0.975"}
    assert {lb["series"] for lb, _ in fc} == {
        "avg_cpu_usage",
        "avg_memory_usage",
        "requests_per_second",
    }
    # svc.yaml says cpu and memory are in %: no quantile of theirs leaves 0-100
    for lb, v in fc:
        if lb["series"] != "requests_per_second":
            assert 0 <= v <= 100, (lb, v)
    monthly = {lb["plan"]: v for lb, v in got["capplan_plan_monthly_cost"]}
    assert monthly["svc"] == 300
    total = {lb["plan"]: v for lb, v in got["capplan_plan_total_cost"]}
    assert set(total) == {"svc", "apm", "the_bot"}
    assert all(v > 0 for v in total.values())


def test_runway_ordering_of_quantiles(client: TestClient) -> None:
    got = samples(client)
    by_key: dict[tuple[str, str, str], dict[str, float]] = {}
    for lb, v in got["capplan_runway_seconds"]:
        by_key.setdefault((lb["series"], lb["threshold"], lb["level"]), {})[lb["quantile"]] = v
    for qs in by_key.values():
        if "0.1" in qs and "0.5" in qs:
            assert qs["0.1"] <= qs["0.5"]


def test_request_metrics_use_route_templates(client: TestClient) -> None:
    client.get("/api/plans/apm")
    client.get("/api/plans/nope")
    got = samples(client)
    reqs = got["capplan_http_requests_total"]
    routes = {(lb["route"], lb["status"]) for lb, _ in reqs}
    assert ("/api/plans/{name}", "200") in routes
    assert ("/api/plans/{name}", "404") in routes
    assert not any("apm" in r for r, _ in routes)
    assert "capplan_http_request_duration_seconds_bucket" in got


def test_registry_per_app(client: TestClient, token_client: TestClient) -> None:
    client.get("/api/plans")
    assert client.app.state.registry is not token_client.app.state.registry  # type: ignore[attr-defined]


def test_request_stats_match_prometheus_client() -> None:
    """The hand-kept request metrics read back as prometheus_client's Counter and Histogram
    of the same observations would."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from capplan.web.metrics import RequestStats

    ours = RequestStats()
    registry = CollectorRegistry()
    names = ["method", "route", "status"]
    counter = Counter("capplan_http_requests", "c", names, registry=registry)
    duration = "capplan_http_request_duration_seconds"
    histogram = Histogram(duration, "h", ["route"], registry=registry)
    seen = [("GET", "/a", 200, 0.001), ("GET", "/a", 200, 0.005), ("GET", '/b"\\', 404, 0.3)]
    seen += [("POST", "/a", 422, 0.0751), ("GET", "/a", 200, 42.0), ("GET", "/a", 500, 10.0)]
    for method, route, status, seconds in seen:
        ours.observe(method, route, status, seconds)
        counter.labels(method, route, str(status)).inc()
        histogram.labels(route).observe(seconds)

    def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.name.endswith("_created")
        }

    assert parsed(ours.text().decode()) == parsed(generate_latest(registry).decode())


def test_over_capacity_metrics(client: TestClient) -> None:
    """Every component of every scenario: 1 when over capacity within the horizon, with the
    first period and its start time; 0 (and no period) otherwise."""
    got = samples(client)

    def by_key(name: str) -> dict[tuple[str, str, str], float]:
        return {(lb["plan"], lb["scenario"], lb["component"]): v for lb, v in got[name]}

    over = by_key("capplan_over_capacity")
    first = by_key("capplan_over_capacity_first_period")
    start = by_key("capplan_over_capacity_start_timestamp_seconds")
    assert over[("the_bot", "moderate", "platform")] == 1
    assert over[("the_bot", "aggressive", "platform")] == 1
    assert over[("the_bot", "conservative", "platform")] == 0
    assert first[("the_bot", "moderate", "platform")] == 20
    assert first[("the_bot", "aggressive", "platform")] == 13
    assert ("the_bot", "conservative", "platform") not in first
    september_2027 = float(np.datetime64("2027-09-01T00:00:00", "s").astype(np.int64))
    assert start[("the_bot", "moderate", "platform")] == september_2027
    assert over[("apm", "base", "apm_service")] == 1  # more instances than max_instances
    assert first[("apm", "base", "apm_service")] == 0
    assert over[("apm", "base", "compute")] == 0
    assert over[("svc", "base", "api")] == 0
    assert set(first) == set(start) == {k for k, v in over.items() if v == 1}
