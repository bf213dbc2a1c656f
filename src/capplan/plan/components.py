"""Components of a plan: horizontal, vertical ladders, tier bundles and formula-sized, with
their prices and instance shapes."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from capplan.plan.base import Strict
from capplan.plan.fields import Duration, Expr, Fraction, NonNeg, Positive
from capplan.plan.loadtest_ref import CapacityPerInstance, LoadTestCapacity
from capplan.plan.policies import Deploy
from capplan.plan.provisioning import Provisioned
from capplan.plan.queue_kind import QueueFields
from capplan.plan.service_kinds import CacheFields, PoolFields, RateLimitFields, ReplicasFields

# --- components -------------------------------------------------------------------------------


class InstanceShape(Strict):
    """Resources of one instance."""

    vcpu: NonNeg = Field(0.0, description="vCPUs of one instance.")
    memory_gb: NonNeg = Field(0.0, description="Memory of one instance, GB.")
    storage_gb: NonNeg = Field(0.0, description="Storage of one instance, GB.")


class Price(Strict):
    """Monthly prices; a component's cost is the sum of the parts that apply."""

    fixed: NonNeg = Field(0.0, description="Flat monthly amount.")
    per_instance: NonNeg = Field(0.0, description="Monthly price of one instance.")
    per_vcpu: NonNeg = Field(0.0, description="Monthly price of one vCPU.")
    per_memory_gb: NonNeg = Field(0.0, description="Monthly price of one GB of memory.")
    per_storage_gb: NonNeg = Field(0.0, description="Monthly price of one GB of storage.")
    reserved_discount: Fraction | None = Field(
        None, description="Discount for reserved (committed) capacity, 0.2 for 20%."
    )
    spot_discount: Fraction | None = Field(
        None,
        description="Discount of spot (interruptible) capacity, 0.6 for 60%: advice on what "
        "running the capacity above the reserved baseline (all of it without "
        "reserved_discount) on spot would save, for work that tolerates interruption.",
    )


class _ComponentBase(Strict):
    description: str = Field("", description="What the component is.")
    lead_time: Duration | None = Field(
        None, description="Time to carry out a change (4h, 2w); action dates are moved earlier."
    )
    price: Price = Field(default_factory=Price, description="Monthly prices.")
    deploy: Deploy | None = Field(None, description="Kubernetes / compose settings.")
    provisioned: Provisioned | None = Field(
        None,
        description="What is in place today and the additions scheduled ({at: [3, 6, 9], "
        "instances: 2}); the need is held against it period by period.",
    )


class HorizontalComponent(_ComponentBase):
    """Identical instances behind a load balancer, sized from a demand and a per-instance
    capacity: ``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``."""

    kind: Literal["horizontal"]
    demand: Expr = Field(description="Expression of the load (req/s, concurrent users).")
    capacity_per_instance: CapacityPerInstance = Field(
        description="Load one instance serves at its limit, in the demand's unit; or "
        "{loadtest: results/, latency_limit: 500ms, error_limit: 0.01} to take it from "
        "load-test results when the plan is loaded."
    )
    target_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="Share of that capacity to plan for: 0.7 runs instances at 70%."
    )
    buffer: NonNeg = Field(0.0, description="Extra instances as a share of the base, 0.2 = 20%.")
    redundancy: Annotated[int, Field(ge=0)] = Field(0, description="Spare instances (N+1 → 1).")
    min_instances: Annotated[int, Field(ge=0)] = Field(1, description="Never fewer instances.")
    max_instances: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Never more instances: past it utilization rises and instances_needed "
        "and unserved say by how much.",
    )
    instance: InstanceShape = Field(
        default_factory=InstanceShape, description="Resources of one instance."
    )

    @property
    def per_instance(self) -> float:
        """The capacity of one instance: the number given, or the one found in the
        load-test results."""
        ref = self.capacity_per_instance
        return ref.value if isinstance(ref, LoadTestCapacity) else ref

    @model_validator(mode="after")
    def _bounds(self) -> HorizontalComponent:
        if self.max_instances is not None and self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) must not exceed max_instances "
                f"({self.max_instances})"
            )
        return self


class Rung(Strict):
    """One size of a vertically scaled component (a managed database plan)."""

    name: str = Field(description="Name of the size (the managed database's plan).")
    limits: dict[str, NonNeg | None] = Field(
        description="Resource → limit; null means unlimited (custom)."
    )
    price: NonNeg = Field(0.0, description="Monthly price of this size.")
    instances: Annotated[int, Field(ge=1)] = Field(
        1, description="Nodes of this size (a primary and a replica: 2; a 3-node cluster: 3)."
    )
    vcpu: NonNeg = Field(0.0, description="vCPUs of this size, totalled with the plan's.")
    memory_gb: NonNeg = Field(0.0, description="Memory of this size, GB.")
    storage_gb: NonNeg = Field(0.0, description="Storage of this size, GB.")
    lead_time: Duration | None = Field(
        None, description="Time to move up to this rung; overrides the component's lead_time."
    )


