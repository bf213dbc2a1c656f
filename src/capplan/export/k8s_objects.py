"""The Kubernetes objects of the ``kubernetes`` export, one builder each: HorizontalPodAutoscaler
(autoscaling/v2), KEDA ScaledObject (keda.sh/v1alpha1), VerticalPodAutoscaler
(autoscaling.k8s.io/v1), PodDisruptionBudget (policy/v1), the workload (apps/v1 Deployment or
StatefulSet) and its strategic-merge patch, and a kustomize Component listing them.

Builders take a resolved :class:`~capplan.plan.workloads.Workload` and a policy and return
plain dicts in the key order Kubernetes documents them; they decide nothing (which objects to
write, with which replicas or mode, is :mod:`capplan.export.kubernetes`'s)."""

from __future__ import annotations

import math
from typing import Any

from ruamel.yaml.scalarstring import SingleQuotedScalarString

from capplan.plan.policies import (
    HpaDirection,
    HpaMetric,
    HpaPolicy,
    QueuePolicy,
    VpaPolicy,
)
from capplan.plan.workloads import Workload
from capplan.units import duration_seconds

__all__ = [
    "hpa_object",
    "kustomize_component",
    "pdb_object",
    "quantity",
    "scaled_object",
    "vpa_object",
    "workload_object",
    "workload_patch",
]


def quantity(value: float) -> str:
    """A number as a Kubernetes quantity: 70 → ``70``, 12.5 → ``12500m``."""
    if value == int(value):
        return str(int(value))
    return f"{round(value * 1000)}m"


def _seconds(text: str) -> int:
    return int(duration_seconds(text))


def _metadata(wl: Workload) -> dict[str, Any]:
    return {
        "name": wl.name,
        "namespace": wl.namespace,
        "labels": {
            "app.kubernetes.io/managed-by": "capplan",
            "app.kubernetes.io/name": wl.name,
        },
    }


def _target_ref(wl: Workload) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": wl.kind, "name": wl.name}


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


def _behavior(policy: HpaPolicy | QueuePolicy) -> dict[str, Any] | None:
    """The ``behavior`` block when the plan gives one (else Kubernetes' defaults hold)."""
    if "behavior" not in policy.model_fields_set:
        return None
    return {
        "scaleUp": _direction(policy.behavior.scale_up),
        "scaleDown": _direction(policy.behavior.scale_down),
    }


def _metric(metric: HpaMetric) -> dict[str, Any]:
    if metric.type == "resource":
        assert metric.target is not None
        target = {"type": "Utilization", "averageUtilization": round(metric.target)}
        return {"type": "Resource", "resource": {"name": metric.key, "target": target}}
    identifier: dict[str, Any] = {"name": metric.metric}
    if metric.selector:
        identifier["selector"] = {"matchLabels": dict(sorted(metric.selector.items()))}
    if metric.type == "pods":
        assert metric.average is not None
        target = {"type": "AverageValue", "averageValue": quantity(metric.average)}
        return {"type": "Pods", "pods": {"metric": identifier, "target": target}}
    if metric.total is not None:
        target = {"type": "Value", "value": quantity(metric.total)}
    else:
        assert metric.average is not None
        target = {"type": "AverageValue", "averageValue": quantity(metric.average)}
    return {"type": "External", "external": {"metric": identifier, "target": target}}


def hpa_object(wl: Workload, policy: HpaPolicy) -> dict[str, Any]:
    """A HorizontalPodAutoscaler with every metric of the policy (the controller follows the
    one that wants the most replicas)."""
    spec: dict[str, Any] = {
        "scaleTargetRef": _target_ref(wl),
        "minReplicas": max(policy.min_replicas, 1),
        "maxReplicas": policy.max_replicas,
        "metrics": [_metric(m) for m in policy.hpa_metrics()],
    }
    behavior = _behavior(policy)
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(wl),
        "spec": spec,
    }


