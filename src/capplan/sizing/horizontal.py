"""Horizontal sizing: identical instances, each serving a fixed share of the demand."""

from __future__ import annotations

import numpy as np

from capplan.plan.models import HorizontalComponent
from capplan.sizing.result import Array, Sized, ceil_count

__all__ = ["size_horizontal"]


def size_horizontal(comp: HorizontalComponent, demand: Array) -> Sized:
    """``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``, at least
    ``min_instances`` (the runbook formula: 300 RPS at 50 per instance, 20% buffer → 8)."""
    base = ceil_count(demand / (comp.capacity_per_instance * comp.target_utilization))
    instances = base + ceil_count(base * comp.buffer) + comp.redundancy
    instances = np.maximum(instances, float(comp.min_instances))
    if comp.max_instances is not None:
        exceeded = instances > comp.max_instances
    else:
        exceeded = np.zeros(instances.shape, dtype=bool)
    capacity = instances * comp.capacity_per_instance
    utilization = np.divide(demand, capacity, out=np.zeros_like(demand), where=capacity > 0)
    shape = comp.instance
    return Sized(
        instances=instances,
        vcpu=instances * shape.vcpu,
        memory_gb=instances * shape.memory_gb,
        storage_gb=instances * shape.storage_gb,
        utilization=utilization,
        exceeded=exceeded,
        extra={"demand": demand, "capacity": capacity},
    )
