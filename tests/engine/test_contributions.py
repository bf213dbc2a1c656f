"""Totals added up from what components contribute, levels counted block by block, the
arrays reused from one figure to the next and the sizing tables built once per component:
each against the direct computation."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from capplan.engine.montecarlo.blocks import Buffers, Tuning
from capplan.engine.montecarlo.contributions import SUMMED, Contribution, grouped
from capplan.engine.montecarlo.quantiles import PathQuantiles
from capplan.engine.montecarlo.stream import evaluate_fast as evaluate
from capplan.engine.montecarlo.summary import _LevelTally
from capplan.engine.montecarlo.summary import reached_by_period_fast as reached_by_period
from capplan.plan.compiled import compile_plan
from capplan.plan.loader import load_plan
from capplan.sizing import size_tiers, size_vertical
from capplan.timeline import Timeline

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("defer_cells", [10**9, 50])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_totals_are_the_sums_of_the_components(path: Path, defer_cells: int) -> None:
    plan = load_plan(path)
    compiled = compile_plan(plan)
    timeline = Timeline.for_today(plan.step, plan.horizon, plan.start)
    scenario = plan.resolve_scenario(None)
    tuning = Tuning(defer_cells=defer_cells)
    ev = evaluate(compiled, scenario, timeline, 40, np.random.default_rng(1), tuning=tuning)
    for field in SUMMED:
        parts = [ev.values[f"{name}.{field}"] for name in plan.components]
        expected = np.sum(parts, axis=0) if parts else np.zeros_like(ev.values["total.cost"])
        np.testing.assert_allclose(ev.values[f"total.{field}"], expected, rtol=1e-12, err_msg=field)


def _table_contribution(tables: dict[str, np.ndarray], level: np.ndarray) -> Contribution:
    def amounts(keys: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {key: table[keys[0].astype(np.intp)] for key, table in tables.items()}

    return Contribution((level,), amounts, tables)


def test_grouped_levels_add_up_in_the_same_order_as_one_by_one() -> None:
    rng = np.random.default_rng(5)
    sizes = [4, 5, 3, 7, 6, 5]  # 2,520 combinations, then 12,600 > 4,096: a new group
    parts = []
    for n in sizes:
        tables = {key: rng.uniform(0, 100, n).round(3) for key in SUMMED}
        parts.append(_table_contribution(tables, rng.integers(0, n, (30, 8)).astype(np.uint8)))
    groups = grouped(parts)
    assert [len(group.keys) for group in groups] == [5, 1]
    start = 0
    for group in groups:
        members, start = parts[start : start + len(group.keys)], start + len(group.keys)
        assert all(g is m.keys[0] for g, m in zip(group.keys, members, strict=True))
        got = group.amounts(list(group.keys))
        for key in SUMMED:
            expected = members[0].amounts(list(members[0].keys))[key]
            for member in members[1:]:
                expected = expected + member.amounts(list(member.keys))[key]
            np.testing.assert_array_equal(got[key], expected, err_msg=key)


def test_grouping_keeps_other_contributions_in_their_place() -> None:
    level = np.zeros((2, 3), dtype=np.uint8)
    tables = {key: np.arange(3.0) for key in SUMMED}
    other = Contribution((np.ones((2, 3)),), partial(lambda keys: {}))
    parts = [_table_contribution(tables, level), other, _table_contribution(tables, level)]
    assert [id(c) for c in grouped(parts)] == [id(c) for c in parts]


def test_sizing_with_the_compiled_tables_is_sizing_without() -> None:
    rng = np.random.default_rng(2)
    kinds = set()
    for path in EXAMPLES:
        plan = load_plan(path)
        tables = compile_plan(plan).tables
        for name, comp in plan.components.items():
            if comp.kind == "vertical":
                demands = {res: rng.uniform(0, 900, (6, 4)) for res in comp.demand}
                full, fast = (
                    size_vertical(comp, demands),
                    size_vertical(comp, demands, tables[name]),
                )
            elif comp.kind == "tiers":
                demand = rng.uniform(0, 40_000, (6, 4))
                full, fast = size_tiers(comp, demand), size_tiers(comp, demand, tables[name])
            else:
                assert name not in tables
                continue
            kinds.add(comp.kind)
            for key in ("instances", "vcpu", "memory_gb", "storage_gb", "utilization", "level"):
                np.testing.assert_array_equal(getattr(fast, key), getattr(full, key))
            np.testing.assert_array_equal(fast.level_price, full.level_price)
            assert fast.extra.keys() == full.extra.keys()
    assert kinds == {"vertical", "tiers"}


def test_level_counts_give_the_order_statistics_and_events_of_the_levels() -> None:
    rng = np.random.default_rng(9)
    levels, paths, periods = 5, 301, 12
    quantiles = PathQuantiles(paths, periods)
    # Levels that go down as well as up along a path.
    level = rng.integers(0, levels, (paths, periods)).astype(np.int64)
    events = [("k", "text", k) for k in range(1, levels)]
    tally = _LevelTally(levels, events)
    for start in range(0, paths, 70):
        tally.add(level[start : start + 70])
    stats = tally.order_statistics(quantiles.ranks)
    ordered = np.sort(level, axis=0)
    for i, r in enumerate(quantiles.ranks):
        np.testing.assert_array_equal(stats[i], ordered[r])
    for (_key, _text, counts), k in zip(tally.reached(), range(1, levels), strict=True):
        np.testing.assert_array_equal(counts, reached_by_period(level >= k))


def test_a_read_only_false_is_never_reached() -> None:
    never = np.broadcast_to(np.False_, (4, 6))
    np.testing.assert_array_equal(reached_by_period(never), np.zeros(6, dtype=np.int64))


def test_buffers_hand_back_an_array_of_the_same_shape_and_type() -> None:
    buffers = Buffers()
    first = buffers.take((3, 4), np.dtype(np.float64))
    buffers.give(first)
    assert buffers.take((3, 4), np.dtype(np.float64)) is first
    assert buffers.take((3, 4), np.dtype(np.float64)) is not first
    buffers.give(first)
    assert buffers.take((3, 4), np.dtype(np.int64)) is not first


def test_tables_are_built_once_per_compiled_plan() -> None:
    plan = load_plan(EXAMPLES[0])
    assert compile_plan(plan).tables is compile_plan(plan).tables
