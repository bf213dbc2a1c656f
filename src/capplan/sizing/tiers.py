"""Tier sizing: named bundles; the next tier is due when demand reaches trigger × capacity."""

from __future__ import annotations

import numpy as np

from capplan.plan.models import TierComponent
from capplan.sizing.result import Array, Sized, ceil_count

__all__ = ["size_tiers"]

_TOTALLED = ("instances", "vcpu", "memory_gb", "storage_gb")


def size_tiers(comp: TierComponent, demand: Array) -> Sized:
    """The smallest tier with ``demand <= trigger × capacity`` (THE_BOT's 70% readiness rule);
    beyond the largest tier, the largest one marked ``exceeded``. With ``interpolate``,
    allocations and price move linearly from the tier below to the chosen one as demand rises
    between their trigger points (instance counts rounded up)."""
    tiers = comp.tiers
    caps = np.array([t.capacity for t in tiers])
    triggers = caps * comp.trigger
    idx = np.searchsorted(triggers, demand - 1e-12 * np.maximum(1.0, demand), side="left")
    exceeded = idx >= len(tiers)
    level = np.minimum(idx, len(tiers) - 1).astype(np.int64)

    parts = sorted({(a, r) for t in tiers for a, rs in t.allocations.items() for r in rs})
    tables = {
        f"{a}.{r}": np.array([t.allocations.get(a, {}).get(r, 0.0) for t in tiers])
        for a, r in parts
    }
    prices = np.array([t.price for t in tiers])
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
        level_price=pick(prices),
        level=level,
        level_names=tuple(t.name for t in tiers),
        extra=extra,
    )
