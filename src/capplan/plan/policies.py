"""Scaling policies in a plan: step rules, Kubernetes HPAs (one or several metrics), KEDA
queue-depth scalers and VPAs, each on a component or a part of a tiers component.

Defaults are Kubernetes' own: HPA tolerance 0.1, 15 s sync, scale-up policies max(4 pods,
100%) per 15 s with no stabilization, scale-down 100% per 15 s after a 300 s stabilization.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from capplan.plan.base import Strict
from capplan.plan.deploy import (
    CPU_QUANTITY,
    MEMORY_QUANTITY,
    Deploy,
    PartDeploy,
    Resources,
    cpu_cores,
    memory_bytes,
)
from capplan.plan.fields import Duration

__all__ = [
    "CPU_QUANTITY",
    "MEMORY_QUANTITY",
    "Deploy",
    "HpaBehavior",
    "HpaDirection",
    "HpaMetric",
    "HpaPolicy",
    "HpaRule",
    "PartDeploy",
    "Policy",
    "QueuePolicy",
    "ReplicaPolicy",
    "Resources",
    "StepCondition",
    "StepPolicy",
    "StepRule",
    "VpaPolicy",
    "cpu_cores",
    "memory_bytes",
    "split_target",
]


class StepCondition(Strict):
    """Another metric that must also be low before a step policy scales down: below
    ``threshold`` for ``for`` (the runbooks' "CPU < 30%, memory < 50% and network < 20% for
    30 minutes")."""

    metric: str = Field(description="The metric; simulate reads the trace of that name.")
    threshold: float = Field(allow_inf_nan=False, description="The level it must stay below.")
    for_: Duration = Field("0s", alias="for", description="How long it must stay below it.")


class StepRule(Strict):
    """One direction of a step policy: when ``metric`` has been past ``threshold`` for
    ``for``, change by ``step`` instances (or ``percent``), then wait ``cooldown``."""

    threshold: float = Field(allow_inf_nan=False, description="Utilization (percent) to pass.")
    for_: Duration = Field(
        "0s", alias="for", description="How long utilization must stay past the threshold."
    )
    step: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Instances added or removed (1 when neither step nor percent)."
    )
    percent: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        None, description="Or a percent of the current instances (at least one)."
    )
    cooldown: Duration = Field(
        "5m", description="Time after any scaling action before this rule acts again."
    )
    also: list[StepCondition] = Field(
        default_factory=list,
        description="scale_down only: other metrics that must all be below their thresholds "
        "(each for its duration) before it acts.",
    )

    @model_validator(mode="after")
    def _one_change(self) -> StepRule:
        if self.step is not None and self.percent is not None:
            raise ValueError("give 'step' (instances) or 'percent', not both")
        return self

    @property
    def change(self) -> tuple[str, float]:
        """('step', n) or ('percent', p); one instance when neither is given."""
        if self.percent is not None:
            return ("percent", self.percent)
        return ("step", float(self.step or 1))


def split_target(name: str) -> tuple[str, str | None]:
    """A policy's ``component`` as (component, part): ``platform.backend`` → (platform,
    backend), ``api`` → (api, None)."""
    component, _, part = name.partition(".")
    return component, part or None


Resource = Literal["cpu", "memory"]
_BOTH: tuple[Resource, ...] = ("cpu", "memory")
_COMPONENT_HELP = (
    "The component it scales, or a part of a tiers component: platform.backend for the "
    "backend allocation of the tiers component platform."
)


class _PolicyBase(Strict):
    component: str = Field(description=_COMPONENT_HELP)
    description: str = ""
    min_replicas: Annotated[int, Field(ge=0)] = Field(1, description="Never fewer replicas.")
    max_replicas: Annotated[int, Field(ge=1)] = Field(10, description="Never more replicas.")
    startup: Duration = Field("60s", description="Time from scale-up decision to serving.")

    @model_validator(mode="after")
    def _bounds(self) -> Any:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed max_replicas "
                f"({self.max_replicas})"
            )
        return self


