"""Vertical sizing: the cheapest rung of a ladder whose limits hold every demand with headroom."""

from __future__ import annotations

import numpy as np

from capplan.plan.models import VerticalComponent
from capplan.sizing.result import Array, Sized

__all__ = ["size_vertical"]


def _limit(value: float | None) -> float:
    return np.inf if value is None else value


def size_vertical(comp: VerticalComponent, demands: dict[str, Array]) -> Sized:
    """Pick, per path and period, the cheapest rung where ``demand <= limit × (1 - headroom)``
    for every resource; when none fits, the last (largest) rung, marked ``exceeded``."""
    rungs = comp.rungs
    shape = next(iter(demands.values())).shape
    usable = 1.0 - comp.headroom
    fits = np.ones((len(rungs), *shape), dtype=bool)
    for i, rung in enumerate(rungs):
        for res, demand in demands.items():
            limit = rung.limits[res]
            if limit is not None:
                fits[i] &= demand <= limit * usable + 1e-12
    by_price = np.argsort([r.price for r in rungs], kind="stable")
    fits_by_price = fits[by_price]
    any_fit = fits_by_price.any(axis=0)
    chosen = np.where(any_fit, by_price[np.argmax(fits_by_price, axis=0)], len(rungs) - 1)
    level = chosen.astype(np.int64)
    table = {
        key: np.array([float(getattr(r, key)) for r in rungs])
        for key in ("price", "vcpu", "memory_gb", "storage_gb")
    }
    extra: dict[str, Array] = {}
    utilization = np.zeros(shape)
    for res, demand in demands.items():
        limits = np.array([_limit(r.limits[res]) for r in rungs])
        limit_at = limits[level]
        finite = np.isfinite(limit_at) & (limit_at > 0)
        util = np.divide(demand, limit_at, out=np.zeros(shape), where=finite)
        extra[f"{res}_demand"] = demand
        extra[f"{res}_limit"] = np.where(np.isfinite(limit_at), limit_at, np.nan)
        extra[f"{res}_utilization"] = util
        utilization = np.maximum(utilization, util)
    return Sized(
        instances=np.ones(shape),
        vcpu=table["vcpu"][level],
        memory_gb=table["memory_gb"][level],
        storage_gb=table["storage_gb"][level],
        utilization=utilization,
        exceeded=np.asarray(~any_fit, dtype=bool),
        level_price=table["price"][level],
        level=level,
        level_names=tuple(r.name for r in rungs),
        extra=extra,
    )
