"""`capplan rightsize --prometheus` on 200 containers in 20 namespaces served by a real
Prometheus: KRR's formulas recomputed here from the raw samples, the forecast strategy, and
patches applied to Deployments that must still validate against the Kubernetes schema.

The raw samples are scraped every 150 s, 13 s off the minute grid, so a 5-minute step of a
range query sees the last sample at or before it (137 s old), never the step's own instant:
the expectation is computed from the samples Prometheus gives at those steps, as capplan
and KRR both read them.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import functools
import itertools
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from tests.conftest import backfilled_prometheus
from typer.testing import CliRunner

from capplan.cli import app

try:
    import kubernetes_validate
except ImportError as exc:  # a failure, not a skip: the schema check is a requirement
    raise ImportError("this test needs kubernetes-validate (dev extra)") from exc

MIB = 2**20
SCRAPE = 150  # seconds between raw samples
OFFSET = 13  # raw samples at 13, 163, 313... past the hour
STEP = 300  # what capplan asks Prometheus for (rightsize's query step)
LOOKBACK = 300  # Prometheus' default lookback delta
HOURS = 50  # the forecast needs two days of hourly levels
PROFILES = ("steady", "growing", "spiky", "oom")
LAYOUTS = ("one pod", "two pods", "rollout", "one pod", "reset")


@dataclass
class Pod:
    name: str
    times: np.ndarray
    counter: np.ndarray
    memory: np.ndarray


@dataclass
class Container:
    namespace: str
    workload: str
    profile: str
    layout: str
    request: tuple[float, float] | None  # cores, bytes; None: no request set
    pods: list[Pod] = field(default_factory=list)
    hpa: bool = False  # an HPA scales it on CPU utilization

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.workload, "app")


def fleet(end: int) -> list[Container]:
    """200 containers, 10 in each of 20 namespaces, profiles and pod layouts cycling."""
    rng = np.random.default_rng(42)
    start = end - HOURS * 3600 - 3600
    times = np.arange(start + OFFSET, end + 1, SCRAPE)
    frac = (times - times[0]) / (times[-1] - times[0])
    out = []
    for i in range(200):
        profile, layout = PROFILES[i % 4], LAYOUTS[i % 5]
        cpu0, mem0 = 0.05 + 0.01 * (i % 23), (120 + 7 * (i % 31)) * MIB
        request = None if i % 20 == 19 else (cpu0 * (2.0 if profile == "steady" else 1.0), mem0)
        c = Container(f"team-{i // 10:02d}", f"{profile}-{i:03d}", profile, layout, request)
        c.hpa = i % 40 == 2  # five spiky ones
        spans = [(0, times.size)]
        if layout == "two pods":
            spans = [(0, times.size), (0, times.size)]
        elif layout == "rollout":  # the old pod until the middle, the new one after
            spans = [(0, times.size // 2), (times.size // 2, times.size)]
        for k, (a, b) in enumerate(spans):
            t = times[a:b]
            f = frac[a:b]
            if profile == "steady":  # constant: its forecast must not move
                rate = np.full(t.size, cpu0 * (1 + 0.1 * k * (layout == "two pods")))
                memory = np.full(t.size, mem0 * (1 + 0.05 * k * (layout == "two pods")))
            else:
                level = cpu0 * (1 + f) if profile == "growing" else np.full(t.size, cpu0)
                rate = np.clip(level * (1 + 0.1 * rng.standard_normal(t.size)), 0.001, None)
                if profile == "spiky":
                    rate = np.where(rng.random(t.size) < 0.03, rate * 5, rate)
                grow = 1 + 0.8 * f if profile == "growing" else 1.0
                memory = mem0 * grow * (1 + 0.04 * rng.standard_normal(t.size))
                if profile == "oom":
                    memory = np.minimum(memory * 1.1, mem0 * 1.2)
            counter = 5000.0 * (k + 1) + np.cumsum(rate * SCRAPE)
            if layout == "reset":  # a restart: the counter starts again near zero
                cut = t.size // 3
                counter[cut:] -= counter[cut - 1]
            pod = f"{c.workload}-7d9f8c6b5-x2x7{'qz'[k]}"
            c.pods.append(Pod(pod, t, counter, memory))
        out.append(c)
    return out


def openmetrics(containers: list[Container], end: int) -> list[str]:
    cpu, mem, req, lim, oom, hpa_info, hpa_spec = [], [], [], [], [], [], []
    for c in containers:
        if c.hpa:
            hpa = f'namespace="{c.namespace}",horizontalpodautoscaler="{c.workload}"'
            target = f'scaletargetref_kind="Deployment",scaletargetref_name="{c.workload}"'
            spec = 'metric_name="cpu",metric_target_type="utilization"'
            for t in range(end - HOURS * 3600, end + 1, 3600):
                hpa_info.append(f"kube_horizontalpodautoscaler_info{{{hpa},{target}}} 1 {t}")
                hpa_spec.append(
                    f"kube_horizontalpodautoscaler_spec_target_metric{{{hpa},{spec}}} 70 {t}"
                )
        for p in c.pods:
            labels = f'namespace="{c.namespace}",pod="{p.name}",container="app"'
            cpu += [
                f"container_cpu_usage_seconds_total{{{labels}}} {v!r} {t}"
                for t, v in zip(p.times.tolist(), p.counter.tolist(), strict=True)
            ]
            mem += [
                f"container_memory_working_set_bytes{{{labels}}} {v!r} {t}"
                for t, v in zip(p.times.tolist(), p.memory.tolist(), strict=True)
            ]
            # kube-state-metrics: every 2 hours while the pod runs, and at its last scrape
            stamps = sorted({*p.times[:: 7200 // SCRAPE].tolist(), int(p.times[-1])})
            if c.request is not None:
                for res, amount in zip(("cpu", "memory"), c.request, strict=True):
                    req += [
                        f'kube_pod_container_resource_requests{{{labels},resource="{res}"}} '
                        f"{amount!r} {t}"
                        for t in stamps
                    ]
                for res, amount in (("cpu", 2.0), ("memory", c.request[1])):
                    lim += [
                        f'kube_pod_container_resource_limits{{{labels},resource="{res}"}} '
                        f"{amount!r} {t}"
                        for t in stamps
                    ]
            if c.profile == "oom":
                oom.append(
                    f'kube_pod_container_status_last_terminated_reason{{{labels},reason="OOMKilled"}}'
                    f" 1 {int(p.times[-1])}"
                )
    return [
        "# TYPE container_cpu_usage_seconds_total counter",
        *cpu,
        "# TYPE container_memory_working_set_bytes gauge",
        *mem,
        "# TYPE kube_pod_container_resource_requests gauge",
        *req,
        "# TYPE kube_pod_container_resource_limits gauge",
        *lim,
        "# TYPE kube_pod_container_status_last_terminated_reason gauge",
        *oom,
        "# TYPE kube_horizontalpodautoscaler_info gauge",
        *hpa_info,
        "# TYPE kube_horizontalpodautoscaler_spec_target_metric gauge",
        *hpa_spec,
    ]


def at_steps(p: Pod, values: np.ndarray, start: int, end: int) -> list[float]:
    """What a range query at STEP gives for one pod: at each step, its newest sample no
    older than the lookback (Prometheus' instant-vector selection), when there is one."""
    times = p.times.tolist()
    out = []
    for step in range(start, end + 1, STEP):
        i = bisect.bisect_right(times, step) - 1
        if i >= 0 and times[i] >= step - LOOKBACK:
            out.append(float(values[i]))
    return out


def krr_simple(c: Container, start: int, end: int) -> tuple[float, float]:
    """KRR v1.29's simple strategy from the raw samples: each pod's 95th percentile of its
    per-step CPU rates (a counter decrease is a restart from zero), the largest over pods;
    memory = the largest step value × 1.15; rounded up to 1m / 1Mi, at least 10m / 100Mi."""
    per_pod = []
    peak = 0.0
    for p in c.pods:
        counts = at_steps(p, p.counter, start, end)
        rates = [(b - a if b >= a else b) / STEP for a, b in itertools.pairwise(counts)]
        assert min(rates) >= 0
        per_pod.append(float(np.percentile(rates, 95)))
        peak = max(peak, *at_steps(p, p.memory, start, end))
    cpu = max(math.ceil(round(max(per_pod) * 1000, 6)) / 1000, 0.010)
    memory = max(math.ceil(round(peak * 1.15 / MIB, 6)) * MIB, 100 * MIB)
    return cpu, memory


@pytest.fixture(scope="module")
def end() -> int:
    return (int(time.time()) // 3600 - 2) * 3600


@pytest.fixture(scope="module")
def containers(end: int) -> list[Container]:
    return fleet(end)


@pytest.fixture(scope="module")
def url(
    tmp_path_factory: pytest.TempPathFactory, containers: list[Container], end: int
) -> Iterator[str]:
    lines = openmetrics(containers, end)
    work = tmp_path_factory.mktemp("fleet-prometheus")
    with backfilled_prometheus(work, lines, block_hours=HOURS + 2) as address:
        yield address


def run(url: str, end: int, *extra: str) -> Any:
    now = dt.datetime.fromtimestamp(end, dt.UTC).isoformat()
    args = ["rightsize", "--prometheus", url, "--now", now, "--since", f"{HOURS}h", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def simple(url: str, end: int) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = json.loads(run(url, end, "-f", "json").stdout)["containers"]
    return {(r["namespace"], r["workload"], r["container"]): r for r in rows}


def test_simple_is_krr_from_the_raw_samples(
    simple: dict[tuple[str, str, str], dict[str, Any]], containers: list[Container], end: int
) -> None:
    assert len(simple) == 200
    assert len({k[0] for k in simple}) == 20
    start = end - HOURS * 3600
    for c in containers:
        row = simple[c.key]
        cpu, memory = krr_simple(c, start, end)
        assert row["kind"] == "Deployment"
        if c.hpa:  # KRR: no CPU recommendation when an HPA scales on CPU utilization
            assert row["cpu_request_recommended"] is None, c.key
            assert "an HPA scales it on CPU utilization" in row["flags"]
        else:
            assert row["cpu_request_recommended"] == pytest.approx(cpu, abs=1e-9), c.key
        assert row["cpu_limit_recommended"] is None
        assert row["memory_request_recommended"] == pytest.approx(memory, rel=1e-12), c.key
        assert row["memory_limit_recommended"] == row["memory_request_recommended"]
        if c.request is None:
            assert row["cpu_request"] is None
            assert "no CPU request set" in row["flags"]
            assert "no memory request set" in row["flags"]
            assert row["severity"] == "critical"
        else:
            assert row["cpu_request"] == pytest.approx(c.request[0])
            assert row["memory_request"] == pytest.approx(c.request[1])
        assert row["oom_killed"] is (c.profile == "oom")


def test_forecast_raises_growing_and_keeps_steady(
    url: str, end: int, simple: dict[tuple[str, str, str], dict[str, Any]]
) -> None:
    rows = json.loads(run(url, end, "-f", "json", "--strategy", "forecast").stdout)
    ahead = {(r["namespace"], r["workload"], r["container"]): r for r in rows["containers"]}
    assert ahead.keys() == simple.keys()
    growing = [k for k in simple if k[1].startswith("growing")]
    steady = [k for k in simple if k[1].startswith("steady")]
    assert len(growing) == len(steady) == 50
    for k in growing:
        f, s = ahead[k], simple[k]
        assert f["cpu_request_recommended"] > s["cpu_request_recommended"], k
        assert f["memory_request_recommended"] > s["memory_request_recommended"], k
    for k in steady:  # equal within the rounding of a quantity: 1m of CPU, 1Mi of memory
        f, s = ahead[k], simple[k]
        assert abs(f["cpu_request_recommended"] - s["cpu_request_recommended"]) <= 0.001, k
        assert abs(f["memory_request_recommended"] - s["memory_request_recommended"]) <= MIB, k


def deployment(c: Container) -> dict[str, Any]:
    """The Deployment the pods belong to, with the resources it runs with now."""
    app_container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1.0"}
    if c.request is not None:
        app_container["resources"] = {
            "requests": {"cpu": f"{round(c.request[0] * 1000)}m", "memory": str(int(c.request[1]))},
            "limits": {"cpu": "2", "memory": str(int(c.request[1]))},
        }
    labels = {"app": c.workload}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": c.workload, "namespace": c.namespace},
        "spec": {
            "replicas": len(c.pods),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [app_container, {"name": "sidecar", "image": "proxy:2"}]},
            },
        },
    }


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A strategic merge patch applied by hand: maps merge key by key, ``null`` deletes,
    and ``containers`` merge by ``name`` (their patch strategy)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key == "containers":
            by_name = {c["name"]: c for c in out.get(key, [])}
            for item in value:
                by_name[item["name"]] = merged(by_name.get(item["name"], {}), item)
            out[key] = list(by_name.values())
        elif isinstance(value, dict):
            out[key] = merged(out.get(key) or {}, value)
        else:
            out[key] = value
    return out


