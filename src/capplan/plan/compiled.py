"""Cross-checks of a whole plan, and the compiled form the planner runs.

Validation of single fields happens in the models; here the plan is checked as a whole: every
name an expression reads exists, expressions form no cycle, scenario overrides name declared
scenarios and merge into valid growth models. The result (expressions compiled once, an
evaluation order) is cached on the plan.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from capplan.errors import ExpressionError, Issue, PlanError, PlanValidationError
from capplan.plan.alerting import alerting_issues
from capplan.plan.base import suggest
from capplan.plan.components import QueueComponent, ServiceComponent
from capplan.plan.expressions import Expression, compile_expression
from capplan.plan.models import (
    Component,
    FormulaComponent,
    Growth,
    HorizontalComponent,
    Plan,
    Step,
    TierComponent,
    VerticalComponent,
)
from capplan.plan.monitoring import monitoring_issues
from capplan.plan.policies import HpaPolicy, Policy, QueuePolicy, StepPolicy, split_target
from capplan.plan.queue_kind import queue_outputs
from capplan.plan.service_kinds import service_expressions, service_outputs
from capplan.sizing.ladder import Ladder, ladder_table
from capplan.sizing.tiers import TierTable, tier_serves, tier_table
from capplan.units import parse_start_date

__all__ = [
    "CompiledPlan",
    "DriverSpec",
    "Node",
    "check_plan",
    "compile_plan",
    "component_outputs",
]

_GROWTH = TypeAdapter[Growth](Growth)
COMMON_OUTPUTS = ("instances", "vcpu", "memory_gb", "storage_gb", "cost", "utilization")


@dataclass(frozen=True)
class DriverSpec:
    """A driver as one scenario sees it."""

    name: str
    initial: float
    growth: Growth
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Node:
    """One step of evaluation: a derived metric or the sizing of a component."""

    kind: Literal["metric", "component"]
    name: str
    exprs: dict[str, Expression]


@dataclass
class CompiledPlan:
    """A checked plan, ready to run: evaluation order, expressions and per-scenario drivers."""

    plan: Plan
    order: list[Node]
    drivers: dict[str, dict[str, DriverSpec]]  # scenario → driver → spec
    outputs: dict[str, tuple[str, ...]]  # component → output fields
    quantities: set[str] = field(default_factory=set)  # every name a threshold may use
    # component → what sizing it looks up (tiers, rungs), built once per plan
    tables: dict[str, TierTable | Ladder] = field(default_factory=dict)


def sizing_tables(plan: Plan) -> dict[str, TierTable | Ladder]:
    """The tables of each tier and vertical component, which sizing looks up."""
    tables: dict[str, TierTable | Ladder] = {}
    for name, comp in plan.components.items():
        if isinstance(comp, TierComponent):
            tables[name] = tier_table(comp)
        elif isinstance(comp, VerticalComponent):
            tables[name] = ladder_table(comp)
    return tables


def component_outputs(name: str, comp: Component) -> tuple[str, ...]:
    """The output fields of a component (``db.cost``, ``db.storage_gb_utilization``...)."""
    extra: list[str] = []
    if isinstance(comp, HorizontalComponent):
        extra = ["demand", "capacity"]
        if comp.max_instances is not None:
            extra += ["instances_needed", "unserved"]
    elif isinstance(comp, VerticalComponent):
        for res in comp.demand:
            extra += [f"{res}_demand", f"{res}_limit", f"{res}_utilization"]
    elif isinstance(comp, TierComponent):
        extra = ["demand", "capacity"]
        parts = sorted({(a, r) for t in comp.tiers for a, rs in t.allocations.items() for r in rs})
        extra += [f"{a}.{r}" for a, r in parts]
        extra += [f"{unit}_served" for unit in comp.serves]
    elif isinstance(comp, FormulaComponent):
        extra = [r for r in comp.resources if r not in COMMON_OUTPUTS]
        extra += [f"{r}_utilization" for r in comp.capacity]
    elif isinstance(comp, ServiceComponent):
        extra = service_outputs(comp)
    elif isinstance(comp, QueueComponent):
        extra = queue_outputs(comp)
    fields = list(COMMON_OUTPUTS) + [e for e in extra if e not in COMMON_OUTPUTS]
    return tuple(fields)


def _component_exprs(comp: Component) -> dict[str, str]:
    if isinstance(comp, HorizontalComponent | TierComponent):
        return {"demand": comp.demand}
    if isinstance(comp, VerticalComponent):
        return {f"demand.{k}": v for k, v in comp.demand.items()}
    if isinstance(comp, ServiceComponent):
        return service_expressions(comp)
    if isinstance(comp, QueueComponent):
        return {"arrivals": comp.arrivals}
    out = {f"resources.{k}": v for k, v in comp.resources.items()}
    out.update({f"capacity.{k}": v for k, v in comp.capacity.items()})
    if comp.cost is not None:
        out["cost"] = comp.cost
    return out


def _merge_growth(base: Growth, override: dict[str, Any]) -> Growth:
    data = base.model_dump(by_alias=True, exclude_none=True)
    if override.get("model") not in (None, data["model"]):
        data = {}
    data.update(override)
    return _GROWTH.validate_python(data)


def _check_period_ref(ref: object, path: str, issues: list[Issue]) -> None:
    if isinstance(ref, int) and not isinstance(ref, bool):
        if ref < 0:
            issues.append(Issue(f"must be a period number >= 0, got {ref}", path=path))
        return
    try:
        parse_start_date(ref)
    except ValueError as exc:
        issues.append(Issue(f"must be a period number or a date: {exc}", path=path))


def _driver_specs(plan: Plan, issues: list[Issue]) -> dict[str, dict[str, DriverSpec]]:
    scenarios = plan.scenario_names()
    out: dict[str, dict[str, DriverSpec]] = {s: {} for s in scenarios}
    for dname, drv in plan.drivers.items():
        for i, step in enumerate(drv.steps):
            _check_period_ref(step.at, f"drivers.{dname}.steps[{i}].at", issues)
        for sname in drv.scenarios:
            if sname not in plan.scenarios:
                issues.append(
                    Issue(
                        f"names scenario '{sname}', which is not declared under 'scenarios'"
                        f"{suggest(sname, list(plan.scenarios))}; declared: "
                        f"{', '.join(plan.scenarios) or 'none'}",
                        path=f"drivers.{dname}.scenarios.{sname}",
                    )
                )
        for sname in scenarios:
            ov = drv.scenarios.get(sname)
            growth, initial, steps = drv.growth, drv.initial, tuple(drv.steps)
            if ov is not None:
                initial = ov.initial if ov.initial is not None else initial
                steps = tuple(ov.steps) if ov.steps is not None else steps
                if ov.growth is not None:
                    patch = ov.growth.model_dump(exclude_none=True)
                    path = f"drivers.{dname}.scenarios.{sname}.growth"
                    try:
                        growth = _merge_growth(drv.growth, patch)
                    except ValidationError as exc:
                        for err in exc.errors(include_url=False):
                            loc = [
                                p for p in err["loc"] if p not in {growth.model, patch.get("model")}
                            ]
                            sub = ".".join(str(p) for p in loc)
                            issues.append(
                                Issue(
                                    f"does not give a valid growth once merged: {err['msg']}",
                                    path=f"{path}.{sub}" if sub else path,
                                )
                            )
                        continue
            if growth.model == "points":
                for key in growth.points:
                    if not key.lstrip("-").isdigit():
                        _check_period_ref(key, f"drivers.{dname}.growth.points.{key}", issues)
            out[sname][dname] = DriverSpec(dname, initial, growth, steps)
    return out


def _check_unique_names(plan: Plan, issues: list[Issue]) -> None:
    names_taken: dict[str, str] = {}
    for group in ("drivers", "metrics", "components", "hosts"):
        for name in getattr(plan, group):
            if name in names_taken:
                issues.append(
                    Issue(
                        f"'{name}' is already a name under {names_taken[name]}; names of "
                        "drivers, metrics, components and hosts must be unique",
                        path=f"{group}.{name}",
                    )
                )
            names_taken.setdefault(name, group)


@dataclass(frozen=True)
class _Names:
    """The names of a plan that its expressions may read, and those they may not."""

    outputs: dict[str, tuple[str, ...]]  # component → output fields
    observed: set[str]  # metrics with no expression (data only)
    values: set[str]  # drivers, derived metrics and component outputs
    # Drivers and metrics, and components, whose definitions failed validation: what they
    # hold is unknown, so what reads them (``db.cost`` of a broken ``db``) is taken on trust.
    unchecked_values: frozenset[str] = frozenset()
    unchecked_components: frozenset[str] = frozenset()

    def known(self, ref: str) -> bool:
        """Whether an expression may read ``ref`` (or it cannot be told: an unchecked name)."""
        component, dot, _ = ref.partition(".")
        return (
            ref in self.values
            or ref in self.unchecked_values
            or bool(dot and component in self.unchecked_components)
        )

    def misuse(self, ref: str, source: str, path: str) -> Issue:
        """What is wrong with an expression that reads ``ref``, a name not in ``values``."""
        if ref in self.observed:
            return Issue(
                f"uses '{ref}', an observed metric with no expression; plan expressions "
                "can use drivers, derived metrics and component outputs only",
                path=path,
            )
        comp_name, _, sub = ref.partition(".")
        if sub and comp_name in self.outputs:
            hint = suggest(sub, list(self.outputs[comp_name]))
            msg = (
                f"uses '{ref}', but component '{comp_name}' has no output '{sub}'{hint};"
                f" its outputs are: {', '.join(self.outputs[comp_name])}"
            )
        else:
            every = self.values | self.unchecked_values
            hint = suggest(ref, sorted(every))
            msg = (
                f"uses unknown name '{ref}' in '{source}'{hint}; known names: "
                f"{', '.join(sorted(n for n in every if '.' not in n))}"
            )
        return Issue(msg, path=path)


def _expression_sources(plan: Plan) -> list[tuple[str, str, str, str]]:
    """Every expression of the plan as (node key, field, path, source)."""
    sources: list[tuple[str, str, str, str]] = []
    for mname, metric in plan.metrics.items():
        if metric.expr is not None:
            sources.append((f"metric:{mname}", "expr", f"metrics.{mname}", metric.expr))
    for cname, comp in plan.components.items():
        for fname, src in _component_exprs(comp).items():
            sources.append((f"component:{cname}", fname, f"components.{cname}.{fname}", src))
    return sources


def _compile_expressions(
    plan: Plan, names: _Names, issues: list[Issue]
) -> tuple[dict[str, dict[str, Expression]], dict[str, set[str]]]:
    """The plan's expressions compiled (node key → field → expression) and the graph of the
    nodes each node reads, for the nodes whose expressions compiled."""
    compiled: dict[str, dict[str, Expression]] = {}
    graph: dict[str, set[str]] = {}
    for key, fname, path, src in _expression_sources(plan):
        try:
            expr = compile_expression(src, path=path)
        except PlanError as exc:
            issues.extend(exc.issues)
            continue
        compiled.setdefault(key, {})[fname] = expr
        deps = graph.setdefault(key, set())
        for ref in sorted(expr.names):
            if not names.known(ref):
                issues.append(names.misuse(ref, expr.source, path))
            elif ref not in names.values:
                continue  # an unchecked name: nothing to order by
            elif "." in ref:
                deps.add(f"component:{ref.split('.', 1)[0]}")
            elif ref in plan.metrics:
                deps.add(f"metric:{ref}")
    return compiled, graph


def _evaluation_order(
    plan: Plan,
    compiled: dict[str, dict[str, Expression]],
    graph: dict[str, set[str]],
    issues: list[Issue],
) -> list[Node]:
    """The nodes in an order where each comes after those it reads (every component is a
    node, with expressions or not); empty when expressions form a cycle, which is reported."""
    nodes: dict[str, Node] = {}
    for key in graph:
        kind, _, name = key.partition(":")
        nodes[key] = Node(
            "metric" if kind == "metric" else "component", name, compiled.get(key, {})
        )
    for cname in plan.components:
        key = f"component:{cname}"
        nodes.setdefault(key, Node("component", cname, compiled.get(key, {})))
        graph.setdefault(key, set())
    try:
        return [nodes[k] for k in graphlib.TopologicalSorter(graph).static_order() if k in nodes]
    except graphlib.CycleError as exc:
        cycle = [str(k).partition(":")[2] for k in exc.args[1]]
        first = str(exc.args[1][0])
        kind, _, name = first.partition(":")
        issues.append(
            Issue(
                f"expressions form a cycle: {' → '.join(cycle)}",
                path=f"{'metrics' if kind == 'metric' else 'components'}.{name}",
            )
        )
        return []


def _check_thresholds(plan: Plan, names: _Names, issues: list[Issue]) -> None:
    quantities = names.values | names.observed
    for tname, thr in plan.thresholds.items():
        if thr.metric not in quantities and not names.known(thr.metric):
            issues.append(
                Issue(
                    f"names metric '{thr.metric}', which the plan does not define"
                    f"{suggest(thr.metric, sorted(quantities))}; define it under 'metrics' "
                    "(an expression, or a query for an observed metric)",
                    path=f"thresholds.{tname}.metric",
                )
            )


def _tier_parts(component: TierComponent) -> dict[str, set[str]]:
    """Each part of a tiers component's allocations, with the resources some tier gives it."""
    parts: dict[str, set[str]] = {}
    for tier in component.tiers:
        for part, amounts in tier.allocations.items():
            parts.setdefault(part, set()).update(amounts)
    return parts


