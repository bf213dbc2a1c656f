"""Monte Carlo summaries against a brute-force reference: every path evaluated whole, then
``np.quantile`` of every figure and the share of paths on which each event has happened.

The summaries are computed block of paths by block, with order statistics derived from other
figures where they can be, and figures nothing reads never assembled; none of that may change
a single figure, so the comparisons are exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capplan.engine.evaluate import QUANTILES, draw_rates
from capplan.engine.hits import event_hits
from capplan.engine.montecarlo.blocks import Gather, Tuning, row_blocks
from capplan.engine.montecarlo.quantiles import PathQuantiles
from capplan.engine.montecarlo.stream import evaluate_fast as evaluate
from capplan.engine.montecarlo.summary import simulate_fast as simulate
from capplan.plan.compiled import compile_plan
from capplan.plan.loader import load_plan, validate_plan_data
from capplan.plan.models import Plan
from capplan.timeline import Timeline

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def _mixed_plan() -> Plan:
    """Every kind of component, thresholds on outputs that follow from others, a metric that
    reads a component's output, and a formula priced by an expression."""
    uncertain = {"dist": "triangular", "low": 0.02, "high": 0.12}
    data: dict[str, Any] = {
        "system": "mixed",
        "start": "2026-01",
        "horizon": 18,
        "drivers": {
            "users": {
                "initial": 2_000,
                "growth": {"model": "compound", "rate": 0.07, "uncertainty": uncertain},
            },
            "data_gb": {
                "initial": 300,
                "growth": {
                    "model": "compound",
                    "rate": 0.05,
                    "uncertainty": {"dist": "normal", "sd": 0.02},
                },
            },
            "flat": {"initial": 10},
        },
        "metrics": {
            "rps": {"expr": "users * 0.02"},
            "mixed": {"expr": "rps + data_gb * 0.1"},
            "fleet": {"expr": "api.vcpu + 3"},
            "constant": {"expr": "flat * 2"},
        },
        "components": {
            "api": {
                "kind": "horizontal",
                "demand": "rps",
                "capacity_per_instance": 10,
                "buffer": 0.2,
                "max_instances": 12,
                "instance": {"vcpu": 2, "memory_gb": 4},
                "price": {"per_vcpu": 20, "per_memory_gb": 3},
            },
            "db": {
                "kind": "vertical",
                "demand": {"connections": "users * 0.05", "storage_gb": "data_gb"},
                "headroom": 0.2,
                "rungs": [
                    {
                        "name": f"r{k}",
                        "limits": {"connections": 150 * 2**k, "storage_gb": 400 * 2**k},
                        "price": 100 * 2**k,
                        "vcpu": 2**k,
                        "memory_gb": 4 * 2**k,
                        "storage_gb": 400 * 2**k,
                    }
                    for k in range(4)
                ],
            },
            "cluster": {
                "kind": "tiers",
                "demand": "users",
                "tiers": [
                    {
                        "name": f"t{k}",
                        "capacity": 3_000 * 3**k,
                        "price": 500 * 3**k,
                        "allocations": {"app": {"instances": 2 * 3**k, "vcpu": 4 * 3**k}},
                    }
                    for k in range(3)
                ],
            },
            "smooth": {
                "kind": "tiers",
                "demand": "mixed",
                "interpolate": True,
                "tiers": [
                    {"name": "s", "capacity": 100, "price": 50},
                    {"name": "m", "capacity": 400, "price": 150},
                ],
            },
            "pipeline": {
                "kind": "formula",
                "resources": {
                    "instances": "ceil(rps / 15) + 1",
                    "memory_gb": "max(4, rps / 3)",
                    "connections": "ceil(rps * 2)",
                },
                "capacity": {"connections": 200},
                "price": {"per_instance": 30, "per_memory_gb": 2},
            },
            "egress": {
                "kind": "formula",
                "resources": {"storage_gb": "data_gb * 0.5 + fleet"},
                "cost": "data_gb * 0.02 + 5",
            },
        },
        "thresholds": {
            "api_vcpu": {"metric": "api.vcpu", "warning": 16},
            "cluster_price": {"metric": "cluster.cost", "warning": 1_000},
            "db_busy": {"metric": "db.utilization", "warning": 0.6, "critical": 0.9},
            "mixed_high": {"metric": "mixed", "warning": 150},
            "app_vcpu": {"metric": "cluster.app.vcpu", "warning": 20},
        },
        "budget": {"per": "users"},
    }
    return validate_plan_data(data, "mixed.yaml", {})


