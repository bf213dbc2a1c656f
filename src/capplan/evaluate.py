"""The vectorized engine: drivers → metrics → sized components → costs for many paths at once.

Every quantity is an array of shape ``(paths, periods + 1)``; one call evaluates a deterministic
run (one path) or a whole Monte Carlo batch with the same NumPy operations. :func:`evaluate`
returns every figure; :func:`stream` hands each figure to a :class:`ColumnSink` as soon as it is
final and keeps only the arrays later figures read, so a large batch never holds all its
figures at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from capplan.cost import component_cost
from capplan.errors import EvaluationError
from capplan.growth import project_driver, sample_rates
from capplan.plan.compiled import CompiledPlan, Node
from capplan.plan.expressions import Expression
from capplan.plan.models import (
    Component,
    FormulaComponent,
    HorizontalComponent,
    Price,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing import Sized, size_formula, size_horizontal, size_tiers, size_vertical
from capplan.sizing.result import Array
from capplan.timeline import Timeline

__all__ = ["TOTALS", "ColumnSink", "Derived", "Evaluation", "evaluate", "stream"]

TOTALS = (
    "total.instances",
    "total.vcpu",
    "total.memory_gb",
    "total.storage_gb",
    "total.cost",
    "total.period_cost",
    "total.cumulative_cost",
    "total.cost_per_unit",
)
_SUMMED = ("instances", "vcpu", "memory_gb", "storage_gb", "cost")
_SIZED = ("instances", "vcpu", "memory_gb", "storage_gb", "utilization")

#: Sampled growth rates per driver, shape (paths, 1) or (paths, periods); None: central rate.
Rates = Mapping[str, Array | None]


@dataclass
class Evaluation:
    """All figures of one run: ``values`` maps a column name to a (paths, periods + 1) array."""

    values: dict[str, Array]
    sized: dict[str, Sized]
    paths: int


@dataclass(frozen=True)
class Derived:
    """How a figure follows from one other array, ``values`` (the figure or level named
    ``source``): the figure is ``apply(values)`` element by element, and ``apply`` never
    decreases as its input grows. The figure's order statistics over paths are therefore
    ``apply`` of the source's, which ``parent`` tells how to find when it is itself derived."""

    source: str
    values: npt.NDArray[Any]
    apply: Callable[[npt.NDArray[Any]], Array]
    parent: Derived | None = None


class ColumnSink(Protocol):
    """Receives the figures of a run as they are computed (see :func:`stream`)."""

    def column(self, name: str, values: Array, derived: Derived | None = None) -> None:
        """One figure, shape (paths, periods + 1), final and not to be modified; with
        ``derived`` when it is a non-decreasing function of one other array."""

    def component(self, name: str, sized: Sized) -> None:
        """The sizing of a component, handed over before the component's columns."""


class _Collect:
    """A sink that keeps everything, in the order the figures were computed."""

    def __init__(self) -> None:
        self.values: dict[str, Array] = {}
        self.sized: dict[str, Sized] = {}

    def column(self, name: str, values: Array, derived: Derived | None = None) -> None:
        self.values[name] = values

    def component(self, name: str, sized: Sized) -> None:
        self.sized[name] = sized


def _full(values: Array, shape: tuple[int, int]) -> Array:
    """``values`` broadcast to ``shape`` (a read-only view), or as it is when it has it."""
    return values if values.shape == shape else np.broadcast_to(values, shape)


def _check(values: Array, path: str, what: str, allow_negative: bool = False) -> None:
    """Reject an expression's result below zero (unless allowed); Expression.evaluate has
    already rejected NaN and infinity, which are checked again on the way to the message."""
    if allow_negative or values.min() >= -1e-9:
        return
    bad = ~np.isfinite(values) if allow_negative else ~np.isfinite(values) | (values < -1e-9)
    if bad.any():
        period = int(np.argmax(bad.reshape(-1, values.shape[-1]).any(axis=0)))
        got = values.reshape(-1, values.shape[-1])[:, period]
        got_bad = got[bad.reshape(-1, values.shape[-1])[:, period]][0]
        raise EvaluationError.single(
            f"{what} is {got_bad:.6g} in period {period}; expected a finite value >= 0",
            path=path,
        )


