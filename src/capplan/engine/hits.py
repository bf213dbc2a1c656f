"""Events as Monte Carlo counts them: per path and period, whether each has happened.

A level above the one the deterministic run starts at, a capacity exceeded, a threshold
level crossed: each has a key, a description and a boolean array over paths and periods.
"""

from __future__ import annotations

import numpy as np

from capplan.engine.evaluate import Evaluation
from capplan.formatting import fmt_number
from capplan.plan.models import Plan, Threshold
from capplan.sizing.result import Array, BoolArray, Sized

__all__ = [
    "component_hits",
    "crossed",
    "event_hits",
    "exceeded_event",
    "level_events",
    "threshold_hits",
]


def crossed(values: Array, level: float, direction: str) -> BoolArray:
    """Where ``values`` are beyond ``level`` (``above`` or ``below`` it)."""
    out = values > level if direction == "above" else values < level
    return np.asarray(out, dtype=bool)


def level_events(name: str, s: Sized, base: Sized) -> list[tuple[str, str, int]]:
    """For each level above the one ``base`` (the deterministic run) starts at: a key, a
    description and the level's index."""
    if s.level is None:
        return []
    start_level = int(base.level[0, 0]) if base.level is not None else 0
    return [
        (f"{name}.level>={s.level_names[k]}", f"{name} reaches {s.level_names[k]}", k)
        for k in range(start_level + 1, len(s.level_names))
    ]


def exceeded_event(name: str) -> tuple[str, str]:
    """The key and description of a component's exceeded capacity."""
    return f"{name}.exceeded", f"{name} exceeds its largest option"


def component_hits(name: str, s: Sized, base: Sized) -> list[tuple[str, str, BoolArray]]:
    """For each level above the one ``base`` (the deterministic run) starts at, and for an
    exceeded capacity: a key, a description and, per path and period, whether it holds."""
    out: list[tuple[str, str, BoolArray]] = []
    if s.level is not None:
        out += [(key, text, s.level >= k) for key, text, k in level_events(name, s, base)]
    out.append((*exceeded_event(name), s.exceeded))
    return out


def threshold_hits(tname: str, thr: Threshold, values: Array) -> list[tuple[str, str, BoolArray]]:
    """For each level of a threshold but its target: a key, a description and, per path and
    period, whether ``values`` (the threshold's metric) is beyond it."""
    return [
        (
            f"{tname}.{level_name}",
            f"{thr.metric} {thr.direction} {level_name} {fmt_number(level.value)}",
            crossed(values, level.value, thr.direction),
        )
        for level_name, level in thr.levels()
        if level_name != "target"
    ]


def event_hits(plan: Plan, ev: Evaluation, base: Evaluation) -> list[tuple[str, str, BoolArray]]:
    """For each level above today's, each exceeded capacity and each threshold level: a key,
    a description and, per path and period, whether it holds then."""
    out: list[tuple[str, str, BoolArray]] = []
    for name, s in ev.sized.items():
        out += component_hits(name, s, base.sized[name])
    for tname, thr in plan.thresholds.items():
        if thr.metric in ev.values:
            out += threshold_hits(tname, thr, ev.values[thr.metric])
    return out
