"""Hosts and node pools: the vCPU, memory and storage of the components on a host summed
period by period, against what the host has; more than it has is overcommit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from capplan.engine.events import Event
from capplan.formatting import fmt_number
from capplan.plan.hosts import HOST_RESOURCES
from capplan.plan.models import Plan
from capplan.sizing.result import Array
from capplan.timeline import Timeline

__all__ = ["host_events", "host_over_capacity", "host_values"]

_UNITS = {"vcpu": "vCPU", "memory_gb": "GB memory", "storage_gb": "GB storage"}


def host_values(plan: Plan, values: Mapping[str, Array]) -> dict[str, Array]:
    """Per host, one period per entry: ``<host>.<resource>`` (summed over its components),
    ``<host>.<resource>_utilization``, ``<host>.utilization`` (the largest of them) and
    ``<host>.hosts_needed`` (machines of its shape that would hold the need)."""
    out: dict[str, Array] = {}
    for name, host in plan.hosts.items():
        components = host.components or list(plan.components)
        shares, machines = [], []
        for resource in HOST_RESOURCES:
            capacity = host.capacity(resource)
            if capacity is None:
                continue
            need = np.zeros_like(values["total.cost"], dtype=np.float64)
            for component in components:
                need = need + values[f"{component}.{resource}"]
            share = need / capacity
            out[f"{name}.{resource}"] = need
            out[f"{name}.{resource}_utilization"] = share
            shares.append(share)
            # float dust (12.000000000000002 / 8 cores) is not another machine
            machines.append(np.ceil(need / (capacity / host.count) - 1e-9))
        out[f"{name}.utilization"] = np.maximum.reduce(shares)
        out[f"{name}.hosts_needed"] = np.maximum(np.maximum.reduce(machines), 1.0)
    return out


def _overcommitted(values: Mapping[str, Array], name: str) -> Array:
    """Per period, whether the host's components need more than it has (float dust aside)."""
    return np.asarray(values[f"{name}.utilization"] > 1 + 1e-9)


def host_over_capacity(plan: Plan, values: Mapping[str, Array]) -> dict[str, list[bool]]:
    """Per host and period, whether its components need more than it has."""
    return {name: _overcommitted(values, name).tolist() for name in plan.hosts}


def host_events(plan: Plan, values: Mapping[str, Array], tl: Timeline) -> list[Event]:
    """A critical ``overcommit`` event at the first period each host is overcommitted."""
    events = []
    for name, host in plan.hosts.items():
        over = _overcommitted(values, name)
        if not over.any():
            continue
        t = int(np.argmax(over))
        parts = []
        for resource in HOST_RESOURCES:
            capacity = host.capacity(resource)
            if capacity is None:
                continue
            need = float(values[f"{name}.{resource}"][t])
            if need > capacity * (1 + 1e-9):
                parts.append(
                    f"{fmt_number(need)} {_UNITS[resource]} of {fmt_number(capacity)} "
                    f"({need / capacity:.0%})"
                )
        machines = int(values[f"{name}.hosts_needed"][t])
        events.append(
            Event(
                t,
                tl.date(t),
                "overcommit",
                "critical",
                f"{name} is overcommitted in {tl.label(t)} (period {t}): its components' "
                f"{host.basis} add up to {' and '.join(parts)}; {machines} machines of its "
                f"shape would hold them, {host.count} {'is' if host.count == 1 else 'are'} planned",
                component=name,
                detail={"hosts_needed": machines, "today": tl.today},
            )
        )
    return events