def _size(
    node: Node,
    comp: object,
    env: Mapping[str, Array],
    shape: tuple[int, int],
    inputs: dict[str, Array],
) -> Sized:
    """Size a component from its expressions, which are recorded in ``inputs``."""
    path = f"components.{node.name}"

    def value(key: str) -> Array:
        result = inputs[key] = _full(node.exprs[key].evaluate(env), shape)
        _check(result, f"{path}.{key}", f"'{node.exprs[key].source}'")
        return result

    if isinstance(comp, HorizontalComponent):
        return size_horizontal(comp, value("demand"))
    if isinstance(comp, VerticalComponent):
        return size_vertical(comp, {res: value(f"demand.{res}") for res in comp.demand})
    if isinstance(comp, TierComponent):
        return size_tiers(comp, value("demand"))
    assert isinstance(comp, FormulaComponent)
    resources = {res: value(f"resources.{res}") for res in comp.resources}
    capacity = {res: value(f"capacity.{res}") for res in comp.capacity}
    return size_formula(resources, capacity, shape)


def evaluate(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int = 1,
    rng: np.random.Generator | None = None,
    rates: Rates | None = None,
) -> Evaluation:
    """Evaluate the plan for ``paths`` paths. Uncertain rates are taken from ``rates`` when
    given, else sampled with ``rng``; with neither, every driver grows at its central rate."""
    sink = _Collect()
    _run(compiled, scenario, timeline, paths, sink, rng, rates, release=False)
    return Evaluation(sink.values, sink.sized, paths)


def stream(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    sink: ColumnSink,
    rates: Rates | None = None,
) -> None:
    """Evaluate like :func:`evaluate`, handing each sizing and figure to ``sink`` in the same
    order as soon as it is final. Only the arrays that later figures read are kept, so memory
    grows with the number of figures in use at once rather than with all the figures."""
    _run(compiled, scenario, timeline, paths, sink, None, rates, release=True)


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


def _run(
    compiled: CompiledPlan,
    scenario: str,
    timeline: Timeline,
    paths: int,
    sink: ColumnSink,
    rng: np.random.Generator | None,
    rates: Rates | None,
    release: bool,
) -> None:
    plan = compiled.plan
    shape = (paths, timeline.periods + 1)
    per = plan.budget.per or next(iter(plan.drivers))
    needed, after = _releases(compiled, per) if release else (None, None)
    env: dict[str, Array] = {}
    # How figures follow from others (kept while streaming, for the sink's summaries).
    derivations: dict[str, Derived] | None = {} if release else None

    def put(name: str, values: Array, derived: Derived | None = None) -> None:
        if needed is None or name in needed:
            env[name] = values
            if derivations is not None:
                if derived is None:
                    derivations.pop(name, None)
                else:
                    derivations[name] = derived
        sink.column(name, values, derived)

    def from_expression(expr: Expression) -> Derived | None:
        source = expr.rising_in
        if derivations is None or source is None or source not in env:
            return None
        apply = partial(_apply_expression, expr, source)
        return Derived(source, env[source], apply, derivations.get(source))

    for name, spec in compiled.drivers[scenario].items():
        if rates is not None:
            rate = rates.get(name)
        elif rng is not None:
            rate = sample_rates(spec.growth, paths, timeline.periods, rng)
        else:
            rate = None
        put(name, _full(project_driver(spec, timeline, rate), shape))

    totals: dict[str, Array] = {}
    for i, node in enumerate(compiled.order):
        if node.kind == "metric":
            metric = plan.metrics[node.name]
            expr = node.exprs["expr"]
            result = _full(expr.evaluate(env), shape)
            _check(result, f"metrics.{node.name}", f"metric '{node.name}'", metric.allow_negative)
            put(node.name, result, from_expression(expr))
        else:
            s, outputs, derived = _component(
                node,
                plan.components[node.name],
                env,
                shape,
                totals,
                from_expression if derivations is not None else None,
            )
            sink.component(node.name, s)
            for key, arr in outputs.items():
                put(f"{node.name}.{key}", arr, derived.get(key))
        if after is not None:
            for name in after[i]:
                env.pop(name, None)
                if derivations is not None:
                    derivations.pop(name, None)

    summed = {f: totals[f] if f in totals else np.zeros(shape) for f in _SUMMED}
    for field in _SUMMED:
        put(f"total.{field}", summed[field])
    period_cost = summed["cost"] * timeline.months_per_period
    put("total.period_cost", period_cost)
    cumulative = np.zeros(shape)
    np.cumsum(period_cost[:, 1:], axis=1, out=cumulative[:, 1:])
    put("total.cumulative_cost", cumulative)
    units = env[per]
    put(
        "total.cost_per_unit",
        np.divide(summed["cost"], units, out=np.full(shape, np.nan), where=units > 0),
    )


