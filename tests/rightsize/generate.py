"""Synthetic cAdvisor and kube-state-metrics series for right-sizing tests and examples.

Containers in several namespaces, two pods each, 5-minute samples over ``days``: steady,
growing, spiky, OOM-killed, with counter resets, and with no requests set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

STEP = 300
START = 1_790_000_000 - 1_790_000_000 % 86400  # a midnight in 2026
MIB = 1024.0**2
PROFILES = ("steady", "growing", "spiky", "oom", "reset", "norequest")


def containers(n: int = 40) -> list[dict[str, object]]:
    """``n`` container specs, the profiles cycling over four namespaces."""
    out = []
    for i in range(n):
        profile = PROFILES[i % len(PROFILES)]
        out.append(
            {
                "namespace": ("shop", "payments", "search", "batch")[i % 4],
                "workload": f"{profile}-{i:02d}",
                "container": "app",
                "profile": profile,
                "cpu": 0.1 + 0.05 * (i % 7),
                "memory": (200 + 20 * (i % 5)) * MIB,
            }
        )
    return out


def rows(n: int = 40, days: int = 7, seed: int = 7) -> list[tuple[str, int, float, dict[str, str]]]:
    """``(metric, epoch seconds, value, labels)`` for every sample."""
    rng = np.random.default_rng(seed)
    t = START + STEP * np.arange(days * 86400 // STEP)
    frac = (t - t[0]) / (t[-1] - t[0])
    out: list[tuple[str, int, float, dict[str, str]]] = []
    for spec in containers(n):
        p, ns, wl = spec["profile"], str(spec["namespace"]), str(spec["workload"])
        cpu0, mem0 = float(spec["cpu"]), float(spec["memory"])  # type: ignore[arg-type]
        for k, pod in enumerate(f"{wl}-7d9f8c6b5-x2x7{c}" for c in "qz"):
            labels = {"namespace": ns, "pod": pod, "container": "app"}
            level = np.full(t.size, cpu0)
            mem = np.full(t.size, mem0)
            if p == "growing":
                level = cpu0 * (1 + 1.0 * frac)
                mem = mem0 * (1 + 0.8 * frac)
            cpu_rate = np.clip(level * (1 + 0.1 * rng.standard_normal(t.size)), 0.001, None)
            if p == "spiky":
                spikes = rng.random(t.size) < 0.03
                cpu_rate = np.where(spikes, cpu_rate * 5, cpu_rate)
            counter = np.concatenate([[1000.0 * (k + 1)], np.cumsum(cpu_rate[1:] * STEP)])
            counter[1:] += 1000.0 * (k + 1)
            if p == "reset":
                cut = t.size // 2
                counter[cut:] -= counter[cut - 1]  # a restart: the counter starts again near 0
                counter[cut:] += cpu_rate[cut] * STEP
            memory = mem * (1 + 0.05 * rng.standard_normal(t.size))
            for ts, c, m in zip(t, counter, memory, strict=True):
                out.append(("container_cpu_usage_seconds_total", int(ts), float(c), labels))
                out.append(("container_memory_working_set_bytes", int(ts), float(m), labels))
            last = int(t[-1])
            if p != "norequest":
                extra = 2.0 if p == "steady" else 1.0  # steady ones are over-provisioned
                for res, req in (("cpu", cpu0 * extra), ("memory", mem0 * extra)):
                    res_labels = {**labels, "resource": res}
                    out.append(("kube_pod_container_resource_requests", last, req, res_labels))
                out.append(
                    (
                        "kube_pod_container_resource_limits",
                        last,
                        mem0 * extra,
                        {**labels, "resource": "memory"},
                    )
                )
            if p == "oom":
                oom = {**labels, "reason": "OOMKilled"}
                out.append(("kube_pod_container_status_last_terminated_reason", last, 1.0, oom))
    return out


def hpa_rows(
    namespace: str, workload: str, metric: str, target: str
) -> list[tuple[str, int, float, dict[str, str]]]:
    """kube-state-metrics' series of one HPA scaling Deployment ``workload``."""
    ts = 1_790_000_000
    hpa = {"namespace": namespace, "horizontalpodautoscaler": f"{workload}-hpa"}
    info = {**hpa, "scaletargetref_kind": "Deployment", "scaletargetref_name": workload}
    spec = {**hpa, "metric_name": metric, "metric_target_type": target}
    return [
        ("kube_horizontalpodautoscaler_info", ts, 1.0, info),
        ("kube_horizontalpodautoscaler_spec_target_metric", ts, 80.0, spec),
    ]


def write_csv(path: Path, n: int = 40, days: int = 7) -> Path:
    """The samples as a long CSV: series,timestamp,value and one column per label."""
    keys = ["namespace", "pod", "container", "resource", "reason"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", "timestamp", "value", *keys])
        for metric, ts, value, labels in rows(n, days):
            writer.writerow([metric, ts, repr(value), *(labels.get(k, "") for k in keys)])
    return path


if __name__ == "__main__":
    import sys

    write_csv(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
