"""Monthly cost of a sized component from its prices."""

from __future__ import annotations

import numpy as np

from capplan.plan.models import Price
from capplan.sizing.result import Array, Sized

__all__ = ["component_cost", "reserved_savings"]


def component_cost(price: Price, sized: Sized, extra: Array | None = None) -> Array:
    """Tier or rung price + fixed + per instance / vCPU / GB parts (+ a cost expression)."""
    cost = (
        sized.instances * price.per_instance
        + sized.vcpu * price.per_vcpu
        + sized.memory_gb * price.per_memory_gb
        + sized.storage_gb * price.per_storage_gb
        + price.fixed
        + sized.level_price
    )
    if extra is not None:
        cost = cost + extra
    return np.asarray(cost, dtype=np.float64)


def reserved_savings(price: Price, cost: Array, months_per_period: float) -> float:
    """What reserving the always-needed share of a component would save over the horizon:
    the lowest monthly cost over periods 1..T is safe to commit to, at ``reserved_discount``."""
    if price.reserved_discount is None or cost.shape[-1] < 2:
        return 0.0
    floor = float(np.min(cost[..., 1:]))
    periods = cost.shape[-1] - 1
    return float(floor * price.reserved_discount * periods * months_per_period)
