"""Tier sizing: named bundles; the next tier is due when demand reaches trigger × capacity."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial

import numpy as np

from capplan.plan.models import TierComponent
from capplan.sizing.result import Array, BoolArray, IntArray, Sized, ceil_count, left_out, wanted
from capplan.sizing.static import static

__all__ = ["size_tiers"]

_TOTALLED = ("instances", "vcpu", "memory_gb", "storage_gb")


def size_tiers(
    comp: TierComponent,
    demand: Array,
    allocations: Collection[str] | None = None,
    resources: Collection[str] | None = None,
) -> Sized:
    """The smallest tier with ``demand <= trigger × capacity`` (THE_BOT's 70% readiness rule);
    beyond the largest tier, the largest one marked ``exceeded``. With ``interpolate``,
    allocations and price move linearly from the tier below to the chosen one as demand rises
    between their trigger points (instance counts rounded up).

    Each allocation (``app.vcpu``) is also an output of its own; ``allocations`` limits those
    to the ones named; without interpolation, ``resources`` limits the summed resources
    (and ``level_price``) looked up to the ones named."""
    tiers = comp.tiers
    bundle = static(comp, _bundle)
    caps, triggers, tables, prices = bundle.caps, bundle.triggers, bundle.tables, bundle.prices
    level, exceeded = _levels(triggers, demand)
    frac: Array | None = None
    if comp.interpolate and len(tiers) > 1:
        lower = np.where(level > 0, triggers[np.maximum(level - 1, 0)], 0.0)
        upper = triggers[level]
        frac = np.clip((demand - lower) / np.maximum(upper - lower, 1e-12), 0.0, 1.0)
        frac = np.where(level > 0, frac, 1.0)

    def pick(table: Array, *, count: bool = False) -> Array:
        value = table[level]
        if frac is not None:
            below = table[np.maximum(level - 1, 0)]
            value = below + frac * (value - below)
            if count:
                value = ceil_count(value)
        return np.asarray(value, dtype=np.float64)

    derived: dict[str, tuple[str, Callable[[Array], Array]]] = {}
    level_tables: dict[str, Array] = {}
    if frac is None:
        # Every output is a lookup of the tier in the tables summed once (see _bundle).
        totalled = bundle.totalled
        extra = {
            key: table[level]
            for key, table in tables.items()
            if allocations is None or key in allocations
        }
        totals = {
            res: table[level] if wanted(resources, res) else left_out(demand.shape)
            for res, table in totalled.items()
        }
        derived = dict(bundle.derived)
        level_tables = {**totalled, "level_price": prices}
    else:
        extra = {key: pick(t, count=key.endswith(".instances")) for key, t in tables.items()}
        totals = {
            res: sum((v for k, v in extra.items() if k.endswith(f".{res}")), np.zeros(demand.shape))
            for res in _TOTALLED
        }
    capacity = caps[level]
    extra["demand"] = demand
    extra["capacity"] = capacity
    return Sized(
        instances=totals["instances"],
        vcpu=totals["vcpu"],
        memory_gb=totals["memory_gb"],
        storage_gb=totals["storage_gb"],
        utilization=demand / capacity,
        exceeded=exceeded,
        level_price=pick(prices)
        if frac is not None or wanted(resources, "level_price")
        else left_out(demand.shape),
        level=level,
        level_names=bundle.names,
        extra=extra,
        derived=derived,
        tables=level_tables,
    )


@dataclass(frozen=True)
class _Bundle:
    """What sizing a tier component looks up, built once (see :mod:`.static`)."""

    caps: Array
    triggers: Array
    tables: dict[str, Array]  # per allocation ("app.vcpu") and tier
    prices: Array
    totalled: dict[str, Array]  # per summed resource and tier, its allocations added up
    derived: dict[str, tuple[str, Callable[[Array], Array]]]
    names: tuple[str, ...]


def _bundle(comp: TierComponent) -> _Bundle:
    tiers = comp.tiers
    caps = np.array([t.capacity for t in tiers])
    triggers = caps * comp.trigger
    parts = sorted({(a, r) for t in tiers for a, rs in t.allocations.items() for r in rs})
    tables = {
        f"{a}.{r}": np.array([t.allocations.get(a, {}).get(r, 0.0) for t in tiers])
        for a, r in parts
    }
    prices = np.array([t.price for t in tiers])
    totalled = {
        res: sum((t for k, t in tables.items() if k.endswith(f".{res}")), np.zeros(len(tiers)))
        for res in _TOTALLED
    }
    # Without interpolation, as the tier never goes down when the demand grows, a lookup in
    # an ascending table is a non-decreasing function of the demand.
    lookups = {**totalled, **tables, "capacity": caps, "level_price": prices}
    derived: dict[str, tuple[str, Callable[[Array], Array]]] = {
        key: ("demand", partial(_lookup, table, triggers))
        for key, table in lookups.items()
        if np.all(table[1:] >= table[:-1])
    }
    names = tuple(t.name for t in tiers)
    return _Bundle(caps, triggers, tables, prices, totalled, derived, names)


def _levels(triggers: Array, demand: Array) -> tuple[IntArray, BoolArray]:
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


def _lookup(table: Array, triggers: Array, demand: Array) -> Array:
    return table[_levels(triggers, demand)[0]]