def _check_policy_target(
    plan: Plan, pname: str, policy: Policy, names: _Names, issues: list[Issue]
) -> None:
    cname, part = split_target(policy.component)
    scaled = plan.components.get(cname)
    where = f"policies.{pname}.component"
    if scaled is None:
        if cname not in names.unchecked_components:
            issues.append(
                Issue(
                    f"names component '{cname}', which the plan does not define"
                    f"{suggest(cname, list(plan.components))}",
                    path=where,
                )
            )
        return
    replicas = policy.kind != "vpa"
    if part is None:
        if isinstance(scaled, TierComponent):
            known = sorted(_tier_parts(scaled))
            issues.append(
                Issue(
                    f"'{cname}' is a tiers component: name the part this policy scales, "
                    f"{' or '.join(f'{cname}.{p}' for p in known) or 'a part of its allocations'}",
                    path=where,
                )
            )
        return
    if not isinstance(scaled, TierComponent):
        issues.append(
            Issue(
                f"'{cname}.{part}' names a part, but only a tiers component has parts; "
                f"'{cname}' is kind '{scaled.kind}'",
                path=where,
            )
        )
        return
    parts = _tier_parts(scaled)
    if part not in parts:
        issues.append(
            Issue(
                f"'{cname}' has no part '{part}' in its tiers' allocations"
                f"{suggest(part, list(parts))}; parts: {', '.join(sorted(parts))}",
                path=where,
            )
        )
    elif replicas and "instances" not in parts[part]:
        issues.append(
            Issue(
                f"a {policy.kind} policy scales replicas, but no tier of '{cname}' gives "
                f"'{part}' instances; add instances to its allocations",
                path=where,
            )
        )


