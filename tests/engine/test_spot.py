"""Spot advice: what running the capacity above the reserved baseline (or all of it, without
a reserved discount) on spot instances would save over the horizon."""

from __future__ import annotations

from typing import Any

import pytest

from capplan import PlanError, run_plan
from capplan.plan.loader import validate_plan_data


def projection(price: dict[str, Any]) -> Any:
    plan = validate_plan_data(
        {
            "system": "demo",
            "start": "2026-01",
            "horizon": 3,
            "drivers": {"rps": {"initial": 100, "growth": {"model": "linear", "per_month": 100}}},
            "components": {
                "api": {
                    "kind": "horizontal",
                    "demand": "rps",
                    "capacity_per_instance": 100,
                    "price": {"per_instance": 10, **price},
                }
            },
        },
        "mem.yaml",
        {},
    )
    return run_plan(plan)


def advice(p: Any) -> str:
    [text] = [r for r in p.recommendations if r.startswith("Spot capacity")]
    return str(text)


def test_spot_prices_the_capacity_above_the_reserved_baseline() -> None:
    # 2, 3 and 4 instances in periods 1-3 at $10: 10 and 20 above the $20 floor, × 0.6 = 18
    p = projection({"reserved_discount": 0.2, "spot_discount": 0.6})
    assert "above its reserved baseline" in advice(p)
    assert "at a 60% discount would save $18.00 over the horizon" in advice(p)


def test_without_reservation_spot_prices_all_of_it() -> None:
    p = projection({"spot_discount": 0.5})  # (20 + 30 + 40) × 0.5 = 45
    assert "running api's capacity on spot" in advice(p)
    assert "would save $45.00 over the horizon" in advice(p)


def test_no_spot_discount_no_advice() -> None:
    p = projection({})
    assert not [r for r in p.recommendations if r.startswith("Spot capacity")]


def test_spot_discount_is_a_fraction() -> None:
    with pytest.raises(PlanError, match="spot_discount"):
        projection({"spot_discount": 1.5})