def test_patches_apply_to_the_deployments(
    url: str,
    end: int,
    tmp_path: Path,
    containers: list[Container],
    simple: dict[tuple[str, str, str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(url, end, "-f", "patch", "-o", str(tmp_path))
    files = {p.name: p for p in tmp_path.glob("*.yaml")}
    assert len(files) == 200
    version = kubernetes_validate.latest_version()
    # kubernetes_validate reads its schema files again at every call (a tenth of a second
    # each); read once, the 200 validations take a second
    monkeypatch.setattr(
        kubernetes_validate.utils,
        "schema_contents",
        functools.cache(kubernetes_validate.utils.schema_contents),
    )
    for c in containers:
        text = files[f"{c.namespace}.deployment.{c.workload}.yaml"].read_text()
        assert text.startswith("# ")
        patched = merged(deployment(c), yaml.safe_load(text))
        kubernetes_validate.validate(patched, version, strict=True)
        app_c, sidecar = patched["spec"]["template"]["spec"]["containers"]
        assert sidecar == {"name": "sidecar", "image": "proxy:2"}
        row = simple[c.key]
        resources = app_c["resources"]
        if c.hpa:  # the CPU settings stay as they are
            assert c.request is not None
            assert resources["requests"]["cpu"] == f"{round(c.request[0] * 1000)}m"
            assert resources["limits"]["cpu"] == "2"
        else:
            assert "cpu" not in resources["limits"]  # KRR: no CPU limit
        cpu = resources["requests"]["cpu"]
        cores = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
        assert cores == pytest.approx(row["cpu_request_recommended"] or c.request[0])
        for where in ("requests", "limits"):
            quantity = resources[where]["memory"]
            unit = {"Mi": MIB, "Gi": 1024 * MIB}[quantity[-2:]]
            assert int(quantity[:-2]) * unit == row["memory_request_recommended"]


def test_rates_from_prometheus_are_the_steps_increases(
    url: str, end: int, containers: list[Container]
) -> None:
    """What capplan reads from Prometheus, per pod: the counter's increase between the
    query's steps over the step, a restart counted from zero, so never negative."""
    from capplan.cli.rightsize import PULLED
    from capplan.data.prometheus import PrometheusOptions, pull_history
    from capplan.rightsize import container_usage

    with PrometheusOptions().client(url) as client:
        frame = pull_history(client, list(PULLED), since=f"{HOURS}h", step="5m", now=end)
    usage = {c.key: c for c in container_usage(frame)}
    start = end - HOURS * 3600
    resets = [c for c in containers if c.layout == "reset"]
    assert len(resets) == 40
    for c in resets:
        got = usage[c.key]
        assert got.cpu.min() >= 0, c.key
        (pod,) = c.pods
        counts = at_steps(pod, pod.counter, start, end)
        rates = [(b - a if b >= a else b) / STEP for a, b in itertools.pairwise(counts)]
        assert any(b < a for a, b in itertools.pairwise(counts))  # the restart is seen
        np.testing.assert_allclose(got.cpu, rates, rtol=1e-12)
        assert got.cpu_points == len(counts)
