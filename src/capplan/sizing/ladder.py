"""Vertical sizing: the cheapest rung of a ladder whose limits hold every demand with headroom."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from capplan._types import Array, BoolArray, IntArray
from capplan.plan.models import VerticalComponent
from capplan.sizing.result import Sized

__all__ = ["Ladder", "ladder_levels", "ladder_table", "ladder_usage", "size_vertical"]


def _limit(value: float | None) -> float:
    return np.inf if value is None else value


def _ascending(values: list[float]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def _climb(
    holds: dict[str, list[float]],
    demands: dict[str, Array],
    by_price: IntArray,
    shape: tuple[int, ...],
) -> tuple[IntArray, BoolArray]:
    """When a dearer rung always holds at least as much, the cheapest rung that fits is the
    one past the last that is too small for some resource: count, per resource, the rungs
    the demand exceeds (``not demand <= limit``), and take the largest count."""
    # Counts are small: one byte each keeps the arrays (and the memory touched) small.
    position = np.zeros(shape, dtype=np.uint8)
    for res, demand in demands.items():
        over = np.zeros(shape, dtype=np.uint8)
        for hold in holds[res]:
            if np.isfinite(hold):
                over += demand > hold
        np.maximum(position, over, out=position)
    exceeded = position >= len(by_price)
    last = len(by_price) - 1
    if np.array_equal(by_price, np.arange(len(by_price))):  # listed in price order
        return np.minimum(position, last).astype(np.int64), exceeded
    # By position in price order; beyond the dearest, the last rung as listed.
    rung_at = np.append(by_price, last).astype(np.int64)
    return rung_at[position.astype(np.intp)], exceeded


def _search(
    holds: dict[str, list[float]],
    demands: dict[str, Array],
    by_price: IntArray,
    shape: tuple[int, ...],
) -> tuple[IntArray, BoolArray]:
    """Any ladder: from the dearest rung to the cheapest, each one that fits replaces the
    last, so the cheapest fitting rung (the first in price order on a tie) is left."""
    level = np.full(shape, len(by_price) - 1, dtype=np.int64)
    any_fit = np.zeros(shape, dtype=bool)
    for position in range(len(by_price) - 1, -1, -1):
        fits: BoolArray | None = None
        for res, demand in demands.items():
            hold = holds[res][position]
            if np.isfinite(hold):
                ok = demand <= hold
                fits = ok if fits is None else np.logical_and(fits, ok, out=fits)
        if fits is None:  # no limits: fits everywhere
            level.fill(by_price[position])
            any_fit.fill(True)
        else:
            np.copyto(level, by_price[position], where=fits)
            any_fit |= fits
    return level, ~any_fit


@dataclass(frozen=True)
class Ladder:
    """What sizing a vertical component looks up: built once per component
    (:func:`ladder_table`; the compiled plan keeps one per component)."""

    by_price: IntArray
    holds: dict[str, list[float]]  # per resource, the most each rung holds, in price order
    climbs: bool  # every resource's holds ascend in price order: the fast search applies
    lookups: dict[str, Array]  # per level: instances, vcpu, GB, level price, limits shown
    limits: dict[str, Array]  # per resource and level, the limit (inf: unlimited)
    divides: dict[str, BoolArray]  # per resource and level, whether the limit divides
    names: tuple[str, ...]


def ladder_table(comp: VerticalComponent) -> Ladder:
    """The tables of a vertical component."""
    rungs = comp.rungs
    usable = 1.0 - comp.headroom
    by_price = np.argsort([r.price for r in rungs], kind="stable")
    holds = {
        res: [_limit(rungs[i].limits[res]) * usable + 1e-12 for i in by_price]
        for res in comp.demand
    }
    table = {
        key: np.array([float(getattr(r, key)) for r in rungs])
        for key in ("price", "vcpu", "memory_gb", "storage_gb")
    }
    lookups = {
        "instances": np.array([float(r.instances) for r in rungs]),
        "vcpu": table["vcpu"],
        "memory_gb": table["memory_gb"],
        "storage_gb": table["storage_gb"],
        "level_price": table["price"],
    }
    limits = {res: np.array([_limit(r.limits[res]) for r in rungs]) for res in comp.demand}
    for res, limit in limits.items():
        lookups[f"{res}_limit"] = np.where(np.isfinite(limit), limit, np.nan)
    return Ladder(
        by_price=by_price,
        holds=holds,
        climbs=len(rungs) < 256 and all(_ascending(h) for h in holds.values()),
        lookups=lookups,
        limits=limits,
        divides={res: np.isfinite(lim) & (lim > 0) for res, lim in limits.items()},
        names=tuple(r.name for r in rungs),
    )


def size_vertical(
    comp: VerticalComponent, demands: dict[str, Array], ladder: Ladder | None = None
) -> Sized:
    """Pick, per path and period, the cheapest rung where ``demand <= limit × (1 - headroom)``
    for every resource; when none fits, the last (largest) rung, marked ``exceeded``.
    ``ladder``: the component's :func:`ladder_table`, when built already."""
    ladder = ladder_table(comp) if ladder is None else ladder
    level, exceeded = ladder_levels(ladder, demands)
    utilization, extra = ladder_usage(ladder, demands, level)
    lookups = ladder.lookups
    return Sized(
        instances=lookups["instances"][level],
        vcpu=lookups["vcpu"][level],
        memory_gb=lookups["memory_gb"][level],
        storage_gb=lookups["storage_gb"][level],
        utilization=utilization,
        exceeded=exceeded,
        level_price=lookups["level_price"][level],
        level=level,
        level_names=ladder.names,
        extra=extra,
    )


def ladder_levels(ladder: Ladder, demands: dict[str, Array]) -> tuple[IntArray, BoolArray]:
    """The rung for each path and period, and whether no rung holds the demands."""
    shape = next(iter(demands.values())).shape
    holds = {res: ladder.holds[res] for res in demands}
    if ladder.climbs:
        return _climb(holds, demands, ladder.by_price, shape)
    return _search(holds, demands, ladder.by_price, shape)


def ladder_usage(
    ladder: Ladder, demands: dict[str, Array], level: IntArray
) -> tuple[Array, dict[str, Array]]:
    """The utilization at the rungs chosen (the largest share of any resource's limit, and
    never below zero), and per resource its demand, limit and utilization."""
    shape = level.shape
    extra: dict[str, Array] = {}
    utilization: Array | None = None
    for res, demand in demands.items():
        limit_at = ladder.limits[res][level]
        divides = ladder.divides[res]
        if divides.all():  # every limit finite: the limits shown are those divided by
            util = np.divide(demand, limit_at)
            shown_at = limit_at
        else:
            util = np.divide(demand, limit_at, out=np.zeros(shape), where=divides[level])
            shown_at = ladder.lookups[f"{res}_limit"][level]
        extra[f"{res}_demand"] = demand
        extra[f"{res}_limit"] = shown_at
        extra[f"{res}_utilization"] = util
        if utilization is None:
            utilization = np.maximum(0.0, util)
        else:
            np.maximum(utilization, util, out=utilization)
    return (np.zeros(shape) if utilization is None else utilization), extra
