"""Kubernetes manifests from a plan's autoscaling policies (``kubernetes`` exporter).

One set of files per workload (a component, or a part of a tiers component, named by its
``deploy`` block) that an HPA, a queue or a VPA policy targets:

- ``<name>.hpa.yaml``: an ``autoscaling/v2`` HorizontalPodAutoscaler with every metric of the
  policy (resource utilization, pods and external metrics);
- ``<name>.scaledobject.yaml``: a KEDA ``ScaledObject`` (``keda.sh/v1alpha1``) for a queue
  policy, with a prometheus trigger on the metric's ``query`` (``sum(<metric>)`` without one);
- ``<name>.pdb.yaml``: a ``policy/v1`` PodDisruptionBudget (one pod unavailable at a time)
  for a workload an HPA or a ScaledObject scales;
- ``<name>.vpa.yaml``: an ``autoscaling.k8s.io/v1`` VerticalPodAutoscaler. With an HPA on a
  resource the VPA controls too (they fight over the requests), its update mode is written as
  ``Off`` (recommendations only), with a warning and a comment;
- ``<name>.deployment.yaml`` (or ``.statefulset.yaml``): the workload with its image, pod
  labels, requests and limits. An autoscaled one has no ``spec.replicas`` (every apply would
  reset what the autoscaler chose); another one has the plan's replicas at the period.

With ``patch``, the workload is instead a strategic-merge patch of the team's own
(``<name>.patch.yaml``: requests, limits, and ``replicas: null`` to remove them from an
autoscaled one), and ``kustomization.yaml`` is a kustomize Component listing every file.

The export is read at one period of one scenario (``at``; period 0 by default): a policy's
bounds are checked against the replicas the plan needs then (a warning when it needs more
than ``maxReplicas``), and the first period of the horizon that needs more is noted. Step
policies have no Kubernetes equivalent: they are named, not exported. Two HPA or queue
policies on one workload are refused (Kubernetes runs one autoscaler per workload: choose
with ``policies``); a workload without an image is refused unless ``placeholder_image`` (or
``patch``) is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from capplan.engine.planner import run_plan
from capplan.engine.projection import Projection
from capplan.errors import Issue, PlanValidationError, UsageError
from capplan.export.base import EXPORTERS, dump_yaml, header
from capplan.export.k8s_objects import (
    hpa_object,
    kustomize_component,
    pdb_object,
    scaled_object,
    vpa_object,
    workload_object,
    workload_patch,
)
from capplan.plan.base import suggest
from capplan.plan.models import HorizontalComponent, Plan
from capplan.plan.policies import HpaPolicy, QueuePolicy, StepPolicy, VpaPolicy
from capplan.plan.workloads import Workload, workload
from capplan.units import parse_start_date

__all__ = ["KubernetesExport", "KubernetesOptions", "kubernetes_export", "kubernetes_manifests"]


@dataclass(frozen=True)
class KubernetesOptions:
    """How to export: the scenario and period (``2027-03``) the replicas are read at, an
    image for workloads whose plan gives none, patches instead of workloads, and the
    policies to export (default: all)."""

    scenario: str | None = None
    at: str | None = None
    placeholder_image: str | None = None
    patch: bool = False
    policies: tuple[str, ...] = ()


@dataclass
class KubernetesExport:
    """The files, the warnings to print (also written as comments in the files), and notes
    on what was not exported."""

    files: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Group:
    """The policies of one workload."""

    steps: list[str] = field(default_factory=list)
    scalers: list[tuple[str, HpaPolicy | QueuePolicy]] = field(default_factory=list)
    vpas: list[tuple[str, VpaPolicy]] = field(default_factory=list)


@dataclass
class _Reading:
    """The plan read at the export's period."""

    projection: Projection
    period: int

    @property
    def label(self) -> str:
        return self.projection.timeline.label(self.period)

    def column(self, target: str, figure: str = "instances") -> list[int] | None:
        values = self.projection.values.get(f"{target}.{figure}")
        return None if values is None else [round(float(v)) for v in values]

    def needed(self, target: str) -> list[int] | None:
        return self.column(target, "instances_needed") or self.column(target)


