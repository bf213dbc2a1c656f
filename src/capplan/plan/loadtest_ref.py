"""``capacity_per_instance: {loadtest: results/}``: a horizontal component's capacity per
instance taken from load-test results when the plan is loaded (the figure itself is found by
:mod:`capplan.loadtest`; :func:`capplan.plan.loadtest_capacity.resolve_loadtests` reads the
files)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, PrivateAttr, Tag

from capplan.errors import PlanValidationError
from capplan.plan.base import Strict
from capplan.plan.fields import Duration, Fraction, Positive

__all__ = ["CapacityPerInstance", "LoadTestCapacity"]


class LoadTestCapacity(Strict):
    """Capacity per instance from load-test runs at several concurrency levels: the largest
    throughput whose p95 latency and error rate are within the limits (``capplan
    loadtest``)."""

    loadtest: str = Field(
        min_length=1,
        description="Load-test results, a file or a directory, relative to the plan file: "
        "k6 --summary-export JSON, Locust *_stats.csv or FreeAgentics-format YAML.",
    )
    latency_limit: Duration = Field("500ms", description="Highest p95 latency (500ms, 1s).")
    error_limit: Fraction = Field(0.01, description="Highest error rate, 0.01 for 1%.")

    _value: float | None = PrivateAttr(None)
    _note: str = PrivateAttr("")

    @property
    def value(self) -> float:
        """The capacity found in the results; an error when the plan was not loaded from a
        file (nothing has read them)."""
        if self._value is None:
            raise PlanValidationError.single(
                f"capacity_per_instance from load-test results '{self.loadtest}' has not been "
                "read: load the plan from its file (capplan.load_plan)"
            )
        return self._value

    @property
    def note(self) -> str:
        """Where the figure comes from, for ``validate`` and ``plan``."""
        return self._note

    def resolve(self, value: float, note: str) -> None:
        """Record the capacity read from the results."""
        self._value = value
        self._note = note


def _capacity_kind(value: Any) -> str:
    return "function-loadtest" if isinstance(value, dict | LoadTestCapacity) else "function-number"


# A tagged union, so that a wrong value gets the one error of the form it has (a number or a
# mapping), not one per form. The tags start with "function-" as pydantic's validator names
# do: the loader leaves such names out of the field path it reports.
CapacityPerInstance = Annotated[
    Annotated[Positive, Tag("function-number")]
    | Annotated[LoadTestCapacity, Tag("function-loadtest")],
    Discriminator(_capacity_kind),
]
