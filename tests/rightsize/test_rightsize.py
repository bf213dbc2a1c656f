"""Right-sizing: KRR's simple formulas, the forecast strategy, workloads and reports."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from functools import cache

import numpy as np
import pytest
from tests.rightsize.generate import hpa_rows, rows

from capplan.data import MetricFrame, series_id
from capplan.errors import DataError, UsageError
from capplan.rightsize import (
    Prices,
    StrategySettings,
    container_usage,
    forecast_sizes,
    parse_selector,
    patch_files,
    recommend,
    simple_sizes,
    workload_of,
)

MIB = 1024.0**2


def frame_of(samples: list[tuple[str, int, float, dict[str, str]]]) -> MetricFrame:
    data: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    labels: dict[str, dict[str, str]] = {}
    for metric, ts, value, lab in samples:
        sid = series_id(metric, lab)
        data[sid][0].append(ts)
        data[sid][1].append(value)
        labels[sid] = lab
    series = {k: (np.array(t), np.array(v)) for k, (t, v) in data.items()}
    return MetricFrame.from_series(series, labels=labels)


@cache
def fleet() -> MetricFrame:
    return frame_of(rows(40, 7))


def krr_simple(samples: list[tuple[str, int, float, dict[str, str]]], workload: str):
    """KRR's simple strategy computed from the raw samples of one workload's pods (KRR v1.29
    defaults)."""
    counters: dict[str, list[tuple[int, float]]] = defaultdict(list)
    memory: list[float] = []
    for metric, ts, value, lab in samples:
        if not lab["pod"].startswith(workload + "-"):
            continue
        if metric == "container_cpu_usage_seconds_total":
            counters[lab["pod"]].append((ts, value))
        elif metric == "container_memory_working_set_bytes":
            memory.append(value)
    per_pod = []
    for points in counters.values():
        rates = []
        for (t0, v0), (t1, v1) in itertools.pairwise(points):
            increase = v1 - v0 if v1 >= v0 else v1  # a reset starts from zero
            rates.append(increase / (t1 - t0))
        per_pod.append(float(np.percentile(rates, 95)))
    cpu = max(per_pod)  # KRR: each pod's 95th percentile over time, the largest of the pods
    mem = max(memory) * 1.15
    cpu = max(math.ceil(round(cpu * 1000, 6)) / 1000, 0.010)
    mem = max(math.ceil(round(mem / MIB, 6)) * MIB, 100 * MIB)
    return cpu, mem


def test_simple_is_krr_formula() -> None:
    samples = rows(40, 7)
    containers = container_usage(fleet())
    assert len(containers) == 40
    sizes = simple_sizes(containers, StrategySettings())
    for c, s in zip(containers, sizes, strict=True):
        cpu, mem = krr_simple(samples, c.workload.name)
        assert s.cpu_request == pytest.approx(cpu, abs=1e-9), c.key
        assert s.cpu_limit is None
        assert s.memory_request == s.memory_limit == pytest.approx(mem), c.key


def test_counter_reset_is_not_a_negative_rate() -> None:
    containers = [c for c in container_usage(fleet()) if c.workload.name.startswith("reset")]
    assert containers
    for c in containers:
        assert c.cpu.min() > 0
        assert c.cpu.max() < 5 * np.median(c.cpu)


def test_forecast_sizes_growing_up_and_steady_alike() -> None:
    containers = container_usage(fleet())
    settings = StrategySettings()
    simple = simple_sizes(containers, settings)
    ahead = forecast_sizes(containers, settings)
    for c, s, f in zip(containers, simple, ahead, strict=True):
        assert f.cpu_request is not None
        assert s.cpu_request is not None
        assert f.memory_request is not None
        assert s.memory_request is not None
        if c.workload.name.startswith("growing"):
            assert f.cpu_request > 1.5 * s.cpu_request, c.key
            assert f.memory_request > 1.5 * s.memory_request, c.key
        elif c.workload.name.startswith("steady"):
            assert f.cpu_request == pytest.approx(s.cpu_request, rel=0.05), c.key
            assert f.memory_request == pytest.approx(s.memory_request, rel=0.05), c.key
        if c.oom_killed:
            assert f.memory_request >= max(1.2 * s.memory_request, s.memory_request + 100 * MIB)


def test_recommendations_rank_and_price() -> None:
    containers = container_usage(fleet())
    recs = recommend(containers, simple_sizes(containers, StrategySettings()), Prices(20, 4))
    order = [r.severity for r in recs]
    assert order == sorted(order, key=["critical", "warning", "over", "ok"].index)
    norequest = [r for r in recs if r.usage.workload.name.startswith("norequest")]
    assert all(r.severity == "critical" and "no CPU request set" in r.flags for r in norequest)
    steady = [r for r in recs if r.usage.workload.name.startswith("steady")]
    assert all(r.severity == "over" and r.monthly_change < 0 for r in steady)
    r = steady[0]
    u, s = r.usage, r.sizing
    assert s.cpu_request is not None
    assert s.memory_request is not None
    assert u.cpu_request is not None
    assert u.memory_request is not None
    expected = 2 * (
        (s.cpu_request - u.cpu_request) * 20 + (s.memory_request - u.memory_request) / 2**30 * 4
    )
    assert r.monthly_change == pytest.approx(expected)


def test_filters_and_patches() -> None:
    containers = container_usage(fleet(), ["shop"], parse_selector("workload=steady-*"))
    assert {c.workload.namespace for c in containers} == {"shop"}
    assert all(c.workload.name.startswith("steady") for c in containers)
    recs = recommend(containers, simple_sizes(containers, StrategySettings()), Prices())
    files = patch_files(recs)
    name = "shop.deployment.steady-00.yaml"
    header, patch = files[name]
    assert "generated by capplan" in header[0]
    (entry,) = patch["spec"]["template"]["spec"]["containers"]
    assert entry["name"] == "app"
    assert entry["resources"]["limits"]["memory"] == entry["resources"]["requests"]["memory"]
    with pytest.raises(
        DataError,
        match="no container matches --namespace nope; the usage series have namespaces: batch, ",
    ):
        container_usage(fleet(), ["nope"])
    with pytest.raises(UsageError, match="--selector"):
        parse_selector("app")


def test_no_container_label() -> None:
    frame = MetricFrame.from_series(
        {'container_memory_working_set_bytes{pod="a"}': (np.arange(5), np.ones(5))},
        labels={'container_memory_working_set_bytes{pod="a"}': {"pod": "a"}},
    )
    with pytest.raises(DataError, match="no 'container' label"):
        container_usage(frame)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"pod": "api-7d9f8c6b5-x2x7q"}, ("Deployment", "api")),
        ({"pod": "db-0"}, ("StatefulSet", "db")),
        ({"pod": "agent-x2x7q"}, ("DaemonSet", "agent")),
        ({"pod": "one-off"}, ("Pod", "one-off")),
        (
            {"created_by_kind": "ReplicaSet", "created_by_name": "web-5c9b7f6d8"},
            ("Deployment", "web"),
        ),
        ({"created_by_kind": "Job", "created_by_name": "nightly-2891"}, ("Job", "nightly-2891")),
        ({"workload": "w", "workload_kind": "StatefulSet", "pod": "x"}, ("StatefulSet", "w")),
    ],
)
def test_workload_of(labels: dict[str, str], expected: tuple[str, str]) -> None:
    found = workload_of({"namespace": "ns", **labels})
    assert found is not None
    assert (found.kind, found.name) == expected


def test_simple_takes_the_busiest_pods_percentile_as_krr_does() -> None:
    """KRR v1.29: each pod's 95th percentile over time, then the largest; not the percentile
    of every pod's samples pooled (which the quiet pod's many samples would pull down)."""
    from capplan.rightsize import ContainerUsage, Workload

    busy = np.r_[np.full(90, 0.2), np.full(10, 1.0)]  # its own p95: 1.0
    quiet = np.full(1000, 0.1)
    usage = ContainerUsage(
        Workload("shop", "Deployment", "api"),
        "api",
        cpu=np.r_[busy, quiet],
        cpu_times=np.arange(1100.0),
        cpu_series=np.r_[np.zeros(100, dtype=np.int64), np.ones(1000, dtype=np.int64)],
        cpu_points=1102,
        memory=np.full(200, 300 * MIB),
        memory_times=np.arange(200.0),
    )
    assert np.percentile(usage.cpu, 95) == pytest.approx(0.2)  # pooled would say 200m
    (sizing,) = simple_sizes([usage], StrategySettings())
    assert sizing.cpu_request == pytest.approx(1.0)
    assert sizing.memory_request == sizing.memory_limit == math.ceil(300 * 1.15) * MIB


def test_points_are_summed_over_pods_like_krr() -> None:
    """60 counter samples in each of two pods are 120 points: enough for KRR's 100."""
    from capplan.rightsize import ContainerUsage, Workload

    usage = ContainerUsage(
        Workload("shop", "Deployment", "api"),
        "api",
        cpu=np.full(118, 0.3),
        cpu_times=np.arange(118.0),
        cpu_series=np.repeat(np.arange(2, dtype=np.int64), 59),
        cpu_points=120,
        memory=np.full(60, 300 * MIB),
        memory_times=np.arange(60.0),
    )
    (sizing,) = simple_sizes([usage], StrategySettings())
    assert sizing.cpu_request == pytest.approx(0.3)
    assert sizing.memory_request is None
    assert "not enough memory data (60 < 100 samples)" in sizing.notes