def _policy_metrics(pname: str, policy: Policy) -> list[tuple[str, str]]:
    """(metric, field path) of every plan metric a policy reads."""
    if isinstance(policy, HpaPolicy):
        if policy.metrics is None:
            return [(policy.metric, f"policies.{pname}.metric")]
        return [
            (m.metric, f"policies.{pname}.metrics.{i}.metric")
            for i, m in enumerate(policy.metrics)
            if m.metric is not None
        ]
    if isinstance(policy, StepPolicy | QueuePolicy):
        return [(policy.metric, f"policies.{pname}.metric")]
    return []


def _check_policies(plan: Plan, names: _Names, issues: list[Issue]) -> None:
    quantities = names.values | names.observed
    for pname, policy in plan.policies.items():
        _check_policy_target(plan, pname, policy, names, issues)
        for watched, path in _policy_metrics(pname, policy):
            if watched not in quantities and not names.known(watched):
                issues.append(
                    Issue(
                        f"names metric '{watched}', which the plan does not define"
                        f"{suggest(watched, sorted(quantities))}; define it under 'metrics'",
                        path=path,
                    )
                )
    for cname, comp in plan.components.items():
        if comp.deploy is None or not comp.deploy.parts:
            continue
        if not isinstance(comp, TierComponent):
            issues.append(
                Issue(
                    f"only a tiers component has parts; '{cname}' is kind '{comp.kind}'",
                    path=f"components.{cname}.deploy.parts",
                )
            )
            continue
        known = _tier_parts(comp)
        for part in comp.deploy.parts:
            if part not in known:
                issues.append(
                    Issue(
                        f"'{cname}' has no part '{part}' in its tiers' allocations"
                        f"{suggest(part, list(known))}; parts: {', '.join(sorted(known))}",
                        path=f"components.{cname}.deploy.parts.{part}",
                    )
                )


