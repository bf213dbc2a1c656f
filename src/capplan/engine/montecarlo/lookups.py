"""Sizing a block of paths with only the outputs the fast engine still reads.

After the first block of a component, the Monte Carlo summary reads only some of its outputs
whole (the others follow from its demand or level, or are added to the totals from its level
at the end). For tiers and rungs, whose resources are lookups of the level, looking up the
others would be much of the sizing's work: :func:`size_level_block` looks up only those
asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from capplan.plan.models import TierComponent, VerticalComponent
from capplan.sizing.ladder import Ladder, ladder_levels, ladder_usage
from capplan.sizing.result import Array, Sized
from capplan.sizing.tiers import TierTable, tier_levels

__all__ = ["left_out", "size_level_block"]


def left_out(shape: tuple[int, ...]) -> Array:
    """What an output not looked up holds: NaN everywhere (read-only), so that nothing
    computed from it by mistake can pass for a figure."""
    return np.broadcast_to(np.float64(np.nan), shape)


def size_level_block(
    comp: TierComponent | VerticalComponent,
    table: TierTable | Ladder,
    inputs: Mapping[str, Array],
    outputs: Collection[str],
) -> Sized:
    """The sizing of a block of paths of tiers without interpolation or of a ladder, with
    the summed resources, allocations and level price not in ``outputs`` left out (NaN); the
    level, ``exceeded``, utilization and the other outputs are always there."""
    if isinstance(comp, VerticalComponent):
        assert isinstance(table, Ladder)
        demands = {res: inputs[f"demand.{res}"] for res in comp.demand}
        level, exceeded = ladder_levels(table, demands)
        utilization, extra = ladder_usage(table, demands, level)
        summed = {
            key: table.lookups[key] for key in ("instances", "vcpu", "memory_gb", "storage_gb")
        }
        prices = table.lookups["level_price"]
    else:
        assert isinstance(table, TierTable)
        assert not (comp.interpolate and len(comp.tiers) > 1)
        demand = inputs["demand"]
        level, exceeded = tier_levels(table.triggers, demand)
        capacity = table.caps[level]
        utilization = demand / capacity
        extra = dict(table.allocations)
        summed = dict(table.totalled)
        prices = table.prices
    shape = level.shape

    def at(values: Array, key: str) -> Array:
        return values[level] if key in outputs else left_out(shape)

    if isinstance(comp, TierComponent):
        extra = {key: at(values, key) for key, values in extra.items()}
        extra["demand"] = inputs["demand"]
        extra["capacity"] = capacity
        instances = at(summed["instances"], "instances")
    else:  # a ladder's instances are always there, as its level is
        instances = summed["instances"][level]
    return Sized(
        instances=instances,
        vcpu=at(summed["vcpu"], "vcpu"),
        memory_gb=at(summed["memory_gb"], "memory_gb"),
        storage_gb=at(summed["storage_gb"], "storage_gb"),
        utilization=utilization,
        exceeded=exceeded,
        level_price=at(prices, "level_price"),
        level=level,
        level_names=table.names,
        extra=extra,
    )
