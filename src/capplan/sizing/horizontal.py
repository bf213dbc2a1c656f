"""Horizontal sizing: identical instances, each serving a fixed share of the demand."""

from __future__ import annotations

import numpy as np

from capplan._types import Array
from capplan.plan.models import HorizontalComponent
from capplan.sizing.result import Sized, ceil_count

__all__ = [
    "horizontal_instances",
    "horizontal_resources",
    "instances_needed",
    "size_horizontal",
]


def size_horizontal(comp: HorizontalComponent, demand: Array) -> Sized:
    """``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``, at least
    ``min_instances`` (the runbook formula: 300 RPS at 50 per instance, 20% buffer → 8), and
    at most ``max_instances``: past it the component is ``exceeded``, runs above its target
    utilization (above 1 once the demand is beyond what the instances serve), and the
    outputs ``instances_needed`` and ``unserved`` (the demand beyond its capacity) say by
    how much."""
    extra: dict[str, Array] = {"demand": demand}
    if comp.max_instances is not None:
        needed = instances_needed(comp, demand)
        exceeded = needed > comp.max_instances
        instances = np.minimum(needed, float(comp.max_instances))
    else:
        instances = instances_needed(comp, demand)
        exceeded = np.broadcast_to(np.False_, instances.shape)
    capacity = instances * comp.per_instance
    if comp.min_instances > 0 or comp.redundancy > 0:  # never zero instances: a plain share
        utilization = np.divide(demand, capacity)
    else:
        utilization = np.divide(demand, capacity, out=np.zeros_like(demand), where=capacity > 0)
    extra["capacity"] = capacity
    if comp.max_instances is not None:
        extra["instances_needed"] = needed
        extra["unserved"] = np.maximum(demand - capacity, 0.0)
    amounts = horizontal_resources(comp, instances)
    return Sized(
        instances=instances,
        vcpu=amounts["vcpu"],
        memory_gb=amounts["memory_gb"],
        storage_gb=amounts["storage_gb"],
        utilization=utilization,
        exceeded=exceeded,
        extra=extra,
    )


def horizontal_instances(comp: HorizontalComponent, demand: Array) -> Array:
    """The instances serving ``demand`` (at most ``max_instances``); they never decrease as
    the demand grows."""
    instances = instances_needed(comp, demand)
    if comp.max_instances is None:
        return instances
    return np.minimum(instances, float(comp.max_instances), out=instances)


def instances_needed(comp: HorizontalComponent, demand: Array) -> Array:
    """The instances ``demand`` needs, whatever ``max_instances`` allows."""
    instances = ceil_count(demand / (comp.per_instance * comp.target_utilization))
    # Without a buffer its term is ceil_count(0) = -0.0, which adds nothing.
    if comp.buffer:
        np.add(instances, ceil_count(instances * comp.buffer), out=instances)
    np.add(instances, comp.redundancy, out=instances)
    return np.maximum(instances, float(comp.min_instances), out=instances)


def horizontal_resources(comp: HorizontalComponent, instances: Array) -> dict[str, Array]:
    """The resources of ``instances`` instances of the component's shape."""
    out = {"instances": instances}
    for key in ("vcpu", "memory_gb", "storage_gb"):
        out[key] = _times(instances, getattr(comp.instance, key))
    return out


def _times(instances: Array, amount: float) -> Array:
    """``instances × amount``; zero for an amount of zero (instances are never negative, so
    the product is +0.0) as one read-only zero, which nothing needs to add."""
    if amount == 0:
        return np.broadcast_to(np.float64(0.0), instances.shape)
    return np.multiply(instances, amount)
