"""Autoscaler simulation: HPA and step-policy semantics, and event-driven == reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from capplan.errors import DataError, UsageError
from capplan.plan import load_plan
from capplan.plan.policies import HpaPolicy, StepPolicy
from capplan.policy.autoscale import HOURS_PER_MONTH, simulate
from capplan.policy.plan_sim import (
    critical_level,
    default_policies,
    scaling_policies,
    simulate_plan,
)
from capplan.policy.sim_common import compile_hpa, compile_step, initial_replicas
from capplan.policy.sim_fast import fast_hpa, fast_step
from capplan.policy.sim_reference import reference_hpa, reference_step

APM = "examples/apm.yaml"


def hpa(**kw: Any) -> HpaPolicy:
    base: dict[str, Any] = {"kind": "hpa", "component": "c", "target": 50, "startup": "0s"}
    return HpaPolicy.model_validate({**base, **kw})


def step_policy(**kw: Any) -> StepPolicy:
    base: dict[str, Any] = {
        "kind": "step",
        "component": "c",
        "metric": "cpu",
        "startup": "0s",
        "scale_up": {"threshold": 70, "step": 1, "cooldown": "0s"},
    }
    return StepPolicy.model_validate({**base, **kw})


# --- HPA -------------------------------------------------------------------------------------


def test_hpa_keeps_replicas_inside_the_tolerance_band() -> None:
    # 4 pods of capacity 1 at target 50%: 2.0 is on target; 10% tolerance is 1.8..2.2
    policy = hpa(min_replicas=1, max_replicas=20)
    for demand in (1.81, 2.0, 2.2):
        res = simulate(policy, np.full(100, demand), capacity_per_instance=1.0, initial=4)
        assert len(res.actions) == 0, demand
    up = simulate(policy, np.full(100, 2.3), capacity_per_instance=1.0, initial=4)
    assert up.actions.after.tolist() == [5]  # ceil(2.3 / 0.5)
    same = simulate(policy, np.full(100, 1.7), capacity_per_instance=1.0, initial=4)
    assert len(same.actions) == 0  # outside the band, but ceil(1.7 / 0.5) = 4 pods
    down = simulate(policy, np.full(100, 1.4), capacity_per_instance=1.0, initial=4)
    assert down.actions.after.tolist() == [3]
    assert down.actions.steps.tolist() == [19]  # after the 300 s window of the start


def test_hpa_default_scale_up_limits_are_max_of_4_pods_and_100_percent_per_15s() -> None:
    policy = hpa(min_replicas=1, max_replicas=100)
    demand = np.full(40, 50.0)  # wants ceil(50 / 0.5) = 100 pods
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=1)
    assert res.actions.after.tolist() == [5, 10, 20, 40, 80, 100]
    assert res.actions.steps.tolist() == [0, 1, 2, 3, 4, 5]
    assert res.replicas[:6].tolist() == [5, 10, 20, 40, 80, 100]


def test_hpa_scale_up_is_limited_by_events_within_the_period() -> None:
    # +2 pods per 60 s: the replica count at the start of the period includes earlier events
    policy = hpa(
        min_replicas=1,
        max_replicas=100,
        behavior={"scale_up": {"policies": [{"type": "Pods", "value": 2, "period": "60s"}]}},
    )
    res = simulate(policy, np.full(40, 50.0), capacity_per_instance=1.0, initial=1)
    assert res.actions.steps.tolist()[:3] == [0, 4, 8]
    assert res.actions.after.tolist()[:3] == [3, 5, 7]


def test_hpa_scale_down_waits_for_the_stabilization_window() -> None:
    policy = hpa(min_replicas=1, max_replicas=20)
    demand = np.r_[np.full(40, 5.0), np.full(60, 1.0)]  # 10 pods, then 2
    res = simulate(policy, demand, capacity_per_instance=1.0)
    assert res.replicas[0] == 10
    downs = res.actions.steps[res.actions.after < res.actions.before]
    # the last high recommendation is at step 39; it leaves the 300 s window 20 syncs later
    assert downs.tolist() == [40 + 19]
    assert (res.replicas[:59] == 10).all()
    assert res.replicas[59] == 2  # default scale-down policy: 100% per 15 s


def test_hpa_scale_down_policy_percent_per_period() -> None:
    # apm_service_hpa: at most 50% per 60 s
    policy = hpa(
        min_replicas=2,
        max_replicas=10,
        behavior={
            "scale_down": {
                "stabilization_window": "0s",
                "policies": [{"type": "Percent", "value": 50, "period": "60s"}],
            }
        },
    )
    demand = np.r_[np.full(10, 5.0), np.full(30, 0.5)]
    res = simulate(policy, demand, capacity_per_instance=1.0)
    assert res.actions.steps.tolist() == [10, 14]
    assert res.actions.after.tolist() == [5, 2]


def test_startup_delay_keeps_utilization_high_until_pods_are_ready() -> None:
    policy = hpa(min_replicas=1, max_replicas=20, startup="60s")
    demand = np.r_[np.full(10, 1.0), np.full(30, 2.0)]  # 2 pods, then 4 wanted
    res = simulate(policy, demand, capacity_per_instance=1.0)
    assert res.actions.steps.tolist() == [10]
    assert res.replicas[10] == 4
    assert res.ready[10:14].tolist() == [2, 2, 2, 2]
    assert res.ready[14] == 4
    assert np.allclose(res.utilization[10:14], 100.0)
    assert np.allclose(res.utilization[14:], 50.0)


def test_hpa_select_disabled_never_scales_down() -> None:
    policy = hpa(min_replicas=1, max_replicas=20, behavior={"scale_down": {"select": "Disabled"}})
    demand = np.r_[np.full(10, 5.0), np.full(60, 0.5)]
    res = simulate(policy, demand, capacity_per_instance=1.0)
    assert len(res.actions) == 0


# --- step policies -----------------------------------------------------------------------------


def test_step_policy_waits_for_the_duration_then_the_cooldown() -> None:
    policy = step_policy(
        min_replicas=1,
        max_replicas=10,
        scale_up={"threshold": 70, "for": "1m", "step": 1, "cooldown": "2m"},
    )
    demand = np.r_[np.full(10, 1.0), np.full(40, 5.0)]  # 2 pods at 50%, then 250%
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=2)
    # above from step 10; fires at 10 + 4 (1 min); then every 8 steps (2 min cooldown)
    assert res.actions.steps.tolist()[:3] == [14, 22, 30]
    assert res.actions.after.tolist()[:3] == [3, 4, 5]


def test_step_policy_for_restarts_when_the_condition_breaks() -> None:
    policy = step_policy(scale_up={"threshold": 70, "for": "1m", "step": 1, "cooldown": "0s"})
    demand = np.full(30, 1.0)
    demand[10:13] = 2.0  # 3 steps above: not long enough
    demand[14:20] = 2.0  # 6 steps above: fires at 18
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=2)
    assert res.actions.steps.tolist() == [18]


def test_step_policy_clamps_to_min_and_max() -> None:
    policy = step_policy(
        min_replicas=2,
        max_replicas=6,
        scale_up={"threshold": 70, "percent": 50, "cooldown": "0s"},
        scale_down={"threshold": 30, "step": 3, "cooldown": "0s"},
    )
    high = simulate(policy, np.full(30, 100.0), capacity_per_instance=1.0, initial=2)
    assert high.actions.after.tolist() == [3, 5, 6]  # +ceil(50% of 2, 3, 5), capped at 6
    low = simulate(policy, np.full(30, 0.1), capacity_per_instance=1.0, initial=6)
    assert low.actions.after.tolist() == [3, 2]
    assert low.replicas[-1] == 2


def test_step_policy_down_cooldown_counts_from_any_action() -> None:
    policy = step_policy(
        scale_up={"threshold": 70, "step": 1, "cooldown": "0s"},
        scale_down={"threshold": 30, "step": 1, "cooldown": "1m"},
    )
    demand = np.r_[np.full(4, 5.0), 10.0, np.full(20, 0.1)]
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=9)
    ups = res.actions.steps[res.actions.after > res.actions.before].tolist()
    downs = res.actions.steps[res.actions.after < res.actions.before].tolist()
    assert ups == [4]  # 111% at step 4
    assert downs[0] == 4 + 4  # below 30% from step 5, but 1 min after the scale-up


def test_evaluation_interval_coarser_than_the_step() -> None:
    policy = step_policy(evaluation_interval="1m")
    demand = np.r_[np.full(5, 1.0), np.full(20, 5.0)]
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=2)
    assert all(s % 4 == 0 for s in res.actions.steps.tolist())
    assert res.actions.steps[0] == 8


# --- the event-driven engines equal the step-by-step reference -----------------------------

HPA_VARIANTS: list[dict[str, Any]] = [
    {},
    {"startup": "45s", "tolerance": 0.05},
    {"behavior": {"scale_up": {"stabilization_window": "1m", "select": "Min"}}},
    {
        "startup": "2m",
        "behavior": {
            "scale_down": {
                "stabilization_window": "300s",
                "policies": [{"type": "Percent", "value": 50, "period": "60s"}],
            },
            "scale_up": {
                "stabilization_window": "0s",
                "policies": [
                    {"type": "Percent", "value": 100, "period": "15s"},
                    {"type": "Pods", "value": 2, "period": "45s"},
                ],
            },
        },
    },
    {"sync_period": "30s", "behavior": {"scale_down": {"stabilization_window": "0s"}}},
    {"behavior": {"scale_up": {"select": "Disabled"}}, "min_replicas": 3},
]
STEP_VARIANTS: list[dict[str, Any]] = [
    # thresholds close together, no cooldown: actions every few decisions (the dense scan)
    {
        "startup": "30s",
        "scale_up": {"threshold": 60, "step": 1, "cooldown": "0s"},
        "scale_down": {"threshold": 50, "for": "15s", "step": 1, "cooldown": "15s"},
    },
    {"scale_down": {"threshold": 30, "step": 1, "cooldown": "1m"}},
    {
        "startup": "1m",
        "scale_up": {"threshold": 70, "for": "1m", "step": 2, "cooldown": "2m"},
        "scale_down": {"threshold": 30, "for": "2m", "percent": 20, "cooldown": "5m"},
    },
    {"scale_up": {"threshold": 80, "for": "30s", "percent": 50, "cooldown": "0s"}},
    {
        "evaluation_interval": "30s",
        "startup": "10s",
        "scale_down": {"threshold": 40, "for": "1m", "step": 3, "cooldown": "0s"},
    },
]


def _trace(seed: int, n: int = 1500) -> np.ndarray[Any, np.dtype[np.float64]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wave = 8 + 6 * np.sin(2 * np.pi * t / rng.integers(100, 600))
    walk = np.cumsum(rng.normal(0, 0.3, n))
    spikes = rng.random(n) < 0.01
    d = np.abs(wave + walk + rng.normal(0, rng.uniform(0.1, 2.0), n)) + 12.0 * spikes
    d[rng.integers(0, n, 5)] = 0.0
    return d


@pytest.mark.parametrize("variant", range(len(HPA_VARIANTS)))
@pytest.mark.parametrize("seed", range(12))
def test_event_driven_hpa_equals_reference(variant: int, seed: int) -> None:
    policy = hpa(**{"min_replicas": 1, "max_replicas": 25, **HPA_VARIANTS[variant]})
    params = compile_hpa(policy, 15, 0.9)
    d = _trace(seed)
    r0 = initial_replicas(float(d[0]), params.per_replica, params.min_r, params.max_r)
    assert fast_hpa(d, params, r0) == reference_hpa(d, params, r0)


@pytest.mark.parametrize("variant", range(len(STEP_VARIANTS)))
@pytest.mark.parametrize("seed", range(12))
def test_event_driven_step_equals_reference(variant: int, seed: int) -> None:
    policy = step_policy(min_replicas=1, max_replicas=25, **STEP_VARIANTS[variant])
    params = compile_step(policy, 15, 0.9)
    d = _trace(seed)
    r0 = seed % 5 + 1
    assert fast_step(d, params, r0) == reference_step(d, params, r0)


def test_simulate_engines_give_identical_results() -> None:
    d = _trace(99, 4000)
    for policy in (hpa(max_replicas=30, startup="1m"), step_policy(max_replicas=30)):
        fast = simulate(policy, d, capacity_per_instance=1.0)
        ref = simulate(policy, d, capacity_per_instance=1.0, engine="reference")
        assert np.array_equal(fast.replicas, ref.replicas)
        assert np.array_equal(fast.ready, ref.ready)
        assert fast.summary == ref.summary


# --- summary ---------------------------------------------------------------------------------


def test_summary_cost_hours_time_above_critical_and_oscillations() -> None:
    policy = step_policy(
        min_replicas=1,
        max_replicas=10,
        startup="15s",
        scale_up={"threshold": 70, "step": 1, "cooldown": "0s"},
        scale_down={"threshold": 40, "step": 1, "cooldown": "0s"},
    )
    demand = np.full(240, 1.0)  # one hour at 15 s, 2 pods at 50%
    demand[100] = 3.0  # 150% for one step: up (to 3, 100%), then back down
    res = simulate(policy, demand, capacity_per_instance=1.0, initial=2, price_per_instance=146.0)
    s = res.summary
    assert res.actions.after.tolist() == [3, 2]
    assert s.scale_ups == 1
    assert s.scale_downs == 1
    assert s.actions == 2
    assert s.oscillations == 1
    assert s.seconds_above_critical == 15.0  # utilization 150% at step 100
    assert s.share_above_critical == pytest.approx(1 / 240)
    assert s.instance_hours == pytest.approx((239 * 2 + 3) * 15 / 3600)
    assert s.cost == pytest.approx(s.instance_hours * 146.0 / HOURS_PER_MONTH)
    assert s.max_replicas == 3
    assert s.to_dict()["actions"] == 2


def test_utilization_with_no_ready_pod_is_infinite_and_json_safe() -> None:
    policy = step_policy(min_replicas=0, max_replicas=3, startup="30s")
    res = simulate(policy, np.r_[0.0, 0.0, np.full(10, 1.0)], capacity_per_instance=1.0)
    assert res.replicas[0] == 0
    assert res.utilization[0] == 0.0
    assert np.isinf(res.utilization[2])
    assert res.summary.to_dict()["p95_utilization"] is None


def test_negative_or_non_finite_demand_is_an_error() -> None:
    with pytest.raises(DataError, match="step 3: demand must be >= 0, got -1"):
        simulate(hpa(), [1.0, 1.0, 1.0, -1.0], capacity_per_instance=1.0)
    with pytest.raises(DataError, match="step 1 is not a finite number"):
        simulate(hpa(), [1.0, np.nan], capacity_per_instance=1.0)
    with pytest.raises(UsageError, match="initial replicas"):
        simulate(hpa(max_replicas=3), [1.0], capacity_per_instance=1.0, initial=5)


# --- plans -------------------------------------------------------------------------------------


def test_simulate_plan_runs_every_scaling_policy_of_apm() -> None:
    plan = load_plan(APM)
    assert list(scaling_policies(plan)) == [
        "apm_service_hpa",
        "apm_service_step",
        "db_read_replicas",
    ]
    # the read replicas' external metric has no trace here: not run by default
    assert default_policies(plan, None) == ["apm_service_hpa", "apm_service_step"]
    assert critical_level(plan, scaling_policies(plan)["apm_service_hpa"]) == 100.0
    d = 4 + 3 * np.sin(np.arange(2000) / 200)
    results = simulate_plan(plan, d)
    assert [r.policy for r in results] == ["apm_service_hpa", "apm_service_step"]
    for r in results:
        assert r.replicas.min() >= 2
        assert r.replicas.max() <= 10


def test_simulate_plan_unknown_policy_lists_the_available_ones() -> None:
    plan = load_plan(APM)
    with pytest.raises(UsageError, match=r"unknown policy 'apm_service_hp'.*did you mean"):
        simulate_plan(plan, [1.0], policies=["apm_service_hp"])
    with pytest.raises(UsageError, match="available: apm_service_hpa, apm_service_step, db_"):
        simulate_plan(plan, [1.0], policies=["apm_service_vpa"])


def test_critical_level_comes_from_the_plans_threshold_on_the_metric() -> None:
    plan = load_plan(APM, {"policies.apm_service_step.metric": "cpu_usage"})
    assert critical_level(plan, scaling_policies(plan)["apm_service_step"]) == 80.0


def test_first_clear_window_matches_brute_force() -> None:
    from capplan.policy.sim_fast import _first_window_none

    rng = np.random.default_rng(7)
    for _ in range(2000):
        size, window = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        hit = rng.random(size) < rng.uniform(0, 0.5)
        expected = next(
            (
                p - (window - 1)
                for p in range(window - 1, size)
                if not hit[p - window + 1 : p + 1].any()
            ),
            -1,
        )
        assert _first_window_none(hit, window) == expected
