"""The plan file as pydantic models: the system, its drivers, metrics, components and thresholds.

Models only describe and validate; nothing here computes a projection. Cross-field checks that
need the whole plan (names referenced by expressions, scenario names) live in ``compiled.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from capplan.errors import UsageError, line_for
from capplan.plan.base import Strict, suggest
from capplan.plan.durations import duration_seconds, parse_start_date
from capplan.plan.policies import Deploy, Policy

__all__ = [
    "AnnualGrowth",
    "Budget",
    "Component",
    "CompoundGrowth",
    "ConstantGrowth",
    "Driver",
    "DriverOverride",
    "FormulaComponent",
    "Growth",
    "GrowthOverride",
    "HorizontalComponent",
    "InstanceShape",
    "Level",
    "LinearGrowth",
    "LogisticGrowth",
    "Metric",
    "Plan",
    "PointsGrowth",
    "Price",
    "Rung",
    "RunwayRule",
    "Scenario",
    "Simulation",
    "Step",
    "Threshold",
    "Tier",
    "TierComponent",
    "Uncertainty",
    "VerticalComponent",
]

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_PERIODS = {"month": 120, "week": 520, "day": 1830}
LEVEL_NAMES = ("target", "warning", "critical", "emergency")


def _check_duration(text: str) -> str:
    duration_seconds(text)
    return text.strip()


def _number_or_text(value: Any) -> Any:
    """Expressions may be written as bare numbers; keep them as text for one code path."""
    if isinstance(value, bool):
        raise ValueError(f"expected an expression or a number, got {value!r}")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Expr = Annotated[str, BeforeValidator(_number_or_text), Field(min_length=1)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
PeriodRef = int | dt.date | str


# --- growth -------------------------------------------------------------------------------


def _point_keys_as_text(cls: type, value: Any) -> Any:
    """YAML reads ``6: 5000`` with an int key and ``2025-06: 5000`` with a str key: one type."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


class Uncertainty(Strict):
    """Uncertainty on a growth rate, sampled once per Monte Carlo path (or per period)."""

    dist: Literal["normal", "triangular", "uniform"]
    sd: NonNeg | None = Field(None, description="Standard deviation (normal).")
    low: Finite | None = Field(None, description="Lowest rate (triangular, uniform).")
    high: Finite | None = Field(None, description="Highest rate (triangular, uniform).")
    per: Literal["path", "period"] = Field(
        "path", description="Draw one rate per path, or a new rate every period."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Uncertainty:
        if self.dist == "normal" and self.sd is None:
            raise ValueError("a normal uncertainty needs 'sd'")
        if self.dist != "normal":
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.dist} uncertainty needs 'low' and 'high'")
            if self.low > self.high:
                raise ValueError(f"'low' ({self.low}) must not exceed 'high' ({self.high})")
        return self


class CompoundGrowth(Strict):
    """``x *= 1 + rate - churn`` every month (rates are monthly, converted for other steps)."""

    model: Literal["compound"]
    rate: Finite = Field(description="Monthly growth rate, 0.25 for 25%.")
    churn: Fraction = Field(0.0, description="Monthly churn rate, subtracted from the rate.")
    uncertainty: Uncertainty | None = None


class AnnualGrowth(Strict):
    """Compound growth given as a yearly rate (``0.5`` = +50% a year), spread over months."""

    model: Literal["annual"]
    rate: Finite = Field(description="Yearly growth rate.")
    uncertainty: Uncertainty | None = None


class LinearGrowth(Strict):
    """A straight line: ``per_month`` units added every month (negative to shrink)."""

    model: Literal["linear"]
    per_month: Finite
    uncertainty: Uncertainty | None = None


class LogisticGrowth(Strict):
    """S-curve growth at monthly ``rate`` that saturates at ``capacity``."""

    model: Literal["logistic"]
    rate: Positive
    capacity: Positive
    uncertainty: Uncertainty | None = None


