"""Kubernetes manifests from a plan's scaling policies (``kubernetes`` exporter).

For each component with a policy:

- ``<component>.hpa.yaml``: an ``autoscaling/v2`` HorizontalPodAutoscaler per HPA policy
  (Resource metric, target ``averageUtilization``, ``behavior`` translated);
- ``<component>.vpa.yaml``: an ``autoscaling.k8s.io/v1`` VerticalPodAutoscaler per VPA policy;
- ``<component>.resources.yaml``: a Deployment (``apps/v1``) skeleton with the container's
  requests and limits (from ``deploy``, else the instance shape: vcpu → cores, memory_gb → Gi)
  and ``replicas`` = the plan's period-0 instance count.

Step policies have no Kubernetes equivalent: they are named in a comment, not exported.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.engine.planner import run_plan
from capplan.export.base import EXPORTERS, dump_yaml, header, kebab
from capplan.plan.models import HorizontalComponent, Plan
from capplan.plan.policies import HpaDirection, HpaPolicy, Resources, StepPolicy, VpaPolicy
from capplan.units import duration_seconds

__all__ = ["PLACEHOLDER_IMAGE", "cpu_quantity", "kubernetes_manifests", "memory_quantity"]

PLACEHOLDER_IMAGE = "REPLACE_ME"


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


def container_resources(plan: Plan, component: str) -> dict[str, dict[str, str]]:
    """``{"requests": {...}, "limits": {...}}`` from deploy, else the instance shape."""
    comp = plan.components[component]
    shape: dict[str, str] = {}
    if isinstance(comp, HorizontalComponent):
        if comp.instance.vcpu > 0:
            shape["cpu"] = cpu_quantity(comp.instance.vcpu)
        if comp.instance.memory_gb > 0:
            shape["memory"] = memory_quantity(comp.instance.memory_gb)
    deploy = comp.deploy
    out: dict[str, dict[str, str]] = {}
    for key in ("requests", "limits"):
        given: Resources | None = getattr(deploy, key) if deploy is not None else None
        values = dict(shape)
        if given is not None:
            values.update({k: v for k, v in (("cpu", given.cpu), ("memory", given.memory)) if v})
        if values:
            out[key] = dict(sorted(values.items()))
    return out


def _seconds(text: str) -> int:
    return int(duration_seconds(text))


def _direction(rule: HpaDirection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.stabilization_window is not None:
        out["stabilizationWindowSeconds"] = _seconds(rule.stabilization_window)
    out["selectPolicy"] = rule.select
    if rule.policies:
        out["policies"] = [
            {"type": p.type, "value": p.value, "periodSeconds": _seconds(p.period)}
            for p in rule.policies
        ]
    return out


def _metadata(plan: Plan, name: str, component: str) -> dict[str, Any]:
    deploy = plan.components[component].deploy
    namespace = deploy.namespace if deploy is not None else "default"
    return {
        "name": name,
        "namespace": namespace,
        "labels": {
            "app.kubernetes.io/managed-by": "capplan",
            "app.kubernetes.io/name": kebab(component),
        },
    }


def _target(component: str) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": kebab(component)}


def hpa_manifest(plan: Plan, name: str, policy: HpaPolicy, single: bool) -> dict[str, Any]:
    """One HorizontalPodAutoscaler (named after the component when it is its only HPA)."""
    obj_name = kebab(policy.component) if single else kebab(name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(plan, obj_name, policy.component),
        "spec": {
            "scaleTargetRef": _target(policy.component),
            "minReplicas": max(policy.min_replicas, 1),
            "maxReplicas": policy.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": policy.resource,
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": round(policy.target),
                        },
                    },
                }
            ],
            "behavior": {
                "scaleUp": _direction(policy.behavior.scale_up),
                "scaleDown": _direction(policy.behavior.scale_down),
            },
        },
    }


def vpa_manifest(plan: Plan, name: str, policy: VpaPolicy, single: bool) -> dict[str, Any]:
    """One VerticalPodAutoscaler (a CRD of the Kubernetes autoscaler project)."""
    deploy = plan.components[policy.component].deploy
    container = (deploy.container if deploy is not None else None) or kebab(policy.component)
    container_policy: dict[str, Any] = {
        "containerName": container,
        "controlledResources": ["cpu", "memory"],
    }
    for key, given in (("minAllowed", policy.min_allowed), ("maxAllowed", policy.max_allowed)):
        if given is not None:
            values = {k: v for k, v in (("cpu", given.cpu), ("memory", given.memory)) if v}
            if values:
                container_policy[key] = values
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": _metadata(
            plan, kebab(policy.component) if single else kebab(name), policy.component
        ),
        "spec": {
            "targetRef": _target(policy.component),
            "updatePolicy": {"updateMode": policy.mode},
            "resourcePolicy": {"containerPolicies": [container_policy]},
        },
    }


def deployment_manifest(plan: Plan, component: str, replicas: int) -> dict[str, Any]:
    """A Deployment skeleton carrying the plan's replicas and container resources."""
    deploy = plan.components[component].deploy
    container: dict[str, Any] = {
        "name": (deploy.container if deploy is not None else None) or kebab(component),
        "image": (deploy.image if deploy is not None else None) or PLACEHOLDER_IMAGE,
    }
    resources = container_resources(plan, component)
    if resources:
        container["resources"] = resources
    labels = {"app.kubernetes.io/name": kebab(component)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(plan, kebab(component), component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}},
        },
    }


