"""Service level objectives in a plan: an objective (99.9% over 30d) on one indicator, its
error budget, and the burn rates that alert on it (the Google SRE workbook's multiwindow,
multi-burn-rate alerts).

The indicator (SLI) is the share of bad events or samples, given one of three ways:

- ``job``: availability of a scrape job's targets, bad while ``up == 0``;
- ``error_ratio``: PromQL of the bad share over a range, written with ``$window`` where the
  range goes (``sum(rate(errors[$window])) / sum(rate(requests[$window]))``);
- ``metric`` with ``limit``: an observed metric of the plan (a latency p95), a sample bad when
  past the limit.

A burn rate ``{consumed: 2, long: 1h}`` alerts when the budget is being spent fast enough
that 2% of the whole window's budget goes in 1h: the bad share over 1h, and over the short
window (``long / 12``, 5m), both above ``factor × (1 − objective)`` with ``factor = consumed
× window / long`` (14.4 for 30d). The workbook's defaults: 2% in 1h and 5% in 6h page
(critical), 10% in 3d opens a ticket (warning).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Duration, Finite
from capplan.units import duration_seconds

__all__ = ["DEFAULT_BURN_RATES", "WINDOW_PLACEHOLDER", "BurnRate", "Slo"]

WINDOW_PLACEHOLDER = "$window"


def _positive(value: str | None) -> str | None:
    if value is not None and duration_seconds(value) <= 0:
        raise ValueError(f"must be a duration > 0, got '{value}'")
    return value


class BurnRate(Strict):
    """One multiwindow burn-rate alert: ``consumed`` percent of the budget spent in ``long``."""

    consumed: Annotated[float, Field(gt=0, le=100)] = Field(
        description="Percent of the window's error budget spent within `long` (2)."
    )
    long: Duration = Field(description="The long window (1h).")
    short: Duration | None = Field(
        None, description="The short window that must agree (default: long / 12)."
    )
    severity: Literal["warning", "critical"] = Field(
        "critical", description="critical pages; warning opens a ticket."
    )
    for_: Duration = Field(
        "2m",
        alias="for",
        description="How long both windows must stay past the threshold before it fires.",
    )

    _durations = field_validator("long", "short")(_positive)

    @property
    def long_seconds(self) -> float:
        return duration_seconds(self.long)

    @property
    def short_seconds(self) -> float:
        return duration_seconds(self.short) if self.short is not None else self.long_seconds / 12


#: The SRE workbook's burn rates for a 30-day window: 14.4× over 1h and 6× over 6h page,
#: 1× over 3d opens a ticket; the factors follow from the SLO's own window.
DEFAULT_BURN_RATES = (
    BurnRate(consumed=2, long="1h", severity="critical"),
    BurnRate(consumed=5, long="6h", severity="critical"),
    BurnRate(consumed=10, long="3d", severity="warning"),
)


class Slo(Strict):
    """An objective on one indicator over a rolling window, and its error budget."""

    objective: Annotated[float, Field(gt=0, lt=100)] = Field(
        description="Percent of events (or samples) that must be good over the window (99.9)."
    )
    window: Duration = Field("30d", description="The rolling window of the objective.")
    description: str = ""
    job: str | None = Field(
        None, description="Availability of this scrape job's targets: bad while up == 0."
    )
    error_ratio: str | None = Field(
        None,
        description="PromQL of the bad share (0-1) over a range written $window "
        "(errors over requests).",
    )
    metric: str | None = Field(
        None, description="An observed metric: a sample is bad when past `limit`."
    )
    limit: Finite | None = Field(None, description="With metric: the good side's limit.")
    direction: Literal["above", "below"] = Field(
        "above", description="With metric: whether values above the limit are bad, or below."
    )
    series: str | None = Field(
        None,
        description="For check: the stored series holding the indicator (a glob; default: "
        "the metric's, or up of the job; the bad share itself for error_ratio).",
    )
    burn_rates: list[BurnRate] = Field(
        default_factory=lambda: list(DEFAULT_BURN_RATES),
        description="The burn-rate alerts (default: the SRE workbook's 2% in 1h and 5% in "
        "6h page, 10% in 3d tickets); [] for none.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Extra alert labels.")
    runbook_url: str | None = Field(None, description="Link put in the alerts' annotations.")

    _window = field_validator("window")(_positive)

    @field_validator("job")
    @classmethod
    def _job(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in '"\\\n')):
            raise ValueError(
                f"a job name is not empty and holds no quote, backslash or newline, got {value!r}"
            )
        return value

    @field_validator("error_ratio")
    @classmethod
    def _placeholder(cls, value: str | None) -> str | None:
        if value is not None and WINDOW_PLACEHOLDER not in value:
            raise ValueError(
                f"must write the range as {WINDOW_PLACEHOLDER} "
                "(sum(rate(errors[$window])) / sum(rate(requests[$window]))), got "
                f"'{value}'"
            )
        return value

    @model_validator(mode="after")
    def _one_indicator(self) -> Slo:
        given = [k for k in ("job", "error_ratio", "metric") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one indicator: job, error_ratio or metric (with limit)"
                + (f"; got {', '.join(given)}" if given else "")
            )
        if (self.metric is None) != (self.limit is None):
            raise ValueError("limit goes with metric, and metric needs a limit")
        for rate in self.burn_rates:
            if rate.long_seconds > self.window_seconds:
                raise ValueError(
                    f"a burn rate's long window ({rate.long}) must not exceed the "
                    f"window ({self.window}); give burn_rates that fit it, or [] for none"
                )
        return self

    @property
    def window_seconds(self) -> float:
        return duration_seconds(self.window)

    @property
    def budget_fraction(self) -> float:
        """The share of events allowed to be bad: 1 − objective (0.001 for 99.9%), to 12
        significant digits (so 99.9% gives 0.001, not 0.0009999999999998899)."""
        return float(f"{1 - self.objective / 100:.12g}")

    @property
    def budget_seconds(self) -> float:
        """Time all bad the budget allows per window: 43.2 min for 99.9% of 30d."""
        return self.budget_fraction * self.window_seconds

    def indicator(self) -> str:
        """The indicator in words: ``up of job app``, ``error_ratio``, ``db_query_p95 > 100``."""
        if self.job is not None:
            return f"up of job {self.job}"
        if self.error_ratio is not None:
            return "error_ratio query"
        op = ">" if self.direction == "above" else "<"
        return f"{self.metric} {op} {self.limit:g} is bad"

    def factor(self, rate: BurnRate) -> float:
        """The burn-rate factor of ``rate``: consumed × window / long (14.4 for 2% in 1h
        of 30d)."""
        return rate.consumed / 100 * self.window_seconds / rate.long_seconds

    def summary(self, name: str) -> dict[str, object]:
        """JSON-ready: the objective, its indicator, its error budget and burn-rate alerts."""
        return {
            "slo": name,
            "objective": self.objective,
            "window": self.window,
            "indicator": self.indicator(),
            "budget_seconds": self.budget_seconds,
            "budget_minutes": self.budget_seconds / 60,
            "burn_rates": [
                {
                    "consumed": rate.consumed,
                    "long": rate.long,
                    "short_seconds": rate.short_seconds,
                    "factor": self.factor(rate),
                    "bad_share_above": float(f"{self.factor(rate) * self.budget_fraction:.12g}"),
                    "severity": rate.severity,
                }
                for rate in self.burn_rates
            ],
        }
