"""The whole-plan checks of a plan that failed validation, run on the parts that passed.

A plan with a field out of range in one place and an unknown name in an expression in
another should show both at once. Pydantic reports the first; this module validates each
driver, metric, component, threshold and policy on its own, builds a plan of those that are
valid, and runs :func:`~capplan.plan.compiled.check_plan` on it. What a part that failed
holds is unknown, so expressions and names that read it are taken on trust, not reported.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from capplan.errors import Issue
from capplan.plan.compiled import check_plan
from capplan.plan.models import (
    NAME_PATTERN,
    Budget,
    Component,
    Driver,
    Metric,
    Plan,
    Scenario,
    Threshold,
)
from capplan.plan.policies import Policy

__all__ = ["valid_part_issues"]

# What each group of named parts holds; the groups expressions and names refer to come first.
_GROUPS: dict[str, TypeAdapter[Any]] = {
    "drivers": TypeAdapter(Driver),
    "metrics": TypeAdapter(Metric),
    "components": TypeAdapter(Component),
    "scenarios": TypeAdapter(Scenario),
    "thresholds": TypeAdapter(Threshold),
    "policies": TypeAdapter(Policy),
}
# Groups that define names or scenarios: when one is not a mapping at all, nothing that reads
# a name can be checked.
_NAMING = ("drivers", "metrics", "components", "scenarios")


def _valid(adapter: TypeAdapter[Any], value: Any) -> Any | None:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def valid_part_issues(data: dict[str, Any]) -> list[Issue]:
    """The whole-plan issues (expressions, names, scenario overrides) of the parts of ``data``
    that pass validation on their own; ``data`` is a plan that failed validation."""
    parts: dict[str, dict[str, Any]] = {}
    unchecked: dict[str, set[str]] = {"values": set(), "components": set()}
    for group, adapter in _GROUPS.items():
        raw = data.get(group)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            if group in _NAMING:
                return []
            raw = {}
        parts[group] = {}
        for name, value in raw.items():
            valid = _valid(adapter, value) if NAME_PATTERN.match(str(name)) else None
            if valid is not None:
                parts[group][str(name)] = valid
            elif group == "scenarios":
                parts[group][str(name)] = Scenario()  # declared, whatever it says
            elif group in ("drivers", "metrics"):
                unchecked["values"].add(str(name))
            elif group == "components":
                unchecked["components"].add(str(name))
    budget = _valid(TypeAdapter(Budget), data.get("budget") or {}) or Budget()
    plan = Plan.model_construct(
        system=str(data.get("system") or "plan"),
        drivers=parts["drivers"],
        metrics=parts["metrics"],
        components=parts["components"],
        scenarios=parts["scenarios"],
        thresholds=parts["thresholds"],
        policies=parts["policies"],
        budget=budget,
    )
    checked = check_plan(plan, frozenset(unchecked["values"]), frozenset(unchecked["components"]))
    return checked.issues
