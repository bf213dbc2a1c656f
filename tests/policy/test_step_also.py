"""A step policy's scale-down gated by other metrics (``scale_down.also``): it acts only while
every one of them has been below its threshold for its duration, as the FreeAgentics runbook's
scale-down triggers ask (CPU < 30% and memory < 50% and network < 20% for 30 minutes). The
event-driven engine equals the reference loop with a gate, the gate counts its durations in
decisions, and a missing trace or a gate on scale-up is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from capplan.errors import UsageError
from capplan.plan.policies import StepPolicy
from capplan.policy.autoscale import simulate
from capplan.policy.sim_common import compile_step, step_gate
from capplan.policy.sim_fast import fast_step
from capplan.policy.sim_reference import reference_step


def policy(**down: Any) -> StepPolicy:
    return StepPolicy.model_validate(
        {
            "kind": "step",
            "component": "backend",
            "metric": "cpu",
            "startup": "0s",
            "min_replicas": 1,
            "max_replicas": 20,
            "scale_up": {"threshold": 70, "step": 1, "cooldown": "0s"},
            "scale_down": {"threshold": 30, "step": 1, "cooldown": "0s", **down},
        }
    )


def test_the_gate_holds_after_each_metric_stays_below_for_its_duration() -> None:
    p = policy(also=[{"metric": "memory", "threshold": 50, "for": "30s"}])
    memory = np.array([60, 40, 40, 40, 40, 60, 40, 40], dtype=float)
    gate = step_gate(p, {"memory": memory}, step=15, k=1)
    assert gate is not None
    # below from index 1; 30 s is two decisions of 15 s: held from index 3 until it rises
    assert gate.tolist() == [False, False, False, True, True, False, False, False]


def test_several_conditions_must_all_hold() -> None:
    p = policy(
        also=[
            {"metric": "memory", "threshold": 50},
            {"metric": "network", "threshold": 20},
        ]
    )
    series = {
        "memory": np.array([40, 40, 60, 40], dtype=float),
        "network": np.array([10, 30, 10, 10], dtype=float),
    }
    gate = step_gate(p, series, step=15, k=1)
    assert gate is not None
    assert gate.tolist() == [True, False, False, True]


def test_no_condition_no_gate() -> None:
    assert step_gate(policy(), {}, step=15, k=1) is None


def test_a_missing_trace_is_named() -> None:
    p = policy(also=[{"metric": "memory", "threshold": 50}])
    with pytest.raises(UsageError, match=r"scale_down\.also reads a 'memory' trace"):
        step_gate(p, {"network": np.zeros(3)}, step=15, k=1)


def test_also_on_scale_up_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"scale_up\.also is not read"):
        StepPolicy.model_validate(
            {
                "kind": "step",
                "component": "backend",
                "metric": "cpu",
                "scale_up": {"threshold": 70, "also": [{"metric": "memory", "threshold": 50}]},
            }
        )


def _traces(seed: int, n: int = 1200) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    load = np.abs(8 + 6 * np.sin(2 * np.pi * t / rng.integers(100, 500)) + rng.normal(0, 1, n))
    memory = 50 + 20 * np.sin(2 * np.pi * t / rng.integers(50, 300)) + rng.normal(0, 5, n)
    return load, memory


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("hold", ["0s", "1m", "5m"])
def test_event_driven_step_with_a_gate_equals_reference(seed: int, hold: str) -> None:
    p = policy(**{"for": "30s"}, also=[{"metric": "memory", "threshold": 50, "for": hold}])
    load, memory = _traces(seed)
    params = compile_step(p, 15, 0.9)
    gate = step_gate(p, {"memory": memory}, 15, params.k)
    assert gate is not None
    assert 0 < gate.sum() < len(gate)
    r0 = seed % 4 + 1
    assert fast_step(load, params, r0, gate) == reference_step(load, params, r0, gate)


def test_a_high_memory_keeps_the_instances_a_low_cpu_would_remove() -> None:
    # load falls to a tenth of capacity: CPU alone scales down to the minimum; with memory
    # at 80% (never below 50%) nothing is removed, with memory at 30% the same as CPU alone.
    load = np.concatenate([np.full(40, 9.0), np.full(200, 0.5)])
    gated = policy(also=[{"metric": "memory", "threshold": 50, "for": "1m"}])
    alone = simulate(policy(), load, capacity_per_instance=1.0, initial=12)
    high = simulate(
        gated, load, capacity_per_instance=1.0, initial=12, series={"memory": np.full(240, 80.0)}
    )
    low = simulate(
        gated, load, capacity_per_instance=1.0, initial=12, series={"memory": np.full(240, 30.0)}
    )
    assert alone.summary.scale_downs > 0
    assert high.summary.scale_downs == 0
    assert int(high.replicas[-1]) == 13  # 9 at 70% wants more: scaled up once, never down
    assert int(low.replicas[-1]) == int(alone.replicas[-1])
    reference = simulate(
        gated,
        load,
        capacity_per_instance=1.0,
        initial=12,
        series={"memory": np.full(240, 30.0)},
        engine="reference",
    )
    assert np.array_equal(reference.replicas, low.replicas)
