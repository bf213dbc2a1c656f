"""Multi-metric HPAs and KEDA queue scalers: the controllers' choices by hand, the plan model's
checks, and the event-driven engine equal to the step-by-step reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from capplan.errors import PlanError, UsageError
from capplan.plan import load_plan
from capplan.plan.policies import HpaPolicy, QueuePolicy
from capplan.policy.autoscale import simulate
from capplan.policy.sim_common import Channel, compile_hpa, compile_queue, hpa_initial
from capplan.policy.sim_fast import fast_hpa
from capplan.policy.sim_reference import reference_hpa

APM = "examples/apm.yaml"


def hpa(**kw: Any) -> HpaPolicy:
    base: dict[str, Any] = {"kind": "hpa", "component": "c", "startup": "0s"}
    return HpaPolicy.model_validate({**base, **kw})


def queue(**kw: Any) -> QueuePolicy:
    base: dict[str, Any] = {"kind": "queue", "component": "c", "metric": "depth", "target": 25}
    return QueuePolicy.model_validate({**base, "startup": "0s", **kw})


CPU_AND_MEMORY = [{"resource": "cpu", "target": 70}, {"resource": "memory", "target": 80}]


# --- the controller's multi-metric choice ------------------------------------------------------


def test_the_largest_wish_wins_and_a_metric_in_its_band_holds_the_count() -> None:
    # Pods request 1 core and 2 GiB; targets 70% CPU, 80% memory. 4 pods use 2.8 cores
    # (70%: in the band, CPU wants 4) and 4 GiB (50%: memory alone would want ceil(4/1.6) = 3).
    policy = hpa(min_replicas=2, max_replicas=10, metrics=CPU_AND_MEMORY)
    cpu = np.full(100, 2.8)
    memory = np.r_[np.full(10, 4.0), np.full(30, 9.0), np.full(60, 3.0)]
    res = simulate(
        policy, series={"cpu": cpu, "memory": memory}, requests={"cpu": 1, "memory": 2}, initial=4
    )
    # step 10: memory 9 GiB is 9 / 6.4 = 141% of target: ceil(9 / 1.6) = 6 > CPU's 4;
    # step 40: memory wants 2, CPU (2.8 cores on 6 pods, 67%) wants ceil(2.8 / 0.7) = 4; the
    # 300 s window keeps 6 until the last 6 leaves it, 20 syncs after step 39.
    assert res.actions.steps.tolist() == [10, 59]
    assert list(zip(res.actions.before, res.actions.after, strict=True)) == [(4, 6), (6, 4)]
    assert res.replicas[:10].tolist() == [4] * 10
    assert set(res.utilizations) == {"cpu", "memory"}
    assert res.utilizations["memory"][10] == pytest.approx(100 * 9 / (6 * 2))
    assert res.summary.metrics["cpu"]["mean_utilization"] == pytest.approx(
        float(res.utilizations["cpu"].mean())
    )


def test_each_metric_has_its_own_tolerance_band() -> None:
    # 10 pods: CPU at 77% of 70 (ratio 1.1, in the band) and memory at 88% of 80 (1.1): no
    # change; memory at 89.6% (1.12) leaves its band and wants ceil(17.92 / 1.6) = 12.
    policy = hpa(max_replicas=20, metrics=CPU_AND_MEMORY)
    requests = {"cpu": 1.0, "memory": 2.0}
    cpu = np.full(30, 7.7)
    steady = simulate(
        policy, series={"cpu": cpu, "memory": np.full(30, 17.6)}, requests=requests, initial=10
    )
    assert len(steady.actions) == 0
    up = simulate(
        policy, series={"cpu": cpu, "memory": np.full(30, 17.92)}, requests=requests, initial=10
    )
    assert up.actions.after.tolist() == [12]


def test_external_total_and_pods_average_targets() -> None:
    # External Value 70 (a database's read load, %): ceil(ready × value / 70); pods average 50.
    replicas = hpa(
        min_replicas=1,
        max_replicas=3,
        metrics=[{"type": "external", "metric": "read_load", "total": 70}],
    )
    load = np.r_[np.full(5, 50.0), np.full(20, 84.0)]
    res = simulate(replicas, series={"read_load": load}, initial=1)
    # 84 / 70 = 1.2: ceil(1 × 1.2) = 2, then ceil(2 × 1.2) = 3 (the metric does not answer)
    assert res.actions.after.tolist() == [2, 3]
    assert res.utilization[5] == pytest.approx(120.0)
    per_pod = hpa(max_replicas=20, metrics=[{"type": "pods", "metric": "rps", "average": 50}])
    res = simulate(per_pod, series={"rps": np.full(10, 420.0)}, initial=2)
    # ceil(420 / 50) = 9, reached through the default scale-up limit, max(+4 pods, +100%)
    assert res.actions.after.tolist() == [6, 9]


def test_a_single_load_trace_stands_for_every_metric() -> None:
    policy = hpa(max_replicas=20, metrics=CPU_AND_MEMORY)
    res = simulate(policy, np.full(10, 7.0), capacity_per_instance=1.0)
    assert res.replicas[0] == 10  # ceil(7 / 0.7) beats ceil(7 / 0.8)
    with pytest.raises(UsageError, match="memory request"):
        simulate(policy, np.full(10, 7.0), capacity_per_instance=1.0, series={"memory": [1] * 10})


# --- KEDA ----------------------------------------------------------------------------------------


def test_keda_scales_from_zero_on_activation_and_back_after_the_cooldown() -> None:
    # target 25 per replica, active above 5, polled every 30 s, cooldown 300 s.
    policy = queue(activation=5)
    depth = np.r_[np.zeros(10), np.full(40, 100.0), np.zeros(40)]
    res = simulate(policy, series={"depth": depth})
    assert res.replicas[0] == 0  # the first check finds no activity
    # step 10 (a poll): active, KEDA scales to 1; step 11: the HPA wants ceil(100 / 25) = 4;
    # the last active poll is step 48; 300 s (20 syncs) later, step 68, KEDA scales to zero
    # (the HPA's own 300 s window would have held 4 until step 69).
    assert res.actions.steps.tolist() == [10, 11, 68]
    assert list(zip(res.actions.before, res.actions.after, strict=True)) == [
        (0, 1),
        (1, 4),
        (4, 0),
    ]
    assert res.kind == "queue"


def test_keda_polls_only_every_polling_interval_and_respects_min() -> None:
    depth = np.r_[np.zeros(3), np.full(20, 60.0)]
    res = simulate(queue(polling_interval="1m", activation=0), series={"depth": depth})
    assert res.actions.steps.tolist()[0] == 4  # the polls are steps 0, 4, 8...
    floor = simulate(queue(min_replicas=2), series={"depth": np.r_[np.full(5, 60.0), np.zeros(60)]})
    assert floor.replicas.min() == 2  # never below min_replicas: no scaling to zero
    assert floor.replicas[0] == 3  # ceil(60 / 25)


def test_keda_activation_is_strictly_above() -> None:
    res = simulate(queue(activation=5), series={"depth": np.full(20, 5.0)})
    assert len(res.actions) == 0
    assert res.replicas.max() == 0


# --- the plan model ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"policies.apm_service_hpa.target": 60},
            "give 'metrics' or the single-metric target, not both",
        ),
        (
            {"policies.apm_service_hpa.metrics": [{"type": "pods", "metric": "error_rate"}]},
            "a pods metric needs 'average'",
        ),
        (
            {
                "policies.apm_service_hpa.metrics": [
                    {"type": "external", "metric": "error_rate", "average": 1, "total": 2}
                ]
            },
            "'average' \\(per pod\\) or 'total', not both",
        ),
        (
            {"policies.apm_service_hpa.metrics": [{"resource": "cpu", "average": 3}]},
            "a resource metric takes resource and target, not average",
        ),
        (
            {
                "policies.apm_service_hpa.metrics": [
                    {"target": 60},
                    {"resource": "cpu", "target": 70},
                ]
            },
            "metrics name cpu more than once",
        ),
    ],
)
def test_hpa_metrics_are_checked(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message) as err:
        load_plan(APM, overrides)
    assert "apm.yaml:" in str(err.value)


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ("platform", "name the part this policy scales, platform.backend or platform.celery"),
        ("platform.backnd", "has no part 'backnd'.*did you mean 'backend'"),
        ("platform.db", "no tier of 'platform' gives 'db' instances"),
        ("platfrm.backend", "names component 'platfrm'"),
    ],
)
def test_a_policy_names_a_part_of_a_tiers_component(component: str, message: str) -> None:
    with pytest.raises(PlanError, match=message) as err:
        load_plan("examples/the_bot.yaml", {"policies.backend_hpa.component": component})
    assert "policies.backend_hpa.component" in str(err.value)


def test_a_part_takes_a_vpa_and_only_tiers_have_parts() -> None:
    vpa = {"kind": "vpa", "component": "platform.db"}  # db has no instances, and needs none
    plan = load_plan("examples/the_bot.yaml", {"policies.db_vpa": vpa})
    assert plan.policies["db_vpa"].component == "platform.db"
    with pytest.raises(PlanError, match="only a tiers component has parts"):
        load_plan(APM, {"components.apm_service.deploy.parts": {"x": {"image": "a:1"}}})


def test_queue_policy_defaults_are_kedas() -> None:
    policy = queue()
    assert (policy.min_replicas, policy.max_replicas) == (0, 100)
    assert (policy.polling_interval, policy.cooldown, policy.activation) == ("30s", "300s", 0)


# --- the event-driven engine equals the reference ----------------------------------------------


def _trace(seed: int, n: int = 1500) -> np.ndarray[Any, np.dtype[np.float64]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wave = 8 + 6 * np.sin(2 * np.pi * t / rng.integers(100, 600))
    walk = np.cumsum(rng.normal(0, 0.3, n))
    d = np.abs(wave + walk + rng.normal(0, rng.uniform(0.1, 2.0), n))
    d[rng.integers(0, n, 5)] = 0.0
    return d


MULTI_VARIANTS: list[dict[str, Any]] = [
    {},
    {"startup": "45s", "tolerance": 0.05},
    {"behavior": {"scale_down": {"stabilization_window": "0s"}}, "startup": "1m"},
    {"sync_period": "30s", "behavior": {"scale_up": {"stabilization_window": "1m"}}},
]
CHANNELS = [
    Channel("ready", 0.6 * 0.9),
    Channel("ready", 0.8 * 1.3),
    Channel("total", 9.0),
    Channel("requested", 3.0),
]


@pytest.mark.parametrize("variant", range(len(MULTI_VARIANTS)))
@pytest.mark.parametrize("seed", range(8))
def test_event_driven_multi_metric_hpa_equals_reference(variant: int, seed: int) -> None:
    metrics = [
        {"resource": "cpu", "target": 60},
        {"resource": "memory", "target": 80},
        {"type": "external", "metric": "q", "total": 9},
        {"type": "external", "metric": "z", "average": 3},
    ]
    policy = hpa(min_replicas=1, max_replicas=25, metrics=metrics, **MULTI_VARIANTS[variant])
    params = compile_hpa(policy, 15, 1.0, CHANNELS)
    demand = np.stack([_trace(seed), _trace(seed + 100), 0.7 * _trace(seed + 200), _trace(seed)])
    r0 = hpa_initial(demand, params)
    assert fast_hpa(demand, params, r0) == reference_hpa(demand, params, r0)


QUEUE_VARIANTS: list[dict[str, Any]] = [
    {},
    {"polling_interval": "15s", "cooldown": "60s", "activation": 5},
    {"polling_interval": "45s", "cooldown": "2m", "activation": 8, "startup": "30s"},
    {"min_replicas": 2},
    {"activation": 3, "cooldown": "0s", "behavior": {"scale_down": {"stabilization_window": "0s"}}},
]


@pytest.mark.parametrize("variant", range(len(QUEUE_VARIANTS)))
@pytest.mark.parametrize("seed", range(8))
def test_event_driven_queue_equals_reference(variant: int, seed: int) -> None:
    params = compile_queue(queue(target=2, max_replicas=30, **QUEUE_VARIANTS[variant]), 15)
    depth = _trace(seed)
    depth[200:400] = 0.0  # idle: to zero (min 0) after the cooldown
    depth[700:1000] = np.minimum(depth[700:1000], 4.0)  # below some activation thresholds
    demand = depth[None, :]
    r0 = hpa_initial(demand, params)
    fast, ref = fast_hpa(demand, params, r0), reference_hpa(demand, params, r0)
    assert fast == ref
    if params.zero is not None and variant != 4:
        assert 0 in ref.action_after  # the variant does scale to zero
