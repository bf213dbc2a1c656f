"""What each metric of a simulated policy reads, and against what.

A simulation has one *load* trace (``demand``, in the unit of ``capacity_per_instance``) and
may have *named* traces (``series``): one per metric key. An HPA resource metric's key is its
resource (``cpu``, ``memory``); a pods or external metric's, and a queue scaler's, is its plan
metric (``queue_depth``). A metric reads the trace named after its key when there is one, else
the load trace:

* a resource metric on its own trace reads the pods' total use (cores, GiB) against their
  requests (``requests``); on the load trace, load against ``capacity_per_instance`` (or the
  request when the component has no such capacity, a tiers part or a formula component);
* a pods, external or queue metric reads the metric's own values (the sum over pods for a
  pods metric, the value for an external one, the depth for a queue).

Utilization is 100 × the trace over what the ready pods carry at 100%: their requests (or
capacity) for a resource metric, their target for a pods, external average or queue metric;
for an external total it is 100 × value / target. The critical level of a resource metric is
the plan's (given per key), else 100; of the others, 100 (the target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from capplan._types import Array
from capplan.errors import DataError, UsageError
from capplan.plan.policies import HpaMetric, HpaPolicy, QueuePolicy, StepPolicy
from capplan.policy.sim_common import Channel, metric_channel

__all__ = ["MetricTrace", "check_demand", "metric_traces", "trace_keys"]


@dataclass(frozen=True, eq=False)
class MetricTrace:
    """One metric of a policy: its trace (per step), channel, per-pod capacity (None: the
    channel's total target) and critical level (percent)."""

    key: str
    demand: Array
    channel: Channel
    capacity: float | None
    critical: float

    def utilization(self, ready: np.ndarray) -> Array:
        """Percent of what the ready pods carry at 100% (see the module docstring)."""
        d = self.demand
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.capacity is None:
                util: Array = 100.0 * d / self.channel.per
            else:
                util = 100.0 * d / (ready * self.capacity)
                util[(ready == 0) & (d == 0)] = 0.0
        return util


def check_demand(demand: object, label: str = "trace") -> Array:
    """A 1-D, finite, non-negative float array, or a DataError naming the bad step."""
    arr = np.asarray(demand, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(f"a {label} must be a non-empty 1-D array of demand, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataError(f"{label} step {int(np.argmax(bad))} is not a finite number")
    if (arr < 0).any():
        i = int(np.argmax(arr < 0))
        raise DataError(f"{label} step {i}: demand must be >= 0, got {arr[i]:g}")
    return arr


def trace_keys(policy: StepPolicy | HpaPolicy | QueuePolicy) -> list[str]:
    """The names of the traces a policy's metrics can read (a step policy reads load, and the
    metrics its scale-down also waits for)."""
    if isinstance(policy, HpaPolicy):
        return [m.key for m in policy.hpa_metrics()]
    if isinstance(policy, QueuePolicy):
        return [policy.metric]
    return [c.metric for c in policy.scale_down.also] if policy.scale_down is not None else []


def _critical(critical: float | Mapping[str, float], key: str) -> float:
    if isinstance(critical, Mapping):
        return float(critical.get(key, 100.0))
    return float(critical)


def _resource(
    metric: HpaMetric,
    own: Array | None,
    load: Array | None,
    capacity: float | None,
    requests: Mapping[str, float],
    critical: float,
) -> MetricTrace:
    key = metric.key
    if own is not None:
        if not requests.get(key):
            raise UsageError(
                f"the '{key}' trace is the pods' {key} use, which needs their {key} request "
                "(deploy.requests, or the instance shape)"
            )
        request = requests[key]
        return MetricTrace(key, own, metric_channel(metric, request), request, critical)
    cap = capacity if capacity is not None else requests.get(key)
    if load is None or cap is None or cap <= 0:
        raise UsageError(
            f"the {key} metric reads the load trace, which needs capacity_per_instance or a "
            f"{key} request; or give a trace named '{key}'"
        )
    return MetricTrace(key, load, metric_channel(metric, cap), cap, critical)


def metric_traces(
    policy: HpaPolicy | QueuePolicy,
    load: Array | None,
    series: Mapping[str, Array],
    capacity: float | None,
    requests: Mapping[str, float],
    critical: float | Mapping[str, float],
) -> list[MetricTrace]:
    """The traces of an HPA's metrics, or of a queue scaler's depth; see the module docstring."""
    if isinstance(policy, QueuePolicy):
        depth = series.get(policy.metric, load)
        if depth is None:
            raise UsageError(f"no trace for the queue metric '{policy.metric}'")
        channel = Channel("requested", policy.target)
        return [MetricTrace(policy.metric, depth, channel, policy.target, 100.0)]
    out = []
    for metric in policy.hpa_metrics():
        key = metric.key
        own = series.get(key)
        if metric.type == "resource":
            out.append(_resource(metric, own, load, capacity, requests, _critical(critical, key)))
            continue
        values = own if own is not None else load
        if values is None:
            raise UsageError(f"no trace for the {metric.type} metric '{key}'")
        channel = metric_channel(metric, 1.0)
        cap = None if channel.kind == "total" else channel.per
        out.append(MetricTrace(key, values, channel, cap, 100.0))
    return out
