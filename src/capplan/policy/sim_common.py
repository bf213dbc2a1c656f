"""Shared pieces of the autoscaler simulators: compiled policy parameters, the pod model and the
event log both engines (the event-driven one and the step-by-step reference) write.

Time is counted in two units. *Steps* are the trace's regular step (15 s by default); the
output arrays have one entry per step. *Decisions* are the controller's evaluation times
(HPA sync period, step-policy evaluation interval), every ``k`` steps, where ``k`` is the
interval divided by the step, rounded to a whole number of steps (at least 1). Decision ``j``
happens at step ``j * k`` and sees the demand of that step.

The pod model: a scale-up requests pods that become ready (serve load) ``startup`` later,
rounded up to whole steps; a scale-down is immediate and removes pods that are still starting
first (newest first), then ready ones. ``replicas`` (what is requested, and paid for) and
``ready`` (what serves) are therefore different while pods start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from capplan._types import Array, IntArray
from capplan.plan.policies import HpaPolicy, HpaRule, StepPolicy
from capplan.units import duration_seconds

__all__ = [
    "DEFAULT_SCALE_DOWN_RULES",
    "DEFAULT_SCALE_UP_RULES",
    "END",
    "NEVER",
    "EventLog",
    "HpaParams",
    "Pods",
    "StepParams",
    "compile_hpa",
    "compile_step",
    "hpa_decide",
    "hpa_raw_desired",
    "initial_replicas",
    "rate_limit",
    "record_event",
    "step_change",
]

DEFAULT_SCALE_UP_RULES: tuple[tuple[str, int, float], ...] = (
    ("Pods", 4, 15.0),
    ("Percent", 100, 15.0),
)
"""Kubernetes' default scale-up behavior: max(4 pods, 100%) per 15 s."""
DEFAULT_SCALE_DOWN_RULES: tuple[tuple[str, int, float], ...] = (("Percent", 100, 15.0),)
"""Kubernetes' default scale-down behavior: 100% per 15 s."""
DEFAULT_SCALE_DOWN_WINDOW = 300.0
_EPS = 1e-9

#: Step indexes meaning "long before the trace" and "after its end" in event bookkeeping.
NEVER = -(10**12)
END = 10**15


@dataclass
class EventLog:
    """What happened: scaling actions at decisions, and changes of ready pods at steps."""

    action_decision: list[int] = field(default_factory=list)
    action_before: list[int] = field(default_factory=list)
    action_after: list[int] = field(default_factory=list)
    ready_step: list[int] = field(default_factory=list)
    ready_delta: list[int] = field(default_factory=list)


class Pods:
    """Requested replicas, ready replicas and pods still starting (ready step, count)."""

    def __init__(self, replicas: int, startup_steps: int, log: EventLog) -> None:
        self.requested = replicas
        self.ready = replicas
        self.pending: list[list[int]] = []
        self.startup_steps = startup_steps
        self.log = log

    def advance(self, step: int) -> None:
        """Make pods whose start-up has ended by ``step`` ready."""
        while self.pending and self.pending[0][0] <= step:
            at, count = self.pending.pop(0)
            self.ready += count
            self.log.ready_step.append(at)
            self.log.ready_delta.append(count)

    def scale(self, decision: int, step: int, new: int) -> None:
        """Record an action at ``decision`` (step ``step``) from ``requested`` to ``new``."""
        old = self.requested
        log = self.log
        log.action_decision.append(decision)
        log.action_before.append(old)
        log.action_after.append(new)
        if new > old:
            at = step + self.startup_steps
            if at <= step:
                self.ready += new - old
                log.ready_step.append(step)
                log.ready_delta.append(new - old)
            else:
                self.pending.append([at, new - old])
        else:
            remove = old - new
            while remove and self.pending:
                last = self.pending[-1]
                take = min(remove, last[1])
                last[1] -= take
                remove -= take
                if last[1] == 0:
                    self.pending.pop()
            if remove:
                self.ready -= remove
                log.ready_step.append(step)
                log.ready_delta.append(-remove)
        self.requested = new

    def ready_at(self, steps: IntArray) -> IntArray:
        """Ready pods at each of ``steps`` (sorted, all at or after the current step) if
        nothing else happens: the ready count plus pending pods started by then."""
        if not self.pending:
            return np.full(len(steps), self.ready, dtype=np.int64)
        at = np.array([p[0] for p in self.pending], dtype=np.int64)
        cum = np.concatenate(([0], np.cumsum([p[1] for p in self.pending])))
        out: IntArray = self.ready + cum[np.searchsorted(at, steps, side="right")]
        return out


