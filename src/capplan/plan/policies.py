"""Scaling policies (step rules, Kubernetes HPA and VPA) and deployment settings in a plan.

Defaults are Kubernetes' own: HPA tolerance 0.1, 15 s sync, scale-up policies max(4 pods,
100%) per 15 s with no stabilization, scale-down 100% per 15 s after a 300 s stabilization.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Duration

__all__ = [
    "CPU_QUANTITY",
    "MEMORY_QUANTITY",
    "Deploy",
    "HpaBehavior",
    "HpaDirection",
    "HpaPolicy",
    "HpaRule",
    "Policy",
    "Resources",
    "StepPolicy",
    "StepRule",
    "VpaPolicy",
    "cpu_cores",
    "memory_bytes",
]

CPU_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m)?$")
MEMORY_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def cpu_cores(quantity: str) -> float:
    """Kubernetes CPU quantity → cores: ``250m`` → 0.25, ``2`` → 2.0."""
    match = CPU_QUANTITY.match(str(quantity).strip())
    if not match:
        raise ValueError(f"'{quantity}' is not a CPU quantity; expected e.g. 250m, 0.5 or 2")
    value = float(match.group(1))
    return value / 1000 if match.group(3) else value


def memory_bytes(quantity: str) -> float:
    """Kubernetes memory quantity → bytes: ``256Mi`` → 268435456."""
    match = MEMORY_QUANTITY.match(str(quantity).strip())
    if not match:
        raise ValueError(f"'{quantity}' is not a memory quantity; expected e.g. 256Mi, 4Gi or 1G")
    return float(match.group(1)) * _MEMORY_UNITS[match.group(3)]


def _cpu(text: Any) -> str:
    cpu_cores(str(text))
    return str(text).strip()


def _memory(text: Any) -> str:
    memory_bytes(str(text))
    return str(text).strip()


CpuQuantity = Annotated[str, BeforeValidator(str), AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, BeforeValidator(str), AfterValidator(_memory)]


class Resources(Strict):
    """A Kubernetes-style resource pair: ``cpu: 250m``, ``memory: 256Mi``."""

    cpu: CpuQuantity | None = Field(None, description="CPU quantity: 250m, 0.5 or 2.")
    memory: MemoryQuantity | None = Field(None, description="Memory quantity: 256Mi, 4Gi.")


class Deploy(Strict):
    """How a component runs, for Kubernetes manifests and compose files; requests and limits
    default to the component's instance shape."""

    image: str | None = Field(
        None, description="Container image (default: a REPLACE_ME placeholder)."
    )
    namespace: str = Field("default", description="Kubernetes namespace of the manifests.")
    container: str | None = Field(None, description="Container name (default: component).")
    requests: Resources | None = Field(
        None, description="Container requests (default: the instance shape)."
    )
    limits: Resources | None = Field(
        None, description="Container limits (default: the instance shape)."
    )


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


class _PolicyBase(Strict):
    component: str = Field(description="The (horizontal) component this policy scales.")
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


class HpaPolicy(_PolicyBase):
    """A Kubernetes HorizontalPodAutoscaler: ``desired = ceil(current × metric / target)``."""

    kind: Literal["hpa"]
    metric: str = Field("cpu_utilization", description="Utilization metric (percent).")
    resource: Literal["cpu", "memory"] = Field("cpu", description="Resource of the metric.")
    target: Annotated[float, Field(gt=0, le=1000)] = Field(80, description="Target utilization %.")
    tolerance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.1, description="No change while |metric / target - 1| is within it."
    )
    sync_period: Duration = Field("15s", description="How often the controller decides.")
    behavior: HpaBehavior = Field(
        default_factory=HpaBehavior, description="Stabilization windows and rate limits."
    )


class VpaPolicy(Strict):
    """A Kubernetes VerticalPodAutoscaler for a component."""

    kind: Literal["vpa"]
    component: str = Field(description="The component whose containers it sizes.")
    description: str = ""
    mode: Literal["Off", "Initial", "Recreate", "Auto"] = Field(
        "Auto",
        description="updateMode: Off only recommends, Initial sets new pods, Recreate and "
        "Auto resize running pods.",
    )
    min_allowed: Resources | None = Field(None, description="Lowest requests it may set.")
    max_allowed: Resources | None = Field(None, description="Highest requests it may set.")


Policy = Annotated[StepPolicy | HpaPolicy | VpaPolicy, Field(discriminator="kind")]
