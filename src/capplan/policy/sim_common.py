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

An HPA reads one or more *channels* (its metrics), each a demand row of the engines' 2-D
demand (channel × decision). With ``r`` ready pods and ``now`` requested, a channel wants
the current count while its ratio is within the tolerance, else:

* ``ready`` (resource and pods metrics): ratio ``d / (r × per)``, wants ``ceil(d / per)``;
* ``requested`` (external average targets, KEDA): ratio ``d / (now × per)``, wants
  ``ceil(d / per)``;
* ``total`` (external total targets): ratio ``d / per``, wants ``ceil(r × d / per)``;

each clamped to [min, max]; the recommendation is the largest (the controller's
``computeReplicasForMetrics``), and the current count when no pod is ready. A KEDA scaler
that may scale to zero adds :class:`ZeroScaling`: every ``poll`` decisions it checks
activity (the first channel above ``activation``); at zero replicas an active check scales to
``min_r`` (one), and with replicas an inactive check ``cooldown`` decisions or more after the
last active one scales to zero. That check comes before the HPA at the same decision; scaling
to and from zero is KEDA's, not the HPA's, and is no scale event for the HPA's rate limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from capplan._types import Array, BoolArray, IntArray
from capplan.errors import UsageError
from capplan.plan.policies import HpaMetric, HpaPolicy, HpaRule, QueuePolicy, StepPolicy
from capplan.units import duration_seconds

__all__ = [
    "DEFAULT_SCALE_DOWN_RULES",
    "DEFAULT_SCALE_UP_RULES",
    "END",
    "EPS",
    "NEVER",
    "Channel",
    "EventLog",
    "HpaParams",
    "Pods",
    "StepParams",
    "ZeroScaling",
    "compile_hpa",
    "compile_queue",
    "compile_step",
    "hpa_decide",
    "hpa_initial",
    "hpa_raw_desired",
    "hpa_recommend",
    "initial_replicas",
    "metric_channel",
    "rate_limit",
    "record_event",
    "step_change",
    "step_gate",
]

DEFAULT_SCALE_UP_RULES: tuple[tuple[str, int, float], ...] = (
    ("Pods", 4, 15.0),
    ("Percent", 100, 15.0),
)
"""Kubernetes' default scale-up behavior: max(4 pods, 100%) per 15 s."""
DEFAULT_SCALE_DOWN_RULES: tuple[tuple[str, int, float], ...] = (("Percent", 100, 15.0),)
"""Kubernetes' default scale-down behavior: 100% per 15 s."""
DEFAULT_SCALE_DOWN_WINDOW = 300.0
EPS = 1e-9
"""Slack for float comparisons: a ratio of exactly 1.1 is within a 0.1 tolerance."""

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
class Channel:
    """One metric an HPA reads: how its ratio is formed (see the module docstring) and the
    demand one replica carries at the target (``per``; the whole target for ``total``)."""

    kind: Literal["ready", "requested", "total"]
    per: float


@dataclass(frozen=True)
class ZeroScaling:
    """KEDA's scaling to and from zero, in decisions (see the module docstring)."""

    poll: int
    activation: float
    cooldown: int


@dataclass(frozen=True)
class HpaParams:
    """An HPA in decision units; rules are (type, value, period in decisions as a float)."""

    k: int
    startup_steps: int
    min_r: int
    max_r: int
    channels: tuple[Channel, ...]
    tolerance: float
    up_window: int
    down_window: int
    up_select: str
    down_select: str
    up_rules: tuple[tuple[str, int, float], ...]
    down_rules: tuple[tuple[str, int, float], ...]
    longest_period: float = 1.0
    """The longest rate-limit period (decisions): older scale events are forgotten."""
    zero: ZeroScaling | None = None

    @property
    def per_replica(self) -> float:
        """The first channel's demand per replica at the target."""
        return self.channels[0].per


def _steps(seconds: float, step: int) -> int:
    return max(1, round(seconds / step))


def _ceil_steps(seconds: float, unit: float) -> int:
    return max(0, math.ceil(seconds / unit - EPS))


def _change(amount: tuple[str, float], current: int) -> int:
    kind, value = amount
    if kind == "percent":
        return max(1, math.ceil(value / 100.0 * current - EPS))
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


def step_gate(
    policy: StepPolicy, series: Mapping[str, Array], step: int, k: int
) -> BoolArray | None:
    """Where a step policy's scale-down may act, one value per decision: every metric of
    ``scale_down.also`` has been below its threshold for its ``for`` (counted in decisions,
    as the rule's own); None when there is no such condition. Each reads the trace of its
    metric's name in ``series`` (one value per ``step`` seconds)."""
    down = policy.scale_down
    if down is None or not down.also:
        return None
    interval = k * step
    gate: BoolArray | None = None
    for cond in down.also:
        if cond.metric not in series:
            raise UsageError(
                f"scale_down.also reads a '{cond.metric}' trace: give a series of that name"
                f" (have: {', '.join(sorted(series)) or 'none'})"
            )
        below = np.asarray(series[cond.metric])[::k] < cond.threshold
        index = np.arange(len(below), dtype=np.int64)
        # the first decision of the current run below the threshold: one after the last above
        run_start = np.maximum.accumulate(np.where(below, -1, index)) + 1
        held = below & (index - run_start >= _ceil_steps(duration_seconds(cond.for_), interval))
        gate = held if gate is None else gate & held
    return gate


def _rules(
    rules: list[HpaRule] | None, default: tuple[tuple[str, int, float], ...], interval: float
) -> tuple[tuple[str, int, float], ...]:
    if rules is None:
        return tuple((t, v, p / interval) for t, v, p in default)
    return tuple((r.type, r.value, duration_seconds(r.period) / interval) for r in rules)