def _groups(plan: Plan, names: tuple[str, ...]) -> dict[str, _Group]:
    unknown = [n for n in names if n not in plan.policies]
    if unknown:
        first = unknown[0]
        raise UsageError(
            f"unknown policy '{first}'{suggest(first, list(plan.policies))}; available: "
            f"{', '.join(plan.policies) or 'none'}"
        )
    groups: dict[str, _Group] = {}
    for name, policy in plan.policies.items():
        if names and name not in names:
            continue
        group = groups.setdefault(policy.component, _Group())
        if isinstance(policy, StepPolicy):
            group.steps.append(name)
        elif isinstance(policy, VpaPolicy):
            group.vpas.append((name, policy))
        else:
            group.scalers.append((name, policy))
    return groups


def _reading(plan: Plan, options: KubernetesOptions) -> _Reading:
    projection = run_plan(plan, scenario=options.scenario)
    timeline = projection.timeline
    period = 0
    if options.at is not None:
        try:
            day = parse_start_date(options.at)
        except ValueError as exc:
            raise UsageError(f"--at: {exc}") from None
        period = math.floor(timeline.period_of(day) + 1e-9)
        if not 0 <= period <= timeline.periods:
            raise UsageError(
                f"--at {options.at} is outside the plan's periods, {timeline.label(0)} to "
                f"{timeline.label(timeline.periods)}"
            )
    return _Reading(projection, period)


def _one(kind: str, target: str, named: list[str]) -> None:
    if len(named) > 1:
        raise UsageError(
            f"{target} has {len(named)} {kind} policies ({', '.join(named)}); Kubernetes runs "
            "one per workload: choose the one to export with --policy"
        )


def _bounds_notes(
    name: str, policy: HpaPolicy | QueuePolicy, wl: Workload, reading: _Reading
) -> tuple[list[str], list[str]]:
    """(warnings, notes) on the policy's bounds against the replicas the plan needs."""
    needed = reading.needed(wl.target)
    if needed is None:
        return [], []
    now = needed[reading.period]
    where = f"in {reading.label} (scenario {reading.projection.scenario})"
    warnings, notes = [], []
    if now > policy.max_replicas:
        warnings.append(
            f"{name}: the plan needs {now} replicas of {wl.name} {where}, but maxReplicas is "
            f"{policy.max_replicas}: the autoscaler will hold {policy.max_replicas}; raise "
            "max_replicas"
        )
    elif now < policy.min_replicas:
        notes.append(
            f"The plan needs {now} replicas of {wl.name} {where}; minReplicas keeps "
            f"{policy.min_replicas}."
        )
    later = next(
        (t for t in range(len(needed)) if needed[t] > policy.max_replicas and t > reading.period),
        None,
    )
    if later is not None and now <= policy.max_replicas:
        notes.append(
            f"The plan needs {needed[later]} replicas of {wl.name} in "
            f"{reading.projection.timeline.label(later)}, more than maxReplicas "
            f"({policy.max_replicas}): raise it before then."
        )
    return warnings, notes


def _request_warnings(name: str, policy: HpaPolicy, wl: Workload) -> list[str]:
    out = []
    for metric in policy.hpa_metrics():
        if metric.type == "resource" and metric.key not in wl.requests:
            out.append(
                f"{name} scales {wl.name} on {metric.key} utilization, but its container has "
                f"no {metric.key} request (give {wl.deploy_path}.requests.{metric.key}): the "
                "HPA cannot compute it"
            )
    return out


