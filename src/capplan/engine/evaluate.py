"""What a plan means: the reference evaluation, plain whole arrays over every path and period.

Read this module to learn the engine. The fast engine (:mod:`capplan.engine.montecarlo`)
computes the same figures in blocks and with shortcuts; exact tests hold the two equal.

Glossary
--------
period
    One step of the plan's timeline (a month, week or day); period 0 is the plan's start,
    periods 1..T the horizon. Every figure has T + 1 columns.
path
    One possible future: a row of every figure. A deterministic run has one path, at the
    central growth rates; a Monte Carlo run has many, each with its own sampled rates.
figure
    A named array of shape (paths, periods + 1): a driver (``users``), a metric
    (``rps``), a component's output (``api.instances``, ``api.cost``...) or a total
    (``total.cost``). ``Evaluation.values`` maps every figure's name to its array.
level
    The tier or rung a tier or vertical component is at, an index into its
    ``level_names``; it only changes by whole steps. ``exceeded`` marks the periods whose
    demand is beyond the largest tier, rung or ``max_instances``.
block
    (fast engine) A slice of paths evaluated together so that its arrays stay in cache.
spare
    (fast engine) An array nothing later reads: the Monte Carlo summary may reorder it in
    place, and its memory is then reused.
derived
    (fast engine) A figure that is a non-decreasing function of another array: its
    quantiles over paths are the function of the other's, found without sorting it.
contribution
    (fast engine) What a component adds to the totals, as a function of one array (its
    level or instance count), added up at the end.

Semantics, in order
-------------------
1. Drivers: each driver of the scenario is projected from its growth model (sampled rates
   per path when given, else the central rate) and broadcast to (paths, periods + 1).
2. Nodes, in the compiled order (each reads only figures before it): a metric is its
   expression, which must be finite and >= 0 unless the metric allows negative values; a
   component evaluates its expressions (same check), is sized by its kind, and priced
   (``price`` parts plus a formula component's ``cost`` expression). Its outputs are the
   figures ``<component>.<field>``.
3. Totals: ``total.instances``, ``vcpu``, ``memory_gb``, ``storage_gb`` and ``cost`` are
   the sums over components, in order, starting from zero; ``total.period_cost`` is the
   monthly cost times the months of a period; ``total.cumulative_cost`` sums the period
   costs of periods 1..t; ``total.cost_per_unit`` is the cost over the budget's unit
   (NaN where the unit is 0).
4. Monte Carlo (:func:`~capplan.engine.simulation.simulate_reference`): rates are drawn
   ``chunk`` paths at a time, driver by driver, from one seeded generator; the quantiles
   are ``np.quantile`` (linear) of every figure over paths (a value all paths share in a
   period being every quantile), and an event's probability by period is the share of
   paths on which it has happened by then.

Numeric contract
----------------
The fast engine gives the same levels, ``exceeded`` flags and event probabilities, and
float figures and quantiles equal within a relative tolerance of :data:`RTOL` (it adds the
totals in another order; every other figure comes from the same operations, bit for bit).
A value of -0.0 equals 0.0 under this contract: no code takes care of the sign of a zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from capplan.cost import component_cost
from capplan.errors import EvaluationError
from capplan.growth import project_driver, sample_rates
from capplan.plan.compiled import CompiledPlan, Node
from capplan.plan.components import QueueComponent, ServiceComponent
from capplan.plan.models import (
    Component,
    FormulaComponent,
    HorizontalComponent,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing import Sized, size_formula, size_horizontal, size_tiers, size_vertical
from capplan.sizing.ladder import Ladder
from capplan.sizing.queue import size_queue
from capplan.sizing.result import Array
from capplan.sizing.services import size_service
from capplan.sizing.tiers import TierTable
from capplan.timeline import Timeline

__all__ = [
    "DEFAULT_CHUNK",
    "QUANTILES",
    "RTOL",
    "SUMMED",
    "TOTALS",
    "Evaluation",
    "Rates",
    "checked",
    "component_figures",
    "draw_rates",
    "evaluate",
    "expression_inputs",
    "size_component",
]

#: Relative tolerance between the fast engine's float figures and these.
RTOL = 1e-12
#: The quantiles of a Monte Carlo run: P10, P50, P90.
QUANTILES = (0.1, 0.5, 0.9)
#: Paths whose rates are drawn together (see :func:`draw_rates`).
DEFAULT_CHUNK = 5000
#: The resources and the cost summed over the components into the totals.
SUMMED = ("instances", "vcpu", "memory_gb", "storage_gb", "cost")
TOTALS = (
    *(f"total.{field}" for field in SUMMED),
    "total.period_cost",
    "total.cumulative_cost",
    "total.cost_per_unit",
)
#: Sampled growth rates per driver, shape (paths, 1) or (paths, periods); None: central rate.
Rates = Mapping[str, Array | None]


@dataclass
class Evaluation:
    """All figures of one run: ``values`` maps a figure's name to a (paths, periods + 1)
    array, ``sized`` each component's sizing."""

    values: dict[str, Array]
    sized: dict[str, Sized]
    paths: int


def checked(values: Array, path: str, what: str, allow_negative: bool = False) -> Array:
    """``values`` when none is below zero (or negative values are allowed), else an
    :class:`EvaluationError` naming the field ``path`` and the first period in error.
    Expressions have rejected NaN and infinity already."""
    if allow_negative or values.min() >= -1e-9:
        return values
    rows = values.reshape(-1, values.shape[-1])
    bad = ~np.isfinite(rows) | (rows < -1e-9)
    period = int(np.argmax(bad.any(axis=0)))
    got = rows[:, period][bad[:, period]][0]
    raise EvaluationError.single(
        f"{what} is {got:.6g} in period {period}; expected a finite value >= 0", path=path
    )


