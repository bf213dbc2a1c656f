"""`capplan rightsize --prometheus --shards`: the fleet pulled per namespace (listed first
with the label-values API) from a real Prometheus gives what one query per metric gives."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from tests.conftest import backfilled_prometheus
from typer.testing import CliRunner

from capplan.cli import app
from capplan.data.prometheus_shards import shard_selectors

HOURS = 12
MIB = 2**20
NAMESPACES = ("shop", "payments", "search", "batch.jobs")


@pytest.fixture(scope="module")
def end() -> int:
    return (int(time.time()) // 3600 - 2) * 3600


@pytest.fixture(scope="module")
def fleet_prometheus(tmp_path_factory: pytest.TempPathFactory, end: int) -> Iterator[str]:
    """Four namespaces of two workloads (one of them with two pods), a sample a minute."""
    start = end - HOURS * 3600
    stamps = list(range(start, end + 1, 60))
    cpu = ["# TYPE container_cpu_usage_seconds_total counter"]
    memory = ["# TYPE container_memory_working_set_bytes gauge"]
    requests = ["# TYPE kube_pod_container_resource_requests gauge"]
    for n, ns in enumerate(NAMESPACES):
        for w, (workload, pods) in enumerate((("api", "qz"), ("worker", "q"))):
            for p, letter in enumerate(pods):
                pod = f'namespace="{ns}",pod="{workload}-7d9f8c6b5-x2x7{letter}",container="app"'
                rate = 0.1 * (n + 1) + 0.05 * w + 0.01 * p
                for i, t in enumerate(stamps):
                    cpu.append(f"container_cpu_usage_seconds_total{{{pod}}} {rate * 60 * i} {t}")
                    mib = 100 + 20 * n + 10 * w + (i * 7 + p) % 13
                    memory.append(f"container_memory_working_set_bytes{{{pod}}} {mib * MIB} {t}")
                requests.append(
                    f'kube_pod_container_resource_requests{{{pod},resource="cpu"}} 0.5 {end}'
                )
    with backfilled_prometheus(
        tmp_path_factory.mktemp("fleet-prometheus"), cpu + memory + requests
    ) as url:
        yield url


def test_sharded_pulls_give_the_unsharded_result(fleet_prometheus: str, end: int) -> None:
    now = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
    args = ["rightsize", "--prometheus", fleet_prometheus, "--now", now, "--since", "12h"]
    args += ["-f", "json", "--price-vcpu", "25", "--price-gb", "3"]
    whole = CliRunner().invoke(app, args)
    assert whole.exit_code == 0, whole.output
    rows = json.loads(whole.stdout)["containers"]
    assert sorted({r["namespace"] for r in rows}) == sorted(NAMESPACES)
    assert len(rows) == 8
    for shards in ("0", "1", "3"):
        sharded = CliRunner().invoke(app, [*args, "--shards", shards])
        assert sharded.exit_code == 0, sharded.output
        assert sharded.stdout == whole.stdout, shards


def test_shards_need_prometheus() -> None:
    result = CliRunner().invoke(app, ["rightsize", "usage.csv", "--shards", "2"])
    assert result.exit_code == 2
    assert "--shards splits the pulls from --prometheus" in result.output


def test_shard_selectors_group_and_escape_namespaces() -> None:
    assert shard_selectors(["b", "a"]) == ['namespace="a"', 'namespace="b"', 'namespace=""']
    assert shard_selectors(["a", "b", "c"], 2) == [
        'namespace=~"a|c"',
        'namespace="b"',
        'namespace=""',
    ]
    (grouped, _) = shard_selectors(["batch.jobs", "x"], 1)
    assert grouped == 'namespace=~"batch\\\\.jobs|x"'