def _vpa_mode(
    vpa: tuple[str, VpaPolicy], scaler: tuple[str, HpaPolicy | QueuePolicy] | None
) -> tuple[str, list[str]]:
    """The VPA's update mode, Off when it would fight the HPA over a resource."""
    name, policy = vpa
    if scaler is None or not isinstance(scaler[1], HpaPolicy) or policy.mode == "Off":
        return policy.mode, []
    shared = sorted(
        {m.key for m in scaler[1].hpa_metrics() if m.type == "resource"}
        & set(policy.controlled_resources)
    )
    if not shared or policy.mode == "Initial":
        return policy.mode, []
    return "Off", [
        f"{name} (updateMode {policy.mode}) and {scaler[0]} both act on {' and '.join(shared)} "
        f"of {policy.component}: the VPA would change the requests the HPA's utilization is "
        "measured against, and they fight. The VPA is written with updateMode Off "
        "(recommendations only); to keep it acting, give it controlled_resources the HPA "
        "does not scale on"
    ]


def _queue_query(plan: Plan, policy: QueuePolicy) -> str:
    metric = plan.metrics.get(policy.metric)
    if metric is not None and metric.query:
        return " ".join(str(metric.query).split())
    return f"sum({policy.metric})"


def _missing_images(plan: Plan, missing: list[Workload]) -> PlanValidationError:
    issues = []
    for wl in missing:
        path = f"{wl.deploy_path}.image"
        issues.append(
            Issue(
                f"{wl.target} has no image: the kubernetes export writes its {wl.kind} "
                f"({wl.name}) and needs one; set {path}, or pass --placeholder-image IMAGE, "
                "or --patch to patch a workload of your own",
                path=path,
                file=plan.source,
                line=plan.line_of(path),
            )
        )
    return PlanValidationError(issues)


def _replicas_now(plan: Plan, wl: Workload, reading: _Reading) -> tuple[int, list[str]]:
    count = (reading.column(wl.target) or [1])[reading.period]
    needed = (reading.needed(wl.target) or [count])[reading.period]
    notes = [f"replicas: the plan's instance count for {wl.target} in {reading.label}."]
    comp = plan.components[wl.component]
    if needed > count and isinstance(comp, HorizontalComponent):
        notes.append(
            f"The plan needs {needed} but {wl.component}'s max_instances is {count}: it runs "
            "over capacity; raise the limit or plan for less demand."
        )
    return count, notes


def _doc(plan: Plan, what: str, notes: list[str], *docs: dict[str, Any]) -> str:
    return header(plan, what, notes) + dump_yaml(*docs)


def kubernetes_export(plan: Plan, options: KubernetesOptions | None = None) -> KubernetesExport:
    """The manifests of every workload with an HPA, queue or VPA policy; see the module
    docstring."""
    options = options or KubernetesOptions()
    groups = _groups(plan, options.policies)
    out = KubernetesExport({})
    for target, group in groups.items():
        if group.steps and not group.scalers and not group.vpas:
            out.notes.append(
                f"Step policies {', '.join(group.steps)} ({target}) have no Kubernetes "
                "equivalent and are not exported; they run as a scaling loop of your own."
            )
        _one("autoscaler (hpa or queue)", target, [n for n, _ in group.scalers])
        _one("vpa", target, [n for n, _ in group.vpas])
    active = {t: g for t, g in groups.items() if g.scalers or g.vpas}
    if not active:
        return out
    workloads = {t: workload(plan, t) for t in active}
    missing = [
        wl
        for wl in workloads.values()
        if not wl.image and not options.patch and options.placeholder_image is None
    ]
    if missing:
        raise _missing_images(plan, missing)
    reading = _reading(plan, options)
    resources: list[str] = []
    patches: list[str] = []
    for target in sorted(active, key=lambda t: workloads[t].name):
        group, wl = active[target], workloads[target]
        files = _workload_files(plan, group, wl, reading, options, out)
        for name, text in files.items():
            out.files[name] = text
            (patches if name.endswith(".patch.yaml") else resources).append(name)
    if options.patch:
        component = kustomize_component(resources, patches)
        notes = [
            "A kustomize Component: list this folder under 'components:' in the overlay",
            "that holds the workloads it patches.",
        ]
        out.files["kustomization.yaml"] = _doc(plan, "Kustomize component", notes, component)
    return out


