"""Drivers and their growth: compound, annual, linear, logistic, explicit points, constant;
one-off steps, per-scenario overrides and rate uncertainty for Monte Carlo."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from capplan.plan.actuals import ActualSource
from capplan.plan.base import Strict
from capplan.plan.fields import Finite, Fraction, NonNeg, PeriodRef, Positive

# --- growth -------------------------------------------------------------------------------


class RatePiece(Strict):
    """One piece of a rate that changes over time: ``value`` up to and including period
    ``until`` (a period number or date); the last piece has no ``until``."""

    until: PeriodRef | None = Field(
        None, description="Last period (number or date) of this rate; none on the last piece."
    )
    value: Finite = Field(description="The rate (or per_month amount) in these periods.")


def _schedule(pieces: list[RatePiece]) -> list[RatePiece]:
    if not pieces:
        raise ValueError("a rate schedule needs at least one piece")
    *head, last = pieces
    if last.until is not None:
        raise ValueError("the last piece of a rate schedule has no 'until': it runs to the end")
    if any(p.until is None for p in head):
        raise ValueError("every piece but the last needs 'until'")
    numbers = [p.until for p in head if isinstance(p.until, int)]
    if numbers != sorted(set(numbers)):
        raise ValueError("the pieces' 'until' periods must increase")
    return pieces


#: A rate, or a schedule of rates over time: ``[{until: 6, value: 0.25}, {value: 0.20}]``.
RateSchedule = Annotated[list[RatePiece], AfterValidator(_schedule)]


def _point_keys_as_text(cls: type, value: Any) -> Any:
    """YAML reads ``6: 5000`` with an int key and ``2025-06: 5000`` with a str key: one type."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


class Uncertainty(Strict):
    """Uncertainty on a growth rate, sampled once per Monte Carlo path (or per period)."""

    dist: Literal["normal", "triangular", "uniform"] = Field(
        description="normal {sd} around the rate, or triangular / uniform {low, high} (the "
        "triangle's mode is the rate)."
    )
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
    rate: Finite | RateSchedule = Field(
        description="Monthly growth rate, 0.25 for 25%; or a schedule "
        "[{until: 6, value: 0.25}, {value: 0.20}]."
    )
    churn: Fraction = Field(0.0, description="Monthly churn rate, subtracted from the rate.")
    uncertainty: Uncertainty | None = Field(
        None, description="How uncertain the rate is, for Monte Carlo (--simulations)."
    )


class AnnualGrowth(Strict):
    """Compound growth given as a yearly rate (``0.5`` = +50% a year), spread over months."""

    model: Literal["annual"]
    rate: Finite | RateSchedule = Field(description="Yearly growth rate; or a schedule.")
    uncertainty: Uncertainty | None = Field(
        None, description="How uncertain the rate is, for Monte Carlo (--simulations)."
    )


class LinearGrowth(Strict):
    """A straight line: ``per_month`` units added every month (negative to shrink)."""

    model: Literal["linear"]
    per_month: Finite | RateSchedule = Field(
        description="Units added every month (negative to shrink); or a schedule."
    )
    uncertainty: Uncertainty | None = Field(
        None, description="How uncertain the rate is, for Monte Carlo (--simulations)."
    )


class LogisticGrowth(Strict):
    """S-curve growth at monthly ``rate`` that saturates at ``capacity``."""

    model: Literal["logistic"]
    rate: Positive | RateSchedule = Field(
        description="Monthly growth rate while far from the capacity; or a schedule."
    )
    capacity: Positive = Field(description="The value the curve saturates at.")
    uncertainty: Uncertainty | None = Field(
        None, description="How uncertain the rate is, for Monte Carlo (--simulations)."
    )


class PointsGrowth(Strict):
    """Explicit values at periods or dates, interpolated in between (a quarterly table)."""

    model: Literal["points"]
    points: dict[str, NonNeg] = Field(
        description="Period number (1, 3, 6) or date (2025-03) → value.", min_length=1
    )
    interpolation: Literal["linear", "exponential", "step"] = Field(
        "linear",
        description="Between points: a straight line, a constant growth rate, or the last "
        "value held.",
    )
    after: Literal["hold", "extrapolate"] = Field(
        "hold", description="After the last point: keep its value, or extend the last segment."
    )

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

    model: Literal["compound", "annual", "linear", "logistic", "points", "none"] | None = Field(
        None, description="Another growth model: the base's other fields are then dropped."
    )
    rate: Finite | RateSchedule | None = None
    churn: Fraction | None = None
    per_month: Finite | RateSchedule | None = None
    capacity: Positive | None = None
    points: dict[str, NonNeg] | None = None
    interpolation: Literal["linear", "exponential", "step"] | None = None
    after: Literal["hold", "extrapolate"] | None = None
    uncertainty: Uncertainty | None = None

    _keys_as_text = field_validator("points", mode="before")(_point_keys_as_text)


class Step(Strict):
    """A one-off change from a period on: a launch adds users, a migration doubles data."""

    at: PeriodRef = Field(description="Period number or date the step takes effect.")
    add: Finite | None = Field(None, description="Amount added (negative to remove).")
    multiply: Positive | None = Field(None, description="Factor the value is multiplied by.")
    note: str = Field("", description="Why (a launch, a migration); shown in events.")

    @model_validator(mode="after")
    def _one_change(self) -> Step:
        if (self.add is None) == (self.multiply is None):
            raise ValueError("a step needs exactly one of 'add' or 'multiply'")
        return self


class DriverOverride(Strict):
    """What one scenario changes in a driver."""

    initial: NonNeg | None = Field(None, description="Value in period 0 in this scenario.")
    growth: GrowthOverride | None = Field(
        None, description="Growth fields to change; the others keep the base's values."
    )
    steps: list[Step] | None = Field(None, description="Steps replacing the base's steps.")


class Driver(Strict):
    """A base quantity (registered users, agents, requests/s) with its growth."""

    initial: NonNeg = Field(description="Value in period 0 (today).")
    unit: str = Field("", description="Unit of the value (users, agents).")
    description: str = ""
    growth: Growth = Field(
        default_factory=lambda: ConstantGrowth(model="none"),
        description="How the value grows; constant when left out.",
    )
    steps: list[Step] = Field(default_factory=list, description="One-off changes from a period on.")
    scenarios: dict[str, DriverOverride] = Field(
        default_factory=dict, description="Per-scenario changes to initial, growth or steps."
    )
    actual: ActualSource | None = Field(
        None,
        description="Where its observed values live, for compare (default: the series named "
        "after the driver, averaged per period).",
    )


class Scenario(Strict):
    """A named growth scenario (conservative / moderate / aggressive)."""

    description: str = Field("", description="What the scenario assumes.")

    @model_validator(mode="before")
    @classmethod
    def _text_is_description(cls, data: Any) -> Any:
        if data is None:
            return {}
        return {"description": data} if isinstance(data, str) else data
