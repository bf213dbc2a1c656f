"""The vectorized engine: drivers → metrics → sized components → costs for many paths at once.

Every quantity is an array of shape ``(paths, periods + 1)``; one call evaluates a deterministic
run (one path) or a whole Monte Carlo batch with the same NumPy operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.cost import component_cost
from capplan.errors import EvaluationError
from capplan.growth import project_driver, sample_rates
from capplan.plan.compiled import CompiledPlan, Node
from capplan.plan.models import (
    FormulaComponent,
    HorizontalComponent,
    TierComponent,
    VerticalComponent,
)
from capplan.sizing import Sized, size_formula, size_horizontal, size_tiers, size_vertical
from capplan.sizing.result import Array
from capplan.timeline import Timeline

__all__ = ["TOTALS", "Evaluation", "evaluate"]

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


@dataclass
class Evaluation:
    """All figures of one run: ``values`` maps a column name to a (paths, periods + 1) array."""

    values: dict[str, Array]
    sized: dict[str, Sized]
    paths: int


def _check(values: Array, path: str, what: str, allow_negative: bool = False) -> None:
    bad = ~np.isfinite(values) if allow_negative else ~np.isfinite(values) | (values < -1e-9)
    if bad.any():
        period = int(np.argmax(bad.reshape(-1, values.shape[-1]).any(axis=0)))
        got = values.reshape(-1, values.shape[-1])[:, period]
        got_bad = got[bad.reshape(-1, values.shape[-1])[:, period]][0]
        raise EvaluationError.single(
            f"{what} is {got_bad:.6g} in period {period}; expected a finite value >= 0",
            path=path,
        )


def _size(node: Node, comp: object, env: dict[str, Array], shape: tuple[int, int]) -> Sized:
    path = f"components.{node.name}"

    def value(key: str) -> Array:
        result = np.broadcast_to(node.exprs[key].evaluate(env), shape)
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
) -> Evaluation:
    """Evaluate the plan for ``paths`` paths; with ``rng``, uncertain rates are sampled."""
    plan = compiled.plan
    shape = (paths, timeline.periods + 1)
    env: dict[str, Array] = {}
    for name, spec in compiled.drivers[scenario].items():
        rate = sample_rates(spec.growth, paths, timeline.periods, rng) if rng is not None else None
        env[name] = np.broadcast_to(project_driver(spec, timeline, rate), shape)

    sized: dict[str, Sized] = {}
    costs: list[Array] = []
    for node in compiled.order:
        if node.kind == "metric":
            metric = plan.metrics[node.name]
            result = np.broadcast_to(node.exprs["expr"].evaluate(env), shape)
            _check(result, f"metrics.{node.name}", f"metric '{node.name}'", metric.allow_negative)
            env[node.name] = result
            continue
        comp = plan.components[node.name]
        s = _size(node, comp, env, shape)
        extra_cost = None
        if isinstance(comp, FormulaComponent) and "cost" in node.exprs:
            extra_cost = np.broadcast_to(node.exprs["cost"].evaluate(env), shape)
            _check(extra_cost, f"components.{node.name}.cost", "the cost")
        cost = component_cost(comp.price, s, extra_cost)
        sized[node.name] = s
        costs.append(cost)
        prefix = f"{node.name}."
        for key, arr in (
            ("instances", s.instances),
            ("vcpu", s.vcpu),
            ("memory_gb", s.memory_gb),
            ("storage_gb", s.storage_gb),
            ("cost", cost),
            ("utilization", s.utilization),
        ):
            env[prefix + key] = arr
        for key, arr in s.extra.items():
            env[prefix + key] = arr

    def total(field: str) -> Array:
        parts = [env[f"{n}.{field}"] for n in sized]
        return np.sum(parts, axis=0) if parts else np.zeros(shape)

    values = dict(env)
    for field in ("instances", "vcpu", "memory_gb", "storage_gb", "cost"):
        values[f"total.{field}"] = total(field)
    period_cost = values["total.cost"] * timeline.months_per_period
    values["total.period_cost"] = period_cost
    cumulative = np.zeros(shape)
    np.cumsum(period_cost[:, 1:], axis=1, out=cumulative[:, 1:])
    values["total.cumulative_cost"] = cumulative
    per = plan.budget.per or next(iter(plan.drivers))
    units = values[per]
    values["total.cost_per_unit"] = np.divide(
        values["total.cost"], units, out=np.full(shape, np.nan), where=units > 0
    )
    return Evaluation(values, sized, paths)
