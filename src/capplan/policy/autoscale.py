"""Autoscaler simulation: replay load traces through a step policy, a Kubernetes HPA (one or
several metrics) or a KEDA queue-depth scaler.

The load trace is *demand* per regular step (requests/s, CPU cores... in the unit of the
component's ``capacity_per_instance``). With ``ready`` pods serving, utilization is
``100 × demand / (ready × capacity_per_instance)`` (infinite when demand meets no ready pod).
An HPA's metrics and a queue scaler may read traces of their own (``series``: the pods' CPU
and memory use, a custom metric, the queue depth); see :mod:`capplan.policy.traces`.

Controllers decide every ``evaluation_interval`` (step policies) or ``sync_period`` (HPA),
rounded to whole trace steps, seeing the demand of that step. Pods requested by a scale-up
serve after ``startup`` (rounded up to whole steps); scale-downs are immediate and cancel
starting pods first. See :mod:`capplan.policy.sim_common` for the pod model.

**Step policy** (the runbooks): at each evaluation, if utilization has been above
``scale_up.threshold`` at every evaluation for at least ``for`` (a run that started at
evaluation ``s`` fires at ``t`` when ``t - s >= for``; ``for: 0s`` fires at once) and at least
``scale_up.cooldown`` has passed since the last scaling action in either direction, add
``step`` replicas (or ``ceil(percent % × replicas)``, at least one), capped at
``max_replicas``. Scale-down is the mirror image (below ``scale_down.threshold``, strictly),
floored at ``min_replicas``. A rule that would not change the count (already at max or min)
does not act and does not restart the cooldown.

**HPA** (the Kubernetes controller, ``pkg/controller/podautoscaler``): at each sync, with
``ratio = utilization / target`` averaged over ready pods, the recommendation is the current
(requested) replica count when ``|ratio − 1| <= tolerance`` or no pod is ready, else
``ceil(ready × ratio)`` = ``ceil(demand / (capacity × target))``, clamped to [min, max]. With
several metrics each one is computed so, within its own tolerance band, and the largest is the
recommendation (``computeReplicasForMetrics``): one metric inside its band holds the count up.
Every recommendation is kept; the stabilized one is the current count raised to the minimum of
the recommendations in the scale-up window and lowered to the maximum of those in the scale-down
window (``stabilizeRecommendationWithBehaviors``; the window holds the records in ``(now −
window, now]``; at the start the history is padded with the initial count, as the controller
seeds its window). Rate limits follow ``calculateScaleUpLimitWithScalingRules``: the controller
keeps its scale events, and for each behavior policy the replica count at the start of the
period is the current count minus the pods added (plus those removed) by events in ``(now −
period, now]``; Pods policies allow ``± value`` from there, Percent ones ``ceil(start × (1 +
value%))`` up and ``int(start × (1 − value%))`` down; ``select`` Max / Min picks among policies
and Disabled blocks the direction. Defaults are Kubernetes': no scale-up stabilization and max(4
pods, 100%) per 15 s; a 300 s scale-down window and 100% per 15 s. Simplifications: the metric
is exact and instantaneous (no metrics-server averaging, no missing metrics, no
0%-for-unready-pods recomputation) and replicas are never 0 at the start of a sync when
``min_replicas >= 1``.

**Queue scaler** (KEDA ``ScaledObject``): the HPA KEDA creates, with one external metric of
average target ``target`` (``ceil(depth / target)`` replicas, within the tolerance band of
``depth / (replicas × target)``, at least one), and, with ``min_replicas`` 0, KEDA's own
scaling to and from zero: every ``polling_interval`` it checks whether the depth is above
``activation``; at zero replicas an active check scales to one, and with replicas an inactive
check at least ``cooldown`` after the last active one scales to zero.

**Starting point**: unless ``initial_replicas`` is given, the simulation starts in steady
state: the fewest replicas that keep the first demand at the HPA's targets (under the step
policy's scale-up threshold, at the queue's target), clamped to [min, max], all ready; zero
for a queue scaler that may scale to zero when the first depth is not above activation.

**Summary**: time above the critical level (``critical``: the plan's critical level for the
policy's metric if it has one, else 100% = saturation), counted per step where utilization is
strictly above it (with several metrics, where any one is above its own level); instance-hours
of *requested* replicas (starting pods are paid for); cost = instance-hours ×
``price.per_instance`` / 730 (a month is 730 hours); scale-ups and scale-downs;
**oscillations**: actions that reverse the direction of the previous action within
``oscillation_window`` (10 minutes by default) of it — up then down, or down then up; max and
mean replicas; mean and p95 utilization (linear interpolation; non-interpolated when some steps
are infinite) of the first metric, and per metric in ``metrics``.

The work is done by event-driven engines (:mod:`capplan.policy.sim_fast`) whose results are
identical to the step-by-step reference loops (:mod:`capplan.policy.sim_reference`). Their
cost grows with the number of scaling actions (tens of microseconds each), not with the
number of steps: a year at 15 s (2.1 million steps) with ten thousand actions takes well
under a second; a trace so noisy that the policy acts every few minutes all year is no
faster than the reference loop.

Example::

    result = simulate(policy, demand, capacity_per_instance=1.0, price_per_instance=150)
    result.summary.seconds_above_critical, result.summary.cost, len(result.actions)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capplan._types import Array, IntArray
from capplan.errors import DataError, UsageError
from capplan.plan.policies import HpaPolicy, QueuePolicy, StepPolicy
from capplan.policy.sim_common import (
    Channel,
    EventLog,
    compile_hpa,
    compile_queue,
    compile_step,
    hpa_initial,
    initial_replicas,
    step_gate,
)
from capplan.policy.sim_fast import fast_hpa, fast_step
from capplan.policy.sim_reference import reference_hpa, reference_step
from capplan.policy.traces import MetricTrace, check_demand, metric_traces

__all__ = [
    "DEFAULT_OSCILLATION_WINDOW",
    "HOURS_PER_MONTH",
    "Engine",
    "ScalingActions",
    "ScalingPolicy",
    "SimulationResult",
    "SimulationSummary",
    "simulate",
]

ScalingPolicy = StepPolicy | HpaPolicy | QueuePolicy
HOURS_PER_MONTH = 730.0
DEFAULT_OSCILLATION_WINDOW = 600.0
Engine = Literal["fast", "reference"]


@dataclass(frozen=True, eq=False)
class ScalingActions:
    """Scaling actions: the step index and time of each, replicas before and after."""

    steps: IntArray
    times: NDArray[np.datetime64]
    before: IntArray
    after: IntArray

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def ups(self) -> int:
        return int(np.count_nonzero(self.after > self.before))

    @property
    def downs(self) -> int:
        return int(np.count_nonzero(self.after < self.before))


@dataclass(frozen=True)
class SimulationSummary:
    """The figures compared between policies; see the module docstring for definitions."""

    steps: int
    step_seconds: int
    critical: float
    seconds_above_critical: float
    share_above_critical: float
    instance_hours: float
    cost: float
    scale_ups: int
    scale_downs: int
    oscillations: int
    max_replicas: int
    mean_replicas: float
    mean_utilization: float
    p95_utilization: float
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per metric (cpu, memory, queue_depth...): critical, seconds_above_critical,
    mean_utilization and p95_utilization."""

    @property
    def actions(self) -> int:
        return self.scale_ups + self.scale_downs

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures (infinite utilization becomes None)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "metrics":
                value = {key: _plain(figures) for key, figures in value.items()}
            out[name] = _finite(value)
        out["actions"] = self.actions
        return out


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _plain(figures: dict[str, float]) -> dict[str, Any]:
    return {k: _finite(v) for k, v in figures.items()}


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Replicas (requested), ready replicas and utilization per step, actions and summary."""

    policy: str
    kind: str
    times: NDArray[np.datetime64]
    demand: Array
    replicas: IntArray
    ready: IntArray
    utilization: Array
    actions: ScalingActions
    summary: SimulationSummary
    utilizations: dict[str, Array] = field(default_factory=dict)
    """Utilization per metric (the first one is ``utilization``)."""


def _run(
    policy: ScalingPolicy,
    traces: list[MetricTrace],
    load: Array | None,
    step: int,
    capacity: float | None,
    r0: int | None,
    engine: Engine,
    named: Mapping[str, Array] | None = None,
) -> tuple[EventLog, int, int]:
    if isinstance(policy, StepPolicy):
        if load is None or capacity is None:
            raise UsageError("a step policy reads the load trace against capacity_per_instance")
        sp = compile_step(policy, step, capacity)
        dec = load[:: sp.k]
        gate = step_gate(policy, named or {}, step, sp.k)
        start = (
            r0
            if r0 is not None
            else initial_replicas(float(dec[0]), sp.up_factor, sp.min_r, sp.max_r)
        )
        run_s = fast_step if engine == "fast" else reference_step
        return run_s(dec, sp, start, gate), start, sp.k
    channels = [t.channel for t in traces]
    if isinstance(policy, QueuePolicy):
        hp = compile_queue(policy, step)
    else:
        hp = compile_hpa(policy, step, 1.0, channels)
    dem = np.stack([t.demand[:: hp.k] for t in traces])
    start = r0 if r0 is not None else hpa_initial(dem, hp)
    run_h = fast_hpa if engine == "fast" else reference_hpa
    return run_h(dem, hp, start), start, hp.k


def _oscillations(steps: IntArray, direction: IntArray, window_steps: float) -> int:
    if len(steps) < 2:
        return 0
    reversed_ = direction[1:] != direction[:-1]
    close = np.diff(steps) <= window_steps
    return int(np.count_nonzero(reversed_ & close))


def _p95(util: Array) -> float:
    if np.isfinite(util).all():
        return float(np.percentile(util, 95))
    return float(np.percentile(util, 95, method="higher"))


def _traces(
    policy: ScalingPolicy,
    load: Array | None,
    series: Mapping[str, ArrayLike] | None,
    capacity: float | None,
    requests: Mapping[str, float] | None,
    critical: float | Mapping[str, float],
) -> list[MetricTrace]:
    named = {key: check_demand(v, f"'{key}' trace") for key, v in (series or {}).items()}
    lengths = {len(v) for v in named.values()} | ({len(load)} if load is not None else set())
    if not lengths:
        raise UsageError("give a load trace (demand) or traces of the policy's metrics (series)")
    if len(lengths) > 1:
        raise DataError(f"the traces must have the same length, got {sorted(lengths)}")
    if isinstance(policy, StepPolicy):
        if load is None:
            raise UsageError("a step policy reads the load trace (demand)")
        if capacity is None:
            raise UsageError("a step policy needs capacity_per_instance")
        level = critical.get(policy.metric, 100.0) if isinstance(critical, Mapping) else critical
        return [MetricTrace(policy.metric, load, Channel("ready", capacity), capacity, level)]
    return metric_traces(policy, load, named, capacity, requests or {}, critical)


def simulate(
    policy: ScalingPolicy,
    demand: ArrayLike | None = None,
    *,
    capacity_per_instance: float | None = None,
    series: Mapping[str, ArrayLike] | None = None,
    requests: Mapping[str, float] | None = None,
    step_seconds: int = 15,
    start: np.datetime64 | None = None,
    price_per_instance: float = 0.0,
    critical: float | Mapping[str, float] = 100.0,
    initial: int | None = None,
    name: str | None = None,
    oscillation_window: float = DEFAULT_OSCILLATION_WINDOW,
    engine: Engine = "fast",
) -> SimulationResult:
    """Simulate ``policy`` on ``demand`` (load, one value per ``step_seconds``) and on the
    traces of its metrics in ``series`` (see :mod:`capplan.policy.traces`; ``requests`` are
    the pods' requests, ``cpu`` in cores and ``memory`` in GiB, and ``critical`` a level for
    every resource metric or one per key); see the module docstring.
    ``engine="reference"`` runs the step-by-step loop (slow; for checks)."""
    if capacity_per_instance is not None and capacity_per_instance <= 0:
        raise UsageError(f"capacity_per_instance must be > 0, got {capacity_per_instance}")
    if step_seconds < 1:
        raise UsageError(f"step_seconds must be at least 1, got {step_seconds}")
    if initial is not None and not policy.min_replicas <= initial <= policy.max_replicas:
        raise UsageError(
            f"initial replicas must be within [{policy.min_replicas}, {policy.max_replicas}], "
            f"got {initial}"
        )
    load = None if demand is None else check_demand(demand)
    traces = _traces(policy, load, series, capacity_per_instance, requests, critical)
    d = traces[0].demand
    n = len(d)
    named = {key: check_demand(v, f"'{key}' trace") for key, v in (series or {}).items()}
    log, r0, k = _run(
        policy, traces, load, step_seconds, capacity_per_instance, initial, engine, named
    )
    act_steps = np.asarray(log.action_decision, dtype=np.int64) * k
    before = np.asarray(log.action_before, dtype=np.int64)
    after = np.asarray(log.action_after, dtype=np.int64)
    replicas = r0 + np.cumsum(np.bincount(act_steps, after - before, minlength=n)).astype(np.int64)
    r_steps = np.asarray(log.ready_step, dtype=np.int64)
    inside = r_steps < n
    ready_delta = np.bincount(
        r_steps[inside], np.asarray(log.ready_delta, dtype=np.float64)[inside], minlength=n
    )
    ready = r0 + np.cumsum(ready_delta).astype(np.int64)
    utils = {t.key: t.utilization(ready) for t in traces}
    util = utils[traces[0].key]
    t0 = np.datetime64(0, "s") if start is None else np.asarray(start).astype("datetime64[s]")
    times = t0 + np.arange(n, dtype=np.int64).astype("timedelta64[s]") * step_seconds
    over = np.zeros(n, dtype=bool)
    per_metric: dict[str, dict[str, float]] = {}
    for t in traces:
        above_t = utils[t.key] > t.critical
        over |= above_t
        per_metric[t.key] = {
            "critical": t.critical,
            "seconds_above_critical": float(np.count_nonzero(above_t) * step_seconds),
            "mean_utilization": float(utils[t.key].mean()),
            "p95_utilization": _p95(utils[t.key]),
        }
    above = int(np.count_nonzero(over))
    hours = float(replicas.sum()) * step_seconds / 3600.0
    summary = SimulationSummary(
        steps=n,
        step_seconds=step_seconds,
        critical=traces[0].critical,
        seconds_above_critical=float(above * step_seconds),
        share_above_critical=above / n,
        instance_hours=hours,
        cost=hours * price_per_instance / HOURS_PER_MONTH,
        scale_ups=int(np.count_nonzero(after > before)),
        scale_downs=int(np.count_nonzero(after < before)),
        oscillations=_oscillations(
            act_steps, np.sign(after - before), oscillation_window / step_seconds
        ),
        max_replicas=int(replicas.max()),
        mean_replicas=float(replicas.mean()),
        mean_utilization=float(util.mean()),
        p95_utilization=_p95(util),
        metrics=per_metric,
    )
    actions = ScalingActions(act_steps, times[act_steps], before, after)
    return SimulationResult(
        policy=name or policy.component,
        kind=policy.kind,
        times=times,
        demand=d,
        replicas=replicas,
        ready=ready,
        utilization=util,
        actions=actions,
        summary=summary,
        utilizations=utils,
    )
