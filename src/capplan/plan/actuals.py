"""Where a driver's or a derived metric's actual values live, for ``capplan compare``.

A driver or a metric with an expression is projected by the plan; its ``actual`` block names
the observed history to hold that projection against: stored series (a glob), or a PromQL
query, aggregated onto the plan's step with ``agg``. Without the block, the series named
after the driver or metric is read (a metric's own ``series`` or ``query`` first).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Positive

__all__ = ["ACTUAL_AGGREGATIONS", "ActualSource"]

#: aggregations of the points of one period onto one value (pNN: any percentile, e.g. p95)
ACTUAL_AGGREGATIONS = ("mean", "max", "min", "first", "last", "median", "sum")
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(?:\.\d+)?)$")


class ActualSource(Strict):
    """The observed history a projected driver or metric is compared with."""

    series: str | None = Field(
        None,
        description="Glob of stored (or file) series holding the actuals (default: the "
        "driver's or metric's name, or the metric's own series).",
    )
    query: str | None = Field(
        None, description="PromQL returning the actuals, for compare --prometheus."
    )
    agg: str = Field(
        "mean",
        description="How the points of one period become its actual value: mean, max, min, first, "
        "last, median, sum or a percentile pNN (p95).",
    )
    unit: str | None = Field(
        None,
        description="The unit the actuals are recorded in, when not the plan's: compare "
        "refuses actuals whose unit differs from the plan's unless scale converts them.",
    )
    scale: Positive = Field(
        1.0, description="Factor the actuals are multiplied by into the plan's unit."
    )

    @field_validator("agg")
    @classmethod
    def _known_agg(cls, value: str) -> str:
        name = value.strip().lower()
        if name in ACTUAL_AGGREGATIONS or _PERCENTILE.match(name):
            return name
        raise ValueError(
            f"agg must be one of {', '.join(ACTUAL_AGGREGATIONS)} or a percentile such as "
            f"p95, got {value!r}"
        )
