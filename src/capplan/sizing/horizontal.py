"""Horizontal sizing: identical instances, each serving a fixed share of the demand."""

from __future__ import annotations

import numpy as np

from capplan._types import Array
from capplan.plan.models import HorizontalComponent
from capplan.sizing.result import Sized, ceil_count

__all__ = ["horizontal_instances", "horizontal_resources", "size_horizontal"]


def size_horizontal(comp: HorizontalComponent, demand: Array) -> Sized:
    """``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``, at least
    ``min_instances`` (the runbook formula: 300 RPS at 50 per instance, 20% buffer → 8)."""
    instances = horizontal_instances(comp, demand)
    if comp.max_instances is not None:
        exceeded = instances > comp.max_instances
    else:
        exceeded = np.broadcast_to(np.False_, instances.shape)
    capacity = instances * comp.capacity_per_instance
    if comp.min_instances > 0 or comp.redundancy > 0:  # never zero instances: a plain share
        utilization = np.divide(demand, capacity)
    else:
        utilization = np.divide(demand, capacity, out=np.zeros_like(demand), where=capacity > 0)
    amounts = horizontal_resources(comp, instances)
    return Sized(
        instances=instances,
        vcpu=amounts["vcpu"],
        memory_gb=amounts["memory_gb"],
        storage_gb=amounts["storage_gb"],
        utilization=utilization,
        exceeded=exceeded,
        extra={"demand": demand, "capacity": capacity},
    )


def horizontal_instances(comp: HorizontalComponent, demand: Array) -> Array:
    """The instances serving ``demand``; they never decrease as the demand grows."""
    instances = ceil_count(demand / (comp.capacity_per_instance * comp.target_utilization))
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
