"""What a component adds to the totals, as a function of one array of its sizing.

The totals (``total.instances`` ... ``total.cost``) are summed path by path over the
components. Added as each component is sized, every total is read and written whole once per
component, which for a large batch of paths means main memory. A component whose summed
resources and cost all follow from one array, its level (a tier or rung) or its instance count
(a horizontal component), hands over that array instead; the engine adds these components up
at the end, a block of paths at a time, so that the block of each total stays in the cache.
Every amount is computed with the same element-wise operations as the sizing, so each is the
same; the totals are summed in another order (these components after the others, several at
a time in one table), so they may differ in the last bits from sums taken as sized.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from capplan._types import AnyArray
from capplan.cost import cost_of
from capplan.engine.evaluate import SUMMED
from capplan.engine.montecarlo.blocks import DEFER_CELLS, row_blocks
from capplan.plan.models import (
    Component,
    HorizontalComponent,
    Price,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing.horizontal import horizontal_resources
from capplan.sizing.ladder import Ladder
from capplan.sizing.result import Array, Sized
from capplan.sizing.tiers import TierTable

__all__ = [
    "SUMMED",
    "Contribution",
    "adding_up_blocks",
    "contribution",
    "contribution_key",
    "defers",
    "grouped",
    "level_tables",
]

_RESOURCES = SUMMED[:-1]


@dataclass(frozen=True)
class Contribution:
    """The summed amounts of one or more components, following from ``keys`` (one array per
    component): ``amounts([key[rows] for key in keys])`` maps each of :data:`SUMMED` to its
    values on those rows. ``tables`` (per level, each of :data:`SUMMED`) is set for
    components whose amounts follow from their level, the key."""

    keys: tuple[AnyArray, ...]
    amounts: Callable[[list[AnyArray]], dict[str, Array]]
    tables: dict[str, Array] | None = None

    def with_keys(self, keys: tuple[AnyArray, ...]) -> Contribution:
        return Contribution(keys, self.amounts, self.tables)


def defers(paths: int, periods: int, cells: int = DEFER_CELLS) -> bool:
    """Whether a batch of this size adds up contributions at the end (see
    :data:`~.blocks.DEFER_CELLS`)."""
    return paths * periods > cells


def adding_up_blocks(paths: int, periods: int, cells: int = DEFER_CELLS) -> list[slice]:
    """The blocks of paths in which contributions are added up."""
    return row_blocks(paths, periods, cells)


def level_tables(comp: Component, table: TierTable | Ladder | None) -> dict[str, Array] | None:
    """Per level, the summed resources and the level price of a component whose amounts
    follow from its level alone (not interpolated tiers, a ladder); else None."""
    if isinstance(comp, TierComponent) and isinstance(table, TierTable):
        if comp.interpolate and len(comp.tiers) > 1:
            return None
        return {**table.totalled, "level_price": table.prices}
    if isinstance(comp, VerticalComponent) and isinstance(table, Ladder):
        return {key: table.lookups[key] for key in (*_RESOURCES, "level_price")}
    return None


def contribution(
    comp: Component, s: Sized, price: Price | None, table: TierTable | Ladder | None = None
) -> Contribution | None:
    """How the component's summed amounts follow from its level or its instances; None
    when they do not (a formula component, interpolated tiers, a cost expression: ``price``
    None). ``table``: what a tier or vertical component looks up."""
    if price is None:
        return None
    at_level = level_tables(comp, table)
    if s.level is not None and at_level is not None and len(s.level_names) <= _MAX_LEVELS:
        resources = {key: at_level[key] for key in _RESOURCES}
        cost = cost_of(price, resources, at_level["level_price"])
        tables = {**resources, "cost": cost}
        return Contribution((contribution_key(s),), partial(_at_level, tables, [len(cost)]), tables)
    if isinstance(comp, HorizontalComponent):
        return Contribution((contribution_key(s),), partial(_of_instances, comp, price))
    return None


def contribution_key(s: Sized) -> AnyArray:
    """The array a component's summed amounts follow from (see :func:`contribution`)."""
    if s.level is None:
        return s.instances
    # Levels are small counts: stored in a byte each until the amounts are looked up.
    return s.level.astype(np.uint8)


def grouped(contributions: list[Contribution]) -> list[Contribution]:
    """The same contributions, with consecutive level-keyed ones merged into one whose
    tables are indexed by every level at once (at most :data:`_GROUP_CELLS` entries): one
    lookup per total for the group instead of one per component. Within a group the amounts
    are summed component by component in the tables, before they are added to the totals."""
    out: list[Contribution] = []
    group: list[tuple[Contribution, dict[str, Array]]] = []  # with each one's tables
    cells = 1

    def flush() -> None:
        if len(group) == 1:
            out.append(group[0][0])
        elif group:
            tables = {key: _outer_sum([t[key] for _, t in group]) for key in SUMMED}
            sizes = [len(t["cost"]) for _, t in group]
            keys = tuple(key for c, _ in group for key in c.keys)
            out.append(Contribution(keys, partial(_at_level, tables, sizes), tables))
        group.clear()

    for c in contributions:
        if c.tables is None:
            flush()
            out.append(c)
            continue
        if group and cells * len(c.tables["cost"]) > _GROUP_CELLS:
            flush()
        cells = len(c.tables["cost"]) * (cells if group else 1)
        group.append((c, c.tables))
    flush()
    return out


_MAX_LEVELS = 256
_GROUP_CELLS = 4096


def _outer_sum(tables: list[Array]) -> Array:
    """Every combination of one entry per table, summed in order (the last table's entry
    varying fastest)."""
    total = tables[0]
    for table in tables[1:]:
        total = np.add.outer(total, table).ravel()
    return total


def _at_level(
    tables: dict[str, Array], sizes: list[int], levels: list[AnyArray]
) -> dict[str, Array]:
    """Each table looked up at the combined index of ``levels`` (one per component, each
    with ``sizes`` levels)."""
    index = levels[0].astype(np.intp)
    for size, level in zip(sizes[1:], levels[1:], strict=True):
        index *= size
        index += level
    return {key: _lookup(table, index) for key, table in tables.items()}


def _lookup(table: Array, index: npt.NDArray[np.intp]) -> Array:
    """``table[index]``; one read-only number when the table holds one number."""
    if np.all(table == table[0]):
        return np.broadcast_to(table[0], index.shape)
    return table[index]


def _of_instances(
    comp: HorizontalComponent, price: Price, instances: list[AnyArray]
) -> dict[str, Array]:
    amounts = horizontal_resources(comp, instances[0])
    return {**amounts, "cost": cost_of(price, amounts)}
