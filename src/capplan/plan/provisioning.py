"""Scheduled provisioning of a component: what is in place today and the additions planned
at given periods ("+2 nodes in months 3, 6 and 9"), to hold against what the plan needs."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import NonNeg, PeriodRef

__all__ = ["PROVISIONED_RESOURCES", "Addition", "Provisioned"]

#: The resources a schedule can provision, as every component reports them.
PROVISIONED_RESOURCES = ("instances", "vcpu", "memory_gb", "storage_gb")


class _Amounts(Strict):
    instances: NonNeg | None = Field(None, description="Instances (nodes, replicas).")
    vcpu: NonNeg | None = Field(None, description="vCPUs.")
    memory_gb: NonNeg | None = Field(None, description="Memory, GB.")
    storage_gb: NonNeg | None = Field(None, description="Storage, GB.")

    def amounts(self) -> dict[str, float]:
        """The resources given, by name."""
        return {r: v for r in PROVISIONED_RESOURCES if (v := getattr(self, r)) is not None}


class Addition(_Amounts):
    """Capacity added at one or several periods: ``{at: [3, 6, 9], instances: 2}``."""

    at: list[PeriodRef] = Field(
        min_length=1, description="Period numbers or dates (2027-03) the addition lands."
    )
    note: str = Field("", description="What the addition is (a purchase order, a migration).")

    @field_validator("at", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return value if isinstance(value, list) else [value]

    @model_validator(mode="after")
    def _something(self) -> Addition:
        if not self.amounts():
            raise ValueError(
                f"an addition needs an amount of at least one of {', '.join(PROVISIONED_RESOURCES)}"
            )
        return self


class Provisioned(_Amounts):
    """What is in place in period 0 and what is added when; the plan's need is held against
    it period by period (a shortfall is a warning event with the amount missing)."""

    add: list[Addition] = Field(default_factory=list, description="Scheduled additions.")

    @model_validator(mode="after")
    def _added_resources_are_in_place(self) -> Provisioned:
        given = set(self.amounts())
        for i, addition in enumerate(self.add):
            missing = sorted(set(addition.amounts()) - given)
            if missing:
                raise ValueError(
                    f"add[{i}] adds {', '.join(missing)}, which the schedule does not start "
                    f"from: give what is in place today too (e.g. {missing[0]}: 0)"
                )
        if not given:
            raise ValueError(
                "give what is in place today for at least one of "
                f"{', '.join(PROVISIONED_RESOURCES)}"
            )
        return self
