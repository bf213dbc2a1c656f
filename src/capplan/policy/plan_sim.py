"""A plan's scaling policies simulated on one set of traces, side by side.

Each policy takes from the plan what :func:`~capplan.policy.autoscale.simulate` needs: the
capacity per instance of a horizontal component (the load trace's unit; a part or another
kind of component reads the load trace in cores against its CPU request), the pods' requests
(``deploy``, else the instance shape), the monthly price of one instance (none for a tiers
part: its tier is priced as a whole) and the critical level of each metric (the plan's
critical threshold on it, else 100).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from capplan.errors import UsageError
from capplan.plan.models import HorizontalComponent, Plan
from capplan.plan.policies import HpaPolicy, QueuePolicy, StepPolicy, split_target
from capplan.plan.workloads import workload
from capplan.policy.autoscale import (
    DEFAULT_OSCILLATION_WINDOW,
    ScalingPolicy,
    SimulationResult,
    simulate,
)

__all__ = [
    "critical_level",
    "critical_levels",
    "default_policies",
    "scaling_policies",
    "simulate_plan",
]


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def scaling_policies(plan: Plan) -> dict[str, ScalingPolicy]:
    """The plan's step, HPA and queue policies (those that set replicas), in file order."""
    return {
        name: p
        for name, p in plan.policies.items()
        if isinstance(p, StepPolicy | HpaPolicy | QueuePolicy)
        and split_target(p.component)[0] in plan.components
    }


def _threshold_critical(plan: Plan, metric: str) -> float | None:
    for threshold in plan.thresholds.values():
        if (
            threshold.metric == metric
            and threshold.direction == "above"
            and threshold.critical is not None
        ):
            return float(threshold.critical.value)
    return None


def critical_level(plan: Plan, policy: ScalingPolicy) -> float:
    """The critical level of the plan's threshold on the policy's (first) metric (direction
    above), else 100 (saturation, or a queue's target)."""
    levels = critical_levels(plan, policy)
    return next(iter(levels.values()), 100.0)


def critical_levels(plan: Plan, policy: ScalingPolicy) -> dict[str, float]:
    """The critical level of each resource metric of an HPA (by key: cpu, memory) or of a
    step policy's metric: the plan's threshold on the metric it names, else 100."""
    if isinstance(policy, StepPolicy):
        return {policy.metric: _threshold_critical(plan, policy.metric) or 100.0}
    if isinstance(policy, QueuePolicy):
        return {policy.metric: 100.0}
    out = {}
    for metric in policy.hpa_metrics():
        level = None
        if metric.type == "resource" and metric.metric is not None:
            level = _threshold_critical(plan, metric.metric)
        out[metric.key] = level if level is not None else 100.0
    return out


def _runs_on(policy: ScalingPolicy, series: set[str], load: bool) -> bool:
    """Whether every metric of the policy has a trace: a resource metric or a step policy its
    own series or the load trace (and a step policy's scale-down conditions their series); a
    pods, external or queue metric its own series."""
    if isinstance(policy, StepPolicy):
        also = policy.scale_down.also if policy.scale_down is not None else []
        return load and all(c.metric in series for c in also)
    if isinstance(policy, QueuePolicy):
        return policy.metric in series
    return all(m.key in series or (load and m.type == "resource") for m in policy.hpa_metrics())


def default_policies(
    plan: Plan, series: Mapping[str, object] | None, load: bool = True
) -> list[str]:
    """The policies a simulation runs unless told: those with a trace for every metric (see
    :func:`_runs_on`) among ``series`` and the load trace (when ``load``)."""
    named = set(series or {})
    return [n for n, p in scaling_policies(plan).items() if _runs_on(p, named, load)]


def simulate_plan(
    plan: Plan,
    demand: ArrayLike | None = None,
    *,
    series: Mapping[str, ArrayLike] | None = None,
    step_seconds: int = 15,
    start: np.datetime64 | None = None,
    policies: Sequence[str] | None = None,
    oscillation_window: float = DEFAULT_OSCILLATION_WINDOW,
) -> list[SimulationResult]:
    """Simulate several of the plan's policies on the load trace ``demand`` and the metric
    traces ``series`` (by default those :func:`default_policies` names). An unknown name is a
    UsageError listing the available ones."""
    available = scaling_policies(plan)
    names = list(policies) if policies else default_policies(plan, series, demand is not None)
    if not names:
        if available:
            raise UsageError(
                f"no policy of {plan.source} ({', '.join(available)}) has a trace for each of "
                "its metrics: give a load trace, or series named cpu, memory or after the "
                "metric of a pods, external or queue policy"
            )
        raise UsageError(f"{plan.source} has no step, hpa or queue policy to simulate")
    for name in names:
        if name not in available:
            raise UsageError(
                f"unknown policy '{name}'{_suggest(name, list(available))}; available: "
                f"{', '.join(available) or 'none'}"
            )
    results = []
    for name in names:
        policy = available[name]
        cname, part = split_target(policy.component)
        component = plan.components[cname]
        requests = workload(plan, policy.component).request_amounts()
        if isinstance(component, HorizontalComponent):
            capacity: float | None = component.per_instance
        else:
            capacity = requests.get("cpu") if isinstance(policy, StepPolicy) else None
        try:
            results.append(
                simulate(
                    policy,
                    demand,
                    capacity_per_instance=capacity,
                    series=series,
                    requests=requests,
                    step_seconds=step_seconds,
                    start=start,
                    price_per_instance=component.price.per_instance if part is None else 0.0,
                    critical=critical_levels(plan, policy),
                    name=name,
                    oscillation_window=oscillation_window,
                )
            )
        except UsageError as exc:
            raise UsageError(f"policy '{name}' ({policy.component}): {exc}") from None
    return results
