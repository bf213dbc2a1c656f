"""Container usage per workload, from cAdvisor and kube-state-metrics series.

Series read (by metric name, the part of a series id before ``{``):

* ``container_cpu_usage_seconds_total`` — a counter, turned into the rate between
  consecutive samples of each pod (a decrease is a reset: the increase is the new value);
* ``container_memory_working_set_bytes`` — a gauge;
* ``kube_pod_container_resource_requests`` / ``kube_pod_container_resource_limits`` with
  ``resource="cpu"`` (cores) or ``resource="memory"`` (bytes): the newest value of each pod,
  the largest over the pods of a container;
* ``kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}``: a container is
  OOM-killed when any of its samples is 1 (``--since`` bounds how far back that looks);
* ``kube_horizontalpodautoscaler_info`` / ``_spec_target_metric``: the resources an HPA
  scales the workload on (:mod:`capplan.rightsize.hpa`).

A container is the triple namespace / workload / container. The workload of a pod, in this
order (KRR asks the Kubernetes API for the owner; from metrics alone capplan reads labels and
pod names):

1. a ``workload`` label (with ``workload_kind``, when the series were relabelled so);
2. ``created_by_kind`` / ``created_by_name`` (kube-state-metrics' ``kube_pod_info`` style):
   a ReplicaSet's name loses its pod-template hash (``api-7d9f8c6b5`` → Deployment ``api``);
3. the pod name: ``api-7d9f8c6b5-x2x7q`` (a hash of 6-10 characters from Kubernetes'
   alphabet, then 5) is Deployment ``api``; ``db-0`` (an ordinal) is StatefulSet ``db``;
   ``agent-x2x7q`` (5 such characters) is DaemonSet ``agent``; anything else is a Pod of its
   own name.

Series with no ``container`` label (or cAdvisor's pod-level ``container="POD"`` / ``""``) are
left out; if no usable series remains the error says why.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from capplan._types import Array
from capplan.data import MetricFrame
from capplan.data.frame import MetricKind
from capplan.data.panel import rate
from capplan.errors import DataError, UsageError

__all__ = [
    "CPU_METRIC",
    "LIMITS_METRIC",
    "MEMORY_METRIC",
    "OOM_METRIC",
    "REQUESTS_METRIC",
    "ContainerUsage",
    "Workload",
    "container_usage",
    "parse_selector",
    "workload_of",
]

CPU_METRIC = "container_cpu_usage_seconds_total"
MEMORY_METRIC = "container_memory_working_set_bytes"
REQUESTS_METRIC = "kube_pod_container_resource_requests"
LIMITS_METRIC = "kube_pod_container_resource_limits"
OOM_METRIC = "kube_pod_container_status_last_terminated_reason"
_KNOWN = (CPU_METRIC, MEMORY_METRIC, REQUESTS_METRIC, LIMITS_METRIC, OOM_METRIC)

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet
_DEPLOYMENT_POD = re.compile(rf"^(.+)-[{_ALPHABET}]{{6,10}}-[{_ALPHABET}]{{5}}$")
_REPLICASET = re.compile(rf"^(.+)-[{_ALPHABET}]{{6,10}}$")
_STATEFUL_POD = re.compile(r"^(.+)-(\d+)$")
_DAEMON_POD = re.compile(rf"^(.+)-[{_ALPHABET}]{{5}}$")
_SELECTOR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_./-]*)\s*(!=|==|=)\s*(.*?)\s*$")


@dataclass(frozen=True, order=True)
class Workload:
    """Namespace, kind (Deployment, StatefulSet, DaemonSet, Job, Pod...) and name."""

    namespace: str
    kind: str
    name: str


def workload_of(labels: Mapping[str, str]) -> Workload | None:
    """The workload a series' pod belongs to (see the module docstring); None without a pod
    or workload label."""
    namespace = labels.get("namespace", "")
    if labels.get("workload"):
        return Workload(namespace, labels.get("workload_kind", "Deployment"), labels["workload"])
    kind, owner = labels.get("created_by_kind"), labels.get("created_by_name")
    if kind and owner:
        if kind == "ReplicaSet":
            match = _REPLICASET.match(owner)
            return Workload(namespace, "Deployment", match.group(1) if match else owner)
        return Workload(namespace, kind, owner)
    pod = labels.get("pod") or labels.get("pod_name")
    if not pod:
        return None
    for pattern, what in (
        (_DEPLOYMENT_POD, "Deployment"),
        (_STATEFUL_POD, "StatefulSet"),
        (_DAEMON_POD, "DaemonSet"),
    ):
        match = pattern.match(pod)
        if match:
            return Workload(namespace, what, match.group(1))
    return Workload(namespace, "Pod", pod)


def parse_selector(text: str | None) -> list[tuple[str, bool, str]]:
    """``app=api,team!=ops`` → ``[(label, equal, glob)]``; values may be globs."""
    out: list[tuple[str, bool, str]] = []
    for item in (text or "").split(","):
        if not item.strip():
            continue
        match = _SELECTOR.match(item)
        if match is None:
            raise UsageError(f"--selector must look like 'label=value,other!=value', got {item!r}")
        out.append((match.group(1), match.group(2) != "!=", match.group(3).strip("\"'")))
    return out


def _selected(
    labels: Mapping[str, str],
    workload: Workload,
    namespaces: Sequence[str],
    selector: Sequence[tuple[str, bool, str]],
) -> bool:
    if namespaces and not any(fnmatch.fnmatchcase(workload.namespace, ns) for ns in namespaces):
        return False
    for key, equal, glob in selector:
        value = {"workload": workload.name, "kind": workload.kind}.get(key, labels.get(key, ""))
        if fnmatch.fnmatchcase(value, glob) != equal:
            return False
    return True


@dataclass
class ContainerUsage:
    """The usage and settings of one container of one workload, every pod pooled.

    ``cpu`` holds per-pod CPU rates in cores, ``memory`` working-set bytes; ``cpu_times`` and
    ``memory_times`` are their epoch seconds; ``cpu_series`` numbers the series (one per pod)
    each CPU rate comes from, and ``cpu_points`` counts the raw counter samples (what KRR
    counts against its ``points_required``). Requests and limits are None when not set.
    ``hpa``: the resources an HPA scales the workload on by utilization.
    """

    workload: Workload
    container: str
    cpu: Array = field(default_factory=lambda: np.zeros(0))
    cpu_times: Array = field(default_factory=lambda: np.zeros(0))
    cpu_series: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cpu_points: int = 0
    memory: Array = field(default_factory=lambda: np.zeros(0))
    memory_times: Array = field(default_factory=lambda: np.zeros(0))
    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request: float | None = None
    memory_limit: float | None = None
    oom_killed: bool = False
    hpa: frozenset[str] = frozenset()
    pods: set[str] = field(default_factory=set)
    last_pods: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.workload.namespace, self.workload.name, self.container)


def _metric(series_id: str) -> str:
    return series_id.split("{", 1)[0]


def container_usage(
    frame: MetricFrame,
    namespaces: Sequence[str] = (),
    selector: Sequence[tuple[str, bool, str]] = (),
) -> list[ContainerUsage]:
    """The containers of ``frame``, sorted by namespace, workload and container; a
    :class:`DataError` when none can be found, saying why."""
    names = [_metric(n) for n in frame.names]
    relevant = [i for i, n in enumerate(names) if n in _KNOWN]
    if not relevant:
        raise DataError(
            f"no container metrics found: expected {CPU_METRIC} or {MEMORY_METRIC} "
            f"(cAdvisor) series, got {', '.join(sorted(set(names))[:5]) or 'no series'}"
        )
    counter: MetricKind = "counter"
    gauge: MetricKind = "gauge"
    kinds = tuple(counter if names[i] == CPU_METRIC else gauge for i in range(frame.n_series))
    frame = MetricFrame(
        frame.codes, frame.names, frame.timestamps, frame.values, frame.labels, kinds
    )
    usage_ids = [i for i in relevant if names[i] in (CPU_METRIC, MEMORY_METRIC)]
    if not usage_ids:
        raise DataError(f"no usage series: expected {CPU_METRIC} or {MEMORY_METRIC}")
    unlabeled = [i for i in usage_ids if not frame.labels[i].get("container")]
    if len(unlabeled) == len(usage_ids):
        raise DataError(
            "usage series have no 'container' label: right-sizing needs cAdvisor series per "
            "container (namespace, pod and container labels)",
            series=frame.names[unlabeled[0]],
        )
    containers: dict[tuple[str, str, str], ContainerUsage] = {}
    owner: dict[int, ContainerUsage] = {}
    for i in relevant:
        labels = frame.labels[i]
        name = labels.get("container", "")
        if name in ("", "POD"):
            continue
        workload = workload_of(labels)
        if workload is None or not _selected(labels, workload, namespaces, selector):
            continue
        key = (workload.namespace, workload.name, name)
        if key not in containers:
            containers[key] = ContainerUsage(workload, name)
        owner[i] = containers[key]
    if not containers:
        found_ns = {frame.labels[i].get("namespace", "") for i in usage_ids}
        raise DataError(_nothing_matched(namespaces, selector, found_ns))
    _fill(frame, names, owner)
    found = [c for c in containers.values() if c.cpu.size or c.memory.size]
    if not found:
        raise DataError("the selected containers have no usage samples")
    from capplan.rightsize.hpa import hpa_resources  # here: that module imports this one

    scaled = hpa_resources(frame)
    for c in found:
        c.hpa = scaled.get(c.workload, frozenset())
    return sorted(found, key=lambda c: c.key)


def _nothing_matched(
    namespaces: Sequence[str], selector: Sequence[tuple[str, bool, str]], found: set[str]
) -> str:
    """What was asked for, and the namespaces the usage series do have."""
    asked = [f"--namespace {ns}" for ns in namespaces]
    asked += [f"--selector {k}{'=' if eq else '!='}{v}" for k, eq, v in selector]
    if not asked:
        return "no series names a pod and a container"
    names = sorted(ns for ns in found if ns)
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return (
        f"no container matches {' and '.join(asked)}; the usage series have namespaces: "
        f"{shown or 'none (no namespace label)'}"
    )


def _fill(frame: MetricFrame, names: list[str], owner: Mapping[int, ContainerUsage]) -> None:
    """Samples, requests, limits and OOM kills into the containers owning each series."""
    cpu_rows = [i for i in owner if names[i] == CPU_METRIC]
    rates = rate(frame.take(np.isin(frame.codes, cpu_rows))) if cpu_rows else None
    cpu_parts: dict[int, list[tuple[Array, Array]]] = {}
    mem_parts: dict[int, list[tuple[Array, Array]]] = {}
    last_seen: dict[int, list[tuple[float, str]]] = {}
    points = _by_series(frame)
    if rates is not None:
        position = {name: i for i, name in enumerate(frame.names)}
        rate_points = _by_series(rates)
        for k, series in enumerate(rates.names):
            i = position[series]
            ts, vs = rate_points(k)
            cpu_parts.setdefault(id(owner[i]), []).append((ts.astype(np.int64), vs))
            _seen(last_seen, owner[i], frame.labels[i], ts)
    for i in cpu_rows:
        owner[i].cpu_points += int(np.count_nonzero(np.isfinite(points(i)[1])))
    for i, c in owner.items():
        metric, labels = names[i], frame.labels[i]
        ts, vs = points(i)
        if vs.size == 0:
            continue
        if metric == MEMORY_METRIC:
            mem_parts.setdefault(id(c), []).append((ts.astype(np.int64), vs))
            _seen(last_seen, c, labels, ts)
        elif metric in (REQUESTS_METRIC, LIMITS_METRIC):
            resource = labels.get("resource")
            if resource not in ("cpu", "memory"):
                continue
            attr = f"{resource}_{'request' if metric == REQUESTS_METRIC else 'limit'}"
            value = float(vs[-1])
            old = getattr(c, attr)
            setattr(c, attr, value if old is None else max(old, value))
        elif metric == OOM_METRIC and labels.get("reason") == "OOMKilled" and vs.max() >= 1:
            c.oom_killed = True
    for c in {id(c): c for c in owner.values()}.values():
        if cpu_parts.get(id(c)):
            c.cpu_times, c.cpu, c.cpu_series = _joined(cpu_parts[id(c)])
        if mem_parts.get(id(c)):
            c.memory_times, c.memory, _ = _joined(mem_parts[id(c)])
        seen = last_seen.get(id(c), [])
        if seen:
            latest = max(t for t, _ in seen)
            step = _typical_step(c)
            c.last_pods = len({p for t, p in seen if t >= latest - step})


def _by_series(frame: MetricFrame) -> Callable[[int], tuple[np.ndarray, Array]]:
    """Series ``i``'s timestamps and values in frame order, as ``frame.get`` gives them, from
    one stable sort by series: ``get`` scans every point for each series, which made a
    10,000-container fleet quadratic."""
    order = np.argsort(frame.codes, kind="stable")
    bounds = np.searchsorted(frame.codes[order], np.arange(frame.n_series + 1))
    times, values = frame.timestamps[order], frame.values[order]

    def points(i: int) -> tuple[np.ndarray, Array]:
        return times[bounds[i] : bounds[i + 1]], values[bounds[i] : bounds[i + 1]]

    return points


def _seen(
    last_seen: dict[int, list[tuple[float, str]]],
    c: ContainerUsage,
    labels: Mapping[str, str],
    ts: np.ndarray,
) -> None:
    pod = labels.get("pod") or labels.get("pod_name") or ""
    c.pods.add(pod)
    if ts.size:
        last_seen.setdefault(id(c), []).append((float(ts[-1].astype(np.int64)), pod))


def _joined(parts: list[tuple[Array, Array]]) -> tuple[Array, Array, Array]:
    """Every part's samples in time order, and the number of the part each came from."""
    times = np.concatenate([t for t, _ in parts]).astype(np.float64)
    values = np.concatenate([v for _, v in parts])
    series = np.repeat(np.arange(len(parts), dtype=np.int64), [t.size for t, _ in parts])
    keep = np.isfinite(values)
    order = np.argsort(times[keep], kind="stable")
    return times[keep][order], values[keep][order], series[keep][order]


def _typical_step(c: ContainerUsage) -> float:
    times = c.memory_times if c.memory_times.size > 1 else c.cpu_times
    if times.size < 2:
        return 0.0
    steps = np.diff(np.unique(times))
    return float(np.median(steps)) if steps.size else 0.0