#: Blocks of a few paths, so that a small run is split into many, and totals added up from
#: contributions at the end in blocks of a few paths too.
SMALL = Tuning(block_cells=200, defer_cells=90)


def _reference(plan: Plan, scenario: str, paths: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """Every path evaluated whole with the rates simulate() draws for ``seed``."""
    compiled = compile_plan(plan)
    timeline = Timeline.for_today(plan.step, plan.horizon, plan.start)
    rates = draw_rates(compiled, scenario, timeline, paths, np.random.default_rng(seed))
    base = evaluate(compiled, scenario, timeline)
    every = evaluate(compiled, scenario, timeline, paths, rates=rates, tuning=SMALL)
    reached: dict[str, Any] = {}
    for key, _text, hit in event_hits(plan, every, base):
        ever = np.logical_or.accumulate(hit, axis=1).sum(axis=0)
        reached[key] = reached[key] + ever if key in reached else ever
    summary = simulate(compiled, scenario, timeline, paths, base, seed=seed, tuning=SMALL)
    return every, {"summary": summary, "reached": reached}


def _assert_same_as_every_path(plan: Plan, paths: int, seed: int = 7) -> None:
    for scenario in plan.scenarios or [plan.resolve_scenario(None)]:
        every, got = _reference(plan, scenario, paths, seed)
        summary = got["summary"]
        assert set(summary.quantiles) == set(every.values)
        for name, values in every.values.items():
            expected = np.quantile(values, QUANTILES, axis=0)
            np.testing.assert_array_equal(summary.quantiles[name], expected, err_msg=name)
        for prob in summary.probabilities:
            expected = [round(float(c) / paths, 4) for c in got["reached"][prob.key]]
            assert prob.by_period == expected, prob.key


@pytest.mark.parametrize("paths", [2, 37, 450])
def test_mixed_plan_summaries_equal_those_of_every_path(paths: int) -> None:
    _assert_same_as_every_path(_mixed_plan(), paths)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_summaries_equal_those_of_every_path(path: Path) -> None:
    _assert_same_as_every_path(load_plan(path), 300)


def test_one_block_gives_the_same_summaries_as_many() -> None:
    plan = _mixed_plan()
    compiled = compile_plan(plan)
    timeline = Timeline.for_today(plan.step, plan.horizon, plan.start)
    scenario = plan.resolve_scenario(None)
    base = evaluate(compiled, scenario, timeline)
    runs = []
    for cells in (10**9, 1000, 57):
        tuning = Tuning(block_cells=cells)
        runs.append(simulate(compiled, scenario, timeline, 400, base, seed=3, tuning=tuning))
    for other in runs[1:]:
        assert other.quantiles.keys() == runs[0].quantiles.keys()
        for name, q in runs[0].quantiles.items():
            np.testing.assert_array_equal(other.quantiles[name], q, err_msg=name)
        assert [p.by_period for p in other.probabilities] == [
            p.by_period for p in runs[0].probabilities
        ]


# -- blocks ------------------------------------------------------------------------------


@pytest.mark.parametrize("paths", [1, 5, 99, 100, 101, 1000, 10_007])
def test_row_blocks_cover_every_path_once(paths: int) -> None:
    blocks = row_blocks(paths, 37, cells=3700)
    covered = np.concatenate([np.arange(paths)[b] for b in blocks])
    np.testing.assert_array_equal(covered, np.arange(paths))
    assert max(b.stop - b.start for b in blocks) <= 100
    assert len(blocks) == -(-paths // 100)


def test_gather_keeps_shared_arrays_shared_and_constant_rows_broadcast() -> None:
    gather = Gather((4, 3))
    for rows, start in ((slice(0, 2), 0.0), (slice(2, 4), 10.0)):
        block = np.arange(6.0).reshape(2, 3) + start
        constant = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (2, 3))
        gather.add(rows, {"a": block, "alias": block, "c": constant})
    got = gather.result()
    assert got["alias"] is got["a"]
    expected = np.vstack([np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3) + 10])
    np.testing.assert_array_equal(got["a"], expected)
    assert got["c"].strides[0] == 0
    np.testing.assert_array_equal(got["c"], [[1.0, 2.0, 3.0]] * 4)


