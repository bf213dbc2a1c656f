"""Compose ``deploy`` blocks from a plan (``compose`` exporter): replicas and resources.

``compose.capplan.yaml`` is an override file, never the team's own ``compose.yaml``: it holds
one service per component with CPU or memory (a horizontal component's
instance shape, a ``deploy`` block, or the period-0 figures of a vertical / formula one), and
one per part of a tiered component's period-0 tier (``backend: {instances: 6}``):

    deploy: {replicas: N, resources: {limits: {cpus: '2', memory: 4G},
                                      reservations: {cpus: '1', memory: 2G}}}

Limits come from ``deploy.limits``, else the instance shape (or period-0 totals per replica);
reservations from ``deploy.requests``, else half the limits; replicas from period 0 of the
plan. Compose merges it over the team's own file
(``docker compose -f compose.yaml -f compose.capplan.yaml up``): the services' other settings
stay theirs. Images are not set here unless the plan gives ``deploy.image``.
"""

from __future__ import annotations

from typing import Any

from capplan.engine.planner import run_plan
from capplan.engine.projection import Projection
from capplan.export.base import EXPORTERS, dump_yaml, header, kebab, plain_number
from capplan.plan.deploy import Deploy, PartDeploy
from capplan.plan.models import HorizontalComponent, Plan, TierComponent
from capplan.plan.policies import Resources, cpu_cores, memory_bytes

__all__ = ["COMPOSE_FILE", "compose_file", "compose_memory"]

COMPOSE_FILE = "compose.capplan.yaml"

_GIB = 2**30


def compose_memory(n_bytes: float) -> str:
    """Bytes as a compose memory size (binary units): 4 GiB → ``4G``, 512 MiB → ``512M``."""
    for suffix, size in (("G", _GIB), ("M", 2**20), ("K", 2**10)):
        if n_bytes >= size and n_bytes % size == 0:
            return f"{int(n_bytes // size)}{suffix}"
    if n_bytes >= 2**20:
        return f"{round(n_bytes / 2**20)}M"
    return f"{round(n_bytes)}"


def _cpus(cores: float) -> str:
    return plain_number(round(cores, 3))


def _from_resources(given: Resources | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if given is not None and given.cpu:
        out["cpus"] = cpu_cores(given.cpu)
    if given is not None and given.memory:
        out["memory"] = memory_bytes(given.memory)
    return out


def _render(values: dict[str, float]) -> dict[str, str]:
    out = {}
    if "cpus" in values:
        out["cpus"] = _cpus(values["cpus"])
    if "memory" in values:
        out["memory"] = compose_memory(values["memory"])
    return out


def _service(plan: Plan, name: str, values: dict[str, Any]) -> dict[str, Any] | None:
    comp = plan.components[name]
    instances = round(float(values[f"{name}.instances"][0]))
    replicas = max(instances, 1)
    per_replica: dict[str, float] = {}
    if isinstance(comp, HorizontalComponent):
        if comp.instance.vcpu > 0:
            per_replica["cpus"] = comp.instance.vcpu
        if comp.instance.memory_gb > 0:
            per_replica["memory"] = comp.instance.memory_gb * _GIB
    else:
        vcpu = float(values[f"{name}.vcpu"][0])
        memory = float(values[f"{name}.memory_gb"][0])
        if vcpu > 0:
            per_replica["cpus"] = vcpu / replicas
        if memory > 0:
            per_replica["memory"] = memory / replicas * _GIB
    deploy = comp.deploy
    resources = _resources(per_replica, deploy)
    if resources is None:
        return None
    service: dict[str, Any] = {}
    if deploy is not None and deploy.image:
        service["image"] = deploy.image
    service["deploy"] = {"replicas": replicas, "resources": resources}
    return service


def _resources(per_replica: dict[str, float], deploy: Deploy | PartDeploy | None) -> Any:
    """``limits`` (the deploy block's, else the sized figures per replica) and
    ``reservations`` (its requests, else half the limits); None when there are neither."""
    limits = {**per_replica, **_from_resources(deploy.limits if deploy else None)}
    requests = _from_resources(deploy.requests if deploy else None)
    if not limits and not requests:
        return None
    reservations = {key: value / 2 for key, value in limits.items()}
    reservations.update(requests)
    resources: dict[str, Any] = {}
    if limits:
        resources["limits"] = _render(limits)
    resources["reservations"] = _render(reservations)
    return resources


def _tier_services(plan: Plan, name: str, projection: Projection) -> dict[str, Any]:
    """A tiered component: one service per part of its period-0 tier's allocations."""
    comp = plan.components[name]
    assert isinstance(comp, TierComponent)
    level = projection.levels.get(name, [""])[0]
    tier = next((t for t in comp.tiers if t.name == level), comp.tiers[0])
    services: dict[str, Any] = {}
    for part, alloc in tier.allocations.items():
        replicas = max(round(alloc.get("instances", 1)), 1)
        per_replica: dict[str, float] = {}
        if alloc.get("vcpu"):
            per_replica["cpus"] = alloc["vcpu"] / replicas
        if alloc.get("memory_gb"):
            per_replica["memory"] = alloc["memory_gb"] / replicas * _GIB
        given = comp.deploy.parts.get(part) if comp.deploy else None
        deploy: dict[str, Any] = {"replicas": replicas}
        resources = _resources(per_replica, given)
        if resources is not None:
            deploy["resources"] = resources
        service: dict[str, Any] = {"image": given.image} if given and given.image else {}
        services[kebab(part)] = {**service, "deploy": deploy}
    return services


@EXPORTERS.register("compose")
def compose_file(plan: Plan) -> dict[str, str]:
    """``compose.capplan.yaml``: ``deploy.replicas`` and ``deploy.resources`` per service."""
    projection = run_plan(plan, months=1)
    services: dict[str, Any] = {}
    skipped = []
    notes = [
        "Replicas and resources per service at period 0: an override file, merged over",
        f"your own compose file: docker compose -f compose.yaml -f {COMPOSE_FILE} up -d",
        "Reservations default to half the limits where the plan gives no requests.",
    ]
    for name, comp in plan.components.items():
        if isinstance(comp, TierComponent):
            level = projection.levels.get(name, ["?"])[0]
            notes.append(f"{name}: the parts of tier {level} (the tier at period 0).")
            services.update(_tier_services(plan, name, projection))
            continue
        service = _service(plan, name, projection.values)
        if service is None:
            skipped.append(name)
        else:
            services[kebab(name)] = service
    if skipped:
        notes.append(f"No CPU or memory in the plan (not listed): {', '.join(skipped)}.")
    notes += [
        f"OVERCOMMIT: {e.message}."
        for e in projection.events
        if e.kind == "overcommit" and e.period == 0
    ]
    text = header(plan, "Compose deploy settings", notes) + dump_yaml({"services": services})
    return {COMPOSE_FILE: text}
