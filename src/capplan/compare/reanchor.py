"""Re-anchoring: the plan moved to start at the last actual, each compared driver at its
actual value and growing at its re-fitted rate, and what that moves (pure; no I/O).

The changes are plan field paths and values (``drivers.users.initial``, ``start``), the
same ones ``--write-plan`` writes into the plan file; a scenario that overrides a field gets
the change in its override, so the scenario compared is the one changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from capplan.compare.refit import GrowthFit
from capplan.engine.projection import Projection
from capplan.formatting import fmt_money, fmt_number
from capplan.plan.compiled import compile_plan
from capplan.plan.drivers import Step
from capplan.plan.loader import apply_overrides, validate_plan_data
from capplan.plan.models import Plan
from capplan.timeline import Timeline
from capplan.units import parse_start_date

__all__ = ["Reanchor", "reanchor_changes", "reanchored_plan", "what_moved"]

_RATE_FIELD = {"compound": "rate", "annual": "rate", "linear": "per_month"}


@dataclass
class Reanchor:
    """The re-anchored plan: its changes (field path → value), the projection from the anchor
    and the sentences saying what moved."""

    anchor_period: int
    anchor_date: dt.date
    changes: dict[str, Any]
    projection: Projection
    moved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _field_path(plan: Plan, driver: str, scenario: str, name: str) -> str:
    """Where the scenario reads a driver's field: its override when it has one."""
    ov = plan.drivers[driver].scenarios.get(scenario)
    if ov is not None:
        if name == "initial" and ov.initial is not None:
            return f"drivers.{driver}.scenarios.{scenario}.initial"
        if name == "steps" and ov.steps is not None:
            return f"drivers.{driver}.scenarios.{scenario}.steps"
        if ov.growth is not None and name.startswith("growth."):
            patch = ov.growth.model_dump(exclude_none=True)
            if name[len("growth.") :] in patch or "model" in patch:
                return f"drivers.{driver}.scenarios.{scenario}.{name}"
    return f"drivers.{driver}.{name}"


