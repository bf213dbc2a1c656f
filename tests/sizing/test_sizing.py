"""Tests for capplan.sizing: horizontal, vertical (ladder), tier and formula sizing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.plan.models import HorizontalComponent, TierComponent, VerticalComponent
from capplan.sizing import ceil_count, size_formula, size_horizontal, size_tiers, size_vertical


def row(*values: float) -> np.ndarray:
    """One path over ``len(values)`` periods, shape (1, T)."""
    return np.array([values], dtype=np.float64)


def horizontal(**fields: Any) -> HorizontalComponent:
    base = {"kind": "horizontal", "demand": "rps", "capacity_per_instance": 50}
    return HorizontalComponent.model_validate(base | fields)


def vertical(rungs: list[dict[str, Any]], **fields: Any) -> VerticalComponent:
    demand = {res: res for res in rungs[0]["limits"]}
    base = {"kind": "vertical", "demand": demand, "rungs": rungs}
    return VerticalComponent.model_validate(base | fields)


def tiers(**fields: Any) -> TierComponent:
    base = {
        "kind": "tiers",
        "demand": "concurrent",
        "tiers": [
            {
                "name": "t1k",
                "capacity": 1000,
                "price": 500,
                "allocations": {"be": {"instances": 2}},
            },
            {
                "name": "t10k",
                "capacity": 10_000,
                "price": 3500,
                "allocations": {"be": {"instances": 6}, "db": {"vcpu": 8}},
            },
            {
                "name": "t100k",
                "capacity": 100_000,
                "price": 25_000,
                "allocations": {"be": {"instances": 30}, "db": {"vcpu": 16}},
            },
        ],
    }
    return TierComponent.model_validate(base | fields)


# -- horizontal --------------------------------------------------------------------------


def test_runbook_example_300_rps_at_50_with_20_percent_buffer_is_8() -> None:
    sized = size_horizontal(horizontal(buffer=0.2), row(300))
    assert sized.instances[0, 0] == 8  # ceil(300 / 50) + ceil(6 * 0.2) = 6 + 2
    assert sized.extra["capacity"][0, 0] == 400
    assert sized.utilization[0, 0] == pytest.approx(0.75)
    assert not sized.exceeded.any()


def test_exact_multiples_are_not_rounded_up_by_float_dust() -> None:
    sized = size_horizontal(horizontal(capacity_per_instance=0.1), row(0.3, 0.30000001))
    np.testing.assert_array_equal(sized.instances, [[3, 4]])


def test_n_plus_one_adds_a_spare_instance() -> None:
    plain = size_horizontal(horizontal(), row(100, 101))
    spare = size_horizontal(horizontal(redundancy=1), row(100, 101))
    np.testing.assert_array_equal(plain.instances, [[2, 3]])
    np.testing.assert_array_equal(spare.instances, [[3, 4]])


def test_min_instances_is_a_floor() -> None:
    sized = size_horizontal(horizontal(min_instances=3), row(0, 10, 150, 151))
    np.testing.assert_array_equal(sized.instances, [[3, 3, 3, 4]])


def test_default_min_instances_keeps_one_instance_at_zero_demand() -> None:
    sized = size_horizontal(horizontal(), row(0))
    assert sized.instances[0, 0] == 1
    assert sized.utilization[0, 0] == 0


def test_max_instances_caps_and_says_what_is_not_served() -> None:
    """4 instances of 50 allowed: 201 needs 5; the 4 run at 201 / 200 and 1 is unserved."""
    sized = size_horizontal(horizontal(max_instances=4), row(200, 201, 260))
    np.testing.assert_array_equal(sized.instances, [[4, 4, 4]])
    np.testing.assert_array_equal(sized.exceeded, [[False, True, True]])
    np.testing.assert_array_equal(sized.extra["instances_needed"], [[4, 5, 6]])
    np.testing.assert_allclose(sized.utilization, [[1.0, 1.005, 1.3]])
    np.testing.assert_allclose(sized.extra["unserved"], [[0.0, 1.0, 60.0]])
    np.testing.assert_array_equal(sized.extra["capacity"], [[200, 200, 200]])


def test_target_utilization_sizes_for_headroom() -> None:
    sized = size_horizontal(horizontal(target_utilization=0.5), row(100, 101))
    np.testing.assert_array_equal(sized.instances, [[4, 5]])  # 100 / (50 * 0.5) = 4
    assert sized.utilization[0, 0] == pytest.approx(0.5)


def test_instance_shape_gives_resources() -> None:
    comp = horizontal(instance={"vcpu": 2, "memory_gb": 4, "storage_gb": 20})
    sized = size_horizontal(comp, row(120))
    assert sized.instances[0, 0] == 3
    assert (sized.vcpu[0, 0], sized.memory_gb[0, 0], sized.storage_gb[0, 0]) == (6, 12, 60)


@settings(max_examples=200, deadline=None)
@given(
    demands=st.lists(st.floats(0, 1e6), min_size=2, max_size=30),
    capacity=st.floats(0.01, 1e4),
    target=st.floats(0.05, 1.0),
    buffer=st.floats(0, 1),
    redundancy=st.integers(0, 3),
    minimum=st.integers(0, 5),
)
def test_horizontal_instances_are_monotone_in_demand(
    demands: list[float],
    capacity: float,
    target: float,
    buffer: float,
    redundancy: int,
    minimum: int,
) -> None:
    comp = horizontal(
        capacity_per_instance=capacity,
        target_utilization=target,
        buffer=buffer,
        redundancy=redundancy,
        min_instances=minimum,
    )
    demand = np.sort(np.array([demands]), axis=1)
    instances = size_horizontal(comp, demand).instances[0]
    assert np.all(np.diff(instances) >= 0)
    assert np.all(instances >= minimum)
    # Enough instances to serve the demand at the target utilization (up to float dust).
    needed = demand[0] / (capacity * target)
    assert np.all(instances >= needed - 1e-9 * np.maximum(1.0, needed))


# -- vertical ----------------------------------------------------------------------------

LADDER = [
    {"name": "team", "limits": {"storage": 100, "conn": 400}, "price": 599},
    {"name": "free", "limits": {"storage": 0.5, "conn": 60}, "price": 0},
    {"name": "pro", "limits": {"storage": 8, "conn": 200}, "price": 25},
    {"name": "enterprise", "limits": {"storage": None, "conn": None}, "price": 2000},
]


def names(sized: Any) -> list[str]:
    return [sized.level_names[i] for i in sized.level[0]]


def test_cheapest_fitting_rung_wins_even_listed_out_of_price_order() -> None:
    comp = vertical(LADDER, headroom=0.2)
    storage = row(0.4, 0.41, 6.4, 6.5, 80)
    sized = size_vertical(comp, {"storage": storage, "conn": row(10, 10, 10, 10, 10)})
    assert names(sized) == ["free", "pro", "pro", "team", "team"]
    np.testing.assert_array_equal(sized.level_price, [[0, 25, 25, 599, 599]])
    assert not sized.exceeded.any()


def test_every_resource_must_fit() -> None:
    comp = vertical(LADDER, headroom=0.2)
    sized = size_vertical(comp, {"storage": row(0.1, 0.1), "conn": row(48, 49)})
    assert names(sized) == ["free", "pro"]  # 80% of 60 connections is 48


def test_null_limit_is_unlimited() -> None:
    comp = vertical(LADDER, headroom=0.2)
    sized = size_vertical(comp, {"storage": row(1e9), "conn": row(1e9)})
    assert names(sized) == ["enterprise"]
    assert not sized.exceeded.any()
    assert np.isnan(sized.extra["storage_limit"][0, 0])
    assert sized.utilization[0, 0] == 0


def test_exceeded_marks_and_falls_back_to_the_last_rung() -> None:
    comp = vertical(
        [
            {"name": "small", "limits": {"storage": 1}, "price": 1},
            {"name": "large", "limits": {"storage": 2}, "price": 2},
        ],
        headroom=0.0,
    )
    sized = size_vertical(comp, {"storage": row(1, 2, 3)})
    assert names(sized) == ["small", "large", "large"]
    np.testing.assert_array_equal(sized.exceeded, [[False, False, True]])
    assert sized.utilization[0, 2] == pytest.approx(1.5)


def test_headroom_is_the_share_of_each_limit_kept_free() -> None:
    rungs = [
        {"name": "small", "limits": {"storage": 100}, "price": 1},
        {"name": "large", "limits": {"storage": 1000}, "price": 2},
    ]
    sized = size_vertical(vertical(rungs, headroom=0.25), {"storage": row(75, 75.01)})
    assert names(sized) == ["small", "large"]
    np.testing.assert_allclose(sized.extra["storage_utilization"], [[0.75, 0.07501]])


def test_rung_gives_its_resources() -> None:
    rungs = [{"name": "a", "limits": {"cpu": 4}, "vcpu": 4, "memory_gb": 16, "price": 80}]
    sized = size_vertical(vertical(rungs), {"cpu": row(1)})
    assert (sized.vcpu[0, 0], sized.memory_gb[0, 0], sized.instances[0, 0]) == (4, 16, 1)


def test_rung_counts_its_nodes() -> None:
    # The Omniops guide's Redis path: one node, a primary and a replica, a 3-node cluster.
    rungs = [
        {"name": "4GB", "limits": {"memory": 4}, "price": 40},
        {"name": "8GB", "limits": {"memory": 8}, "price": 120, "instances": 2},
        {"name": "16GB", "limits": {"memory": 16}, "price": 360, "instances": 3},
    ]
    sized = size_vertical(vertical(rungs, headroom=0), {"memory": row(3, 7, 15)})
    assert names(sized) == ["4GB", "8GB", "16GB"]
    assert sized.instances[0].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="instances"):
        vertical([{"name": "none", "limits": {"memory": 1}, "instances": 0}])


def test_rung_without_a_limit_for_a_demand_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"rungs\[1\] \(b\) has no limit for conn"):
        VerticalComponent.model_validate(
            {
                "kind": "vertical",
                "demand": {"storage": "s", "conn": "c"},
                "rungs": [
                    {"name": "a", "limits": {"storage": 1, "conn": 1}},
                    {"name": "b", "limits": {"storage": 2}},
                ],
            }
        )


RUNG = st.fixed_dictionaries(
    {
        "storage": st.one_of(st.none(), st.floats(0.1, 1000)),
        "conn": st.one_of(st.none(), st.floats(1, 1000)),
        "price": st.floats(0, 1000),
    }
)


@settings(max_examples=200, deadline=None)
@given(
    specs=st.lists(RUNG, min_size=1, max_size=6),
    headroom=st.floats(0, 0.9),
    storage=st.lists(st.floats(0, 2000), min_size=1, max_size=10),
    conn=st.floats(0, 2000),
)
def test_chosen_rung_satisfies_its_limits_with_headroom_unless_exceeded(
    specs: list[dict[str, Any]], headroom: float, storage: list[float], conn: float
) -> None:
    rungs = [
        {
            "name": f"r{i}",
            "limits": {"storage": s["storage"], "conn": s["conn"]},
            "price": s["price"],
        }
        for i, s in enumerate(specs)
    ]
    comp = vertical(rungs, headroom=headroom)
    demand = {"storage": np.array([storage]), "conn": np.full((1, len(storage)), conn)}
    sized = size_vertical(comp, demand)
    usable = 1 - headroom
    for t, level in enumerate(sized.level[0]):
        if sized.exceeded[0, t]:
            assert level == len(rungs) - 1
            continue
        for res, values in demand.items():
            limit = rungs[level]["limits"][res]
            assert limit is None or values[0, t] <= limit * usable + 1e-9
        cheaper_fit = [
            r
            for r in rungs
            if r["price"] < rungs[level]["price"]
            and all(
                r["limits"][res] is None or demand[res][0, t] <= r["limits"][res] * usable
                for res in demand
            )
        ]
        assert not cheaper_fit


# -- tiers -------------------------------------------------------------------------------


def test_tier_trigger_at_70_percent_boundaries() -> None:
    sized = size_tiers(tiers(), row(0, 700, 701, 7000, 7001, 70_000, 70_001))
    assert names(sized) == ["t1k", "t1k", "t10k", "t10k", "t100k", "t100k", "t100k"]
    np.testing.assert_array_equal(sized.exceeded, [[False] * 6 + [True]])
    np.testing.assert_allclose(sized.utilization[0, :3], [0, 0.7, 0.0701])


def test_tier_gives_its_allocations_and_price() -> None:
    sized = size_tiers(tiers(), row(500, 5000))
    np.testing.assert_array_equal(sized.instances, [[2, 6]])
    np.testing.assert_array_equal(sized.vcpu, [[0, 8]])
    np.testing.assert_array_equal(sized.extra["be.instances"], [[2, 6]])
    np.testing.assert_array_equal(sized.level_price, [[500, 3500]])
    np.testing.assert_array_equal(sized.extra["capacity"], [[1000, 10_000]])


def test_tier_trigger_can_be_changed() -> None:
    sized = size_tiers(tiers(trigger=0.9), row(900, 901))
    assert names(sized) == ["t1k", "t10k"]


def test_tier_exceeded_keeps_the_largest_tier() -> None:
    sized = size_tiers(tiers(), row(1e6))
    assert names(sized) == ["t100k"]
    assert sized.exceeded[0, 0]
    assert sized.level_price[0, 0] == 25_000
    assert sized.utilization[0, 0] == pytest.approx(10)


def test_tier_interpolation_moves_allocations_and_price_between_tiers() -> None:
    sized = size_tiers(tiers(interpolate=True), row(700, 701, 3850, 7000))
    frac = np.array([0, 1, 3150, 6300]) / 6300  # share of the way from 700 to 7,000
    frac[0] = 1.0  # still in the first tier: its own figures
    np.testing.assert_allclose(
        sized.level_price[0], [500, 500 + frac[1] * 3000, 500 + frac[2] * 3000, 3500]
    )
    np.testing.assert_array_equal(sized.instances[0], [2, 3, 4, 6])  # counts rounded up
    np.testing.assert_allclose(sized.vcpu[0], [0, frac[1] * 8, 4, 8])


def test_tier_capacities_must_ascend() -> None:
    with pytest.raises(ValueError, match="ascending capacity"):
        TierComponent.model_validate(
            {
                "kind": "tiers",
                "demand": "d",
                "tiers": [{"name": "a", "capacity": 10}, {"name": "b", "capacity": 5}],
            }
        )


@settings(max_examples=200, deadline=None)
@given(demands=st.lists(st.floats(0, 2e5), min_size=2, max_size=30))
def test_tier_level_is_monotone_and_within_trigger(demands: list[float]) -> None:
    comp = tiers()
    demand = np.sort(np.array([demands]), axis=1)
    sized = size_tiers(comp, demand)
    assert np.all(np.diff(sized.level[0]) >= 0)
    caps = np.array([t.capacity for t in comp.tiers])[sized.level[0]]
    ok = demand[0] <= caps * comp.trigger * (1 + 1e-9)
    np.testing.assert_array_equal(ok, ~sized.exceeded[0])


# -- formula -----------------------------------------------------------------------------


def test_formula_standard_resources_extras_and_utilization() -> None:
    sized = size_formula(
        {"instances": row(2, 3), "memory_gb": row(6, 6), "connections": row(100, 300)},
        {"connections": row(200, 200)},
        (1, 2),
    )
    np.testing.assert_array_equal(sized.instances, [[2, 3]])
    np.testing.assert_array_equal(sized.memory_gb, [[6, 6]])
    np.testing.assert_array_equal(sized.vcpu, [[0, 0]])
    np.testing.assert_array_equal(sized.extra["connections"], [[100, 300]])
    np.testing.assert_allclose(sized.extra["connections_utilization"], [[0.5, 1.5]])
    np.testing.assert_allclose(sized.utilization, [[0.5, 1.5]])
    np.testing.assert_array_equal(sized.exceeded, [[False, True]])


def test_formula_utilization_is_the_largest_of_its_resources() -> None:
    sized = size_formula(
        {"vcpu": row(2), "memory_gb": row(9)},
        {"vcpu": row(4), "memory_gb": row(10)},
        (1, 1),
    )
    assert sized.utilization[0, 0] == pytest.approx(0.9)


def test_formula_broadcasts_constants_to_the_shape() -> None:
    sized = size_formula({"vcpu": np.asarray(4.0)}, {}, (2, 3))
    assert sized.vcpu.shape == (2, 3)
    assert np.all(sized.vcpu == 4)
    assert not sized.exceeded.any()


def test_runbook_db_formulas_for_2000_agents() -> None:
    agents = row(2000)
    sized = size_formula(
        {
            "storage_gb": agents * 0.001 * 1.5,
            "memory_gb": np.maximum(4, agents * 0.002) * 1.5,
            "connections": np.maximum(20, agents * 0.1) * 1.5,
        },
        {},
        (1, 1),
    )
    assert sized.storage_gb[0, 0] == pytest.approx(3.0)
    assert sized.memory_gb[0, 0] == pytest.approx(6.0)
    assert sized.extra["connections"][0, 0] == pytest.approx(300)


def test_ceil_count_ignores_float_dust_only() -> None:
    np.testing.assert_array_equal(
        ceil_count(np.array([6.000000000001, 6.01, 0.0, 5.5])), [6, 7, 0, 6]
    )