def _component(
    node: Node,
    comp: Component,
    env: dict[str, Array],
    shape: tuple[int, int],
    totals: dict[str, Array],
    from_expression: Callable[[Expression], Derived | None] | None,
) -> tuple[Sized, dict[str, Array], dict[str, Derived]]:
    """Size a component and add it to ``totals``: its sizing, its output columns (sized
    resources, cost, extras) and, when asked (``from_expression``), how outputs follow from
    other figures."""
    inputs: dict[str, Array] = {}
    s = _size(node, comp, env, shape, inputs)
    extra_cost = None
    if isinstance(comp, FormulaComponent) and "cost" in node.exprs:
        extra_cost = _full(node.exprs["cost"].evaluate(env), shape)
        _check(extra_cost, f"components.{node.name}.cost", "the cost")
    outputs = {
        "instances": s.instances,
        "vcpu": s.vcpu,
        "memory_gb": s.memory_gb,
        "storage_gb": s.storage_gb,
        "cost": component_cost(comp.price, s, extra_cost),
        "utilization": s.utilization,
    }
    outputs.update(s.extra)
    # Summed component by component, in order: the same additions as np.sum.
    for field in _SUMMED:
        if field in totals:
            np.add(totals[field], outputs[field], out=totals[field])
        else:
            totals[field] = np.array(outputs[field], dtype=np.float64)
    derived: dict[str, Derived] = {}
    if from_expression is not None:
        derived = _component_derivations(node, s, outputs, inputs, from_expression)
        if extra_cost is None and (how := _cost_derivation(comp.price, s, derived)):
            derived["cost"] = how
    return s, outputs, derived


def _apply_expression(expr: Expression, name: str, values: npt.NDArray[Any]) -> Array:
    return expr.evaluate({name: values})


def _sized_output(s: Sized, key: str) -> Array | None:
    if key in _SIZED:
        value: Array = getattr(s, key)
        return value
    return s.extra.get(key)


def _component_derivations(
    node: Node,
    s: Sized,
    outputs: dict[str, Array],
    inputs: dict[str, Array],
    from_expression: Callable[[Expression], Derived | None],
) -> dict[str, Derived]:
    """The outputs of a component that follow from one other array: an expression's result
    (a demand, a formula resource) or what the sizing says it derives from its demand or
    level (and ``level_price``)."""
    derived: dict[str, Derived] = {}
    for key, arr in outputs.items():
        for expr_key, result in inputs.items():
            if arr is result and (how := from_expression(node.exprs[expr_key])) is not None:
                derived[key] = how
                break
    for key, (source, apply) in s.derived.items():
        if key in outputs and outputs[key] is not _sized_output(s, key):
            continue  # replaced by a formula resource of the same name
        values = s.level if source == "level" else outputs.get(source)
        if values is not None:
            derived[key] = Derived(f"{node.name}.{source}", values, apply, derived.get(source))
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

    def apply(values: npt.NDArray[Any]) -> Array:
        zeros = np.zeros(values.shape)
        got = {key: how(values) for key, how in hows.items()}
        at = Sized(
            instances=got.get("instances", zeros),
            vcpu=got.get("vcpu", zeros),
            memory_gb=got.get("memory_gb", zeros),
            storage_gb=got.get("storage_gb", zeros),
            utilization=zeros,
            exceeded=np.zeros(values.shape, dtype=bool),
            level_price=got.get("level_price", s.level_price),
        )
        return component_cost(price, at)

    return Derived(first.source, first.values, apply, first.parent)