class StepPolicy(_PolicyBase):
    """Threshold rules with durations and cooldowns (the runbooks' scale-up / scale-down)."""

    kind: Literal["step"]
    metric: str = Field(description="Utilization metric (percent) the rules watch.")
    scale_up: StepRule = Field(description="When and by how much to add instances.")
    scale_down: StepRule | None = Field(
        None, description="When and by how much to remove them (below the threshold)."
    )
    evaluation_interval: Duration = Field("15s", description="How often the rules are checked.")

    @model_validator(mode="after")
    def _also_on_scale_down(self) -> StepPolicy:
        if self.scale_up.also:
            raise ValueError(
                "scale_up.also is not read: conditions on other metrics gate scale_down only"
            )
        return self

    @model_validator(mode="after")
    def _ordered(self) -> StepPolicy:
        if self.scale_down is not None and self.scale_down.threshold >= self.scale_up.threshold:
            raise ValueError(
                f"scale_down.threshold ({self.scale_down.threshold}) must be below "
                f"scale_up.threshold ({self.scale_up.threshold})"
            )
        return self


class HpaRule(Strict):
    """One HPA behavior policy: at most ``value`` pods or percent per ``period``."""

    type: Literal["Pods", "Percent"] = Field(description="Pods, or Percent of the replicas.")
    value: Annotated[int, Field(ge=1)] = Field(description="How many pods, or what percent.")
    period: Duration = Field("15s", description="The window the limit holds over.")


class HpaDirection(Strict):
    """HPA behavior for one direction."""

    stabilization_window: Duration | None = Field(
        None, description="Recommendations considered (default: 0s up, 300s down)."
    )
    select: Literal["Max", "Min", "Disabled"] = Field(
        "Max", description="Policy that wins (Max, Min), or no scaling (Disabled)."
    )
    policies: list[HpaRule] | None = Field(
        None,
        description="Rate limits (default: max(4 pods, 100%) per 15s up, 100% per 15s down).",
    )


class HpaBehavior(Strict):
    """HPA ``behavior``: how fast replicas may change, each direction on its own."""

    scale_up: HpaDirection = Field(default_factory=HpaDirection, description="Adding pods.")
    scale_down: HpaDirection = Field(default_factory=HpaDirection, description="Removing pods.")


class HpaMetric(Strict):
    """One metric of an HPA. The controller computes the replicas each metric wants and takes
    the largest: ``ceil(ready × value / target)`` for a resource or pods metric (the value is
    the ready pods' average), ``ceil(value / average)`` for an external average target,
    ``ceil(ready × value / total)`` for an external total; each one is the current count
    while ``|value / target - 1|`` is within the tolerance."""

    type: Literal["resource", "pods", "external"] = Field(
        "resource",
        description="resource: CPU or memory utilization of the pods' requests; pods: a "
        "per-pod custom metric; external: a metric of something else (a queue, a database).",
    )
    resource: Literal["cpu", "memory"] | None = Field(
        None, description="The resource of a resource metric (default cpu)."
    )
    target: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        None, description="Target utilization of a resource metric, percent of the requests."
    )
    metric: str | None = Field(
        None,
        description="The plan metric: the custom or external metric's name (required for "
        "pods and external), the utilization whose critical level a resource metric is "
        "simulated against.",
    )
    average: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="Target value per pod (pods: required; external: AverageValue)."
    )
    total: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="Target value of an external metric as a whole (Value)."
    )
    selector: dict[str, str] = Field(
        default_factory=dict, description="Labels selecting the external metric's series."
    )

    @model_validator(mode="after")
    def _fields_of_type(self) -> HpaMetric:
        given = {name for name in ("resource", "target", "average", "total") if getattr(self, name)}
        if self.type == "resource":
            allowed, needed = {"resource", "target"}, "target"
        elif self.type == "pods":
            allowed, needed = {"average"}, "average"
        else:
            allowed, needed = {"average", "total"}, ""
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(
                f"a {self.type} metric takes {' and '.join(sorted(allowed))}, not "
                f"{', '.join(extra)}"
            )
        if needed and needed not in given:
            raise ValueError(f"a {self.type} metric needs '{needed}'")
        if self.type == "external" and (self.average is None) == (self.total is None):
            raise ValueError("an external metric needs 'average' (per pod) or 'total', not both")
        if self.type != "resource" and not self.metric:
            raise ValueError(f"a {self.type} metric needs 'metric', the plan metric it reads")
        if self.selector and self.type != "external":
            raise ValueError("'selector' selects an external metric's series")
        return self

    @property
    def key(self) -> str:
        """What it reads in a simulation trace: the resource (cpu, memory), else the metric."""
        if self.type == "resource":
            return self.resource or "cpu"
        assert self.metric is not None
        return self.metric


