"""The generated Kubernetes manifests validate against the Kubernetes OpenAPI schema.

Core kinds (HorizontalPodAutoscaler autoscaling/v2, Deployment apps/v1) are checked, strictly
(no unknown fields), with ``kubernetes-validate``, which bundles the JSON schemas of every
Kubernetes release (offline). The VerticalPodAutoscaler is a CRD, not in that schema: it is
checked against ``vpa-v1.schema.json`` here, written from the fields of the VPA CRD's
``autoscaling.k8s.io/v1`` openAPIV3Schema (kubernetes/autoscaler, vertical-pod-autoscaler).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import capplan
from capplan.export import EXPORTERS
from capplan.plan.policies import cpu_cores, memory_bytes

try:
    import jsonschema
    import kubernetes_validate
except ImportError as exc:  # a failure, not a skip: the schema check is a requirement
    raise ImportError(
        "tests/export/test_kubernetes.py needs kubernetes-validate (dev extra): "
        "pip install kubernetes-validate"
    ) from exc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
VPA_SCHEMA = json.loads((Path(__file__).parent / "vpa-v1.schema.json").read_text("utf-8"))
K8S_VERSION = kubernetes_validate.latest_version()


def manifests(example: str) -> list[tuple[str, dict[str, Any]]]:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    out = []
    for name, text in EXPORTERS.get("kubernetes")(plan).items():
        out += [(name, doc) for doc in YAML(typ="safe").load_all(text)]
    return out


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] == "VerticalPodAutoscaler":
        jsonschema.validate(doc, VPA_SCHEMA)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("example", EXAMPLES)
def test_manifests_validate(example: str) -> None:
    for _name, doc in manifests(example):
        validate(doc)


def test_apm_manifests_carry_the_plan() -> None:
    docs = {doc["kind"]: doc for _, doc in manifests("apm")}
    assert set(docs) == {"HorizontalPodAutoscaler", "VerticalPodAutoscaler", "Deployment"}
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "apm-service",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    assert hpa["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    }
    assert docs["HorizontalPodAutoscaler"]["metadata"]["namespace"] == "apm"
    vpa = docs["VerticalPodAutoscaler"]["spec"]
    assert vpa["updatePolicy"] == {"updateMode": "Auto"}
    policy = vpa["resourcePolicy"]["containerPolicies"][0]
    assert policy["containerName"] == "apm-service"
    assert policy["minAllowed"] == {"cpu": "100m", "memory": "128Mi"}
    assert policy["maxAllowed"] == {"cpu": "2", "memory": "4Gi"}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    instances = capplan.run_plan(plan, months=1).values["apm_service.instances"][0]
    assert docs["Deployment"]["spec"]["replicas"] == round(float(instances))


def test_resources_default_to_the_instance_shape() -> None:
    plan = capplan.load_plan(
        ROOT / "examples" / "apm.yaml",
        overrides={
            "components.apm_service.deploy.requests": None,
            "components.apm_service.deploy.limits": None,
            "components.apm_service.instance.vcpu": 0.5,
            "components.apm_service.instance.memory_gb": 1.5,
        },
    )
    text = EXPORTERS.get("kubernetes")(plan)["apm-service.resources.yaml"]
    doc = YAML(typ="safe").load(text)
    resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"] == resources["requests"] == {"cpu": "500m", "memory": "1536Mi"}
    assert cpu_cores(resources["limits"]["cpu"]) == 0.5
    assert memory_bytes(resources["limits"]["memory"]) == 1.5 * 2**30
    validate(doc)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("HorizontalPodAutoscaler", ("spec", "maxReplicas"), "ten"),
        ("HorizontalPodAutoscaler", ("spec", "metrics", 0, "resource", "target", "typo"), 1),
        ("Deployment", ("spec", "replicas"), "eleven"),
        ("VerticalPodAutoscaler", ("spec", "updatePolicy", "updateMode"), "Sometimes"),
        (
            "VerticalPodAutoscaler",
            ("spec", "resourcePolicy", "containerPolicies", 0, "maxAllowed", "cpu"),
            "two",
        ),
    ],
)
def test_validation_catches_bad_manifests(kind: str, path: tuple[Any, ...], value: Any) -> None:
    doc = next(d for _, d in manifests("apm") if d["kind"] == kind)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises((kubernetes_validate.ValidationError, jsonschema.ValidationError)):
        validate(doc)