def expression_inputs(
    node: Node, env: Mapping[str, Array], shape: tuple[int, int]
) -> dict[str, Array]:
    """Every expression of a component node evaluated on ``env`` and checked, by key
    (``demand``, ``demand.cpu``, ``resources.gpu``, ``capacity.gpu``, ``cost``)."""
    path = f"components.{node.name}"
    out = {}
    for key, expr in node.exprs.items():
        what = "the cost" if key == "cost" else f"'{expr.source}'"
        values = np.broadcast_to(expr.evaluate(env), shape)
        out[key] = checked(values, f"{path}.{key}", what)
    return out


def size_component(
    comp: Component,
    inputs: Mapping[str, Array],
    shape: tuple[int, int],
    table: TierTable | Ladder | None = None,
) -> Sized:
    """The sizing of a component of any kind from its expressions' values; ``table`` is
    what a tier or vertical component looks up (``CompiledPlan.tables``)."""
    if isinstance(comp, HorizontalComponent):
        return size_horizontal(comp, inputs["demand"])
    if isinstance(comp, VerticalComponent):
        assert table is None or isinstance(table, Ladder)
        return size_vertical(comp, {res: inputs[f"demand.{res}"] for res in comp.demand}, table)
    if isinstance(comp, TierComponent):
        assert table is None or isinstance(table, TierTable)
        return size_tiers(comp, inputs["demand"], table)
    if isinstance(comp, ServiceComponent):
        return size_service(comp, inputs, shape)
    if isinstance(comp, QueueComponent):
        return size_queue(comp, inputs["arrivals"], shape)
    assert isinstance(comp, FormulaComponent)
    resources = {res: inputs[f"resources.{res}"] for res in comp.resources}
    capacity = {res: inputs[f"capacity.{res}"] for res in comp.capacity}
    return size_formula(resources, capacity, shape)


def component_figures(s: Sized, cost: Array) -> dict[str, Array]:
    """A sized component's outputs: resources, monthly cost, utilization and its extras."""
    return {
        "instances": s.instances,
        "vcpu": s.vcpu,
        "memory_gb": s.memory_gb,
        "storage_gb": s.storage_gb,
        "cost": cost,
        "utilization": s.utilization,
        **s.extra,
    }


def evaluate(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int = 1,
    rng: np.random.Generator | None = None,
    rates: Rates | None = None,
) -> Evaluation:
    """Every figure of the plan for ``paths`` paths. Uncertain rates are taken from
    ``rates`` when given, else sampled with ``rng``; with neither, every driver grows at its
    central rate."""
    plan = compiled.plan
    shape = (paths, timeline.periods + 1)
    env: dict[str, Array] = {}
    for name, spec in compiled.drivers[scenario].items():
        if rates is not None:
            rate = rates.get(name)
        elif rng is not None:
            rate = sample_rates(spec.growth, paths, timeline.periods, rng)
        else:
            rate = None
        env[name] = np.broadcast_to(project_driver(spec, timeline, rate), shape)
    sized: dict[str, Sized] = {}
    totals = {field: np.zeros(shape) for field in SUMMED}
    for node in compiled.order:
        if node.kind == "metric":
            metric = plan.metrics[node.name]
            values = np.broadcast_to(node.exprs["expr"].evaluate(env), shape)
            what = f"metric '{node.name}'"
            env[node.name] = checked(values, f"metrics.{node.name}", what, metric.allow_negative)
            continue
        comp = plan.components[node.name]
        inputs = expression_inputs(node, env, shape)
        table = compiled.tables.get(node.name)
        s = sized[node.name] = size_component(comp, inputs, shape, table)
        cost = component_cost(comp.price, s, inputs.get("cost"))
        for key, values in component_figures(s, cost).items():
            env[f"{node.name}.{key}"] = values
            if key in totals:
                totals[key] = totals[key] + values
    for field, values in totals.items():
        env[f"total.{field}"] = values
    period_cost = totals["cost"] * timeline.months_per_period
    env["total.period_cost"] = period_cost
    env["total.cumulative_cost"] = np.concatenate(
        [np.zeros((paths, 1)), np.cumsum(period_cost[:, 1:], axis=1)], axis=1
    )
    units = env[plan.budget.per or next(iter(plan.drivers))]
    with np.errstate(over="ignore"):  # a unit count near zero: an infinite cost per unit
        per_unit = np.divide(totals["cost"], units, out=np.full(shape, np.nan), where=units > 0)
    env["total.cost_per_unit"] = per_unit
    return Evaluation(env, sized, paths)


def draw_rates(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    rng: np.random.Generator,
    chunk: int = DEFAULT_CHUNK,
) -> dict[str, Array | None]:
    """Sampled rates of every driver for ``paths`` paths (None: no uncertainty), drawn
    ``chunk`` paths at a time, each chunk driver by driver: the draws, and so every result
    for a seed, depend on ``chunk`` but not on how the figures are then computed."""
    specs = compiled.drivers[scenario]
    drawn: dict[str, list[Array]] = {name: [] for name in specs}
    for start in range(0, paths, chunk):
        n = min(chunk, paths - start)
        for name, spec in specs.items():
            rate = sample_rates(spec.growth, n, timeline.periods, rng)
            if rate is not None:
                drawn[name].append(rate)
    return {
        name: (parts[0] if len(parts) == 1 else np.concatenate(parts)) if parts else None
        for name, parts in drawn.items()
    }