def scaled_object(wl: Workload, policy: QueuePolicy, query: str) -> dict[str, Any]:
    """A KEDA ScaledObject with one prometheus trigger on the queue's depth."""
    trigger: dict[str, str] = {
        "serverAddress": policy.server_address,
        "query": query,
        "threshold": quantity(policy.target),
    }
    if policy.activation:
        trigger["activationThreshold"] = quantity(policy.activation)
    spec: dict[str, Any] = {
        "scaleTargetRef": _target_ref(wl),
        "pollingInterval": max(1, math.ceil(duration_seconds(policy.polling_interval))),
        "cooldownPeriod": _seconds(policy.cooldown),
        "minReplicaCount": policy.min_replicas,
        "maxReplicaCount": policy.max_replicas,
    }
    behavior = _behavior(policy)
    if behavior is not None:
        spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": behavior}}
    spec["triggers"] = [{"type": "prometheus", "metadata": trigger}]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _metadata(wl),
        "spec": spec,
    }


def vpa_object(wl: Workload, policy: VpaPolicy, mode: str) -> dict[str, Any]:
    """A VerticalPodAutoscaler in update mode ``mode`` (the policy's, or Off)."""
    container: dict[str, Any] = {
        "containerName": wl.container,
        "controlledResources": list(policy.controlled_resources),
    }
    for key, given in (("minAllowed", policy.min_allowed), ("maxAllowed", policy.max_allowed)):
        if given is not None:
            values = {k: v for k, v in (("cpu", given.cpu), ("memory", given.memory)) if v}
            if values:
                container[key] = values
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": _metadata(wl),
        "spec": {
            "targetRef": _target_ref(wl),
            # quoted: YAML 1.1 readers (Kubernetes' among them) take a bare Off for false
            "updatePolicy": {"updateMode": SingleQuotedScalarString(mode)},
            "resourcePolicy": {"containerPolicies": [container]},
        },
    }


def pdb_object(wl: Workload) -> dict[str, Any]:
    """A PodDisruptionBudget letting one pod at a time be evicted (a drain never takes the
    whole autoscaled workload down, and never blocks at its minimum)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(wl),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(wl.labels)}},
    }


def _resources(wl: Workload) -> dict[str, dict[str, str]]:
    return {k: v for k, v in (("requests", wl.requests), ("limits", wl.limits)) if v}


def workload_object(wl: Workload, image: str, replicas: int | None) -> dict[str, Any]:
    """The Deployment or StatefulSet; ``replicas`` None leaves them to its autoscaler."""
    container: dict[str, Any] = {"name": wl.container, "image": image}
    if resources := _resources(wl):
        container["resources"] = resources
    spec: dict[str, Any] = {}
    if replicas is not None:
        spec["replicas"] = replicas
    if wl.kind == "StatefulSet":
        spec["serviceName"] = wl.name
    spec["selector"] = {"matchLabels": dict(wl.labels)}
    spec["template"] = {
        "metadata": {"labels": dict(wl.labels)},
        "spec": {"containers": [container]},
    }
    return {"apiVersion": "apps/v1", "kind": wl.kind, "metadata": _metadata(wl), "spec": spec}


def workload_patch(wl: Workload, replicas: int | None, autoscaled: bool) -> dict[str, Any]:
    """A strategic-merge patch of the team's own workload: its container's requests and
    limits, and ``replicas``: removed (null) when an autoscaler manages them, else set."""
    spec: dict[str, Any] = {}
    if autoscaled:
        spec["replicas"] = None
    elif replicas is not None:
        spec["replicas"] = replicas
    if resources := _resources(wl):  # (a container with a name only would be added, not merged)
        container = {"name": wl.container, "resources": resources}
        spec["template"] = {"spec": {"containers": [container]}}
    return {
        "apiVersion": "apps/v1",
        "kind": wl.kind,
        "metadata": {"name": wl.name, "namespace": wl.namespace},
        "spec": spec,
    }


def kustomize_component(resources: list[str], patches: list[str]) -> dict[str, Any]:
    """A kustomize Component: include it from the overlay that holds the workloads."""
    out: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
    }
    if resources:
        out["resources"] = resources
    if patches:
        out["patches"] = [{"path": p} for p in patches]
    return out