class PointsGrowth(Strict):
    """Explicit values at periods or dates, interpolated in between (a quarterly table)."""

    model: Literal["points"]
    points: dict[str, NonNeg] = Field(
        description="Period number (1, 3, 6) or date (2025-03) → value.", min_length=1
    )
    interpolation: Literal["linear", "exponential", "step"] = "linear"
    after: Literal["hold", "extrapolate"] = "hold"

    _keys_as_text = field_validator("points", mode="before")(_point_keys_as_text)


class ConstantGrowth(Strict):
    """No growth: the value stays at its initial level (plus any steps)."""

    model: Literal["none"]


Growth = Annotated[
    CompoundGrowth | AnnualGrowth | LinearGrowth | LogisticGrowth | PointsGrowth | ConstantGrowth,
    Field(discriminator="model"),
]


class GrowthOverride(Strict):
    """Fields a scenario changes in a driver's growth; unset fields keep the base value."""

    model: Literal["compound", "annual", "linear", "logistic", "points", "none"] | None = None
    rate: Finite | None = None
    churn: Fraction | None = None
    per_month: Finite | None = None
    capacity: Positive | None = None
    points: dict[str, NonNeg] | None = None
    interpolation: Literal["linear", "exponential", "step"] | None = None
    after: Literal["hold", "extrapolate"] | None = None
    uncertainty: Uncertainty | None = None

    _keys_as_text = field_validator("points", mode="before")(_point_keys_as_text)


class Step(Strict):
    """A one-off change from a period on: a launch adds users, a migration doubles data."""

    at: PeriodRef = Field(description="Period number or date the step takes effect.")
    add: Finite | None = None
    multiply: Positive | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_change(self) -> Step:
        if (self.add is None) == (self.multiply is None):
            raise ValueError("a step needs exactly one of 'add' or 'multiply'")
        return self


class DriverOverride(Strict):
    """What one scenario changes in a driver."""

    initial: NonNeg | None = None
    growth: GrowthOverride | None = None
    steps: list[Step] | None = None


class Driver(Strict):
    """A base quantity (registered users, agents, requests/s) with its growth."""

    initial: NonNeg = Field(description="Value in period 0 (today).")
    unit: str = ""
    description: str = ""
    growth: Growth = Field(default_factory=lambda: ConstantGrowth(model="none"))
    steps: list[Step] = Field(default_factory=list)
    scenarios: dict[str, DriverOverride] = Field(
        default_factory=dict, description="Per-scenario changes to initial, growth or steps."
    )


class Scenario(Strict):
    """A named growth scenario (conservative / moderate / aggressive)."""

    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _text_is_description(cls, data: Any) -> Any:
        if data is None:
            return {}
        return {"description": data} if isinstance(data, str) else data


# --- metrics --------------------------------------------------------------------------------


class Metric(Strict):
    """A derived quantity (an expression over drivers, metrics and component outputs), or an
    observed one (no expression; its history comes from monitoring)."""

    expr: Expr | None = None
    unit: str = ""
    description: str = ""
    allow_negative: bool = False
    query: str | None = Field(None, description="PromQL that returns this metric's history.")
    series: str | None = Field(
        None, description="Glob of stored series holding its history (default: the name)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels for alert rules and dashboards."
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_expression(cls, data: Any) -> Any:
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"expr": data}
        return data


# --- components -------------------------------------------------------------------------------


class InstanceShape(Strict):
    """Resources of one instance."""

    vcpu: NonNeg = 0.0
    memory_gb: NonNeg = 0.0
    storage_gb: NonNeg = 0.0


class Price(Strict):
    """Monthly prices; a component's cost is the sum of the parts that apply."""

    fixed: NonNeg = Field(0.0, description="Flat monthly amount.")
    per_instance: NonNeg = 0.0
    per_vcpu: NonNeg = 0.0
    per_memory_gb: NonNeg = 0.0
    per_storage_gb: NonNeg = 0.0
    reserved_discount: Fraction | None = Field(
        None, description="Discount for reserved (committed) capacity, 0.2 for 20%."
    )


