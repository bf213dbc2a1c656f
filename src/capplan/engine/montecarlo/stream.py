"""The vectorized engine: drivers → metrics → sized components → costs for many paths at once.

Every quantity is an array of shape ``(paths, periods + 1)``; one call evaluates a deterministic
run (one path) or a whole Monte Carlo batch with the same NumPy operations. :func:`evaluate`
returns every figure; :func:`stream` hands each figure to a :class:`ColumnSink` as soon as it is
final and keeps only the arrays later figures read, so a large batch never holds all its
figures at once. A large batch is evaluated a block of paths at a time (:mod:`.blocks`),
and a figure that follows from another (:class:`~.derivations.Derived`) and that nothing
else reads is never assembled whole. Components whose summed resources and cost follow from
their level or instance count are added to the totals at the end
(:mod:`capplan.engine.montecarlo.contributions`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.cost import component_cost
from capplan.engine.evaluate import (
    SUMMED,
    Evaluation,
    Rates,
    checked,
    component_figures,
    expression_inputs,
    size_component,
)
from capplan.engine.montecarlo.assembly import ADDS, Assembly, Part, block_parts
from capplan.engine.montecarlo.blocks import (
    DEFAULT_TUNING,
    Buffers,
    Gather,
    Tuning,
    row_blocks,
    rows_of,
)
from capplan.engine.montecarlo.contributions import (
    Contribution,
    adding_up_blocks,
    contribution,
    contribution_key,
    defers,
    grouped,
    level_tables,
)
from capplan.engine.montecarlo.derivations import (
    Derived,
    apply_expression,
    component_derivations,
)
from capplan.engine.montecarlo.lookups import left_out, size_level_block
from capplan.engine.montecarlo.monotone import rising_in
from capplan.engine.montecarlo.sinks import Collect, ColumnSink
from capplan.growth import project_driver, sample_rates
from capplan.plan.compiled import CompiledPlan, Node
from capplan.plan.expressions import Expression
from capplan.plan.models import (
    Component,
    FormulaComponent,
    Price,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing import Sized
from capplan.sizing.ladder import Ladder
from capplan.sizing.result import Array
from capplan.sizing.tiers import TierTable
from capplan.timeline import Timeline

__all__ = ["evaluate_fast", "stream"]


def _full(values: Array, shape: tuple[int, int]) -> Array:
    """``values`` broadcast to ``shape`` (a read-only view), or as it is when it has it."""
    return values if values.shape == shape else np.broadcast_to(values, shape)


def evaluate_fast(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int = 1,
    rng: np.random.Generator | None = None,
    rates: Rates | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> Evaluation:
    """What :func:`~capplan.engine.evaluate.evaluate` returns, every figure computed over
    all paths at once, as :func:`stream` computes it."""
    sink = Collect()
    _Run(compiled, scenario, timeline, paths, sink, rates, rng=rng, tuning=tuning).run()
    return Evaluation(sink.values, sink.sized, paths)


def stream(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    sink: ColumnSink,
    rates: Rates | None = None,
    keep: Collection[str] = (),
    tuning: Tuning = DEFAULT_TUNING,
) -> None:
    """Evaluate like :func:`evaluate`, handing each sizing and figure to ``sink`` in the same
    order as soon as it is final. Only the arrays that later figures read are kept, so memory
    grows with the number of figures in use at once rather than with all the figures.

    Paths are evaluated a block at a time; the figures named in ``keep``, those later figures
    read and those that do not follow from another are handed over whole, the others as None
    with how they follow (see :class:`ColumnSink`). ``tuning`` sets the block sizes."""
    _Run(compiled, scenario, timeline, paths, sink, rates, keep, tuning=tuning).run()


def _releases(compiled: CompiledPlan, keep: str) -> tuple[set[str], list[list[str]]]:
    """The names a later node reads, and per node the names it is the last to read."""
    last: dict[str, int] = {}
    for i, node in enumerate(compiled.order):
        for expr in node.exprs.values():
            for name in expr.names:
                last[name] = i
    after: list[list[str]] = [[] for _ in compiled.order]
    for name, i in last.items():
        if name != keep:
            after[i].append(name)
    return set(last) | {keep}, after


class _Run:
    """One evaluation: the drivers, then each metric and component in order, then the totals.

    Streaming (``keep`` given), arrays no later figure reads are released, paths are evaluated
    a block at a time and how figures follow from others is handed to the sink; otherwise
    every figure is kept whole and computed over all paths at once.
    """

    def __init__(
        self,
        compiled: CompiledPlan,
        scenario: str,
        timeline: Timeline,
        paths: int,
        sink: ColumnSink,
        rates: Rates | None,
        keep: Collection[str] | None = None,
        rng: np.random.Generator | None = None,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        self.compiled = compiled
        self.tuning = tuning
        self.plan = compiled.plan
        self.scenario = scenario
        self.timeline = timeline
        self.paths = paths
        self.sink = sink
        self.rates = rates
        self.rng = rng
        self.shape = (paths, timeline.periods + 1)
        self.per = self.plan.budget.per or next(iter(self.plan.drivers))
        self.env: dict[str, Array] = {}
        # Summed component by component, in order, except that the components whose amounts
        # follow from one array are added after the others (see .contributions).
        self.totals: dict[str, Array] = {}
        self.deferred: list[Contribution] = []
        self.defer = defers(paths, self.shape[1], tuning.defer_cells)
        # Streaming: what later figures read, what each node is the last to read, and how
        # the figures in use follow from others (for the sink's summaries).
        self.needed: set[str] | None = None
        self.after: list[list[str]] | None = None
        self.derivations: dict[str, Derived] | None = None
        self.keep: set[str] = set()
        self.blocks = [slice(0, paths)]
        self.buffers = Buffers()  # for the arrays handed over as spare, reused once summarised
        if keep is not None:
            self.needed, self.after = _releases(compiled, self.per)
            self.derivations = {}
            self.keep = set(keep) | self.needed
            self.blocks = row_blocks(paths, timeline.periods + 1, tuning.block_cells)

    def put(
        self,
        name: str,
        values: Array | None,
        derived: Derived | None = None,
        spare: bool = False,
    ) -> None:
        if self.needed is None or name in self.needed:
            assert values is not None, name
            assert not spare, name
            self.env[name] = values
            if self.derivations is not None:
                if derived is None:
                    self.derivations.pop(name, None)
                else:
                    self.derivations[name] = derived
        self.sink.column(name, values, derived, spare)

    def from_expression(self, expr: Expression) -> Derived | None:
        source = rising_in(expr)
        if self.derivations is None or source is None or source not in self.env:
            return None
        apply = partial(apply_expression, expr, source)
        return Derived(source, self.env[source], apply, self.derivations.get(source))

    def run(self) -> None:
        for name, spec in self.compiled.drivers[self.scenario].items():
            if self.rates is not None:
                rate = self.rates.get(name)
            elif self.rng is not None:
                rate = sample_rates(spec.growth, self.paths, self.timeline.periods, self.rng)
            else:
                rate = None
            self.put(name, _full(project_driver(spec, self.timeline, rate), self.shape))
        for i, node in enumerate(self.compiled.order):
            if node.kind == "metric":
                self.metric(node)
            else:
                self.component(node)
            if self.after is not None:
                for name in self.after[i]:
                    self.env.pop(name, None)
                    if self.derivations is not None:
                        self.derivations.pop(name, None)
        self.put_totals()

    def metric(self, node: Node) -> None:
        name, expr = node.name, node.exprs["expr"]
        allow_negative = self.plan.metrics[name].allow_negative
        how = self.from_expression(expr)

        def values(env: Mapping[str, Array], shape: tuple[int, int]) -> Array:
            result = _full(expr.evaluate(env), shape)
            return checked(result, f"metrics.{name}", f"metric '{name}'", allow_negative)

        if len(self.blocks) == 1:
            self.put(name, values(self.env, self.shape), how)
            return
        # Evaluated (and checked) block by block; assembled whole only when needed, and
        # period by period when only the sink reads it.
        whole = how is None or name in self.keep
        spare = whole and name not in self.keep
        gather = Gather(self.shape, {name} if spare else (), self.buffers) if whole else None
        for rows in self.blocks:
            block = values(rows_of(self.env, expr.names, rows), _rows(rows, self.shape))
            if gather is not None:
                gather.add(rows, {name: block})
        result = None if gather is None else gather.result()[name]
        self.put(name, result, how, spare)
        if spare:
            self.give_back([result])

    def component(self, node: Node) -> None:
        """Size a component, add it to the totals and hand over its sizing and columns
        (sized resources, cost, extras) with how they follow from other figures."""
        comp = self.plan.components[node.name]
        table = self.compiled.tables.get(node.name)
        priced_by_expression = isinstance(comp, FormulaComponent) and "cost" in node.exprs
        price = None if priced_by_expression else comp.price
        if len(self.blocks) == 1:
            s, outputs, inputs = _size_and_price(node, comp, self.env, self.shape, table)
            adds = contribution(comp, s, price, table) if self.defer else None
            if adds is None:
                self.add_to_totals(outputs, self.blocks[0], self.fresh_totals())
            else:
                self.deferred.append(adds)
            self.sink.component(node.name, s, self.blocks[0])
            derived: dict[str, Derived] = {}
            if self.derivations is not None:
                derived = component_derivations(
                    node, comp, table, (s, outputs, inputs), price, self.from_expression
                )
            for key, arr in outputs.items():
                self.put(f"{node.name}.{key}", arr, derived.get(key))
            return

        self.component_in_blocks(node, comp, table, price)

    def component_in_blocks(
        self, node: Node, comp: Component, table: TierTable | Ladder | None, price: Price | None
    ) -> None:
        """:meth:`component`, a block of paths at a time: what is gathered whole over the
        blocks is decided on the first one (see :class:`~.assembly.Assembly`)."""
        names = frozenset[str]().union(*(expr.names for expr in node.exprs.values()))
        rows = self.blocks[0]
        env = rows_of(self.env, names, rows)
        first = _size_and_price(node, comp, env, _rows(rows, self.shape), table)
        derived = component_derivations(node, comp, table, first, price, self.from_expression)
        kept = {key for key in first[1] if f"{node.name}.{key}" in self.keep}
        plan = Assembly.decide(block_parts(*first), derived, kept)
        gather = Gather[Part](self.shape, plan.spare, self.buffers)
        adds = contribution(comp, first[0], price, table) if self.defer else None
        fresh = self.fresh_totals() if adds is None else []
        # Added up at the end, the amounts need not be computed for the totals: only the
        # outputs gathered are, after the first block.
        only = None if adds is None else plan.outputs_read()
        for j, rows in enumerate(self.blocks):
            block, parts = first, plan.first
            if j:
                env = rows_of(self.env, names, rows)
                block = _size_and_price(node, comp, env, _rows(rows, self.shape), table, only)
                parts = block_parts(*block)
            arrays = {part: parts[part] for part in plan.gathered}
            if adds is None:
                self.add_to_totals(block[1], rows, fresh)
            else:  # added up at the end: only the array they follow from is kept
                adds_key = contribution_key(block[0])
                if any(adds_key is arrays[part] for part in plan.spare):  # reordered by the sink
                    adds_key = adds_key.copy()
                arrays[ADDS] = adds_key
            self.sink.component(node.name, block[0], rows)
            gather.add(rows, arrays)
        whole = gather.result()
        if adds is not None:
            self.deferred.append(adds.with_keys((whole[ADDS],)))
        for key in first[1]:
            follows = derived.get(key)
            self.put(
                f"{node.name}.{key}",
                whole.get(Part("output", key)),
                None if follows is None else plan.rebase(follows, whole),
                Part("output", key) in plan.spare,
            )
        self.give_back([whole[part] for part in plan.spare])

    def give_back(self, spare: list[Array | None]) -> None:
        """Hand the memory of arrays handed over as spare back for reuse (once each)."""
        seen: set[int] = set()
        for values in spare:
            if values is None or values.strides[0] == 0:
                continue
            address = values.__array_interface__["data"][0]
            if address not in seen:
                seen.add(address)
                self.buffers.give(values.T)

    def fresh_totals(self) -> list[str]:
        """The totals not added to yet, allocated: the next component's amounts start them."""
        fresh = [field for field in SUMMED if field not in self.totals]
        for field in fresh:
            self.totals[field] = np.empty(self.shape)
        return fresh

    def add_deferred(self) -> None:
        """Add the components whose amounts follow from one array (see
        :mod:`.contributions`), in order, one small block of paths at a time."""
        if not self.deferred:
            return
        fresh = self.fresh_totals()
        contributions = grouped(self.deferred)
        for rows in adding_up_blocks(self.paths, self.shape[1], self.tuning.defer_cells):
            for i, adds in enumerate(contributions):
                amounts = adds.amounts([key[rows] for key in adds.keys])
                self.add_to_totals(amounts, rows, [] if i else fresh)
        self.deferred.clear()

    def add_to_totals(self, outputs: Mapping[str, Array], rows: slice, fresh: list[str]) -> None:
        for field in SUMMED:
            total, part = self.totals[field][rows], outputs[field]
            if field in fresh:
                total[...] = part
            elif part.ndim == 2 and part.strides == (0, 0):  # one number everywhere
                if part.flat[0] != 0:
                    np.add(total, part.flat[0], out=total)
            else:
                np.add(total, part, out=total)

    def put_totals(self) -> None:
        self.add_deferred()
        shape = self.shape
        summed = {f: self.totals[f] if f in self.totals else np.zeros(shape) for f in SUMMED}
        for field in SUMMED:
            self.put(f"total.{field}", summed[field])
        months = self.timeline.months_per_period
        period_cost = summed["cost"] * months
        # The monthly cost times a positive number of months: it follows from the cost.
        by_cost = Derived("total.cost", summed["cost"], partial(_times, months))
        self.put("total.period_cost", period_cost, by_cost)
        cumulative = np.zeros(shape)
        np.cumsum(period_cost[:, 1:], axis=1, out=cumulative[:, 1:])
        self.put("total.cumulative_cost", cumulative)
        units = self.env[self.per]
        with np.errstate(over="ignore"):  # (see the reference evaluation)
            per_unit = np.divide(summed["cost"], units, out=np.full(shape, np.nan), where=units > 0)
        self.put("total.cost_per_unit", per_unit)


def _times(factor: float, values: npt.NDArray[Any]) -> Array:
    return np.asarray(values * factor, dtype=np.float64)


def _rows(rows: slice, shape: tuple[int, int]) -> tuple[int, int]:
    return (rows.stop - rows.start, shape[1])


def _size_and_price(
    node: Node,
    comp: Component,
    env: Mapping[str, Array],
    shape: tuple[int, int],
    table: TierTable | Ladder | None,
    only: Collection[str] | None = None,
) -> tuple[Sized, dict[str, Array], dict[str, Array]]:
    """A component's sizing, its output columns and its expressions' results by key. With
    ``only``, the outputs read: the cost and the lookups of tiers may be left out (NaN)."""
    inputs = expression_inputs(node, env, shape)
    if only is not None and level_tables(comp, table) is not None:
        assert isinstance(comp, TierComponent | VerticalComponent)
        assert table is not None
        read = set(only) | ({*SUMMED, "level_price"} if "cost" in only else set())
        s = size_level_block(comp, table, inputs, read)
    else:
        s = size_component(comp, inputs, shape, table)
    if only is None or "cost" in only:
        cost = component_cost(comp.price, s, inputs.get("cost"))
    else:
        cost = left_out(shape)
    return s, component_figures(s, cost), inputs