def _check_hosts(plan: Plan, names: _Names, issues: list[Issue]) -> None:
    for hname, host in plan.hosts.items():
        for i, comp in enumerate(host.components or []):
            if comp not in plan.components and comp not in names.unchecked_components:
                issues.append(
                    Issue(
                        f"names component '{comp}', which the plan does not define"
                        f"{suggest(comp, list(plan.components))}",
                        path=f"hosts.{hname}.components.{i}",
                    )
                )


def _check_provisioning(plan: Plan, issues: list[Issue]) -> None:
    for cname, comp in plan.components.items():
        for i, addition in enumerate(comp.provisioned.add if comp.provisioned else []):
            for j, ref in enumerate(addition.at):
                _check_period_ref(ref, f"components.{cname}.provisioned.add[{i}].at[{j}]", issues)


def _check_serves(plan: Plan, issues: list[Issue]) -> None:
    """A tiers component's ``serves`` read only its tiers' capacity and price, and give a
    finite value >= 0 for each tier."""
    for cname, comp in plan.components.items():
        if not isinstance(comp, TierComponent):
            continue
        for unit, src in comp.serves.items():
            path = f"components.{cname}.serves.{unit}"
            if not unit.isidentifier():
                issues.append(Issue(f"must be a name (letters, digits, _), got {unit!r}", path))
                continue
            try:
                expr = compile_expression(src, path=path)
                unknown = sorted(expr.names - {"capacity", "price"})
                if unknown:
                    issues.append(
                        Issue(
                            f"uses {', '.join(repr(n) for n in unknown)}; what a tier serves "
                            "may use only its 'capacity' and 'price'",
                            path=path,
                        )
                    )
                    continue
                values = tier_serves(comp.model_copy(update={"serves": {unit: src}}))[unit]
            except PlanError as exc:
                issues.extend(Issue(i.message, path=path) for i in exc.issues)
                continue
            if (values < 0).any():
                issues.append(Issue(f"must be >= 0 for every tier, got {values.tolist()}", path))


