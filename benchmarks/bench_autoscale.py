"""Benchmark: autoscaler simulation of one year at 15 s steps (2,102,400 steps) per policy.

Requirement checked: *one year at 15 s steps simulates in under 1 s per policy*. The trace is
synthetic CPU demand in cores: a diurnal wave, a weekly wave and noise. Each policy kind is
simulated with :func:`capplan.policy.autoscale.simulate` (the event-driven engine, including
the per-step replicas / ready / utilization arrays and the summary): the Kubernetes HPA with
its defaults, the HPA of ``examples/apm.yaml`` (50% per 60 s down), the same on two metrics
(CPU 70% and memory 80%, memory a slower wave of its own), a step policy (the runbook's one
pod at a time, 70% / 30%, 1 min cooldown), and a KEDA queue policy (25 items per replica,
scaling to zero after 5 idle minutes) on a queue-depth trace: a day's work, a nightly batch,
empty hours between.

Baseline, measured in the same run: the step-by-step reference loop
(:mod:`capplan.policy.sim_reference`, one Python iteration per decision) on the first
``--slice`` steps, scaled linearly to the year. The ratio printed is reference / event-driven.
Times are wall-clock medians of ``--repeats`` runs, with the process CPU time alongside
(the machine may be shared). Exit 0 unless ``--strict`` and a target is missed.

The engine's cost is proportional to the number of scaling actions (tens of microseconds
each), not to the number of steps: ``--noise 1.5`` makes the policies act every few minutes
all year (10-20x more actions) and shows where the event-driven approach stops paying off;
``--bursty-queue`` does the same to the queue policy (bursts every few minutes all day: the
scaler acts every few syncs, and the engine scans those hours decision by decision).

Run with ``.venv/bin/python benchmarks/bench_autoscale.py`` (``--help`` for the options).
"""

from __future__ import annotations

# Before anything imports NumPy: one thread per pool, one pinned CPU (see one_core.py).
from one_core import PINNING

# isort: split
import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np

from capplan.plan.policies import HpaPolicy, QueuePolicy, StepPolicy
from capplan.policy.autoscale import Engine, ScalingPolicy, simulate

YEAR_STEPS = 365 * 24 * 240  # 2,102,400 steps of 15 s
TARGET_SECONDS = 1.0


