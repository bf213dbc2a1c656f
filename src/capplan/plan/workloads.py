"""The workload a policy targets, resolved from the plan: a component, or a part of a tiers
component, with the name, namespace, image, pod labels, requests and limits its ``deploy``
block gives (or their defaults).

Defaults: the name is the component's (or part's) name in kebab case, the container is named
after the workload, pod labels are ``app.kubernetes.io/name: <name>``, a part's namespace is
its component's, and requests and limits are a horizontal component's instance shape (vcpu →
cores, memory_gb → Gi) below what ``deploy`` gives. A part has no instance shape: its requests
and limits are the ones under ``deploy.parts.<part>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from capplan.plan.deploy import Deploy, PartDeploy, Resources, cpu_cores, memory_bytes
from capplan.plan.models import HorizontalComponent, Plan
from capplan.plan.policies import split_target

__all__ = ["Workload", "cpu_quantity", "memory_quantity", "object_name", "workload"]


def object_name(name: str) -> str:
    """A plan name as a Kubernetes object name: ``apm_service`` → ``apm-service``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cpu_quantity(cores: float) -> str:
    """Cores as a Kubernetes CPU quantity: 2 → ``2``, 0.5 → ``500m``."""
    if cores == int(cores):
        return str(int(cores))
    return f"{math.ceil(cores * 1000)}m"


def memory_quantity(gib: float) -> str:
    """GiB as a Kubernetes memory quantity: 16 → ``16Gi``, 0.5 → ``512Mi``."""
    if gib == int(gib):
        return f"{int(gib)}Gi"
    return f"{math.ceil(gib * 1024)}Mi"


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet of the plan, as the autoscalers and manifests see it."""

    target: str
    component: str
    part: str | None
    name: str
    namespace: str
    kind: str
    container: str
    image: str | None
    labels: dict[str, str]
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    deploy_path: str = ""

    def request_amounts(self) -> dict[str, float]:
        """The container's requests as numbers: ``cpu`` in cores, ``memory`` in GiB."""
        out: dict[str, float] = {}
        if "cpu" in self.requests:
            out["cpu"] = cpu_cores(self.requests["cpu"])
        if "memory" in self.requests:
            out["memory"] = memory_bytes(self.requests["memory"]) / 2**30
        return out


def _given(resources: Resources | None) -> dict[str, str]:
    if resources is None:
        return {}
    return {k: v for k, v in (("cpu", resources.cpu), ("memory", resources.memory)) if v}


def workload(plan: Plan, target: str) -> Workload:
    """The workload of ``target`` (a component name, or ``component.part``)."""
    cname, part = split_target(target)
    comp = plan.components[cname]
    deploy: Deploy | None = comp.deploy
    settings: Deploy | PartDeploy | None = deploy
    path = f"components.{cname}.deploy"
    shape: dict[str, str] = {}
    if part is not None:
        settings = deploy.parts.get(part) if deploy is not None else None
        path = f"{path}.parts.{part}"
    elif isinstance(comp, HorizontalComponent):
        if comp.instance.vcpu > 0:
            shape["cpu"] = cpu_quantity(comp.instance.vcpu)
        if comp.instance.memory_gb > 0:
            shape["memory"] = memory_quantity(comp.instance.memory_gb)
    name = (settings.name if settings is not None else None) or object_name(part or cname)
    namespace = (
        (settings.namespace if settings is not None else None)
        or (deploy.namespace if deploy is not None else None)
        or "default"
    )
    requests = {**shape, **_given(settings.requests if settings is not None else None)}
    limits = {**shape, **_given(settings.limits if settings is not None else None)}
    labels = dict(settings.labels) if settings is not None and settings.labels else {}
    return Workload(
        target=target,
        component=cname,
        part=part,
        name=name,
        namespace=namespace,
        kind=settings.workload if settings is not None else "Deployment",
        container=(settings.container if settings is not None else None) or name,
        image=settings.image if settings is not None else None,
        labels=labels or {"app.kubernetes.io/name": name},
        requests=dict(sorted(requests.items())),
        limits=dict(sorted(limits.items())),
        deploy_path=path,
    )
