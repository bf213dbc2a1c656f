"""Tests for capplan.plan.compiled: whole-plan checks (names, cycles, observed metrics,
scenario overrides) and the evaluation order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from capplan import run_plan
from capplan.errors import ExpressionError, Issue, PlanError, PlanValidationError
from capplan.plan.compiled import compile_plan, component_outputs
from capplan.plan.loader import parse_plan_text, validate_plan_data
from capplan.plan.models import Plan

HEAD = """\
system: demo
start: 2026-01
horizon: 6
drivers:
  users:
    initial: 1000
    growth: {model: compound, rate: 0.1}
"""

DB = """\
  db:
    kind: vertical
    demand: {storage: users * 0.001}
    rungs:
      - {name: free, limits: {storage: 1}, price: 0}
      - {name: pro, limits: {storage: 8}, price: 25}
"""


def load(text: str) -> Plan:
    data, lines = parse_plan_text(text, "plan.yaml")
    return validate_plan_data(data, "plan.yaml", lines)


def load_error(text: str) -> PlanError:
    with pytest.raises(PlanError) as info:
        load(text)
    return info.value


def only_issue(error: PlanError) -> Issue:
    assert len(error.issues) == 1, error.issues
    issue = error.issues[0]
    assert issue.file == "plan.yaml"
    return issue


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def data(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "system": "demo",
        "start": "2026-01",
        "horizon": 3,
        "drivers": {"users": {"initial": 1000, "growth": {"model": "compound", "rate": 0.1}}},
    }
    out.update(extra)
    return out


# -- unknown names -----------------------------------------------------------------------


def test_unknown_name_in_a_metric_suggests_the_closest_name() -> None:
    text = HEAD + "metrics:\n  rps: userz * 0.01\n"
    error = load_error(text)
    assert isinstance(error, ExpressionError)
    issue = only_issue(error)
    assert issue.path == "metrics.rps"
    assert issue.line == line_of(text, "rps:")
    assert "uses unknown name 'userz' in 'userz * 0.01'" in issue.message
    assert "(did you mean 'users'?)" in issue.message
    assert "known names: rps, users" in issue.message


def test_unknown_name_in_a_component_demand() -> None:
    text = (
        HEAD + "components:\n  api:\n    kind: horizontal\n    demand: rsp\n"
        "    capacity_per_instance: 10\n"
    )
    issue = only_issue(load_error(text))
    assert issue.path == "components.api.demand"
    assert issue.line == line_of(text, "demand: rsp")
    assert "unknown name 'rsp'" in issue.message


def test_unknown_output_of_a_known_component_lists_its_outputs() -> None:
    text = HEAD + "metrics:\n  per_user: db.costs / users\ncomponents:\n" + DB
    issue = only_issue(load_error(text))
    assert issue.path == "metrics.per_user"
    assert "component 'db' has no output 'costs' (did you mean 'cost'?)" in issue.message
    assert "storage_utilization" in issue.message.split("its outputs are:")[1]


def test_output_of_an_unknown_component_suggests_the_component() -> None:
    text = HEAD + "metrics:\n  per_user: dbb.cost / users\ncomponents:\n" + DB
    issue = only_issue(load_error(text))
    assert "unknown name 'dbb.cost'" in issue.message
    assert "(did you mean 'db.cost'?)" in issue.message


def test_expression_that_does_not_parse_names_its_field() -> None:
    text = HEAD + "metrics:\n  rps: users * * 2\n"
    error = load_error(text)
    assert isinstance(error, ExpressionError)
    issue = only_issue(error)
    assert issue.path == "metrics.rps"
    assert issue.line == line_of(text, "rps:")
    assert "'users * * 2' is not valid" in issue.message


@pytest.mark.parametrize("source", ["__import__('os')", "open(users)", "users.__class__"])
def test_unsafe_expressions_are_refused(source: str) -> None:
    error = load_error(HEAD + f'metrics:\n  bad: "{source}"\n')
    assert isinstance(error, ExpressionError)
    assert only_issue(error).path == "metrics.bad"


# -- cycles ------------------------------------------------------------------------------


def test_cycle_of_metrics_shows_the_cycle_path() -> None:
    text = HEAD + "metrics:\n  a: b + users\n  b: c * 2\n  c: a + 1\n"
    error = load_error(text)
    assert isinstance(error, ExpressionError)
    issue = only_issue(error)
    assert "expressions form a cycle:" in issue.message
    cycle = issue.message.split("cycle: ")[1].split(" → ")
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["a", "b", "c"]
    assert issue.path == f"metrics.{cycle[0]}"
    assert issue.line == line_of(text, f"  {cycle[0]}:")


def test_metric_using_itself_is_a_cycle() -> None:
    issue = only_issue(load_error(HEAD + "metrics:\n  a: a + 1\n"))
    assert issue.message == "expressions form a cycle: a → a"


def test_cycle_through_a_component_output() -> None:
    text = (
        HEAD + "metrics:\n  m: api.instances * 2\n"
        "components:\n  api: {kind: horizontal, demand: m, capacity_per_instance: 10}\n"
    )
    issue = only_issue(load_error(text))
    cycle = issue.message.split("cycle: ")[1].split(" → ")
    assert set(cycle) == {"m", "api"}


# -- observed metrics --------------------------------------------------------------------


def test_observed_metric_cannot_be_used_in_an_expression() -> None:
    text = HEAD + "metrics:\n  cpu: {unit: '%', query: 'avg(cpu)'}\n  doubled: cpu * 2\n"
    error = load_error(text)
    assert isinstance(error, ExpressionError)
    issue = only_issue(error)
    assert issue.path == "metrics.doubled"
    assert issue.line == line_of(text, "doubled:")
    assert "uses 'cpu', an observed metric with no expression" in issue.message


def test_observed_metric_is_a_quantity_but_not_evaluated() -> None:
    plan = load(HEAD + "metrics:\n  cpu: {unit: '%'}\n  rps: users / 100\n")
    compiled = compile_plan(plan)
    assert "cpu" in compiled.quantities
    assert [n.name for n in compiled.order] == ["rps"]
    assert "cpu" not in run_plan(plan).values


# -- component outputs and ordering ------------------------------------------------------


def test_component_output_is_usable_in_a_metric_and_evaluated_first() -> None:
    plan = load(HEAD + "metrics:\n  per_user: db.cost / users\ncomponents:\n" + DB)
    order = [(n.kind, n.name) for n in compile_plan(plan).order]
    assert order.index(("component", "db")) < order.index(("metric", "per_user"))
    projection = run_plan(plan)
    np.testing.assert_allclose(
        projection.values["per_user"], projection.values["db.cost"] / projection.values["users"]
    )
    assert projection.values["db.cost"][0] == 25.0  # 1 GB does not fit 80% of the free 1 GB


def test_metrics_listed_before_what_they_use_are_ordered_by_dependency() -> None:
    plan = load(HEAD + "metrics:\n  b: a * 2\n  a: users + 1\n")
    assert [n.name for n in compile_plan(plan).order] == ["a", "b"]
    values = run_plan(plan).values
    np.testing.assert_allclose(values["b"], (values["users"] + 1) * 2)


def test_components_ordered_by_their_outputs() -> None:
    plan = validate_plan_data(
        data(
            components={
                "workers": {
                    "kind": "horizontal",
                    "demand": "api.instances * 3",
                    "capacity_per_instance": 2,
                },
                "api": {"kind": "horizontal", "demand": "users / 100", "capacity_per_instance": 5},
            }
        ),
        "plan.yaml",
        {},
    )
    assert [n.name for n in compile_plan(plan).order] == ["api", "workers"]
    values = run_plan(plan).values
    np.testing.assert_array_equal(values["workers.demand"], values["api.instances"] * 3)


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        (
            {"kind": "horizontal", "demand": "users", "capacity_per_instance": 1},
            {"instances", "cost", "utilization", "demand", "capacity"},
        ),
        (
            {
                "kind": "vertical",
                "demand": {"storage": "users"},
                "rungs": [{"name": "a", "limits": {"storage": None}}],
            },
            {"storage_demand", "storage_limit", "storage_utilization"},
        ),
        (
            {
                "kind": "tiers",
                "demand": "users",
                "tiers": [{"name": "a", "capacity": 10, "allocations": {"backend": {"vcpu": 2}}}],
            },
            {"demand", "capacity", "backend.vcpu"},
        ),
        (
            {
                "kind": "formula",
                "resources": {"vcpu": "users", "connections": "users"},
                "capacity": {"connections": "100"},
            },
            {"vcpu", "connections", "connections_utilization"},
        ),
    ],
    ids=["horizontal", "vertical", "tiers", "formula"],
)
def test_component_outputs_by_kind(component: dict[str, Any], expected: set[str]) -> None:
    plan = validate_plan_data(data(components={"c": component}), "plan.yaml", {})
    outputs = component_outputs("c", plan.components["c"])
    assert expected <= set(outputs)
    assert {"instances", "vcpu", "memory_gb", "storage_gb", "cost", "utilization"} <= set(outputs)
    assert len(outputs) == len(set(outputs))


def test_compiled_plan_is_cached() -> None:
    plan = load(HEAD)
    assert compile_plan(plan) is compile_plan(plan)


# -- scenario overrides and other cross-checks -------------------------------------------


def test_scenario_override_merges_into_the_base_growth() -> None:
    plan = validate_plan_data(
        data(
            scenarios={"slow": "slow", "fast": "fast"},
            drivers={
                "users": {
                    "initial": 1000,
                    "growth": {"model": "compound", "rate": 0.1, "churn": 0.02},
                    "scenarios": {
                        "fast": {"growth": {"rate": 0.3}, "initial": 2000},
                        "slow": {"growth": {"model": "linear", "per_month": 10}},
                    },
                }
            },
        ),
        "plan.yaml",
        {},
    )
    drivers = compile_plan(plan).drivers
    fast = drivers["fast"]["users"]
    assert (fast.initial, fast.growth.model) == (2000, "compound")
    assert (fast.growth.rate, fast.growth.churn) == (0.3, 0.02)  # type: ignore[union-attr]
    slow = drivers["slow"]["users"]
    assert (slow.initial, slow.growth.model) == (1000, "linear")
    assert slow.growth.per_month == 10  # type: ignore[union-attr]


def test_override_that_leaves_an_invalid_growth_is_reported() -> None:
    text = (
        HEAD + "    scenarios:\n      big:\n        growth: {model: logistic}\n"
        "scenarios:\n  big: x\n"
    )
    error = load_error(text)
    assert isinstance(error, PlanValidationError)
    issue = error.issues[0]
    assert issue.path.startswith("drivers.users.scenarios.big.growth")
    assert "does not give a valid growth once merged" in issue.message
    assert issue.line == line_of(text, "growth: {model: logistic}")


def test_step_at_an_impossible_date() -> None:
    text = HEAD + "    steps:\n      - {at: 2026-13, add: 5}\n"
    issue = only_issue(load_error(text))
    assert issue.path == "drivers.users.steps[0].at"
    assert issue.line == line_of(text, "2026-13")
    assert "got '2026-13'" in issue.message


def test_budget_per_unknown_name() -> None:
    issue = only_issue(load_error(HEAD + "budget: {per: usrs}\n"))
    assert issue.path == "budget.per"
    assert "names 'usrs', which is not a driver or metric (did you mean 'users'?)" in issue.message


def test_expression_and_other_issues_together_are_a_validation_error() -> None:
    text = HEAD + "metrics:\n  rps: userz\nbudget: {per: usrs}\n"
    error = load_error(text)
    assert isinstance(error, PlanValidationError)
    assert {i.path for i in error.issues} == {"metrics.rps", "budget.per"}