@dataclass(frozen=True)
class StepParams:
    """A step policy in decision units."""

    k: int
    startup_steps: int
    min_r: int
    max_r: int
    up_factor: float
    up_for: int
    up_cooldown: int
    up_change: tuple[str, float]
    down_factor: float | None
    down_for: int
    down_cooldown: int
    down_change: tuple[str, float]


@dataclass(frozen=True)
class HpaParams:
    """An HPA in decision units; rules are (type, value, period in decisions as a float)."""

    k: int
    startup_steps: int
    min_r: int
    max_r: int
    per_replica: float
    tolerance: float
    up_window: int
    down_window: int
    up_select: str
    down_select: str
    up_rules: tuple[tuple[str, int, float], ...]
    down_rules: tuple[tuple[str, int, float], ...]
    longest_period: float = 1.0
    """The longest rate-limit period (decisions): older scale events are forgotten."""


def _steps(seconds: float, step: int) -> int:
    return max(1, round(seconds / step))


def _ceil_steps(seconds: float, unit: float) -> int:
    return max(0, math.ceil(seconds / unit - _EPS))


def _change(amount: tuple[str, float], current: int) -> int:
    kind, value = amount
    if kind == "percent":
        return max(1, math.ceil(value / 100.0 * current - _EPS))
    return int(value)


def step_change(params: StepParams, up: bool, current: int) -> int:
    """The replicas after a step rule fires at ``current`` replicas (clamped to min/max)."""
    if up:
        return min(params.max_r, current + _change(params.up_change, current))
    return max(params.min_r, current - _change(params.down_change, current))


def compile_step(policy: StepPolicy, step: int, capacity: float) -> StepParams:
    """Decision-unit parameters of a step policy for a trace of ``step`` seconds."""
    k = _steps(duration_seconds(policy.evaluation_interval), step)
    interval = k * step
    up, down = policy.scale_up, policy.scale_down
    return StepParams(
        k=k,
        startup_steps=_ceil_steps(duration_seconds(policy.startup), step),
        min_r=policy.min_replicas,
        max_r=policy.max_replicas,
        up_factor=up.threshold / 100.0 * capacity,
        up_for=_ceil_steps(duration_seconds(up.for_), interval),
        up_cooldown=_ceil_steps(duration_seconds(up.cooldown), interval),
        up_change=up.change,
        down_factor=None if down is None else down.threshold / 100.0 * capacity,
        down_for=0 if down is None else _ceil_steps(duration_seconds(down.for_), interval),
        down_cooldown=0 if down is None else _ceil_steps(duration_seconds(down.cooldown), interval),
        down_change=("step", 1.0) if down is None else down.change,
    )


def _rules(
    rules: list[HpaRule] | None, default: tuple[tuple[str, int, float], ...], interval: float
) -> tuple[tuple[str, int, float], ...]:
    if rules is None:
        return tuple((t, v, p / interval) for t, v, p in default)
    return tuple((r.type, r.value, duration_seconds(r.period) / interval) for r in rules)