def _check_budget(plan: Plan, names: _Names, issues: list[Issue]) -> None:
    per = plan.budget.per
    defined = set(plan.drivers) | set(plan.metrics) | names.unchecked_values
    if per is not None and per not in defined:
        issues.append(
            Issue(
                f"names '{per}', which is not a driver or metric"
                f"{suggest(per, list(plan.drivers) + list(plan.metrics))}",
                path="budget.per",
            )
        )


@dataclass
class _Checked:
    """What checking a plan as a whole found: its issues, how many of them are about
    expressions, and the pieces a compiled plan is made of."""

    issues: list[Issue]
    expression_issues: int
    drivers: dict[str, dict[str, DriverSpec]]
    order: list[Node]
    outputs: dict[str, tuple[str, ...]]
    quantities: set[str]


def check_plan(
    plan: Plan,
    unchecked_values: frozenset[str] = frozenset(),
    unchecked_components: frozenset[str] = frozenset(),
) -> _Checked:
    """Check the plan as a whole: names, cycles, scenario overrides, thresholds, policies and
    the budget. The unchecked names are drivers and metrics, and components, of the file that
    are left out of ``plan`` because they failed validation: what reads them is not reported."""
    issues: list[Issue] = []
    drivers = _driver_specs(plan, issues)
    _check_unique_names(plan, issues)

    outputs = {n: component_outputs(n, c) for n, c in plan.components.items()}
    observed = {n for n, m in plan.metrics.items() if m.expr is None}
    values = set(plan.drivers) | {n for n in plan.metrics if n not in observed}
    values |= {f"{c}.{f}" for c, fs in outputs.items() for f in fs}
    names = _Names(outputs, observed, values, unchecked_values, unchecked_components)

    first_expression_issue = len(issues)
    compiled, graph = _compile_expressions(plan, names, issues)
    order = _evaluation_order(plan, compiled, graph, issues)
    expression_issues = len(issues) - first_expression_issue  # the rest: other fields

    _check_thresholds(plan, names, issues)
    _check_policies(plan, names, issues)
    _check_hosts(plan, names, issues)
    _check_serves(plan, issues)
    _check_provisioning(plan, issues)
    _check_budget(plan, names, issues)
    components = [*plan.components, *names.unchecked_components]
    metric_components = {n: m.component for n, m in plan.metrics.items() if m.component}
    issues += alerting_issues(plan.alerting, components, metric_components)
    issues += monitoring_issues(plan, components)
    return _Checked(issues, expression_issues, drivers, order, outputs, values | observed)


def compile_plan(plan: Plan) -> CompiledPlan:
    """Check the plan as a whole and compile it; cached on the plan."""
    cached = plan._compiled
    if isinstance(cached, CompiledPlan):
        return cached
    checked = check_plan(plan)
    issues = checked.issues
    if issues:
        cls: type[PlanError] = (
            ExpressionError if checked.expression_issues == len(issues) else PlanValidationError
        )
        raise cls(issues).with_file(plan.source, plan._lines)
    result = CompiledPlan(
        plan,
        checked.order,
        checked.drivers,
        checked.outputs,
        checked.quantities,
        sizing_tables(plan),
    )
    plan._compiled = result
    return result
