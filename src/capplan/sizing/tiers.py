"""Tier sizing: named bundles; the next tier is due when demand reaches trigger × capacity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan._types import Array, BoolArray, IntArray
from capplan.plan.expressions import compile_expression
from capplan.plan.models import TierComponent
from capplan.sizing.result import Sized, ceil_count

__all__ = ["TierTable", "size_tiers", "tier_levels", "tier_serves", "tier_summary", "tier_table"]

_TOTALLED = ("instances", "vcpu", "memory_gb", "storage_gb")


@dataclass(frozen=True)
class TierTable:
    """What sizing a tier component looks up, per tier: built once per component
    (:func:`tier_table`; the compiled plan keeps one per component)."""

    caps: Array
    triggers: Array
    allocations: dict[str, Array]  # per allocation ("app.vcpu") or unit served, and tier
    prices: Array
    totalled: dict[str, Array]  # per summed resource and tier, its allocations added up
    names: tuple[str, ...]


def tier_table(comp: TierComponent) -> TierTable:
    """The tables of a tier component."""
    tiers = comp.tiers
    caps = np.array([t.capacity for t in tiers])
    parts = sorted({(a, r) for t in tiers for a, rs in t.allocations.items() for r in rs})
    allocations = {
        f"{a}.{r}": np.array([t.allocations.get(a, {}).get(r, 0.0) for t in tiers])
        for a, r in parts
    }
    totalled = {
        res: sum((t for k, t in allocations.items() if k.endswith(f".{res}")), np.zeros(len(tiers)))
        for res in _TOTALLED
    }
    # What each tier serves in other units is looked up by tier like an allocation.
    allocations.update({f"{unit}_served": values for unit, values in tier_serves(comp).items()})
    return TierTable(
        caps=caps,
        triggers=caps * comp.trigger,
        allocations=allocations,
        prices=np.array([t.price for t in tiers]),
        totalled=totalled,
        names=tuple(t.name for t in tiers),
    )


def tier_serves(comp: TierComponent) -> dict[str, Array]:
    """Per unit of ``serves``, what each tier serves: the expression evaluated on the
    tiers' ``capacity`` and ``price`` (THE_BOT's registered users: capacity / 0.15)."""
    env = {
        "capacity": np.array([t.capacity for t in comp.tiers]),
        "price": np.array([t.price for t in comp.tiers]),
    }
    shape = (len(comp.tiers),)
    out = {}
    for unit, src in comp.serves.items():
        values = compile_expression(src, path=f"serves.{unit}").evaluate(env)
        out[unit] = np.asarray(np.broadcast_to(values, shape), dtype=np.float64)
    return out


def tier_summary(comp: TierComponent) -> list[dict[str, object]]:
    """Each tier: its name, capacity, the demand that moves past it (``trigger`` ×
    capacity), its price and what it serves in each unit of ``serves``."""
    served = tier_serves(comp)
    return [
        {
            "name": tier.name,
            "capacity": tier.capacity,
            "next_tier_at": tier.capacity * comp.trigger,
            "price": tier.price,
            "serves": {unit: float(values[i]) for unit, values in served.items()},
        }
        for i, tier in enumerate(comp.tiers)
    ]


def size_tiers(comp: TierComponent, demand: Array, table: TierTable | None = None) -> Sized:
    """The smallest tier with ``demand <= trigger × capacity`` (THE_BOT's 70% readiness rule);
    beyond the largest tier, the largest one marked ``exceeded``. With ``interpolate``,
    allocations and price move linearly from the tier below to the chosen one as demand rises
    between their trigger points (instance counts rounded up). Each allocation (``app.vcpu``)
    is also an output of its own. ``table``: the component's :func:`tier_table`, when built
    already."""
    table = tier_table(comp) if table is None else table
    level, exceeded = tier_levels(table.triggers, demand)
    frac: Array | None = None
    if comp.interpolate and len(comp.tiers) > 1:
        triggers = table.triggers
        lower = np.where(level > 0, triggers[np.maximum(level - 1, 0)], 0.0)
        upper = triggers[level]
        frac = np.clip((demand - lower) / np.maximum(upper - lower, 1e-12), 0.0, 1.0)
        frac = np.where(level > 0, frac, 1.0)

    def pick(values: Array, *, count: bool = False) -> Array:
        value = values[level]
        if frac is not None:
            below = values[np.maximum(level - 1, 0)]
            value = below + frac * (value - below)
            if count:
                value = ceil_count(value)
        return np.asarray(value, dtype=np.float64)

    if frac is None:  # every output a lookup of the tier (the totals summed once per tier)
        extra = {key: values[level] for key, values in table.allocations.items()}
        totals = {res: values[level] for res, values in table.totalled.items()}
    else:
        extra = {
            key: pick(values, count=key.endswith(".instances"))
            for key, values in table.allocations.items()
        }
        totals = {
            res: sum((v for k, v in extra.items() if k.endswith(f".{res}")), np.zeros(demand.shape))
            for res in _TOTALLED
        }
    capacity = table.caps[level]
    extra["demand"] = demand
    extra["capacity"] = capacity
    return Sized(
        instances=totals["instances"],
        vcpu=totals["vcpu"],
        memory_gb=totals["memory_gb"],
        storage_gb=totals["storage_gb"],
        utilization=demand / capacity,
        exceeded=exceeded,
        level_price=pick(table.prices),
        level=level,
        level_names=table.names,
        extra=extra,
    )


def tier_levels(triggers: Array, demand: Array) -> tuple[IntArray, BoolArray]:
    """The tier for each demand (the number of triggers below it, as np.searchsorted's
    side="left" counts them, capped at the last tier; one comparison per trigger is faster
    than a search for a few tiers) and whether the demand is beyond the last one."""
    reach = np.maximum(demand, 1.0)  # demand - 1e-12 * max(1, demand), in one array
    np.multiply(reach, 1e-12, out=reach)
    np.subtract(demand, reach, out=reach)
    if len(triggers) > 255:
        return np.minimum(np.searchsorted(triggers, reach), len(triggers) - 1), triggers[-1] < reach
    level = np.zeros(reach.shape, dtype=np.uint8)  # small counts: one byte each
    for trigger in triggers[:-1]:
        level += trigger < reach
    return level.astype(np.int64), triggers[-1] < reach