def synthetic_trace(n: int, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """CPU demand in cores: 2-8 cores over the day, ±15% over the week, normal noise."""
    t = np.arange(n) * 15.0
    day, week = 86400.0, 7 * 86400.0
    rng = np.random.default_rng(seed)
    diurnal = 5 + 3 * np.sin(2 * np.pi * (t / day - 0.25))
    weekly = 1 + 0.15 * np.sin(2 * np.pi * t / week)
    out: np.ndarray = np.maximum(diurnal * weekly + rng.normal(0, noise, n), 0.0)
    return out


def memory_trace(n: int, seed: int = 1) -> np.ndarray:
    """Memory in GiB: 6-12 GiB over the day, later than CPU, with less noise."""
    t = np.arange(n) * 15.0
    rng = np.random.default_rng(seed)
    out: np.ndarray = np.maximum(9 + 3 * np.sin(2 * np.pi * (t / 86400.0 - 0.4)), 0.0)
    return out + np.abs(rng.normal(0, 0.1, n))


def queue_trace(n: int, seed: int = 2, bursty: bool = False) -> np.ndarray:
    """Queue depth. By default a day's work: 40-400 items from 06:00 to 23:00 following the
    day (6% noise), a nightly batch of 5,000 at 02:00 drained in 30 minutes, empty otherwise
    (the scaler goes to zero). ``bursty``: bursts of 100-1,000 items a few times an hour from
    06:00 to 22:00, each drained 15% a step, so that the scaler acts most of the day."""
    t = np.arange(n) * 15.0
    rng = np.random.default_rng(seed)
    hour = (t % 86400.0) / 3600
    if not bursty:
        day = (hour >= 6) & (hour < 23)
        diurnal = np.where(day, 220 + 180 * np.sin(2 * np.pi * (hour - 10) / 24), 0.0)
        batch = np.where((hour >= 2) & (hour < 2.5), 5000 * (1 - (hour - 2) / 0.5), 0.0)
        out: np.ndarray = np.floor(np.maximum(diurnal * (1 + rng.normal(0, 0.06, n)) + batch, 0))
        return out
    day = (hour >= 6) & (hour < 22)
    arrivals = np.where(day & (rng.random(n) < 1 / 80), rng.uniform(100, 1000, n), 0.0)
    depth = np.zeros(n)
    level = 0.0
    for i in range(n):  # each step drains 15% of the backlog
        level = level * 0.85 + arrivals[i]
        depth[i] = level
    return np.floor(depth)


APM_BEHAVIOR = {
    "scale_down": {
        "stabilization_window": "300s",
        "policies": [{"type": "Percent", "value": 50, "period": "60s"}],
    },
    "scale_up": {
        "stabilization_window": "0s",
        "policies": [{"type": "Percent", "value": 100, "period": "15s"}],
    },
}


def cases(
    demand: np.ndarray, bursty: bool = False
) -> dict[str, tuple[ScalingPolicy, dict[str, Any]]]:
    """The policies timed, each with the traces of its metrics."""
    load = {"demand": demand, "capacity_per_instance": 1.0}
    two = {
        "series": {"cpu": demand, "memory": memory_trace(len(demand))},
        "requests": {"cpu": 1.0, "memory": 1.0},
    }
    depth = {"series": {"queue_depth": queue_trace(len(demand), bursty=bursty)}}
    two_metrics = HpaPolicy.model_validate(
        {
            "kind": "hpa",
            "component": "api",
            "min_replicas": 2,
            "max_replicas": 20,
            "metrics": [{"resource": "cpu", "target": 70}, {"resource": "memory", "target": 80}],
            "behavior": APM_BEHAVIOR,
        }
    )
    queue = QueuePolicy.model_validate(
        {
            "kind": "queue",
            "component": "worker",
            "metric": "queue_depth",
            "target": 25,
            "activation": 5,
            "max_replicas": 40,
        }
    )
    named = policies()
    return {
        **{name: (policy, load) for name, policy in named.items()},
        "hpa (cpu 70% + memory 80%)": (two_metrics, two),
        "queue (KEDA, 25 per replica)": (queue, depth),
    }


def policies() -> dict[str, ScalingPolicy]:
    """The single-metric policies timed: one per kind, plus the APM example's HPA behavior."""
    return {
        "hpa (k8s defaults)": HpaPolicy(
            kind="hpa", component="api", target=70, min_replicas=2, max_replicas=20
        ),
        "hpa (apm_service_hpa)": HpaPolicy.model_validate(
            {
                "kind": "hpa",
                "component": "api",
                "target": 70,
                "min_replicas": 2,
                "max_replicas": 20,
                "behavior": APM_BEHAVIOR,
            }
        ),
        "step (70%/30%, 1 pod, 1m)": StepPolicy.model_validate(
            {
                "kind": "step",
                "component": "api",
                "metric": "cpu",
                "min_replicas": 2,
                "max_replicas": 20,
                "scale_up": {"threshold": 70, "step": 1, "cooldown": "1m"},
                "scale_down": {"threshold": 30, "step": 1, "cooldown": "1m"},
            }
        ),
    }


def head(traces: dict[str, Any], steps: int) -> dict[str, Any]:
    """The traces cut to their first ``steps``."""
    out = dict(traces)
    if "demand" in out:
        out["demand"] = out["demand"][:steps]
    if "series" in out:
        out["series"] = {k: v[:steps] for k, v in out["series"].items()}
    return out


def timed(
    policy: ScalingPolicy, traces: dict[str, Any], engine: Engine, repeats: int
) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``simulate``, and the number of scaling actions."""
    walls, cpus, actions = [], [], 0
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = simulate(policy, engine=engine, **traces)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        actions = len(result.actions)
    return statistics.median(walls), statistics.median(cpus), actions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=YEAR_STEPS, help="trace length (steps)")
    parser.add_argument("--slice", type=int, default=100_000, help="steps run by the reference")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--noise", type=float, default=0.3, help="noise sd in cores (more noise, more actions)"
    )
    parser.add_argument(
        "--bursty-queue", action="store_true", help="queue bursts every few minutes all day"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    demand = synthetic_trace(args.steps, noise=args.noise)
    sliced = min(args.slice, args.steps)
    print(
        f"trace: {args.steps:,} steps of 15 s, noise sd {args.noise:g} cores; reference timed "
        f"on {sliced:,} steps and scaled"
    )
    print(f"{PINNING}; one thread per BLAS/OpenMP pool")
    print(f"target: < {TARGET_SECONDS:g} s per policy (wall clock)\n")
    heads = ("policy", "actions", "wall s", "cpu s", "reference s (scaled)", "ratio", "verdict")
    rows = []
    failed = False
    for name, (policy, traces) in cases(demand, args.bursty_queue).items():
        simulate(policy, **head(traces, 10_000))  # warm-up
        wall, cpu, actions = timed(policy, traces, "fast", args.repeats)
        ref_wall, _, _ = timed(policy, head(traces, sliced), "reference", 1)
        ref_scaled = ref_wall * args.steps / sliced
        ok = wall < TARGET_SECONDS
        failed |= not ok
        rows.append(
            (
                name,
                f"{actions:,}",
                f"{wall:.3f}",
                f"{cpu:.3f}",
                f"{ref_scaled:.2f}",
                f"{ref_scaled / wall:.1f}x",
                "PASS" if ok else "FAIL",
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