class HpaPolicy(_PolicyBase):
    """A Kubernetes HorizontalPodAutoscaler: ``desired = ceil(current × metric / target)``,
    the largest over its metrics."""

    kind: Literal["hpa"]
    metric: str = Field(
        "cpu_utilization", description="Utilization metric (percent) of the single-metric form."
    )
    resource: Literal["cpu", "memory"] = Field(
        "cpu", description="Resource of the single-metric form."
    )
    target: Annotated[float, Field(gt=0, le=1000)] = Field(80, description="Target utilization %.")
    metrics: Annotated[list[HpaMetric], Field(min_length=1)] | None = Field(
        None,
        description="Several metrics (instead of metric, resource and target): the "
        "controller follows the one that wants the most replicas.",
    )
    tolerance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.1, description="No change while |metric / target - 1| is within it."
    )
    sync_period: Duration = Field("15s", description="How often the controller decides.")
    behavior: HpaBehavior = Field(
        default_factory=HpaBehavior, description="Stabilization windows and rate limits."
    )

    @model_validator(mode="after")
    def _one_form(self) -> HpaPolicy:
        if self.metrics is None:
            return self
        single = sorted({"metric", "resource", "target"} & self.model_fields_set)
        if single:
            raise ValueError(
                f"give 'metrics' or the single-metric {', '.join(single)}, not both; move "
                f"{', '.join(single)} into an entry of 'metrics'"
            )
        keys = [m.key for m in self.metrics]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"metrics name {', '.join(twice)} more than once")
        return self

    def hpa_metrics(self) -> list[HpaMetric]:
        """Its metrics: the ``metrics`` list, or the single-metric form as one entry."""
        if self.metrics is not None:
            return list(self.metrics)
        return [
            HpaMetric(
                type="resource", resource=self.resource, target=self.target, metric=self.metric
            )
        ]


class QueuePolicy(_PolicyBase):
    """A KEDA ScaledObject on a queue's depth: ``ceil(depth / target)`` replicas within
    [min, max] (through the HPA KEDA creates); below the activation threshold for ``cooldown``
    it scales to ``min_replicas``, zero included, and back to one above it."""

    kind: Literal["queue"]
    min_replicas: Annotated[int, Field(ge=0)] = Field(
        0, description="Never fewer replicas; 0 lets it scale to zero when idle."
    )
    max_replicas: Annotated[int, Field(ge=1)] = Field(100, description="Never more replicas.")
    metric: str = Field(description="The plan metric of the queue depth (its query is KEDA's).")
    target: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        description="Queue items per replica (KEDA's threshold)."
    )
    activation: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        0, description="Active above this depth: scale from zero above it, to zero at or below."
    )
    polling_interval: Duration = Field("30s", description="How often KEDA checks activity.")
    cooldown: Duration = Field(
        "300s", description="Time since the last activity before scaling to zero."
    )
    server_address: str = Field(
        "http://prometheus-operated.monitoring.svc:9090",
        description="The Prometheus KEDA queries (the prometheus trigger's serverAddress).",
    )
    tolerance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.1,
        description="The HPA's: no change while |depth / (replicas × target) - 1| is within it.",
    )
    sync_period: Duration = Field("15s", description="How often the HPA decides.")
    behavior: HpaBehavior = Field(
        default_factory=HpaBehavior,
        description="The HPA's stabilization windows and rate limits (KEDA's advanced "
        "horizontalPodAutoscalerConfig).",
    )


class VpaPolicy(Strict):
    """A Kubernetes VerticalPodAutoscaler for a component."""

    kind: Literal["vpa"]
    component: str = Field(description=_COMPONENT_HELP)
    description: str = ""
    mode: Literal["Off", "Initial", "Recreate", "Auto"] = Field(
        "Auto",
        description="updateMode: Off only recommends, Initial sets new pods, Recreate and "
        "Auto resize running pods.",
    )
    controlled_resources: Annotated[list[Resource], Field(min_length=1)] = Field(
        default_factory=lambda: list(_BOTH),
        description="The resources it sets (memory only leaves CPU to an HPA).",
    )
    min_allowed: Resources | None = Field(None, description="Lowest requests it may set.")
    max_allowed: Resources | None = Field(None, description="Highest requests it may set.")


Policy = Annotated[StepPolicy | HpaPolicy | QueuePolicy | VpaPolicy, Field(discriminator="kind")]
ReplicaPolicy = StepPolicy | HpaPolicy | QueuePolicy
"""The policies that set a replica count (the VPA sets requests)."""
