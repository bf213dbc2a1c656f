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
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from capplan.errors import UsageError, line_for
from capplan.plan.actuals import ActualSource
from capplan.plan.alerting import Alerting
from capplan.plan.bands import check_bands
from capplan.plan.base import Strict, suggest
from capplan.plan.components import (
    Component,
    FormulaComponent,
    HorizontalComponent,
    InstanceShape,
    Price,
    Rung,
    Tier,
    TierComponent,
    VerticalComponent,
)
from capplan.plan.drivers import (
    AnnualGrowth,
    CompoundGrowth,
    ConstantGrowth,
    Driver,
    DriverOverride,
    Growth,
    GrowthOverride,
    LinearGrowth,
    LogisticGrowth,
    PointsGrowth,
    RatePiece,
    Scenario,
    Step,
    Uncertainty,
)
from capplan.plan.fields import Duration, Expr, Finite, NonNeg
from capplan.plan.hosts import Host
from capplan.plan.policies import Policy
from capplan.plan.probes import Probe
from capplan.plan.scrape import Scrape
from capplan.plan.slos import Slo
from capplan.units import duration_seconds, parse_start_date

__all__ = [
    "Alerting",
    "AnnualGrowth",
    "Budget",
    "ChangeRule",
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
    "RatePiece",
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
# A plan starts in these years: with at most ten years of periods, its last one stays far from
# the last date Python represents (9999-12-31).
START_YEARS = (1900, 9000)


# --- metrics --------------------------------------------------------------------------------


class Metric(Strict):
    """A derived quantity (an expression over drivers, metrics and component outputs), or an
    observed one (no expression; its history comes from monitoring)."""

    expr: Expr | None = Field(
        None,
        description="Expression over drivers, other metrics and component outputs; none for "
        "an observed metric (its history comes from monitoring).",
    )
    unit: str = Field("", description="Unit of its values (%, req/s, GB).")
    description: str = ""
    allow_negative: bool = Field(
        False, description="Let the expression go below 0 (a margin); else that is an error."
    )
    query: str | None = Field(None, description="PromQL that returns this metric's history.")
    series: str | None = Field(
        None, description="Glob of stored series holding its history (default: the name)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to its alert rules."
    )
    component: str | None = Field(
        None,
        description="The component an observed metric measures: its alert rules are grouped "
        "under it.",
    )
    bounds: tuple[Finite | None, Finite | None] | None = Field(
        None,
        description="The range the metric can take, [lower, upper] (null for none); forecasts "
        "and their intervals are clipped to it. Default: [0, 100] for unit %, else >= 0 "
        "unless allow_negative.",
    )
    actual: ActualSource | None = Field(
        None,
        description="Where the observed values of a derived metric live, for compare "
        "(default: its series or query, else the series named after it).",
    )

    @model_validator(mode="after")
    def _ordered_bounds(self) -> Metric:
        if self.bounds is not None:
            lo, hi = self.bounds
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(
                    f"bounds must be [lower, upper] with lower < upper, got [{lo}, {hi}]"
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _bare_expression(cls, data: Any) -> Any:
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"expr": data}
        return data


# --- thresholds, budget, simulation ---------------------------------------------------------


class Level(Strict):
    """One threshold level: the value and how long the condition must hold."""

    value: Finite = Field(description="The level, in the threshold's unit.")
    for_: Duration | None = Field(
        None,
        alias="for",
        description="How long the condition must hold before the level fires (default: the "
        "threshold's for, else alerting.for).",
    )

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
    for_: Duration = Field(
        "1h", alias="for", description="How long the trend must stay past before it fires."
    )
    severity: Literal["warning", "critical"] = Field(
        "warning", description="The alert's severity label."
    )


class ChangeRule(Strict):
    """Levels on the change of a metric over a window instead of on its value: the percent
    change ``100 × (x(t) − x(t − over)) / x(t − over)`` (a rise; with ``direction: below``,
    a fall)."""

    over: Duration = Field(description="The window the change is measured over (7d).")
    basis: Literal["percent"] = Field(
        "percent", description="How the change is measured: percent of the value `over` ago."
    )

    @field_validator("over")
    @classmethod
    def _positive(cls, value: str) -> str:
        if duration_seconds(value) <= 0:
            raise ValueError(f"must be a duration > 0, got '{value}'")
        return value


class Threshold(Strict):
    """Target / warning / critical (/ emergency) levels on one metric, with a direction and a
    duration (Prometheus ``for:`` semantics)."""

    metric: str = Field(description="A driver, metric or component output (db.utilization).")
    direction: Literal["above", "below"] = Field(
        "above", description="Whether values above the levels are bad (CPU), or below (free disk)."
    )
    unit: str = Field("", description="Unit of the levels (default: the metric's).")
    description: str = ""
    for_: Duration | None = Field(None, alias="for", description="Default duration of levels.")
    target: Level | None = Field(
        None, description="Where the metric should sit: planned for, never alerted on."
    )
    warning: Level | None = Field(None, description="A number, or {value, for}.")
    critical: Level | None = Field(None, description="A number, or {value, for}.")
    emergency: Level | None = Field(
        None, description="A number, or {value, for}; alerts with severity critical."
    )
    runbook_url: str | None = Field(None, description="Link put in the alerts' annotations.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra alert labels.")
    runway: RunwayRule | None = Field(
        None, description="Also alert when a linear trend will cross the highest level soon."
    )
    advice: str | None = Field(
        None,
        description="What to do when the forecast passes a level, for `forecast --plan` "
        "(default from the metric's name: increase CPU capacity, add storage ...).",
    )
    change: ChangeRule | None = Field(
        None,
        description="Put the levels on the percent change of the metric over a window, "
        "{over: 7d}: a rise of that many percent (a fall, with direction below).",
    )
    bands: dict[str, Finite | None] = Field(
        default_factory=dict,
        description="Named bands, best first, each to where it ends ({excellent: 200, good: "
        "500, poor: null}): the band of each value, shown by check.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        check_bands(self.bands, self.direction)
        present = [(n, lv.value) for n in LEVEL_NAMES if (lv := getattr(self, n)) is not None]
        alerting = any(n != "target" for n, _ in present)
        if not alerting and (not self.bands or self.runway is not None):
            raise ValueError(
                "a threshold needs at least one of warning, critical or emergency"
                + (" (or bands, without runway)" if self.bands else "")
            )
        if self.change is not None:
            self._check_change(present)
            return self
        for (n1, v1), (n2, v2) in itertools.pairwise(present):
            bad = v2 < v1 if self.direction == "above" else v2 > v1
            if bad:
                word = "above" if self.direction == "below" else "below"
                raise ValueError(
                    f"{n2} ({v2}) must not be {word} {n1} ({v1}) for a threshold on values "
                    f"{self.direction} the levels"
                )
        return self

    def _check_change(self, present: list[tuple[str, float]]) -> None:
        """Levels of a change threshold are sizes of a rise (or fall), in percent: > 0 (a
        target >= 0), under 100 for a fall, ordered mildest (smallest) first."""
        kind = "rise" if self.direction == "above" else "fall"
        if self.runway is not None:
            raise ValueError("runway does not apply to a threshold on a change; remove one")
        for n, v in present:
            if v < 0 or (v == 0 and n != "target"):
                raise ValueError(
                    f"{n} must be a {kind} in percent > 0 for a threshold with change "
                    f"(direction {self.direction} for a {kind}), got {v}"
                )
            if kind == "fall" and v >= 100:
                raise ValueError(
                    f"{n} must be a fall in percent < 100 for a threshold with change "
                    f"(a fall of 100% or more needs negative values), got {v}"
                )
        for (n1, v1), (n2, v2) in itertools.pairwise(present):
            if v2 < v1:
                raise ValueError(
                    f"{n2} ({v2}) must not be below {n1} ({v1}): the levels of a threshold "
                    f"with change are sizes of a {kind}, mildest first"
                )

    @property
    def change_seconds(self) -> float | None:
        """The change window in seconds, or None for a threshold on values."""
        return None if self.change is None else duration_seconds(self.change.over)

    def levels(self) -> list[tuple[str, Level]]:
        """The levels that are set, mildest first."""
        return [(n, lv) for n in LEVEL_NAMES if (lv := getattr(self, n)) is not None]


class Budget(Strict):
    """Cost limits and KPIs checked every period."""

    per: str | None = Field(
        None, description="Driver or metric for cost per unit (users); the first driver if unset."
    )
    max_cost_per_unit: NonNeg | None = Field(None, description="KPI, e.g. 3 for < $3 a user.")
    monthly_limit: NonNeg | None = Field(
        None, description="Flag a month whose cost is above this amount."
    )
    warn_at: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        0.8,
        description="With monthly_limit: an early warning for the first month whose cost "
        "reaches this share of the limit (0.8: at 80% of the budget); null for none.",
    )
    spike_ratio: Annotated[float, Field(gt=1)] = Field(
        1.5, description="Flag a month whose cost exceeds the spike_against figure by this factor."
    )
    spike_against: Literal["previous", "average"] = Field(
        "previous",
        description="What a month's cost is compared with for a spike: the previous month's, "
        "or the average of the spike_window months before it.",
    )
    spike_window: Annotated[int, Field(ge=1, le=120)] = Field(
        3, description="Months in the trailing average when spike_against is average."
    )


class Simulation(Strict):
    """Monte Carlo settings."""

    paths: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        1000,
        description="Not read yet: the number of Monte Carlo paths is given by --simulations "
        "(the API's simulations).",
    )
    seed: int = Field(0, description="Random seed: the same seed gives the same figures.")


