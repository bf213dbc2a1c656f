"""`capplan rightsize --prometheus` against a real Prometheus: cAdvisor and kube-state-metrics
series written as OpenMetrics, backfilled with promtool, served by ``prometheus``."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import backfilled_prometheus
from typer.testing import CliRunner

from capplan.cli import app

HOURS = 12  # 144 five-minute steps: enough samples for a recommendation (100)
MIB = 2**20
POD = 'namespace="shop",pod="api-7d9f8c6b5-x2x7q",container="api"'


@pytest.fixture(scope="module")
def end() -> int:
    return (int(time.time()) // 3600 - 2) * 3600


@pytest.fixture(scope="module")
def k8s_prometheus(tmp_path_factory: pytest.TempPathFactory, end: int) -> Iterator[str]:
    """0.5 cores used all along (the counter grows 30 s a minute); memory constant in each
    5-minute block, at most 300 MiB (and a pod-level series of 4 GiB, with no container);
    a request of 1 core and 512 MiB."""
    start = end - HOURS * 3600
    stamps = range(start, end + 1, 60)
    lines = ["# TYPE container_cpu_usage_seconds_total counter"]
    lines += [
        f"container_cpu_usage_seconds_total{{{POD}}} {30.0 * i} {t}" for i, t in enumerate(stamps)
    ]
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for t in stamps:
        block = (t - start) // 300
        mib = 300 if block == 40 else 200 + block % 7 * 10  # 200..260, once 300
        lines.append(f"container_memory_working_set_bytes{{{POD}}} {mib * MIB} {t}")
    # cAdvisor's pod-level series (no container): left out, or it would be the peak
    pod_level = POD.replace('container="api"', 'container=""')
    lines += [f"container_memory_working_set_bytes{{{pod_level}}} {4096 * MIB} {t}" for t in stamps]
    lines.append("# TYPE kube_pod_container_resource_requests gauge")
    for resource, amount in (("cpu", 1), ("memory", 512 * MIB)):
        lines += [
            f'kube_pod_container_resource_requests{{{POD},resource="{resource}"}} {amount} {t}'
            for t in stamps
        ]
    with backfilled_prometheus(tmp_path_factory.mktemp("k8s-prometheus"), lines) as url:
        yield url


def test_rightsize_pulls_container_series_from_prometheus(k8s_prometheus: str, end: int) -> None:
    now = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
    args = ["rightsize", "--prometheus", k8s_prometheus, "--now", now, "--since", "12h"]
    result = CliRunner().invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["containers"]
    assert (row["namespace"], row["kind"], row["workload"], row["container"]) == (
        "shop",
        "Deployment",
        "api",
        "api",
    )
    assert (row["cpu_request"], row["memory_request"]) == (1, 512 * MIB)
    # KRR's simple strategy: CPU at the 95th percentile of usage (0.5 cores throughout),
    # memory at the peak (300 MiB, seen at a 5-minute step) + 15%, rounded up to a MiB
    assert row["cpu_request_recommended"] == pytest.approx(0.5)
    assert row["memory_request_recommended"] == math.ceil(300 * 1.15) * MIB
    assert row["memory_limit_recommended"] == row["memory_request_recommended"]


def test_rightsize_refuses_two_sources(k8s_prometheus: str, tmp_path: Path) -> None:
    data = tmp_path / "usage.csv"
    data.write_text("timestamp,series,value\n")
    result = CliRunner().invoke(app, ["rightsize", str(data), "--prometheus", k8s_prometheus])
    assert result.exit_code == 2
    assert "not several" in result.output


def test_nothing_matched_lists_the_namespaces(k8s_prometheus: str, end: int) -> None:
    now = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
    args = ["rightsize", "--prometheus", k8s_prometheus, "--now", now, "--since", "12h"]
    result = CliRunner().invoke(app, [*args, "--namespace", "payments"])
    assert result.exit_code == 2
    assert (
        "no container matches --namespace payments; the usage series have namespaces: shop"
        in " ".join(result.output.split())
    )
    assert "Traceback" not in result.output


def test_the_service_sizes_what_ingest_pulled(
    k8s_prometheus: str, end: int, tmp_path: Path
) -> None:
    """The service's source: `capplan ingest --prometheus` puts the container series into the
    store, and `/api/rightsize` gives what `rightsize --prometheus` gives."""
    from fastapi.testclient import TestClient

    from capplan.cli.rightsize import PULLED
    from capplan.web import Settings, create_app

    store = tmp_path / "k8s.duckdb"
    since = f"{(time.time() - end) / 3600 + HOURS:.0f}h"
    queries = [arg for metric in PULLED for arg in ("--query", metric)]
    args = ["ingest", "--prometheus", k8s_prometheus, *queries, "--since", since]
    result = CliRunner().invoke(app, [*args, "--step", "5m", "--store", str(store)])
    assert result.exit_code == 0, result.output
    now = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
    direct = ["rightsize", "--prometheus", k8s_prometheus, "--now", now, "--since", "12h"]
    result = CliRunner().invoke(app, [*direct, "-f", "json"])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)["containers"]
    settings = Settings(plans_dir=tmp_path, store=store, refresh_seconds=0)
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        served = client.get("/api/rightsize").json()
    assert served["problem"] is None
    (row,) = served["containers"]
    assert row["workload"] == "api"
    for key in ("cpu_request_recommended", "memory_request_recommended", "memory_request"):
        assert row[key] == pytest.approx(expected[0][key]), key
