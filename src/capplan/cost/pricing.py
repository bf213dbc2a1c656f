"""Monthly cost of a sized component from its prices."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from capplan._types import Array
from capplan.plan.models import Price
from capplan.sizing.result import Sized

__all__ = ["component_cost", "cost_of", "reserved_savings", "spot_savings"]


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
    priced at ``price``, plus a tier or rung price and a cost expression's result: the
    priced parts in that order, then ``fixed``, the level price and the expression's result
    (a part priced at zero adds nothing and is skipped)."""
    shape = np.shape(resources["instances"])
    cost = np.zeros(shape)
    part = np.empty(shape)
    for key, unit_price in (
        ("instances", price.per_instance),
        ("vcpu", price.per_vcpu),
        ("memory_gb", price.per_memory_gb),
        ("storage_gb", price.per_storage_gb),
    ):
        if unit_price != 0:
            np.add(cost, np.multiply(resources[key], unit_price, out=part), out=cost)
    np.add(cost, price.fixed, out=cost)
    np.add(cost, level_price, out=cost)
    if extra is not None:
        np.add(cost, extra, out=cost)
    return cost


def reserved_savings(price: Price, cost: Array, months_per_period: float) -> float:
    """What reserving the always-needed share of a component would save over the horizon:
    the lowest monthly cost over periods 1..T is safe to commit to, at ``reserved_discount``."""
    if price.reserved_discount is None or cost.shape[-1] < 2:
        return 0.0
    floor = float(np.min(cost[..., 1:]))
    periods = cost.shape[-1] - 1
    return float(floor * price.reserved_discount * periods * months_per_period)


def spot_savings(price: Price, cost: Array, months_per_period: float) -> float:
    """What running a component's capacity on spot would save over periods 1..T at
    ``spot_discount``: the cost above the reserved baseline (the lowest monthly cost) when it
    is reserved, else the whole cost."""
    if price.spot_discount is None or cost.shape[-1] < 2:
        return 0.0
    over = cost[..., 1:]
    if price.reserved_discount is not None:
        over = over - float(np.min(over))
    return float(np.sum(over) * price.spot_discount * months_per_period)
