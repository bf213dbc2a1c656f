"""Plan schema of the queue component (Erlang C): arrivals, service time and the waiting
target the servers must meet; :mod:`capplan.plan.components` joins it with the fields every
component shares."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Duration, Expr

__all__ = ["QueueFields", "QueueTargetSpec", "queue_outputs"]


class QueueTargetSpec(Strict):
    """The waiting target: a service level (``wait: 20s, percentile: 0.8`` — 80% of arrivals
    answered within 20 s), a mean wait (``mean_wait: 30s``), or both."""

    wait: Duration | None = Field(
        None, description="Longest wait for the share 'percentile' of arrivals (20s)."
    )
    percentile: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.8, description="Share of arrivals answered within 'wait': 0.8 for 80%."
    )
    mean_wait: Duration | None = Field(
        None, description="Longest mean wait (average speed of answer), e.g. 30s."
    )

    @model_validator(mode="after")
    def _some_target(self) -> QueueTargetSpec:
        if self.wait is None and self.mean_wait is None:
            raise ValueError("needs 'wait' (with 'percentile') or 'mean_wait', or both")
        return self


class QueueFields(Strict):
    """Servers (agents, workers, instances) taking arrivals from one queue, sized with
    Erlang C (M/M/c) to meet a waiting target each period."""

    kind: Literal["queue"]
    arrivals: Expr = Field(description="Expression of the arrival rate, per second.")
    service_time: Duration = Field(
        description="Mean time one server spends on one arrival (handling time: 180s, 250ms)."
    )
    target: QueueTargetSpec = Field(description="The waiting target the servers must meet.")
    max_occupancy: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Highest share of time a server may be busy (0.85)."
    )
    min_servers: Annotated[int, Field(ge=0)] = Field(1, description="Never fewer servers.")
    max_servers: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Never more servers: past it the target is missed and servers_needed "
        "says by how much.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> QueueFields:
        if self.max_servers is not None and self.min_servers > self.max_servers:
            raise ValueError(
                f"min_servers ({self.min_servers}) must not exceed max_servers ({self.max_servers})"
            )
        return self


def queue_outputs(comp: QueueFields) -> list[str]:
    """The outputs of a queue component beyond the common ones (``support.service_level``)."""
    out = ["arrivals", "offered_load", "servers", "wait_probability", "mean_wait", "occupancy"]
    if comp.target.wait is not None:
        out.append("service_level")
    if comp.max_servers is not None:
        out.append("servers_needed")
    return out
