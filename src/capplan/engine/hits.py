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
from capplan.timeline import MONTHS_PER_PERIOD

#: Seconds in an average month (365.2425 days / 12), to turn a change window into periods.
SECONDS_PER_MONTH = 365.2425 / 12 * 86400

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


def change_periods(over_seconds: float, step: str) -> int:
    """The periods of ``step`` nearest ``over_seconds``, at least one."""
    period = MONTHS_PER_PERIOD[step] * SECONDS_PER_MONTH
    return max(1, round(over_seconds / period))


def period_change(values: Array, periods: int, direction: str) -> Array:
    """Percent change of ``values`` (periods on the last axis) over ``periods`` periods, a
    rise for ``above`` and a fall for ``below`` (both positive); NaN for the first
    ``periods`` periods and where the base is 0."""
    vals = np.asarray(values, dtype=np.float64)
    out = np.full(vals.shape, np.nan)
    base = vals[..., :-periods]
    with np.errstate(invalid="ignore", divide="ignore"):
        change = 100.0 * (vals[..., periods:] - base) / np.where(base == 0, np.nan, base)
    out[..., periods:] = change if direction == "above" else -change
    return out


def threshold_series(thr: Threshold, values: Array, step: str) -> tuple[Array, str]:
    """What the levels of ``thr`` apply to: ``values``, or for a change its percent change
    over the window in periods of ``step``; and the direction to compare them in."""
    over = thr.change_seconds
    if over is None:
        return values, thr.direction
    return period_change(values, change_periods(over, step), thr.direction), "above"


def threshold_hits(
    tname: str, thr: Threshold, values: Array, step: str = "month"
) -> list[tuple[str, str, BoolArray]]:
    """For each level of a threshold but its target: a key, a description and, per path and
    period, whether ``values`` (the threshold's metric; for a change, its percent change over
    the window in periods of ``step``) is beyond it."""
    series, direction = threshold_series(thr, values, step)
    with np.errstate(invalid="ignore"):
        return [
            (
                f"{tname}.{level_name}",
                _hit_text(thr, level_name, level.value),
                crossed(series, level.value, direction),
            )
            for level_name, level in thr.levels()
            if level_name != "target"
        ]


def _hit_text(thr: Threshold, level_name: str, value: float) -> str:
    if thr.change is None:
        return f"{thr.metric} {thr.direction} {level_name} {fmt_number(value)}"
    verb = "grows" if thr.direction == "above" else "falls"
    return f"{thr.metric} {verb} {level_name} {fmt_number(value)}% over {thr.change.over}"


def event_hits(plan: Plan, ev: Evaluation, base: Evaluation) -> list[tuple[str, str, BoolArray]]:
    """For each level above today's, each exceeded capacity and each threshold level: a key,
    a description and, per path and period, whether it holds then."""
    out: list[tuple[str, str, BoolArray]] = []
    for name, s in ev.sized.items():
        out += component_hits(name, s, base.sized[name])
    for tname, thr in plan.thresholds.items():
        if thr.metric in ev.values:
            out += threshold_hits(tname, thr, ev.values[thr.metric], plan.step)
    return out