class Plan(Strict):
    """A capacity plan: one system, its growth, its components, prices and thresholds."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra={"title": "capplan plan file"},
    )

    system: str = Field(min_length=1, description="Name of the system planned.")
    description: str = Field("", description="What the plan covers.")
    start: dt.date | None = Field(
        None, description="Date of period 0 (2026-01); the current month when unset."
    )
    # ``step`` comes before ``horizon`` so the horizon's validator can read it.
    step: Literal["month", "week", "day"] = Field(
        "month", description="Length of a period; rates stay monthly and are converted."
    )
    horizon: Annotated[int, Field(ge=1)] = Field(12, description="Number of periods projected.")
    currency: str = Field("USD", description="Currency of prices and costs.")
    scenarios: dict[str, Scenario] = Field(
        default_factory=dict,
        description="Scenario name → description; none declared means one scenario, base.",
    )
    default_scenario: str | None = Field(
        None, description="Scenario run when none is named (default: the middle one)."
    )
    drivers: dict[str, Driver] = Field(
        min_length=1, description="Base quantities (users, agents) and how they grow, by name."
    )
    metrics: dict[str, Metric] = Field(
        default_factory=dict, description="Derived (expression) and observed quantities by name."
    )
    components: dict[str, Component] = Field(
        default_factory=dict, description="What is sized and priced, by name."
    )
    thresholds: dict[str, Threshold] = Field(
        default_factory=dict, description="Levels on drivers, metrics or component outputs."
    )
    budget: Budget = Field(default_factory=Budget, description="Cost limits and KPIs.")
    simulation: Simulation = Field(default_factory=Simulation, description="Monte Carlo settings.")
    alerting: Alerting = Field(
        default_factory=Alerting,
        description="Defaults of the generated alert rules (for, labels) and where "
        "Alertmanager sends the alerts (receivers, routes).",
    )
    policies: dict[str, Policy] = Field(
        default_factory=dict, description="Scaling policies (step rules, HPA, VPA) by name."
    )
    hosts: dict[str, Host] = Field(
        default_factory=dict,
        description="Machines or node pools components share, by name: the components' "
        "summed vCPU, memory and storage against theirs (overcommit is a critical event).",
    )
    scrape: Scrape = Field(
        default_factory=Scrape,
        description="What Prometheus scrapes (jobs, intervals), for `export prometheus-config`.",
    )
    probes: dict[str, Probe] = Field(
        default_factory=dict, description="HTTP health checks run by `check --probes`, by name."
    )
    slos: dict[str, Slo] = Field(
        default_factory=dict,
        description="Service level objectives by name: error budgets and burn-rate alerts.",
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
        if value is None:
            return None
        start = parse_start_date(value)
        first, last = START_YEARS
        if not first <= start.year <= last:
            raise ValueError(
                f"must be a date in the years {first} to {last} (so that every period of the "
                f"horizon is a date capplan can represent), got {start.isoformat()}"
            )
        return start

    @field_validator(
        "drivers",
        "metrics",
        "components",
        "scenarios",
        "thresholds",
        "policies",
        "hosts",
        "probes",
        "slos",
    )
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