class VerticalComponent(_ComponentBase):
    """A ladder of sizes; the cheapest rung whose limits hold the demand with headroom wins."""

    kind: Literal["vertical"]
    demand: dict[str, Expr] = Field(min_length=1, description="Resource → demand expression.")
    headroom: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.2, description="Share of each limit kept free: 0.25 means use at most 75%."
    )
    rungs: list[Rung] = Field(min_length=1, description="The sizes, smallest first.")

    @model_validator(mode="after")
    def _limits_cover_demand(self) -> VerticalComponent:
        names = [r.name for r in self.rungs]
        if len(set(names)) != len(names):
            raise ValueError(f"rung names must be unique, got {names}")
        for i, rung in enumerate(self.rungs):
            missing = sorted(set(self.demand) - set(rung.limits))
            if missing:
                raise ValueError(
                    f"rungs[{i}] ({rung.name}) has no limit for {', '.join(missing)}; every rung "
                    "needs a limit (or null for unlimited) for each demand"
                )
        return self


class Tier(Strict):
    """A named bundle of allocations sized for a capacity (Starter 1K, Growth 10K...)."""

    name: str = Field(description="Name of the tier (starter, growth).")
    capacity: Positive = Field(description="Demand the tier is built for (concurrent users).")
    price: NonNeg = Field(0.0, description="Monthly cost of the whole tier.")
    allocations: dict[str, dict[str, NonNeg]] = Field(
        default_factory=dict,
        description="Part → resource → amount, e.g. backend: {instances: 6, vcpu: 12}.",
    )
    lead_time: Duration | None = Field(
        None,
        description="Time to move up to this tier (a 4h procedure); overrides the "
        "component's lead_time.",
    )


class TierComponent(_ComponentBase):
    """A ladder of bundles; the next tier is due when demand reaches ``trigger`` × capacity."""

    kind: Literal["tiers"]
    demand: Expr = Field(description="Expression of the load the tiers are sized for.")
    trigger: Annotated[float, Field(gt=0, le=1)] = Field(
        0.7, description="Move to the next tier when demand reaches this share of capacity."
    )
    interpolate: bool = Field(
        False, description="Scale allocations and price between tiers instead of jumping."
    )
    tiers: list[Tier] = Field(min_length=1, description="The tiers, by ascending capacity.")
    serves: dict[str, Expr] = Field(
        default_factory=dict,
        description="What each tier serves in other units, from its capacity: "
        "{registered_users: capacity / 0.15}; reported per tier and as <unit>_served.",
    )

    @model_validator(mode="after")
    def _ascending(self) -> TierComponent:
        caps = [t.capacity for t in self.tiers]
        if any(b <= a for a, b in itertools.pairwise(caps)):
            raise ValueError(f"tiers must be listed by ascending capacity, got {caps}")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique, got {names}")
        return self


class FormulaComponent(_ComponentBase):
    """Resources given directly as expressions (the runbook formulas), with optional
    provisioned capacity (for utilization) and a cost expression."""

    kind: Literal["formula"]
    resources: dict[str, Expr] = Field(
        min_length=1,
        description="Resource → expression; instances, vcpu, memory_gb and storage_gb are "
        "priced and totalled, others (connections) are reported as they are.",
    )
    capacity: dict[str, Expr] = Field(
        default_factory=dict, description="Resource → provisioned amount, for utilization."
    )
    cost: Expr | None = Field(None, description="Extra monthly cost expression (API usage).")

    @model_validator(mode="after")
    def _capacity_names(self) -> FormulaComponent:
        unknown = sorted(set(self.capacity) - set(self.resources))
        if unknown:
            raise ValueError(
                f"capacity names {', '.join(unknown)} are not among resources "
                f"({', '.join(self.resources)})"
            )
        return self


class PoolComponent(_ComponentBase, PoolFields):
    """A connection pool in front of a database (see :class:`PoolFields`)."""


class ReplicasComponent(_ComponentBase, ReplicasFields):
    """Read replicas of a database, one instance each (see :class:`ReplicasFields`)."""

    instance: InstanceShape = Field(
        default_factory=InstanceShape, description="Resources of one replica."
    )


class RateLimitComponent(_ComponentBase, RateLimitFields):
    """Per-tier API rate limits (see :class:`RateLimitFields`)."""


class CacheComponent(_ComponentBase, CacheFields):
    """A cache and what it saves (see :class:`CacheFields`)."""


class QueueComponent(_ComponentBase, QueueFields):
    """Servers taking arrivals from a queue, sized with Erlang C (see :class:`QueueFields`)."""

    instance: InstanceShape = Field(
        default_factory=InstanceShape, description="Resources of one server."
    )


#: The kinds sized by :mod:`capplan.sizing.services`.
ServiceComponent = PoolComponent | ReplicasComponent | RateLimitComponent | CacheComponent

Component = Annotated[
    HorizontalComponent
    | VerticalComponent
    | TierComponent
    | FormulaComponent
    | PoolComponent
    | ReplicasComponent
    | RateLimitComponent
    | CacheComponent
    | QueueComponent,
    Field(discriminator="kind"),
]