def test_an_hpa_on_utilization_holds_the_recommendation_back_as_in_krr() -> None:
    """KRR v1.29: no recommendation for a resource an HPA scales on by utilization, unless
    allow_hpa; an HPA on an average value does not count."""
    samples = rows(12, 1)
    samples += hpa_rows("shop", "steady-00", "cpu", "utilization")
    samples += hpa_rows("batch", "growing-07", "memory", "utilization")
    samples += hpa_rows("payments", "growing-01", "cpu", "value")
    containers = {c.workload.name: c for c in container_usage(frame_of(samples))}
    assert containers["steady-00"].hpa == {"cpu"}
    assert containers["growing-07"].hpa == {"memory"}
    assert containers["growing-01"].hpa == frozenset()
    names = list(containers)
    held = dict(
        zip(names, simple_sizes(list(containers.values()), StrategySettings()), strict=True)
    )
    allowed = dict(
        zip(
            names,
            simple_sizes(list(containers.values()), StrategySettings(allow_hpa=True)),
            strict=True,
        )
    )
    assert held["steady-00"].cpu_request is None
    assert held["steady-00"].memory_request == allowed["steady-00"].memory_request
    assert allowed["steady-00"].cpu_request is not None
    assert "an HPA scales it on CPU utilization" in "; ".join(held["steady-00"].notes)
    assert held["growing-07"].memory_request is None
    assert held["growing-07"].memory_limit is None
    assert held["growing-07"].cpu_request == allowed["growing-07"].cpu_request
    assert held["growing-01"] == allowed["growing-01"]
    recs = recommend(list(containers.values()), list(held.values()), Prices())
    files = patch_files(recs)
    (_, patch) = files["shop.deployment.steady-00.yaml"]
    (entry,) = patch["spec"]["template"]["spec"]["containers"]
    assert "cpu" not in entry["resources"]["requests"]
    assert "memory" in entry["resources"]["requests"]
