"""Rates that change over time: ``rate: [{until: 6, value: 0.25}, {value: 0.20}]``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from capplan import PlanValidationError, run_plan
from capplan.plan.loader import validate_plan_data

SCHEDULE = [{"until": 6, "value": 0.25}, {"value": 0.20}]


def make_plan(growth: dict[str, Any], **driver: Any) -> Any:
    return validate_plan_data(
        {
            "system": "demo",
            "start": "2026-01",
            "horizon": 12,
            "drivers": {"users": {"initial": 10000, "growth": growth, **driver}},
        },
        "mem.yaml",
        {},
    )


def test_compound_schedule_is_25_percent_to_month_6_then_20() -> None:
    # the THE_BOT document's moderate table: 12,500 in month 1, 38,147 in month 6, 113,896
    # (printed rounded) in month 12
    users = run_plan(make_plan({"model": "compound", "rate": SCHEDULE})).values["users"]
    assert users[1] == pytest.approx(12_500)
    assert users[6] == pytest.approx(10_000 * 1.25**6)
    assert users[12] == pytest.approx(10_000 * 1.25**6 * 1.2**6)
    assert round(users[12]) == 113_906


def test_until_may_be_a_date_and_linear_takes_a_schedule() -> None:
    growth = {"model": "linear", "per_month": [{"until": "2026-03", "value": 100}, {"value": 0}]}
    users = run_plan(make_plan(growth)).values["users"]
    assert users.tolist()[:5] == [10000, 10100, 10200, 10200, 10200]


def test_a_scenario_overrides_the_schedule() -> None:
    plan = validate_plan_data(
        {
            "system": "demo",
            "start": "2026-01",
            "horizon": 12,
            "scenarios": {"base": "", "fast": ""},
            "default_scenario": "base",
            "drivers": {
                "users": {
                    "initial": 100,
                    "growth": {"model": "compound", "rate": 0.1},
                    "scenarios": {"fast": {"growth": {"rate": SCHEDULE}}},
                }
            },
        },
        "mem.yaml",
        {},
    )
    fast = run_plan(plan, "fast").values["users"]
    assert fast[12] == pytest.approx(100 * 1.25**6 * 1.2**6)
    assert run_plan(plan, "base").values["users"][12] == pytest.approx(100 * 1.1**12)


def test_uncertainty_shifts_the_whole_schedule_and_both_engines_agree() -> None:
    growth = {"model": "compound", "rate": SCHEDULE, "uncertainty": {"dist": "normal", "sd": 0.02}}
    plan = make_plan(growth)
    fast = run_plan(plan, simulations=400, seed=5)
    reference = run_plan(plan, simulations=400, seed=5, engine="reference")
    np.testing.assert_allclose(fast.quantiles["users"], reference.quantiles["users"], rtol=1e-12)
    p50 = fast.quantiles["users"][1]
    assert p50[12] == pytest.approx(10_000 * 1.25**6 * 1.2**6, rel=0.05)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ([{"until": 6, "value": 0.25}], "the last piece of a rate schedule has no 'until'"),
        ([{"value": 0.2}, {"value": 0.1}], "every piece but the last needs 'until'"),
        ([{"until": 6, "value": 0.2}, {"until": 3, "value": 0.1}, {"value": 0}], "must increase"),
        ([], "at least one piece"),
    ],
)
def test_bad_schedules_are_errors_naming_the_field(rate: Any, expected: str) -> None:
    with pytest.raises(PlanValidationError) as info:
        make_plan({"model": "compound", "rate": rate})
    assert any(
        i.path.startswith("drivers.users.growth") and expected in i.message
        for i in info.value.issues
    ), info.value.issues


def test_an_implausible_piece_is_warned_about() -> None:
    from capplan.plan.plausible import plausibility_warnings

    plan = make_plan({"model": "compound", "rate": [{"until": 3, "value": 0.1}, {"value": 8}]})
    [warning] = plausibility_warnings(plan)
    assert warning.path == "drivers.users.growth.rate"
    assert "800% growth a month" in warning.message
