"""Horizontal sizing: identical instances, each serving a fixed share of the demand."""

from __future__ import annotations

from collections.abc import Collection
from functools import partial

import numpy as np

from capplan.plan.models import HorizontalComponent
from capplan.sizing.result import Array, Sized, ceil_count, left_out, wanted

__all__ = ["horizontal_resources", "size_horizontal"]


def size_horizontal(
    comp: HorizontalComponent, demand: Array, resources: Collection[str] | None = None
) -> Sized:
    """``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``, at least
    ``min_instances`` (the runbook formula: 300 RPS at 50 per instance, 20% buffer → 8)."""
    instances = _instances(comp, demand)
    if comp.max_instances is not None:
        exceeded = instances > comp.max_instances
    else:
        exceeded = np.broadcast_to(np.False_, instances.shape)
    capacity = instances * comp.capacity_per_instance
    if comp.min_instances > 0 or comp.redundancy > 0:  # never zero instances: a plain share
        utilization = np.divide(demand, capacity)
    else:
        utilization = np.divide(demand, capacity, out=np.zeros_like(demand), where=capacity > 0)
    amounts = horizontal_resources(comp, instances, resources)
    return Sized(
        instances=instances,
        vcpu=amounts["vcpu"],
        memory_gb=amounts["memory_gb"],
        storage_gb=amounts["storage_gb"],
        utilization=utilization,
        exceeded=exceeded,
        extra={"demand": demand, "capacity": capacity},
        derived={key: ("demand", partial(_output, comp, key)) for key in _RISING},
    )


_RISING = ("instances", "vcpu", "memory_gb", "storage_gb", "capacity")


def _instances(comp: HorizontalComponent, demand: Array) -> Array:
    instances = ceil_count(demand / (comp.capacity_per_instance * comp.target_utilization))
    # Without a buffer its term is ceil_count(0) = -0.0, which adds nothing.
    if comp.buffer:
        np.add(instances, ceil_count(instances * comp.buffer), out=instances)
    np.add(instances, comp.redundancy, out=instances)
    return np.maximum(instances, float(comp.min_instances), out=instances)


def horizontal_resources(
    comp: HorizontalComponent, instances: Array, resources: Collection[str] | None = None
) -> dict[str, Array]:
    """The resources of ``instances`` instances of the component's shape (those not in
    ``resources``, when given, left out)."""
    out = {"instances": instances}
    for key in ("vcpu", "memory_gb", "storage_gb"):
        if wanted(resources, key):
            out[key] = _times(instances, getattr(comp.instance, key))
        else:
            out[key] = left_out(instances.shape)
    return out


def _times(instances: Array, amount: float) -> Array:
    """``instances × amount``; zero for an amount of zero (instances are never negative, so
    the product is +0.0) as one read-only zero, which nothing needs to add."""
    if amount == 0:
        return np.broadcast_to(np.float64(0.0), instances.shape)
    return np.multiply(instances, amount)


def _output(comp: HorizontalComponent, key: str, demand: Array) -> Array:
    """An output as a function of the demand; it never decreases as the demand grows."""
    instances = _instances(comp, demand)
    if key == "instances":
        return instances
    if key == "capacity":
        return instances * comp.capacity_per_instance
    return np.asarray(instances * getattr(comp.instance, key), dtype=np.float64)
