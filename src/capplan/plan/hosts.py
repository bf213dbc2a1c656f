"""Hosts and node pools in a plan: the machines components share, so that the resources the
components are sized to need can be summed against what the machines have."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Positive

__all__ = ["HOST_RESOURCES", "Host"]

#: The resources summed over a host's components, as named in component outputs.
HOST_RESOURCES = ("vcpu", "memory_gb", "storage_gb")


class Host(Strict):
    """A machine (or a pool of ``count`` identical ones) that components run on: their summed
    vCPU, memory and storage are compared with its own, and more than it has is overcommit."""

    description: str = ""
    count: Annotated[int, Field(ge=1)] = Field(1, description="Machines of this shape.")
    vcpu: Positive | None = Field(None, description="vCPUs of one machine (cores).")
    memory_gb: Positive | None = Field(None, description="Memory of one machine, GB.")
    storage_gb: Positive | None = Field(None, description="Storage of one machine, GB.")
    components: list[str] | None = Field(
        None,
        description="The components that run on it (default: every component); their "
        "vcpu, memory_gb and storage_gb outputs (instances × shape, or a formula's own) are "
        "summed.",
    )
    basis: Literal["limits", "requests"] = Field(
        "limits",
        description="What the summed figures stand for, in messages: the services' limits "
        "(Docker, Compose) or requests (Kubernetes scheduling).",
    )

    @model_validator(mode="after")
    def _some_resource(self) -> Host:
        if all(getattr(self, r) is None for r in HOST_RESOURCES):
            raise ValueError("give at least one of vcpu, memory_gb and storage_gb")
        return self

    def capacity(self, resource: str) -> float | None:
        """What the pool has of ``resource`` (``count`` machines), or None when not given."""
        amount: float | None = getattr(self, resource)
        return None if amount is None else amount * self.count