def test_gather_splits_arrays_that_stop_being_shared_or_constant() -> None:
    gather = Gather((4, 2))
    first = np.ones((2, 2))
    gather.add(slice(0, 2), {"a": first, "b": first, "c": np.broadcast_to([5.0, 6.0], (2, 2))})
    gather.add(
        slice(2, 4),
        {"a": np.full((2, 2), 2.0), "b": np.full((2, 2), 3.0), "c": np.full((2, 2), 7.0)},
    )
    got = gather.result()
    assert got["a"] is not got["b"]
    np.testing.assert_array_equal(got["a"], [[1, 1], [1, 1], [2, 2], [2, 2]])
    np.testing.assert_array_equal(got["b"], [[1, 1], [1, 1], [3, 3], [3, 3]])
    np.testing.assert_array_equal(got["c"], [[5, 6], [5, 6], [7, 7], [7, 7]])


def test_gather_stores_arrays_period_by_period_when_asked() -> None:
    gather = Gather((4, 3), transposed={"t"})
    blocks = [np.arange(6.0).reshape(2, 3), np.arange(6.0, 12.0).reshape(2, 3)]
    for rows, block in zip((slice(0, 2), slice(2, 4)), blocks, strict=True):
        gather.add(rows, {"t": block, "c": block.copy()})
    got = gather.result()
    assert got["t"].T.flags.c_contiguous
    assert got["c"].flags.c_contiguous
    np.testing.assert_array_equal(got["t"], np.arange(12.0).reshape(4, 3))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.int32])
@pytest.mark.parametrize("span", [1, 3, 64, 65, 300])
def test_order_statistics_of_small_integers_are_those_of_a_sort(dtype: Any, span: int) -> None:
    rng = np.random.default_rng(span)
    values = rng.integers(0, span, size=(501, 7)).astype(dtype)
    values[:, 0] = 1  # a period where every path agrees
    quantiles = PathQuantiles(501, 7)
    stats = quantiles.order_statistics(values)
    ordered = np.sort(values, axis=0)
    for rank, got in zip(quantiles.ranks, stats, strict=True):
        np.testing.assert_array_equal(got, ordered[rank], err_msg=str(rank))
        assert got.dtype == values.dtype


@pytest.mark.parametrize(
    "case", ["non-negative", "signed zeros", "infinite", "negative", "nan", "negative nan"]
)
def test_order_statistics_of_floats_are_those_of_a_sort(case: str) -> None:
    rng = np.random.default_rng(4)
    values = rng.lognormal(size=(401, 6))
    if case == "signed zeros":
        values[rng.random(values.shape) < 0.3] = 0.0
        values[rng.random(values.shape) < 0.3] = -0.0
    elif case == "infinite":
        values[rng.random(values.shape) < 0.05] = np.inf
    elif case == "negative":
        values -= 1.0
    elif case == "nan":
        values[3, 2] = np.nan
    elif case == "negative nan":  # (0/0 gives a NaN with its sign bit set on x86)
        values[3, 2] = -np.nan
        assert np.signbit(values[3, 2])
    quantiles = PathQuantiles(401, 6)
    stats = quantiles.order_statistics(values.copy())
    ordered = np.sort(values, axis=0)
    for rank, got in zip(quantiles.ranks, stats, strict=True):
        np.testing.assert_array_equal(got, ordered[rank], err_msg=str(rank))
        assert got.dtype == np.float64