def compile_hpa(policy: HpaPolicy, step: int, capacity: float) -> HpaParams:
    """Decision-unit parameters of an HPA for a trace of ``step`` seconds."""
    k = _steps(duration_seconds(policy.sync_period), step)
    interval = float(k * step)
    up, down = policy.behavior.scale_up, policy.behavior.scale_down
    up_w = duration_seconds(up.stabilization_window) if up.stabilization_window else 0.0
    down_w = (
        duration_seconds(down.stabilization_window)
        if down.stabilization_window is not None
        else DEFAULT_SCALE_DOWN_WINDOW
    )
    up_rules = _rules(up.policies, DEFAULT_SCALE_UP_RULES, interval)
    down_rules = _rules(down.policies, DEFAULT_SCALE_DOWN_RULES, interval)
    return HpaParams(
        k=k,
        startup_steps=_ceil_steps(duration_seconds(policy.startup), step),
        min_r=policy.min_replicas,
        max_r=policy.max_replicas,
        per_replica=policy.target / 100.0 * capacity,
        tolerance=policy.tolerance + _EPS,  # |ratio - 1| <= 0.1 also at 1.1 in floats
        # records within (now - window, now]: ceil(window / interval) decisions, at least now
        up_window=max(1, math.ceil(up_w / interval - _EPS)),
        down_window=max(1, math.ceil(down_w / interval - _EPS)),
        up_select=up.select,
        down_select=down.select,
        up_rules=up_rules,
        down_rules=down_rules,
        longest_period=max([p for _, _, p in up_rules + down_rules], default=1.0),
    )


def hpa_raw_desired(demand: Array, params: HpaParams) -> IntArray:
    """``ceil(ready × utilization / target)`` = ``ceil(demand / (capacity × target))`` at every
    decision, clamped to [min, max] (what the HPA wants when outside the tolerance band)."""
    raw = np.ceil(demand / params.per_replica - _EPS)
    out: IntArray = np.clip(raw, params.min_r, params.max_r).astype(np.int64)
    return out


def initial_replicas(demand0: float, per_replica: float, min_r: int, max_r: int) -> int:
    """Replicas at the start: the fewest that keep the first demand at the policy's target
    (HPA) or under its scale-up threshold (step policy), clamped to [min, max]."""
    wanted = math.ceil(demand0 / per_replica - _EPS) if per_replica > 0 else min_r
    return int(min(max(wanted, min_r), max_r))


def rate_limit(
    up: bool,
    current: int,
    decision: int,
    params: HpaParams,
    up_events: list[tuple[int, int]],
    down_events: list[tuple[int, int]],
) -> int:
    """The Kubernetes rate limit (``calculateScaleUpLimitWithScalingRules`` and its scale-down
    twin): for each rule, the replicas at the start of its period (current minus changes made
    within the period) plus (minus) the rule's allowance; Max/Min select among rules."""
    select = params.up_select if up else params.down_select
    if select == "Disabled":
        return current
    rules = params.up_rules if up else params.down_rules
    best: int | None = None
    for kind, value, period in rules:
        added = sum(c for d, c in up_events if decision - d < period - _EPS)
        deleted = sum(c for d, c in down_events if decision - d < period - _EPS)
        start = current - added + deleted
        if up:
            proposed = start + value if kind == "Pods" else math.ceil(start * (1 + value / 100))
            better = select == "Max"
        else:
            proposed = start - value if kind == "Pods" else int(start * (1 - value / 100))
            better = select != "Max"
        if best is None or (proposed > best if better else proposed < best):
            best = proposed
    assert best is not None
    return best


def hpa_decide(
    rec: int,
    current: int,
    decision: int,
    params: HpaParams,
    up_ev: list[tuple[int, int]],
    down_ev: list[tuple[int, int]],
) -> int:
    """Replicas after the rate limits (``convertDesiredReplicasWithBehaviorRate``) for a
    stabilized recommendation ``rec``."""
    if rec > current:
        limit = max(rate_limit(True, current, decision, params, up_ev, down_ev), current)
        return min(rec, limit, params.max_r)
    if rec < current:
        limit = min(rate_limit(False, current, decision, params, up_ev, down_ev), current)
        return max(rec, limit, params.min_r)
    return current


def record_event(
    new: int,
    old: int,
    decision: int,
    params: HpaParams,
    up_ev: list[tuple[int, int]],
    down_ev: list[tuple[int, int]],
) -> None:
    """Keep a scale event for the rate limits, dropping events older than every period."""
    longest = params.longest_period
    events = up_ev if new > old else down_ev
    events.append((decision, abs(new - old)))
    for ev in (up_ev, down_ev):
        while ev and decision - ev[0][0] >= longest + 1:
            ev.pop(0)
