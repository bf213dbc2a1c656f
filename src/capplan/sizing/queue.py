"""Queue sizing with Erlang C (M/M/c): the servers (agents, workers) that answer a share of
arrivals within a wait, or keep the mean wait under a limit.

Erlang C is computed from the Erlang B recursion ``B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))``
and ``C(n, A) = n·B / (n − A·(1 − B))``: no factorials or powers, so it stays exact for
thousands of servers. With ``c`` servers, offered load ``A = λ × service time`` (erlangs):

* P(wait) = C(c, A), for c > A (with c ≤ A the queue grows without bound: P(wait) = 1);
* service level ``P(wait ≤ t) = 1 − C·exp(−(c − A)·t / service time)``;
* mean wait (ASA) ``C · service time / (c − A)``; occupancy ``A / c``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan._types import Array, BoolArray
from capplan.plan.components import QueueComponent
from capplan.sizing.result import Sized
from capplan.units import duration_seconds

__all__ = [
    "QueueTarget",
    "erlang_b",
    "erlang_c",
    "queue_figures",
    "servers_needed",
    "size_queue",
]


@dataclass(frozen=True)
class QueueTarget:
    """What the servers must achieve: ``percentile`` of arrivals wait at most ``wait``
    seconds (a service level: 0.8 within 20 s), and/or a mean wait of at most ``mean_wait``
    seconds; occupancy at most ``max_occupancy``."""

    wait: float | None = None
    percentile: float = 0.8
    mean_wait: float | None = None
    max_occupancy: float | None = None


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of ``servers`` servers offered ``load`` erlangs."""
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability an arrival waits, ``servers`` servers offered ``load`` erlangs (1 when
    the servers cannot keep up: servers ≤ load)."""
    if servers <= load:
        return 1.0
    b = erlang_b(servers, load)
    return servers * b / (servers - load * (1 - b))


def _meets(c: Array, n: float, load: Array, service: float, target: QueueTarget) -> Array:
    """Whether ``n`` servers meet the target, where C is ``c`` (n > load everywhere here)."""
    ok = np.ones(load.shape, dtype=bool)
    spare = n - load
    if target.wait is not None:
        level = 1 - c * np.exp(-spare * target.wait / service)
        ok &= level >= target.percentile - 1e-12
    if target.mean_wait is not None:
        ok &= c * service / spare <= target.mean_wait + 1e-12
    if target.max_occupancy is not None:
        ok &= load <= target.max_occupancy * n + 1e-12
    return ok


def servers_needed(load: Array, service_time: float, target: QueueTarget) -> Array:
    """The fewest servers meeting ``target`` for each offered load (erlangs), as floats.

    One Erlang B recursion runs over the distinct loads together, server count by server
    count, each load stopping at its first count that meets the target: the work is the
    largest count needed times the distinct loads, not a search per load."""
    flat = np.asarray(load, dtype=float).ravel()
    values, index = np.unique(flat, return_inverse=True)
    needed = np.zeros(values.shape)
    todo = values > 0
    b = np.ones(values.shape)
    n = 0
    while todo.any():
        n += 1
        b = values * b / (n + values * b)
        stable = todo & (n > values)
        if not stable.any():
            continue
        v, bb = values[stable], b[stable]
        c = n * bb / (n - v * (1 - bb))
        done = _meets(c, float(n), v, service_time, target)
        hit = np.flatnonzero(stable)[done]
        needed[hit] = n
        todo[hit] = False
    return needed[index].reshape(np.shape(load))


def _erlang_c_at(servers: Array, load: Array) -> Array:
    """C(servers, load) cell by cell (1 where servers ≤ load), one recursion over the
    distinct (servers, load) pairs up to the largest server count."""
    pairs = np.stack([np.ravel(servers), np.ravel(load)], axis=1)
    unique, index = np.unique(pairs, axis=0, return_inverse=True)
    counts, loads = unique[:, 0], unique[:, 1]
    c = np.ones(len(unique))
    b = np.ones(len(unique))
    top = int(counts.max()) if len(counts) else 0
    for n in range(1, top + 1):
        b = loads * b / (n + loads * b)
        at = (counts == n) & (n > loads)
        c[at] = n * b[at] / (n - loads[at] * (1 - b[at]))
    return c[np.ravel(index)].reshape(np.shape(load))


def queue_figures(
    servers: Array, load: Array, service_time: float, wait: float | None
) -> dict[str, Array]:
    """P(wait), mean wait (seconds), occupancy and, for a ``wait`` in seconds, the service
    level of ``servers`` servers at each offered load. Where the servers cannot keep up
    (servers ≤ load) every arrival waits, without bound: the mean wait is NaN."""
    servers = np.asarray(servers, dtype=float)
    load = np.asarray(load, dtype=float)
    idle = load <= 0
    c = np.where(idle, 0.0, _erlang_c_at(servers, load))
    spare = servers - load
    stable = spare > 0
    safe = np.where(stable, spare, 1.0)
    mean_wait = np.where(idle, 0.0, np.where(stable, c * service_time / safe, math.nan))
    occupancy = np.divide(load, servers, out=np.where(idle, 0.0, math.nan), where=servers > 0)
    figures = {"wait_probability": c, "mean_wait": mean_wait, "occupancy": occupancy}
    if wait is not None:
        level = 1 - c * np.exp(-np.maximum(spare, 0.0) * wait / service_time)
        figures["service_level"] = np.where(idle, 1.0, np.where(stable, level, 0.0))
    return figures


def size_queue(comp: QueueComponent, arrivals: Array, shape: tuple[int, ...]) -> Sized:
    """Servers for each period's arrivals (per second): the fewest meeting the target, at
    least ``min_servers`` and at most ``max_servers`` (past it the component is
    ``exceeded`` and ``servers_needed`` says how many it needs); priced and shaped per
    server as a horizontal component's instances. Utilization is the occupancy."""
    service = duration_seconds(comp.service_time)
    spec = comp.target
    target = QueueTarget(
        wait=duration_seconds(spec.wait) if spec.wait is not None else None,
        percentile=spec.percentile,
        mean_wait=duration_seconds(spec.mean_wait) if spec.mean_wait is not None else None,
        max_occupancy=comp.max_occupancy,
    )
    arrivals = np.broadcast_to(np.asarray(arrivals, dtype=float), shape)
    load = arrivals * service
    needed = np.maximum(servers_needed(load, service, target), float(comp.min_servers))
    servers = needed
    exceeded: BoolArray = np.broadcast_to(np.False_, shape)
    if comp.max_servers is not None:
        servers = np.minimum(needed, float(comp.max_servers))
        exceeded = needed > comp.max_servers
    figures = queue_figures(servers, load, service, target.wait)
    extra = {"arrivals": arrivals, "offered_load": load, "servers": servers, **figures}
    if comp.max_servers is not None:
        extra["servers_needed"] = needed
    shape_of = comp.instance
    return Sized(
        instances=servers,
        vcpu=servers * shape_of.vcpu,
        memory_gb=servers * shape_of.memory_gb,
        storage_gb=servers * shape_of.storage_gb,
        utilization=figures["occupancy"],
        exceeded=exceeded,
        extra=extra,
    )