class _ComponentBase(Strict):
    description: str = ""
    lead_time: Duration | None = Field(
        None, description="Time to carry out a change (4h, 2w); action dates are moved earlier."
    )
    price: Price = Field(default_factory=Price)
    deploy: Deploy | None = Field(None, description="Kubernetes / compose settings.")


class HorizontalComponent(_ComponentBase):
    """Identical instances behind a load balancer, sized from a demand and a per-instance
    capacity: ``ceil(demand / (capacity × target)) + ceil(base × buffer) + redundancy``."""

    kind: Literal["horizontal"]
    demand: Expr
    capacity_per_instance: Positive
    target_utilization: Annotated[float, Field(gt=0, le=1)] = 1.0
    buffer: NonNeg = Field(0.0, description="Extra instances as a share of the base, 0.2 = 20%.")
    redundancy: Annotated[int, Field(ge=0)] = Field(0, description="Spare instances (N+1 → 1).")
    min_instances: Annotated[int, Field(ge=0)] = 1
    max_instances: Annotated[int, Field(ge=1)] | None = None
    instance: InstanceShape = Field(default_factory=InstanceShape)

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

    name: str
    limits: dict[str, NonNeg | None] = Field(
        description="Resource → limit; null means unlimited (custom)."
    )
    price: NonNeg = Field(0.0, description="Monthly price of this size.")
    vcpu: NonNeg = 0.0
    memory_gb: NonNeg = 0.0
    storage_gb: NonNeg = 0.0
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
    rungs: list[Rung] = Field(min_length=1)

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

    name: str
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
    demand: Expr
    trigger: Annotated[float, Field(gt=0, le=1)] = 0.7
    interpolate: bool = Field(
        False, description="Scale allocations and price between tiers instead of jumping."
    )
    tiers: list[Tier] = Field(min_length=1)

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


Component = Annotated[
    HorizontalComponent | VerticalComponent | TierComponent | FormulaComponent,
    Field(discriminator="kind"),
]


# --- thresholds, budget, simulation ---------------------------------------------------------


class Level(Strict):
    """One threshold level: the value and how long the condition must hold."""

    value: Finite
    for_: Duration | None = Field(None, alias="for")

    @model_validator(mode="before")
    @classmethod
    def _bare_value(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"value": data}
        return data


class RunwayRule(Strict):
    """A capacity-runway alert: ``predict_linear(metric[window], horizon)`` past the
    threshold's highest level (the node exporter's disk-full alert, generalized)."""

    horizon: Duration = Field("24h", description="How far ahead the trend is extended.")
    window: Duration = Field("6h", description="History the trend is fitted on.")
    for_: Duration = Field("1h", alias="for")
    severity: Literal["warning", "critical"] = "warning"