def _workload_files(
    plan: Plan,
    group: _Group,
    wl: Workload,
    reading: _Reading,
    options: KubernetesOptions,
    out: KubernetesExport,
) -> dict[str, str]:
    files: dict[str, str] = {}
    scaler = group.scalers[0] if group.scalers else None
    step_note = (
        [
            f"Step policies {', '.join(group.steps)} have no Kubernetes equivalent and are",
            "not exported; they run as a scaling loop of your own (a script or controller).",
        ]
        if group.steps
        else []
    )
    workload_notes: list[str] = []
    if scaler is not None:
        name, policy = scaler
        warnings, notes = _bounds_notes(name, policy, wl, reading)
        if isinstance(policy, HpaPolicy):
            warnings += _request_warnings(name, policy, wl)
            doc, what, suffix = hpa_object(wl, policy), "HorizontalPodAutoscaler", "hpa"
            if policy.min_replicas < 1:
                notes.append(
                    "minReplicas is 1: an HPA does not scale to zero (a queue policy does)."
                )
        else:
            doc = scaled_object(wl, policy, _queue_query(plan, policy))
            what, suffix = "KEDA ScaledObject", "scaledobject"
            notes.append("Needs KEDA installed; it creates and drives the HPA of this workload.")
        out.warnings += warnings
        out.notes += [n for n in notes if n.startswith("The plan needs")]
        files[f"{wl.name}.{suffix}.yaml"] = _doc(
            plan, what, [f"From policy {name}.", *warnings, *notes, *step_note], doc
        )
        pdb_notes = [f"{wl.name} is autoscaled by {name}: drains evict one pod at a time."]
        files[f"{wl.name}.pdb.yaml"] = _doc(plan, "PodDisruptionBudget", pdb_notes, pdb_object(wl))
        workload_notes.append(
            f"replicas: null removes them: {name} sets them; an apply must not reset what it chose."
            if options.patch
            else f"No replicas: {name} sets them; an apply must not reset what it chose."
        )
    if group.vpas:
        vname, vpa = group.vpas[0]
        mode, conflict = _vpa_mode(group.vpas[0], scaler)
        out.warnings += conflict
        notes = [f"From policy {vname}.", *conflict, "Needs the VerticalPodAutoscaler installed."]
        files[f"{wl.name}.vpa.yaml"] = _doc(
            plan, "VerticalPodAutoscaler", notes, vpa_object(wl, vpa, mode)
        )
    replicas: int | None = None
    if scaler is None:
        replicas, count_notes = _replicas_now(plan, wl, reading)
        workload_notes += count_notes
    elif scaler is not None and reading.column(wl.target) is not None:
        workload_notes += _replicas_now(plan, wl, reading)[1][1:]
    if options.patch:
        what = f"{wl.kind} patch (strategic merge)"
        doc = workload_patch(wl, replicas, scaler is not None)
        text = _doc(plan, what, workload_notes, doc)
        files[f"{wl.name}.patch.yaml"] = text.replace("  replicas:\n", "  replicas: null\n")
        return files
    image = wl.image
    if not image:
        assert options.placeholder_image is not None
        image = options.placeholder_image
        workload_notes.append(
            f"image: {image} is a placeholder (--placeholder-image); set {wl.deploy_path}.image."
        )
    if not wl.requests:
        workload_notes.append(
            f"No requests or limits in the plan: give {wl.deploy_path}.requests and .limits."
        )
    files[f"{wl.name}.{wl.kind.lower()}.yaml"] = _doc(
        plan, wl.kind, workload_notes, workload_object(wl, image, replicas)
    )
    return files


@EXPORTERS.register("kubernetes")
def kubernetes_manifests(plan: Plan) -> dict[str, str]:
    """HPA, KEDA ScaledObject, VPA, PodDisruptionBudget and workload manifests for every
    workload with a policy (period 0 of the default scenario)."""
    return kubernetes_export(plan).files
