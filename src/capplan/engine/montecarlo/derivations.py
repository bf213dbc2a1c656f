"""How one figure follows from another, so that its order statistics over paths follow too.

When a figure is a non-decreasing function of one other array (``users * 0.15``; a tier's
price as a function of its demand), its P10/P50/P90 are the function applied to that array's
own: the Monte Carlo summary partitions the source once and derives the rest. This module
finds those relations for derived metrics and for the outputs of a sized component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.cost import cost_of
from capplan.plan.compiled import Node
from capplan.plan.expressions import Expression
from capplan.plan.models import (
    Component,
    FormulaComponent,
    HorizontalComponent,
    Price,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing import Sized
from capplan.sizing.formula import constant_value
from capplan.sizing.horizontal import horizontal_instances
from capplan.sizing.ladder import Ladder
from capplan.sizing.result import Array, IntArray
from capplan.sizing.tiers import TierTable, tier_levels

__all__ = [
    "Derived",
    "apply_expression",
    "component_derivations",
    "sizing_derivations",
]

_SIZED = ("instances", "vcpu", "memory_gb", "storage_gb", "utilization")


@dataclass(frozen=True)
class Derived:
    """How a figure follows from one other array, ``values`` (the figure or level named
    ``source``): the figure is ``apply(values)`` element by element, and ``apply`` never
    decreases as its input grows. The figure's order statistics over paths are therefore
    ``apply`` of the source's, which ``parent`` tells how to find when it is itself derived
    (``values`` may then be None: the source's own values are not needed). A component's
    level (``source`` ending in ``.level``) may also come without values when streaming."""

    source: str
    values: npt.NDArray[Any] | None
    apply: Callable[[npt.NDArray[Any]], Array]
    parent: Derived | None = None


def apply_expression(expr: Expression, name: str, values: npt.NDArray[Any]) -> Array:
    """``expr`` evaluated with ``values`` for the one name it reads."""
    return expr.evaluate({name: values})


def _sized_output(s: Sized, key: str) -> Array | None:
    if key in _SIZED:
        value: Array = getattr(s, key)
        return value
    return s.extra.get(key)


def component_derivations(
    node: Node,
    comp: Component,
    table: TierTable | Ladder | None,
    sized: tuple[Sized, Mapping[str, Array], Mapping[str, Array]],
    price: Price | None,
    from_expression: Callable[[Expression], Derived | None],
) -> dict[str, Derived]:
    """The outputs of a component that follow from one other array: an expression's result
    (a demand, a formula resource) or, by :func:`sizing_derivations`, a function of its
    demand or level; and the cost (priced at ``price``; None when an expression adds to
    it). ``sized``: the sizing, outputs and expression results of (a block of) paths."""
    s, outputs, inputs = sized
    derived: dict[str, Derived] = {}
    for key, arr in outputs.items():
        for expr_key, result in inputs.items():
            if arr is result and (how := from_expression(node.exprs[expr_key])) is not None:
                derived[key] = how
                break
    for key, (source, apply) in sizing_derivations(comp, table, inputs).items():
        if key in outputs and outputs[key] is not _sized_output(s, key):
            continue  # replaced by a formula resource of the same name
        values = s.level if source == "level" else outputs.get(source)
        if values is not None:
            derived[key] = Derived(f"{node.name}.{source}", values, apply, derived.get(source))
    if price is not None and (how := _cost_derivation(price, s, derived)):
        derived["cost"] = how
    return derived


def _cost_derivation(price: Price, s: Sized, derived: dict[str, Derived]) -> Derived | None:
    """The cost follows from the same array as every priced resource (and the level price)
    when they all do: prices are >= 0, so it never decreases either."""
    priced = {
        "instances": price.per_instance,
        "vcpu": price.per_vcpu,
        "memory_gb": price.per_memory_gb,
        "storage_gb": price.per_storage_gb,
    }
    keys = [key for key, unit_price in priced.items() if unit_price != 0]
    if not isinstance(s.level_price, float):
        keys.append("level_price")
    parts = [derived.get(key) for key in keys]
    first = parts[0] if parts else None
    if first is None or any(p is None or p.values is not first.values for p in parts):
        return None
    hows = {key: p.apply for key, p in zip(keys, parts, strict=True) if p is not None}
    fixed_level_price = s.level_price if isinstance(s.level_price, float) else 0.0

    def apply(values: npt.NDArray[Any]) -> Array:
        zeros = np.zeros(values.shape)
        got = {key: how(values) for key, how in hows.items()}
        resources = {key: got.get(key, zeros) for key in priced}
        return cost_of(price, resources, got.get("level_price", fixed_level_price))

    return Derived(first.source, first.values, apply, first.parent)


#: A function of a component's demand or level: (``"demand"``, ``"level"`` or a formula
#: resource, the non-decreasing function giving the output from it).
Follows = tuple[str, Callable[[npt.NDArray[Any]], Array]]
_RISING = ("instances", "vcpu", "memory_gb", "storage_gb", "capacity")


def sizing_derivations(
    comp: Component, table: TierTable | Ladder | None, inputs: Mapping[str, Array]
) -> dict[str, Follows]:
    """The outputs of a sized component that are a non-decreasing function of its demand,
    its level or one formula resource, with that function."""
    if isinstance(comp, HorizontalComponent):
        return {key: ("demand", partial(_horizontal_output, comp, key)) for key in _RISING}
    if isinstance(comp, TierComponent) and isinstance(table, TierTable):
        if comp.interpolate and len(comp.tiers) > 1:
            return {}
        # As the tier never goes down when the demand grows, a lookup in an ascending table
        # is a non-decreasing function of the demand.
        lookups = {**table.totalled, **table.allocations, "capacity": table.caps}
        lookups["level_price"] = table.prices
        return {
            key: ("demand", partial(_tier_lookup, values, table.triggers))
            for key, values in lookups.items()
            if np.all(values[1:] >= values[:-1])
        }
    if isinstance(comp, VerticalComponent) and isinstance(table, Ladder):
        # A lookup in an ascending table never decreases as the level grows.
        return {
            key: ("level", partial(_level_lookup, values))
            for key, values in table.lookups.items()
            if np.all(values[1:] >= values[:-1])
        }
    out: dict[str, Follows] = {}
    if isinstance(comp, FormulaComponent):
        for res in comp.capacity:
            provided = constant_value(inputs[f"capacity.{res}"])
            if provided is not None and provided > 0:  # a fixed capacity: the share only grows
                out[f"{res}_utilization"] = (res, partial(_share, provided))
                if len(comp.capacity) == 1:
                    out["utilization"] = (res, partial(_share_or_zero, provided))
    return out


def _horizontal_output(comp: HorizontalComponent, key: str, demand: Array) -> Array:
    instances = horizontal_instances(comp, demand)
    if key == "instances":
        return instances
    if key == "capacity":
        return instances * comp.per_instance
    return np.asarray(instances * getattr(comp.instance, key), dtype=np.float64)


def _tier_lookup(values: Array, triggers: Array, demand: Array) -> Array:
    return values[tier_levels(triggers, demand)[0]]


def _level_lookup(values: Array, level: IntArray) -> Array:
    return values[level]


def _share(capacity: float, need: Array) -> Array:
    return np.asarray(np.divide(need, capacity), dtype=np.float64)


def _share_or_zero(capacity: float, need: Array) -> Array:
    return np.maximum(np.zeros(need.shape), _share(capacity, need))