class Threshold(Strict):
    """Target / warning / critical (/ emergency) levels on one metric, with a direction and a
    duration (Prometheus ``for:`` semantics)."""

    metric: str = Field(description="A driver, metric or component output (db.utilization).")
    direction: Literal["above", "below"] = "above"
    unit: str = ""
    description: str = ""
    for_: Duration | None = Field(None, alias="for", description="Default duration of levels.")
    target: Level | None = None
    warning: Level | None = None
    critical: Level | None = None
    emergency: Level | None = None
    runbook_url: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="Extra alert labels.")
    runway: RunwayRule | None = Field(
        None, description="Also alert when a linear trend will cross the highest level soon."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        present = [(n, lv.value) for n in LEVEL_NAMES if (lv := getattr(self, n)) is not None]
        if not any(n != "target" for n, _ in present):
            raise ValueError("a threshold needs at least one of warning, critical or emergency")
        for (n1, v1), (n2, v2) in itertools.pairwise(present):
            bad = v2 < v1 if self.direction == "above" else v2 > v1
            if bad:
                word = "above" if self.direction == "below" else "below"
                raise ValueError(
                    f"{n2} ({v2}) must not be {word} {n1} ({v1}) for a threshold on values "
                    f"{self.direction} the levels"
                )
        return self

    def levels(self) -> list[tuple[str, Level]]:
        """The levels that are set, mildest first."""
        return [(n, lv) for n in LEVEL_NAMES if (lv := getattr(self, n)) is not None]


class Budget(Strict):
    """Cost limits and KPIs checked every period."""

    per: str | None = Field(
        None, description="Driver or metric for cost per unit (users); the first driver if unset."
    )
    max_cost_per_unit: NonNeg | None = Field(None, description="KPI, e.g. 3 for < $3 a user.")
    monthly_limit: NonNeg | None = None
    spike_ratio: Annotated[float, Field(gt=1)] = Field(
        1.5, description="Flag a month whose cost exceeds the previous month's by this factor."
    )


class Simulation(Strict):
    """Monte Carlo settings."""

    paths: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    seed: int = 0


class Plan(Strict):
    """A capacity plan: one system, its growth, its components, prices and thresholds."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra={"title": "capplan plan file"},
    )

    system: str = Field(min_length=1, description="Name of the system planned.")
    description: str = ""
    start: dt.date | None = Field(
        None, description="Date of period 0 (2026-01); the current month when unset."
    )
    # ``step`` comes before ``horizon`` so the horizon's validator can read it.
    step: Literal["month", "week", "day"] = "month"
    horizon: Annotated[int, Field(ge=1)] = Field(12, description="Number of periods projected.")
    currency: str = "USD"
    scenarios: dict[str, Scenario] = Field(default_factory=dict)
    default_scenario: str | None = None
    drivers: dict[str, Driver] = Field(min_length=1)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    components: dict[str, Component] = Field(default_factory=dict)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    simulation: Simulation = Field(default_factory=Simulation)
    policies: dict[str, Policy] = Field(
        default_factory=dict, description="Scaling policies (step rules, HPA, VPA) by name."
    )

    _source: str = PrivateAttr("<plan>")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _compiled: Any = PrivateAttr(None)

    @property
    def source(self) -> str:
        """The file the plan was read from (``<plan>`` when built in memory)."""
        return self._source

    def line_of(self, path: str) -> int | None:
        """The line of a field path in the plan file, or of its nearest ancestor."""
        return line_for(path, self._lines)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        return None if value is None else parse_start_date(value)

    @field_validator("drivers", "metrics", "components", "scenarios", "thresholds", "policies")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not NAME_PATTERN.match(name):
                raise ValueError(
                    f"name '{name}' must start with a letter and hold only letters, digits and _"
                )
        return value

    # Field validators (not a model validator) so that each error carries its field path and
    # line, and is reported alongside errors elsewhere in the plan.
    @field_validator("horizon")
    @classmethod
    def _horizon(cls, value: int, info: ValidationInfo) -> int:
        step = info.data.get("step")
        limit = MAX_PERIODS.get(step) if isinstance(step, str) else None
        if limit is not None and value > limit:
            raise ValueError(f"must be at most {limit} {step}s for step '{step}', got {value}")
        return value

    @field_validator("default_scenario")
    @classmethod
    def _default_scenario(cls, value: str | None, info: ValidationInfo) -> str | None:
        scenarios = info.data.get("scenarios")
        if value is not None and isinstance(scenarios, dict) and value not in scenarios:
            raise ValueError(
                f"'{value}' is not a declared scenario{suggest(value, list(scenarios))}; "
                f"declared: {', '.join(scenarios) or 'none'}"
            )
        return value

    def scenario_names(self) -> list[str]:
        """Declared scenarios in file order, or ``['base']`` when none are declared."""
        return list(self.scenarios) or ["base"]

    def resolve_scenario(self, name: str | None) -> str:
        """The scenario to run: ``name``, else the default, else the middle declared one."""
        names = self.scenario_names()
        if name is None:
            return self.default_scenario or names[len(names) // 2]
        if name not in names:
            raise UsageError(
                f"unknown scenario '{name}'{suggest(name, names)}; available: {', '.join(names)}"
            )
        return name