def metric_channel(metric: HpaMetric, capacity: float) -> Channel:
    """The channel of an HPA metric; ``capacity`` is what one pod serves at 100% of a
    resource metric (its request, in the trace's unit)."""
    if metric.type == "resource":
        assert metric.target is not None
        return Channel("ready", metric.target / 100.0 * capacity)
    if metric.type == "pods":
        assert metric.average is not None
        return Channel("ready", metric.average)
    if metric.average is not None:
        return Channel("requested", metric.average)
    assert metric.total is not None
    return Channel("total", metric.total)


def _hpa_params(
    policy: HpaPolicy | QueuePolicy,
    step: int,
    min_r: int,
    channels: tuple[Channel, ...],
    zero: tuple[float, float, float] | None = None,
) -> HpaParams:
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
    zero_params = None
    if zero is not None:
        poll_s, activation, cooldown_s = zero
        zero_params = ZeroScaling(
            poll=max(1, round(poll_s / interval)),
            activation=activation,
            cooldown=_ceil_steps(cooldown_s, interval),
        )
    return HpaParams(
        k=k,
        startup_steps=_ceil_steps(duration_seconds(policy.startup), step),
        min_r=min_r,
        max_r=policy.max_replicas,
        channels=channels,
        tolerance=policy.tolerance + EPS,  # |ratio - 1| <= 0.1 also at 1.1 in floats
        # records within (now - window, now]: ceil(window / interval) decisions, at least now
        up_window=max(1, math.ceil(up_w / interval - EPS)),
        down_window=max(1, math.ceil(down_w / interval - EPS)),
        up_select=up.select,
        down_select=down.select,
        up_rules=up_rules,
        down_rules=down_rules,
        longest_period=max([p for _, _, p in up_rules + down_rules], default=1.0),
        zero=zero_params,
    )


def compile_hpa(
    policy: HpaPolicy,
    step: int,
    capacity: float,
    channels: Sequence[Channel] | None = None,
) -> HpaParams:
    """Decision-unit parameters of an HPA for a trace of ``step`` seconds: its metrics'
    channels (``capacity`` per pod for every resource metric), unless given."""
    chans = (
        tuple(channels)
        if channels is not None
        else tuple(metric_channel(m, capacity) for m in policy.hpa_metrics())
    )
    return _hpa_params(policy, step, policy.min_replicas, chans)


def compile_queue(policy: QueuePolicy, step: int) -> HpaParams:
    """Decision-unit parameters of a KEDA queue scaler: the HPA KEDA creates (an external
    average target, at least one replica) and, with ``min_replicas`` 0, scaling to zero."""
    zero = None
    if policy.min_replicas == 0:
        zero = (
            duration_seconds(policy.polling_interval),
            policy.activation,
            duration_seconds(policy.cooldown),
        )
    channel = (Channel("requested", policy.target),)
    return _hpa_params(policy, step, max(policy.min_replicas, 1), channel, zero)


def hpa_raw_desired(demand: Array, params: HpaParams, channel: int = 0) -> IntArray | None:
    """``ceil(demand / per)`` of a ``ready`` or ``requested`` channel at every decision,
    clamped to [min, max] (what it wants outside the tolerance band); None for ``total``."""
    per = params.channels[channel].per
    if params.channels[channel].kind == "total":
        return None
    raw = np.ceil(demand / per - EPS)
    out: IntArray = np.clip(raw, params.min_r, params.max_r).astype(np.int64)
    return out


def hpa_recommend(
    params: HpaParams,
    demand: Array,
    raws: Sequence[IntArray | None],
    j: int,
    ready: int,
    now: int,
) -> int:
    """The recommendation at decision ``j`` (``demand`` is channel × decision): the largest
    of the channels' wishes, the current count when no pod is ready."""
    if ready == 0:
        return now
    best = 0
    tol = params.tolerance
    for c, ch in enumerate(params.channels):
        d = float(demand[c, j])
        raw = raws[c]
        if raw is None:  # total
            if abs(d - ch.per) <= tol * ch.per:
                want = now
            else:
                ceil = math.ceil(ready * d / ch.per - EPS)
                want = min(max(ceil, params.min_r), params.max_r)
        else:
            cap = (ready if ch.kind == "ready" else now) * ch.per
            want = now if abs(d - cap) <= tol * cap else int(raw[j])
        best = want if c == 0 else max(best, want)
    return best


def hpa_initial(demand: Array, params: HpaParams) -> int:
    """Replicas at the start: the fewest that keep each ``ready`` or ``requested`` channel's
    first demand at its target, clamped to [min, max]; zero for a KEDA scaler that may scale
    to zero when the first check finds no activity."""
    if params.zero is not None and not float(demand[0, 0]) > params.zero.activation:
        return 0
    wanted = [
        initial_replicas(float(demand[c, 0]), ch.per, params.min_r, params.max_r)
        for c, ch in enumerate(params.channels)
        if ch.kind != "total"
    ]
    return max(wanted, default=params.min_r)


def initial_replicas(demand0: float, per_replica: float, min_r: int, max_r: int) -> int:
    """Replicas at the start: the fewest that keep the first demand at the policy's target
    (HPA) or under its scale-up threshold (step policy), clamped to [min, max]."""
    wanted = math.ceil(demand0 / per_replica - EPS) if per_replica > 0 else min_r
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
        added = sum(c for d, c in up_events if decision - d < period - EPS)
        deleted = sum(c for d, c in down_events if decision - d < period - EPS)
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
