"""Sizing of the service components: connection pools, read replicas, rate-limit tiers and
caches, vectorized over paths and periods like every other kind."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from capplan._types import Array, BoolArray
from capplan.plan.components import (
    CacheComponent,
    PoolComponent,
    RateLimitComponent,
    ReplicasComponent,
    ServiceComponent,
)
from capplan.sizing.result import Sized, ceil_count

__all__ = ["size_cache", "size_pool", "size_rate_limit", "size_replicas", "size_service"]


def _share(part: Array, whole: Array) -> Array:
    """``part / whole``, 0 where ``whole`` is 0."""
    return np.divide(part, whole, out=np.zeros(np.shape(part)), where=whole > 0)


def _sized(
    shape: tuple[int, ...],
    utilization: Array,
    extra: dict[str, Array],
    instances: Array | None = None,
    exceeded: BoolArray | None = None,
) -> Sized:
    zeros = np.zeros(shape)
    return Sized(
        instances=zeros if instances is None else instances,
        vcpu=zeros,
        memory_gb=zeros,
        storage_gb=zeros,
        utilization=utilization,
        exceeded=np.zeros(shape, dtype=bool) if exceeded is None else exceeded,
        extra=extra,
    )


def size_pool(comp: PoolComponent, inputs: Mapping[str, Array], shape: tuple[int, ...]) -> Sized:
    """``pools`` pools of the peak size: the connections they open are the clients, at least
    ``min_size`` and at most ``size`` per pool; clients beyond wait (``waiting``), clients
    beyond ``max_clients`` are refused; the pools at their peak size must fit in the server's
    ``max_connections`` (else ``exceeded``), and utilization is the connections open over it."""
    clients = np.broadcast_to(inputs["clients"], shape)
    pools = np.broadcast_to(inputs["pools"], shape)
    pool_size = pools * comp.peak_size
    connections = np.minimum(np.maximum(clients, pools * comp.min_size), pool_size)
    pool_utilization = _share(clients, pool_size)
    extra = {
        "clients": clients,
        "pools": pools,
        "pool_size": pool_size,
        "pool_connections": connections,
        "waiting": np.maximum(clients - pool_size, 0.0),
        "pool_utilization": pool_utilization,
    }
    if comp.max_clients is not None:
        extra["refused"] = np.maximum(clients - comp.max_clients, 0.0)
    exceeded: BoolArray = np.zeros(shape, dtype=bool)
    utilization = pool_utilization
    if "max_connections" in inputs:
        limit = np.broadcast_to(inputs["max_connections"], shape)
        extra["max_connections"] = limit
        utilization = _share(connections, limit)
        exceeded = pool_size > limit
    return _sized(shape, utilization, extra, exceeded=exceeded)


def size_replicas(
    comp: ReplicasComponent, inputs: Mapping[str, Array], shape: tuple[int, ...]
) -> Sized:
    """``ceil((reads - primary_reads) / (capacity_per_replica × target))`` replicas, within
    ``min_replicas`` and ``max_replicas``; one instance of the ``instance`` shape each."""
    queries = np.broadcast_to(inputs["queries"], shape)
    reads = queries * comp.read_share
    offloaded = np.maximum(reads - comp.primary_reads, 0.0)
    needed = ceil_count(offloaded / (comp.capacity_per_replica * comp.target_utilization))
    needed = np.maximum(needed, float(comp.min_replicas))
    replicas = needed if comp.max_replicas is None else np.minimum(needed, comp.max_replicas)
    capacity = replicas * comp.capacity_per_replica
    extra = {
        "queries": queries,
        "reads": reads,
        "writes": queries - reads,
        "replicas": replicas,
        "capacity": capacity,
        "replicas_needed": needed,
    }
    utilization = np.where(
        capacity > 0, _share(offloaded, capacity), np.where(offloaded > 0, np.inf, 0.0)
    )
    sized = _sized(shape, utilization, extra, instances=replicas, exceeded=needed > replicas)
    sized.vcpu = replicas * comp.instance.vcpu
    sized.memory_gb = replicas * comp.instance.memory_gb
    sized.storage_gb = replicas * comp.instance.storage_gb
    return sized


def limit_factor(comp: RateLimitComponent, load: Array) -> Array:
    """The factor the limits are multiplied by at ``load``: that of the highest level the
    load is above (Omniops' getDynamicLimit: × 0.5 above 0.8, × 0.75 above 0.6), else 1."""
    factor = np.ones(np.shape(load))
    for step in sorted(comp.load_factors, key=lambda f: f.above):
        factor = np.where(load > step.above, step.factor, factor)
    return factor


def size_rate_limit(
    comp: RateLimitComponent, inputs: Mapping[str, Array], shape: tuple[int, ...]
) -> Sized:
    """Per tier, each user is admitted ``min(demand, limit × factor)`` requests a window
    (a reduced limit rounded down with ``floor``, as getDynamicLimit does); the rest is
    rejected. Utilization is the largest tier's demand per user over its limit. A tier with
    ``concurrent`` refuses the share of a user's in-flight requests above it; one with
    ``burst`` admits ``min(peak_demand, limit × factor + burst)`` in its busiest window."""
    factor = (
        limit_factor(comp, np.broadcast_to(inputs["load"], shape))
        if "load" in inputs
        else np.ones(shape)
    )
    extra: dict[str, Array] = {}
    demand_total = np.zeros(shape)
    admitted_total = np.zeros(shape)
    utilization = np.zeros(shape)
    for name, tier in comp.tiers.items():
        users = np.broadcast_to(inputs[f"tiers.{name}.users"], shape)
        per_user = np.broadcast_to(inputs[f"tiers.{name}.demand"], shape)
        limit = tier.limit * factor
        if comp.floor:  # a reduced limit rounded down (60 × 0.75 is 45 whatever the dust)
            limit = np.where(factor < 1, np.floor(limit + 1e-9), limit)
        demand = users * per_user
        admitted = users * np.minimum(per_user, limit)
        extra[f"{name}.demand"] = demand
        extra[f"{name}.admitted"] = admitted
        extra[f"{name}.rejected_share"] = np.where(demand > 0, 1.0 - _share(admitted, demand), 0.0)
        if tier.concurrent is not None:  # in flight at once beyond the limit: refused
            wanted = np.broadcast_to(inputs[f"tiers.{name}.concurrency"], shape)
            extra[f"{name}.concurrency_rejected_share"] = np.where(
                wanted > tier.concurrent, 1.0 - _share(np.full(shape, tier.concurrent), wanted), 0.0
            )
        if tier.burst is not None:  # the busiest window may go past the limit by the burst
            peak = np.broadcast_to(inputs[f"tiers.{name}.peak_demand"], shape)
            peak_admitted = np.minimum(peak, limit + tier.burst)
            extra[f"{name}.peak_admitted"] = peak_admitted
            extra[f"{name}.peak_rejected_share"] = np.where(
                peak > 0, 1.0 - _share(peak_admitted, peak), 0.0
            )
        demand_total = demand_total + demand
        admitted_total = admitted_total + admitted
        np.maximum(
            utilization,
            np.divide(per_user, limit, out=np.full(shape, np.inf), where=limit > 0)
            * (per_user > 0),
            out=utilization,
        )
    rejected = demand_total - admitted_total
    extra = {
        "demand": demand_total,
        "admitted": admitted_total,
        "rejected": rejected,
        "rejected_share": _share(rejected, demand_total),
        "limit_factor": factor,
        **extra,
    }
    return _sized(shape, utilization, extra)


def size_cache(comp: CacheComponent, inputs: Mapping[str, Array], shape: tuple[int, ...]) -> Sized:
    """``hits = requests × hit_rate`` requests never reach the backend: ``savings`` is their
    cost (``hits × cost_per_request``) and ``time_saved_hours`` their latency. The savings
    are a column of their own, never taken off the cost."""
    requests = np.broadcast_to(inputs["requests"], shape)
    hits = requests * comp.hit_rate
    extra = {
        "requests": requests,
        "hits": hits,
        "misses": requests - hits,
        "savings": hits * comp.cost_per_request,
        "time_saved_hours": hits * comp.latency_saved_ms / 3_600_000.0,
    }
    return _sized(shape, np.zeros(shape), extra)


def size_service(
    comp: ServiceComponent, inputs: Mapping[str, Array], shape: tuple[int, ...]
) -> Sized:
    """The sizing of a pool, replicas, rate-limit or cache component."""
    if isinstance(comp, PoolComponent):
        return size_pool(comp, inputs, shape)
    if isinstance(comp, ReplicasComponent):
        return size_replicas(comp, inputs, shape)
    if isinstance(comp, RateLimitComponent):
        return size_rate_limit(comp, inputs, shape)
    return size_cache(comp, inputs, shape)
