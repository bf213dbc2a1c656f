"""The generated Kubernetes manifests validate against the schemas of the tools that read them,
carry the plan's autoscaling, and never fight their autoscalers.

Core kinds (HorizontalPodAutoscaler autoscaling/v2, PodDisruptionBudget policy/v1, Deployment
and StatefulSet apps/v1) are checked, strictly (no unknown fields), with
``kubernetes-validate``, which bundles the JSON schemas of every Kubernetes release (offline).
The VerticalPodAutoscaler is a CRD, not in that schema: it is checked against
``vpa-v1.schema.json`` here, written from the fields of the VPA CRD's ``autoscaling.k8s.io/v1``
openAPIV3Schema (kubernetes/autoscaler, vertical-pod-autoscaler). The KEDA ScaledObject is
checked against ``keda-scaledobject-v1alpha1.schema.json``, the openAPIV3Schema of KEDA's CRD
(kedacore/keda, config/crd/bases/keda.sh_scaledobjects.yaml) unchanged, made strict the way the
API server's strict field validation is: an object with properties takes no other field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError, UsageError
from capplan.export import EXPORTERS
from capplan.export.kubernetes import KubernetesOptions, kubernetes_export
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
HERE = Path(__file__).parent
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
VPA_SCHEMA = json.loads((HERE / "vpa-v1.schema.json").read_text("utf-8"))
K8S_VERSION = kubernetes_validate.latest_version()
runner = CliRunner()


def strict(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` wherever properties are listed and no
    other rule for extra fields is given (kubectl's --validate=strict)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


KEDA_SCHEMA = strict(json.loads((HERE / "keda-scaledobject-v1alpha1.schema.json").read_text()))


def load(example: str, overrides: dict[str, Any] | None = None) -> capplan.Plan:
    return capplan.load_plan(ROOT / "examples" / f"{example}.yaml", overrides=overrides)


def parse(files: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, text in files.items():
        out += [(name, doc) for doc in YAML(typ="safe").load_all(text)]
    return out


def manifests(example: str, **options: Any) -> list[tuple[str, dict[str, Any]]]:
    return parse(kubernetes_export(load(example), KubernetesOptions(**options)).files)


def by_kind(docs: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for _, d in docs}


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] == "VerticalPodAutoscaler":
        jsonschema.validate(doc, VPA_SCHEMA)
    elif doc["kind"] == "ScaledObject":
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        jsonschema.validate(doc, KEDA_SCHEMA)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("example", EXAMPLES)
def test_manifests_validate(example: str) -> None:
    for _name, doc in manifests(example):
        validate(doc)


@pytest.mark.parametrize("example", EXAMPLES)
def test_no_workload_carries_replicas_beside_its_autoscaler(example: str) -> None:
    docs = [d for _, d in manifests(example)]
    scaled = {
        (d["spec"]["scaleTargetRef"]["kind"], d["spec"]["scaleTargetRef"]["name"])
        for d in docs
        if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    workloads = {
        (d["kind"], d["metadata"]["name"]): d for d in docs if d["apiVersion"] == "apps/v1"
    }
    assert scaled <= set(workloads)  # every autoscaler's target is written
    for key in scaled:
        assert "replicas" not in workloads[key]["spec"], key
    pdbs = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == {name for _, name in scaled}  # one PodDisruptionBudget per autoscaled one


def test_apm_hpa_scales_on_cpu_and_memory_and_the_vpa_only_recommends() -> None:
    result = kubernetes_export(load("apm"))
    docs = by_kind(parse(result.files))
    hpa = docs["HorizontalPodAutoscaler", "apm-service"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "apm-service",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert [(m["resource"]["name"], m["resource"]["target"]) for m in hpa["metrics"]] == [
        ("cpu", {"type": "Utilization", "averageUtilization": 70}),
        ("memory", {"type": "Utilization", "averageUtilization": 80}),
    ]
    assert hpa["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    }
    # The runbook's VPA is in Auto on CPU and memory, which the HPA scales on: downgraded.
    vpa = docs["VerticalPodAutoscaler", "apm-service"]["spec"]
    assert vpa["updatePolicy"] == {"updateMode": "Off"}
    assert "updateMode: 'Off'" in result.files["apm-service.vpa.yaml"]  # not YAML 1.1's false
    assert "they fight" in result.files["apm-service.vpa.yaml"]
    assert any("apm_service_vpa (updateMode Auto)" in w for w in result.warnings)
    policy = vpa["resourcePolicy"]["containerPolicies"][0]
    assert policy["containerName"] == "apm-service"
    assert policy["minAllowed"] == {"cpu": "100m", "memory": "128Mi"}
    assert policy["maxAllowed"] == {"cpu": "2", "memory": "4Gi"}
    deployment = docs["Deployment", "apm-service"]
    assert deployment["metadata"]["namespace"] == "apm"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/apm/apm-service:1.0.0"
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    # The plan needs 11 pods in its first month; the runbook's HPA allows 10.
    assert any("needs 11 replicas of apm-service in 2026-01" in w for w in result.warnings)


def test_apm_read_replicas_scale_a_statefulset_on_an_external_metric() -> None:
    docs = by_kind(manifests("apm"))
    hpa = docs["HorizontalPodAutoscaler", "postgres-replica"]["spec"]
    assert hpa["scaleTargetRef"]["kind"] == "StatefulSet"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    assert hpa["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {"name": "db_pool_utilization"},
                "target": {"type": "Value", "value": "70"},
            },
        }
    ]
    assert hpa["behavior"]["scaleDown"] == {"selectPolicy": "Disabled"}
    pdb = docs["PodDisruptionBudget", "postgres-replica"]["spec"]
    assert pdb["selector"] == {"matchLabels": {"app": "postgres-replica"}}


def test_a_vpa_on_what_the_hpa_does_not_scale_keeps_its_mode() -> None:
    plan = load(
        "apm",
        {
            "policies.apm_service_hpa.metrics": [{"resource": "cpu", "target": 70}],
            "policies.apm_service_vpa.controlled_resources": ["memory"],
        },
    )
    result = kubernetes_export(plan)
    vpa = by_kind(parse(result.files))["VerticalPodAutoscaler", "apm-service"]["spec"]
    assert vpa["updatePolicy"] == {"updateMode": "Auto"}
    assert vpa["resourcePolicy"]["containerPolicies"][0]["controlledResources"] == ["memory"]
    assert not [w for w in result.warnings if "fight" in w]


def test_the_bot_backend_hpa_and_celery_scaled_object_from_the_cli() -> None:
    result = runner.invoke(app, ["export", "kubernetes", str(ROOT / "examples" / "the_bot.yaml")])
    assert result.exit_code == 0, result.output
    text = result.stdout
    docs = [d for d in YAML(typ="safe").load_all(text.replace("# file: ", "---\n# ")) if d]
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    hpa = objects["HorizontalPodAutoscaler", "backend"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "backend"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 50)
    assert hpa["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    scaled = objects["ScaledObject", "celery"]
    assert scaled["metadata"]["namespace"] == "the-bot"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "celery",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 40)
    assert (spec["pollingInterval"], spec["cooldownPeriod"]) == (30, 300)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["query"] == "sum(queue_depth)"  # queue_depth has no query
    assert trigger["metadata"]["threshold"] == "25"
    backend = objects["Deployment", "backend"]["spec"]
    assert "replicas" not in backend
    container = backend["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}
    for doc in objects.values():
        validate(doc)


def test_the_scaled_object_uses_the_metrics_query_and_activation() -> None:
    plan = load(
        "the_bot",
        {
            "metrics.queue_depth.query": 'sum(celery_queue_length{queue_name="celery"})',
            "policies.celery_queue.min_replicas": 0,
            "policies.celery_queue.activation": 10,
        },
    )
    docs = by_kind(parse(kubernetes_export(plan).files))
    spec = docs["ScaledObject", "celery"]["spec"]
    assert spec["triggers"][0]["metadata"] == {
        "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
        "query": 'sum(celery_queue_length{queue_name="celery"})',
        "threshold": "25",
        "activationThreshold": "10",
    }
    assert spec["minReplicaCount"] == 0
    validate(docs["ScaledObject", "celery"])


def test_a_workload_without_an_image_is_an_error_naming_it() -> None:
    plan = load("the_bot", {"components.platform.deploy.parts.celery.image": None})
    with pytest.raises(PlanError) as err:
        kubernetes_export(plan)
    message = str(err.value)
    assert "platform.celery has no image" in message
    assert "components.platform.deploy.parts.celery.image" in message
    assert "the_bot.yaml:" in message
    assert "--placeholder-image" in message
    files = kubernetes_export(plan, KubernetesOptions(placeholder_image="busybox:1")).files
    assert "image: busybox:1\n" in files["celery.deployment.yaml"]
    assert "busybox:1 is a placeholder (--placeholder-image)" in files["celery.deployment.yaml"]
    cli = runner.invoke(
        app,
        ["export", "kubernetes", str(ROOT / "examples" / "the_bot.yaml"),
         "--set", "components.platform.deploy.parts.celery.image=null"],
    )  # fmt: skip
    assert cli.exit_code == 2
    assert "platform.celery has no image" in cli.output


def test_patch_mode_needs_no_image_and_removes_replicas() -> None:
    plan = load("the_bot", {"components.platform.deploy.parts.celery.image": None})
    files = kubernetes_export(plan, KubernetesOptions(patch=True)).files
    assert "celery.deployment.yaml" not in files
    patch = YAML(typ="safe").load(files["celery.patch.yaml"])
    assert patch["spec"]["replicas"] is None
    assert "  replicas: null\n" in files["celery.patch.yaml"]
    assert patch["metadata"] == {"name": "celery", "namespace": "the-bot"}
    assert "template" not in patch["spec"]  # celery has no requests: nothing to merge
    backend = YAML(typ="safe").load(files["backend.patch.yaml"])["spec"]["template"]
    assert backend["spec"]["containers"] == [
        {
            "name": "backend",
            "resources": {
                "requests": {"cpu": "1", "memory": "512Mi"},
                "limits": {"cpu": "2", "memory": "1Gi"},
            },
        }
    ]
    component = YAML(typ="safe").load(files["kustomization.yaml"])
    assert component["kind"] == "Component"
    assert component["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
    assert {"path": "backend.patch.yaml"} in component["patches"]
    assert set(component["resources"]) == {
        "backend.hpa.yaml",
        "backend.pdb.yaml",
        "celery.scaledobject.yaml",
        "celery.pdb.yaml",
    }


def test_at_a_period_the_bounds_are_checked_against_the_plans_need() -> None:
    plan = load("the_bot", {"policies.backend_hpa.max_replicas": 20})
    now = kubernetes_export(plan)
    assert not now.warnings  # 6 backends in 2026-01
    assert any("needs 30 replicas of backend in 2026-09" in n for n in now.notes)
    later = kubernetes_export(plan, KubernetesOptions(at="2026-09", scenario="conservative"))
    assert later.warnings == []  # the conservative scenario stays in tier_10k
    later = kubernetes_export(plan, KubernetesOptions(at="2026-09"))
    (warning,) = later.warnings
    assert "needs 30 replicas of backend in 2026-09 (scenario moderate)" in warning
    assert "maxReplicas is 20" in warning
    assert "needs 30 replicas of backend in 2026-09" in later.files["backend.hpa.yaml"]
    with pytest.raises(UsageError, match="outside the plan's periods, 2026-01 to 2028-01"):
        kubernetes_export(plan, KubernetesOptions(at="2030-01"))


def test_a_workload_without_autoscaler_gets_the_plans_replicas_at_the_period() -> None:
    plan = load(
        "the_bot", {"policies.celery_queue": {"kind": "vpa", "component": "platform.celery"}}
    )
    docs = by_kind(parse(kubernetes_export(plan, KubernetesOptions(at="2026-09")).files))
    assert docs["Deployment", "celery"]["spec"]["replicas"] == 40  # tier_100k
    assert ("PodDisruptionBudget", "celery") not in docs


def test_one_autoscaler_per_workload_chosen_with_policy() -> None:
    second = {"kind": "hpa", "component": "platform.backend", "max_replicas": 30}
    plan = load("the_bot", {"policies.backend_hpa_b": second})
    with pytest.raises(UsageError, match=r"backend_hpa, backend_hpa_b.*choose.*--policy"):
        kubernetes_export(plan)
    files = kubernetes_export(plan, KubernetesOptions(policies=("backend_hpa_b",))).files
    assert sorted(files) == ["backend.deployment.yaml", "backend.hpa.yaml", "backend.pdb.yaml"]
    with pytest.raises(UsageError, match=r"unknown policy 'backend'.*did you mean"):
        kubernetes_export(plan, KubernetesOptions(policies=("backend",)))


def test_a_resource_metric_without_a_request_is_a_warning() -> None:
    plan = load("the_bot", {"components.platform.deploy.parts.backend.requests": None})
    (warning,) = kubernetes_export(plan).warnings
    assert "no cpu request" in warning


def test_step_policies_alone_export_nothing_and_say_why() -> None:
    result = runner.invoke(
        app, ["export", "kubernetes", str(ROOT / "examples" / "freeagentics.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "Step policies backend_step (backend) have no Kubernetes equivalent" in result.output
    assert "nothing to export" in result.output


def test_kubernetes_options_are_refused_by_other_exports() -> None:
    args = ["export", "compose", str(ROOT / "examples" / "apm.yaml"), "--patch"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "options of the kubernetes export" in result.output


def test_resources_default_to_the_instance_shape() -> None:
    plan = load(
        "apm",
        {
            "components.apm_service.deploy.requests": None,
            "components.apm_service.deploy.limits": None,
            "components.apm_service.instance.vcpu": 0.5,
            "components.apm_service.instance.memory_gb": 1.5,
        },
    )
    text = EXPORTERS.get("kubernetes")(plan)["apm-service.deployment.yaml"]
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
        ("PodDisruptionBudget", ("spec", "maxUnavailabel"), 1),
        ("VerticalPodAutoscaler", ("spec", "updatePolicy", "updateMode"), "Sometimes"),
        (
            "VerticalPodAutoscaler",
            ("spec", "resourcePolicy", "containerPolicies", 0, "maxAllowed", "cpu"),
            "two",
        ),
        ("ScaledObject", ("spec", "minReplicaCount"), -1),
        ("ScaledObject", ("spec", "pollingIntervall"), 30),
        ("ScaledObject", ("spec", "triggers", 0, "metadata", "threshold"), 25),
    ],
)
def test_validation_catches_bad_manifests(kind: str, path: tuple[Any, ...], value: Any) -> None:
    docs = manifests("apm") + manifests("the_bot")
    doc = next(d for _, d in docs if d["kind"] == kind)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises((kubernetes_validate.ValidationError, jsonschema.ValidationError)):
        validate(doc)
