"""Monthly cost of a sized component from its prices."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from capplan.plan.models import Price
from capplan.sizing.result import Array, Sized

__all__ = ["component_cost", "cost_of", "reserved_savings"]


def component_cost(price: Price, sized: Sized, extra: Array | None = None) -> Array:
    """Tier or rung price + fixed + per instance / vCPU / GB parts (+ a cost expression)."""
    resources = {
        "instances": sized.instances,
        "vcpu": sized.vcpu,
        "memory_gb": sized.memory_gb,
        "storage_gb": sized.storage_gb,
    }
    return cost_of(price, resources, sized.level_price, extra)


def cost_of(
    price: Price,
    resources: Mapping[str, Array],
    level_price: Array | float = 0.0,
    extra: Array | None = None,
) -> Array:
    """The cost of ``resources`` (``instances``, ``vcpu``, ``memory_gb``, ``storage_gb``)
    priced at ``price``, plus a tier or rung price and a cost expression's result.

    Parts priced at zero are left out: with finite resources they add only a zero, whose
    sign the ``+ fixed`` that always follows makes +0.0 again, so the figures are the same.
    """
    cost: Array | None = None
    part: Array | None = None
    for amount, unit_price in (
        (resources["instances"], price.per_instance),
        (resources["vcpu"], price.per_vcpu),
        (resources["memory_gb"], price.per_memory_gb),
        (resources["storage_gb"], price.per_storage_gb),
    ):
        if unit_price != 0:
            if cost is None:
                cost = np.multiply(amount, unit_price)
            else:  # the same sums, in place
                part = np.multiply(amount, unit_price, out=part)
                np.add(cost, part, out=cost)
    if cost is None:  # zeros + fixed: the same as 0.0 + fixed, added to each level price
        fixed = 0.0 + price.fixed
        if isinstance(level_price, float):
            cost = np.full(np.shape(resources["instances"]), fixed + level_price)
        else:
            cost = np.add(fixed, level_price)
    else:
        np.add(cost, price.fixed, out=cost)
        if not isinstance(level_price, float) or level_price != 0:
            np.add(cost, level_price, out=cost)  # (after + fixed, adding 0.0 changes nothing)
    if extra is not None:
        np.add(cost, extra, out=cost)
    return np.asarray(cost, dtype=np.float64)


def reserved_savings(price: Price, cost: Array, months_per_period: float) -> float:
    """What reserving the always-needed share of a component would save over the horizon:
    the lowest monthly cost over periods 1..T is safe to commit to, at ``reserved_discount``."""
    if price.reserved_discount is None or cost.shape[-1] < 2:
        return 0.0
    floor = float(np.min(cost[..., 1:]))
    periods = cost.shape[-1] - 1
    return float(floor * price.reserved_discount * periods * months_per_period)