def _shift_ref(ref: object, shift: int, start: dt.date) -> object | None:
    """A step's ``at`` moved ``shift`` periods earlier; None when it falls before the start."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref - shift if ref > shift else None
    day = parse_start_date(ref)
    return ref if day > start else None


def _steps(steps: tuple[Step, ...], shift: int, start: dt.date) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        at = _shift_ref(step.at, shift, start)
        if at is None:
            continue
        data = step.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data["at"] = at.isoformat() if isinstance(at, dt.date) else at
        out.append(data)
    return out


def reanchor_changes(
    plan: Plan,
    scenario: str,
    projection: Projection,
    anchor: int,
    actual_at_anchor: dict[str, float],
    fits: dict[str, GrowthFit],
) -> tuple[dict[str, Any], list[str]]:
    """The plan changes that start it at period ``anchor``: ``start`` (the horizon stays as
    long), each driver's initial value (its actual there, else its projected value)
    and, for a driver with a re-fitted growth of its own model, the rate. Steps are shifted;
    steps already passed are dropped (they are in the actuals)."""
    timeline = projection.timeline
    day = timeline.date(anchor)
    changes: dict[str, Any] = {
        "start": day.strftime("%Y-%m") if timeline.step == "month" else day.isoformat()
    }
    notes: list[str] = []
    specs = compile_plan(plan).drivers[scenario]
    for name, spec in specs.items():
        if name in actual_at_anchor:
            initial = actual_at_anchor[name]
        else:
            initial = float(projection.values[name][anchor])
            if anchor:
                notes.append(f"{name} has no actuals: it starts from its projected value")
        changes[_field_path(plan, name, scenario, "initial")] = _round(initial)
        fit = fits.get(name)
        growth = spec.growth
        key = _RATE_FIELD.get(growth.model)
        if fit is not None and key is not None:
            value = fit.rate
            churn = getattr(growth, "churn", 0.0)
            if growth.model == "compound" and churn:
                value += churn  # the fit is net of churn; the plan states the rate before it
            changes[_field_path(plan, name, scenario, f"growth.{key}")] = _round(value, 4)
        elif fit is not None:
            notes.append(
                f"{name} grows by a {growth.model} model: re-anchored at its actual value, "
                "growth kept"
            )
        if anchor and spec.steps:
            shifted = _steps(spec.steps, anchor, day)
            if len(shifted) != len(spec.steps) or shifted:
                changes[_field_path(plan, name, scenario, "steps")] = shifted
        if anchor and growth.model == "points":
            notes.append(
                f"{name}: points growth kept as written (its period numbers are not moved)"
            )
    return changes, notes


def _round(value: float, digits: int = 2) -> float | int:
    rounded = round(value, digits)
    return int(rounded) if rounded == int(rounded) and abs(rounded) < 1e15 else rounded


def reanchored_plan(plan: Plan, changes: dict[str, Any]) -> Plan:
    """``plan`` with ``changes`` applied, validated again."""
    data = plan.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return validate_plan_data(apply_overrides(data, changes), plan.source, {})


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _later(was: dt.date, now: dt.date, timeline: Timeline) -> str:
    if timeline.step == "month":
        n = _months_between(was, now)
        unit = "month"
    else:
        n = (now - was).days // (7 if timeline.step == "week" else 1)
        unit = timeline.step
    word = "later" if n > 0 else "earlier"
    return f"{abs(n)} {unit}{'' if abs(n) == 1 else 's'} {word}"


def what_moved(before: Projection, after: Projection, anchor: int) -> list[str]:
    """Sentences for what the re-anchored projection moves: the first period of each tier or
    rung, the first period over capacity, each driver and the monthly cost at the end."""
    tl_b, tl_a = before.timeline, after.timeline
    last = min(tl_a.periods, tl_b.periods - anchor)  # both end on the original's last period
    end = tl_a.label(last)
    out: list[str] = []
    for comp, levels in before.levels.items():
        later = after.levels.get(comp, [])[: last + 1]
        seen = list(dict.fromkeys([*levels[anchor:], *later]))
        for level in seen:
            was = _first_from(levels, level, 0)
            now = later.index(level) if level in later else None
            if now == 0 and was is not None and was <= anchor:
                continue  # reached by the anchor either way
            if was is not None and now is not None:
                was_d, now_d = tl_b.date(was), tl_a.date(now)
                if was_d != now_d:
                    out.append(
                        f"{comp} reaches {level} in {tl_a.label(now)}, not {tl_b.label(was)} "
                        f"({_later(was_d, now_d, tl_a)})"
                    )
            elif was is not None:
                out.append(f"{comp} does not reach {level} by {end} (was {tl_b.label(was)})")
            elif now is not None:
                out.append(f"{comp} reaches {level} in {tl_a.label(now)} (not by {end} before)")
    for comp in before.over_capacity:
        was = _first_from([str(f) for f in before.over_capacity[comp]], "True", anchor)
        now = _first_from(
            [str(f) for f in after.over_capacity.get(comp, [])[: last + 1]], "True", 0
        )
        if was is not None and now is None:
            out.append(f"{comp} stays within capacity to {end} (was over from {tl_b.label(was)})")
        elif now is not None and (was is None or tl_b.date(was) != tl_a.date(now)):
            was_text = f"not {tl_b.label(was)}" if was is not None else f"not by {end} before"
            out.append(f"{comp} is over capacity from {tl_a.label(now)}, {was_text}")
    last_b = anchor + last
    if last_b <= tl_b.periods:
        for name in before.plan.drivers:
            b, a = float(before.values[name][last_b]), float(after.values[name][last])
            if _differs(a, b):
                out.append(f"{name} in {end} {fmt_number(a)}, not {fmt_number(b)}")
        b = float(before.values["total.cost"][last_b])
        a = float(after.values["total.cost"][last])
        if _differs(a, b):
            cur = before.plan.currency
            out.append(f"monthly cost in {end} {fmt_money(a, cur)}, not {fmt_money(b, cur)}")
    return out


def _first_from(levels: list[str], level: str, start: int) -> int | None:
    for t in range(start, len(levels)):
        if levels[t] == level:
            return t
    return None


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > 1e-9 * max(1.0, abs(b)) and round(a) != round(b)