def period0_instances(plan: Plan) -> dict[str, tuple[int, int]]:
    """Each component's instance count in period 0 of the plan's default scenario, and the
    count it needs there (more when ``max_instances`` holds it back)."""
    projection = run_plan(plan, months=1)
    out = {}
    for name in plan.components:
        column = projection.values.get(f"{name}.instances")
        count = round(float(column[0])) if column is not None else 0
        needed = projection.values.get(f"{name}.instances_needed")
        out[name] = (count, round(float(needed[0])) if needed is not None else count)
    return out


def _step_note(steps: list[str]) -> list[str]:
    if not steps:
        return []
    return [
        f"Step policies {', '.join(steps)} have no Kubernetes equivalent and are not exported;",
        "they run as a scaling loop of your own (a script or controller).",
    ]


@EXPORTERS.register("kubernetes")
def kubernetes_manifests(plan: Plan) -> dict[str, str]:
    """HPA, VPA and Deployment-resources manifests for every component with a policy."""
    by_component: dict[str, dict[str, Any]] = {}
    for name, policy in plan.policies.items():
        by_component.setdefault(policy.component, {}).setdefault(policy.kind, []).append(
            (name, policy)
        )
    if not by_component:
        return {}
    replicas = period0_instances(plan)
    files: dict[str, str] = {}
    for component in sorted(by_component):
        kinds = by_component[component]
        base = kebab(component)
        steps = [name for name, p in kinds.get("step", []) if isinstance(p, StepPolicy)]
        hpas = [(n, p) for n, p in kinds.get("hpa", []) if isinstance(p, HpaPolicy)]
        vpas = [(n, p) for n, p in kinds.get("vpa", []) if isinstance(p, VpaPolicy)]
        if hpas:
            docs = [hpa_manifest(plan, n, p, len(hpas) == 1) for n, p in hpas]
            notes = [f"From policies: {', '.join(n for n, _ in hpas)}.", *_step_note(steps)]
            files[f"{base}.hpa.yaml"] = header(plan, "HorizontalPodAutoscaler", notes) + dump_yaml(
                *docs
            )
        if vpas:
            docs = [vpa_manifest(plan, n, p, len(vpas) == 1) for n, p in vpas]
            notes = [
                f"From policies: {', '.join(n for n, _ in vpas)}.",
                "Needs the VerticalPodAutoscaler CRDs and controllers installed.",
            ]
            files[f"{base}.vpa.yaml"] = header(plan, "VerticalPodAutoscaler", notes) + dump_yaml(
                *docs
            )
        deploy = plan.components[component].deploy
        count, needed = replicas.get(component, (1, 1))
        notes = [f"replicas: the plan's period-0 instance count for {component}."]
        if needed > count:
            notes.append(
                f"The plan needs {needed} but {component}'s max_instances is {count}: it runs "
                "over capacity; raise the limit or plan for less demand."
            )
        for name, hpa in hpas:
            if not hpa.min_replicas <= needed <= hpa.max_replicas:
                bound = hpa.max_replicas if needed > hpa.max_replicas else hpa.min_replicas
                notes.append(
                    f"The plan needs {needed} but {name} allows {hpa.min_replicas}-"
                    f"{hpa.max_replicas}: the HPA will hold {bound}; review its bounds."
                )
        if deploy is None or deploy.image is None:
            notes.append(
                f"image: {PLACEHOLDER_IMAGE} is a placeholder; set deploy.image in the plan."
            )
        notes += _step_note(steps) if not hpas else []
        files[f"{base}.resources.yaml"] = header(plan, "Deployment resources", notes) + dump_yaml(
            deployment_manifest(plan, component, count)
        )
    return files
