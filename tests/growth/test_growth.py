"""Tests for capplan.growth: every growth model for monthly, weekly and daily steps, one-off
steps, scenarios and the sampling of uncertain rates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from capplan import load_plan, run_plan
from capplan.errors import EvaluationError
from capplan.growth import project_driver, sample_rates
from capplan.plan.compiled import DriverSpec
from capplan.plan.models import Growth, Step
from capplan.timeline import Timeline

GROWTH = TypeAdapter[Growth](Growth)
START = dt.date(2026, 1, 1)
WEEKS_PER_MONTH = 52.1775 / 12
DAYS_PER_MONTH = 365.2425 / 12
THE_BOT = Path(__file__).parents[2] / "examples" / "the_bot.yaml"


def growth(**fields: Any) -> Growth:
    return GROWTH.validate_python(fields)


def project(
    g: dict[str, Any],
    initial: float = 100.0,
    step: str = "month",
    periods: int = 12,
    steps: tuple[dict[str, Any], ...] = (),
    rate: np.ndarray | None = None,
) -> np.ndarray:
    """All paths (2-D) when ``rate`` is given, else the single deterministic path (1-D)."""
    spec = DriverSpec("users", initial, growth(**g), tuple(Step.model_validate(s) for s in steps))
    values = project_driver(spec, Timeline(START, step, periods), rate)
    return values if rate is not None else values[0]


# -- compound ----------------------------------------------------------------------------


def test_compound_with_churn_monthly() -> None:
    values = project({"model": "compound", "rate": 0.1, "churn": 0.02}, periods=3)
    np.testing.assert_allclose(values, [100, 108, 116.64, 125.9712])


def test_compound_the_bot_moderate_figures() -> None:
    values = project({"model": "compound", "rate": 0.25}, initial=10_000, periods=12)
    assert values[1] == pytest.approx(12_500)
    assert values[6] == pytest.approx(38_146.97, rel=1e-6)
    assert round(values[12]) == 145_519


def test_weekly_compound_of_ten_percent_monthly_compounds_back_to_ten_percent() -> None:
    values = project({"model": "compound", "rate": 0.1}, step="week", periods=52)
    weekly = values[1] / values[0]
    assert weekly**WEEKS_PER_MONTH == pytest.approx(1.1, rel=1e-12)
    assert values[52] == pytest.approx(100 * 1.1 ** (52 / WEEKS_PER_MONTH), rel=1e-12)
    assert np.all(np.diff(values) > 0)


def test_daily_compound_of_ten_percent_monthly_compounds_back_to_ten_percent() -> None:
    values = project({"model": "compound", "rate": 0.1}, step="day", periods=365)
    daily = values[1] / values[0]
    assert daily**DAYS_PER_MONTH == pytest.approx(1.1, rel=1e-12)
    # A year of days is a year of months within a fraction of a day.
    assert values[365] == pytest.approx(100 * 1.1**12, rel=1e-3)


def test_churn_above_rate_shrinks() -> None:
    values = project({"model": "compound", "rate": 0.02, "churn": 0.05}, periods=3)
    np.testing.assert_allclose(values, [100, 97, 94.09, 91.2673])


# -- annual ------------------------------------------------------------------------------


def test_annual_rate_is_spread_over_months() -> None:
    values = project({"model": "annual", "rate": 0.5}, periods=12)
    assert values[12] == pytest.approx(150)
    assert values[6] == pytest.approx(100 * 1.5**0.5)
    np.testing.assert_allclose(values[1:] / values[:-1], 1.5 ** (1 / 12))


@pytest.mark.parametrize(("step", "periods"), [("week", 52), ("day", 365)])
def test_annual_rate_for_weekly_and_daily_steps(step: str, periods: int) -> None:
    values = project({"model": "annual", "rate": 1.0}, step=step, periods=periods)
    per_year = {"week": 52.1775, "day": 365.2425}[step]
    assert values[-1] == pytest.approx(100 * 2 ** (periods / per_year), rel=1e-12)


# -- linear ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "periods", "per_period"),
    [("month", 3, 10.0), ("week", 4, 10 / WEEKS_PER_MONTH), ("day", 3, 10 / DAYS_PER_MONTH)],
)
def test_linear_adds_per_month_converted_to_the_step(
    step: str, periods: int, per_period: float
) -> None:
    values = project({"model": "linear", "per_month": 10}, step=step, periods=periods)
    np.testing.assert_allclose(values, 100 + per_period * np.arange(periods + 1))


def test_driver_falling_below_zero_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError) as info:
        project({"model": "linear", "per_month": -40}, periods=4)
    issue = info.value.issues[0]
    assert issue.path == "drivers.users.growth"
    assert "falls to -20 in period 3" in issue.message
    assert ">= 0" in issue.message


# -- logistic ----------------------------------------------------------------------------


def test_logistic_follows_the_s_curve_and_saturates() -> None:
    values = project({"model": "logistic", "rate": 0.5, "capacity": 1000}, periods=36)
    t = np.arange(37)
    np.testing.assert_allclose(values, 1000 / (1 + 9 * np.exp(-0.5 * t)))
    assert np.all(np.diff(values) > 0)
    assert np.all(values < 1000)
    assert values[-1] == pytest.approx(1000, rel=1e-5)


def test_logistic_from_zero_stays_zero() -> None:
    values = project({"model": "logistic", "rate": 0.5, "capacity": 1000}, initial=0, periods=3)
    np.testing.assert_array_equal(values, 0)


def test_logistic_weekly_reaches_the_monthly_value_after_a_month_of_weeks() -> None:
    g = {"model": "logistic", "rate": 0.3, "capacity": 500}
    weekly = project(g, step="week", periods=52)
    monthly = project(g, periods=12)
    assert weekly[52] == pytest.approx(
        500 / (1 + 4 * np.exp(-0.3 * 52 / WEEKS_PER_MONTH)), rel=1e-12
    )
    assert weekly[52] < monthly[12]  # 52 weeks are a little less than 12 months


# -- explicit points ---------------------------------------------------------------------


def test_points_linear_interpolation_from_the_initial_value_then_hold() -> None:
    values = project({"model": "points", "points": {3: 400, 6: 700}}, periods=8)
    np.testing.assert_allclose(values, [100, 200, 300, 400, 500, 600, 700, 700, 700])


def test_points_extrapolate_continues_the_last_slope() -> None:
    g = {"model": "points", "points": {3: 400, 6: 700}, "after": "extrapolate"}
    np.testing.assert_allclose(project(g, periods=8)[6:], [700, 800, 900])


def test_points_exponential_interpolation_is_geometric() -> None:
    g = {"model": "points", "points": {2: 400}, "interpolation": "exponential"}
    np.testing.assert_allclose(project(g, periods=3), [100, 200, 400, 400])


def test_points_exponential_needs_positive_values() -> None:
    g = {"model": "points", "points": {2: 400}, "interpolation": "exponential"}
    with pytest.raises(EvaluationError, match="> 0") as info:
        project(g, initial=0, periods=3)
    assert info.value.issues[0].path == "drivers.users.growth.points"


def test_points_step_interpolation_holds_each_value_until_the_next() -> None:
    g = {"model": "points", "points": {2: 400, 4: 800}, "interpolation": "step"}
    np.testing.assert_allclose(project(g, periods=5), [100, 100, 400, 400, 800, 800])


def test_points_given_as_dates_and_as_ints_agree() -> None:
    by_date = project(
        {"model": "points", "points": {"2026-04": 400, dt.date(2026, 7, 1): 700}}, periods=7
    )
    by_int = project({"model": "points", "points": {3: 400, 6: 700}}, periods=7)
    np.testing.assert_allclose(by_date, by_int)


def test_points_at_period_zero_replace_the_initial_value() -> None:
    values = project({"model": "points", "points": {0: 50, 2: 150}}, periods=2)
    np.testing.assert_allclose(values, [50, 100, 150])


def test_points_dates_on_a_weekly_timeline() -> None:
    values = project({"model": "points", "points": {"2026-01-29": 500}}, step="week", periods=5)
    np.testing.assert_allclose(values, [100, 200, 300, 400, 500, 500])


# -- one-off steps -----------------------------------------------------------------------


def test_step_add_is_a_constant_offset_without_growth() -> None:
    values = project({"model": "none"}, periods=3, steps=({"at": 2, "add": 50},))
    np.testing.assert_allclose(values, [100, 100, 150, 150])


def test_step_add_grows_with_a_compounding_driver() -> None:
    values = project({"model": "compound", "rate": 0.1}, periods=3, steps=({"at": 2, "add": 50},))
    np.testing.assert_allclose(values, [100, 110, 171, 188.1])


def test_step_multiply_at_a_date() -> None:
    values = project({"model": "none"}, periods=3, steps=({"at": "2026-03", "multiply": 2},))
    np.testing.assert_allclose(values, [100, 100, 200, 200])


def test_steps_combine_and_a_step_beyond_the_horizon_is_ignored() -> None:
    steps = ({"at": 1, "add": -50}, {"at": 2, "multiply": 3}, {"at": 99, "add": 1e6})
    values = project({"model": "linear", "per_month": 10}, periods=3, steps=steps)
    np.testing.assert_allclose(values, [100, 60, 210, 240])


@pytest.mark.parametrize(
    "fields",
    [{"at": 1}, {"at": 1, "add": 1, "multiply": 2}],
    ids=["neither", "both"],
)
def test_step_needs_exactly_one_change(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one of 'add' or 'multiply'"):
        Step.model_validate(fields)


# -- scenarios ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "month_1"),
    [("conservative", 11_000), ("moderate", 12_500), ("aggressive", 13_500)],
)
def test_named_scenarios_override_the_driver_rate(scenario: str, month_1: float) -> None:
    projection = run_plan(load_plan(THE_BOT), scenario, months=3)
    assert projection.values["users"][1] == pytest.approx(month_1)


def test_scenario_override_keeps_the_base_model_and_changes_only_the_rate(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: s\nstart: 2026-01\nhorizon: 2\n"
        "scenarios: {low: a, high: b}\n"
        "drivers:\n  users:\n    initial: 100\n"
        "    growth: {model: compound, rate: 0.1, churn: 0.05}\n"
        "    scenarios:\n      high: {growth: {rate: 0.25}}\n"
    )
    loaded = load_plan(plan)
    np.testing.assert_allclose(run_plan(loaded, "low").values["users"], [100, 105, 110.25])
    np.testing.assert_allclose(run_plan(loaded, "high").values["users"], [100, 120, 144])


# -- uncertainty -------------------------------------------------------------------------


def draws(uncertainty: dict[str, Any], paths: int = 40_000, periods: int = 6) -> np.ndarray:
    g = growth(model="compound", rate=0.1, uncertainty=uncertainty)
    rates = sample_rates(g, paths, periods, np.random.default_rng(12345))
    assert rates is not None
    return rates


def test_normal_uncertainty_has_the_given_mean_and_sd() -> None:
    rates = draws({"dist": "normal", "sd": 0.02})
    assert rates.shape == (40_000, 1)
    assert rates.mean() == pytest.approx(0.1, abs=0.0005)
    assert rates.std() == pytest.approx(0.02, rel=0.02)
    p10, p90 = np.quantile(rates, [0.1, 0.9])
    assert p10 == pytest.approx(0.1 - 1.2816 * 0.02, abs=0.001)
    assert p90 == pytest.approx(0.1 + 1.2816 * 0.02, abs=0.001)


def test_triangular_uncertainty_peaks_at_the_central_rate() -> None:
    rates = draws({"dist": "triangular", "low": 0.05, "high": 0.2})
    assert rates.min() >= 0.05
    assert rates.max() <= 0.2
    assert rates.mean() == pytest.approx((0.05 + 0.1 + 0.2) / 3, abs=0.001)
    # The CDF of a triangular distribution at its mode is (mode - low) / (high - low).
    assert np.mean(rates <= 0.1) == pytest.approx(1 / 3, abs=0.01)


def test_uniform_uncertainty_spans_low_to_high() -> None:
    rates = draws({"dist": "uniform", "low": 0.0, "high": 0.2})
    assert rates.min() >= 0.0
    assert rates.max() < 0.2
    np.testing.assert_allclose(np.quantile(rates, [0.1, 0.5, 0.9]), [0.02, 0.1, 0.18], atol=0.003)


def test_uncertainty_per_period_draws_a_rate_every_period() -> None:
    rates = draws({"dist": "normal", "sd": 0.02, "per": "period"}, paths=1000, periods=6)
    assert rates.shape == (1000, 6)
    assert not np.allclose(rates[:, 0], rates[:, 1])


def test_sampling_is_reproducible_with_a_seed() -> None:
    g = growth(model="compound", rate=0.1, uncertainty={"dist": "normal", "sd": 0.02})
    first = sample_rates(g, 100, 3, np.random.default_rng(7))
    second = sample_rates(g, 100, 3, np.random.default_rng(7))
    assert first is not None
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "fields",
    [
        {"model": "compound", "rate": 0.1},
        {"model": "points", "points": {3: 5}},
        {"model": "none"},
    ],
)
def test_nothing_to_sample_without_uncertainty_or_rate(fields: dict[str, Any]) -> None:
    assert sample_rates(growth(**fields), 10, 3, np.random.default_rng(0)) is None


@pytest.mark.parametrize(
    ("uncertainty", "message"),
    [
        ({"dist": "normal"}, "needs 'sd'"),
        ({"dist": "uniform", "low": 0.1}, "needs 'low' and 'high'"),
        ({"dist": "triangular", "low": 0.3, "high": 0.1}, "must not exceed 'high'"),
    ],
)
def test_incomplete_uncertainty_is_rejected(uncertainty: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        growth(model="compound", rate=0.1, uncertainty=uncertainty)


def test_sampled_rates_give_one_path_each() -> None:
    rates = np.array([[0.0], [0.1], [0.2]])
    values = project({"model": "compound", "rate": 0.1}, periods=2, rate=rates)
    np.testing.assert_allclose(values, [[100, 100, 100], [100, 110, 121], [100, 120, 144]])


def test_sampled_rates_per_period_compound_period_by_period() -> None:
    rates = np.array([[0.1, 0.2, 0.0]])
    values = project({"model": "compound", "rate": 0.1}, periods=3, rate=rates)
    np.testing.assert_allclose(values, [[100, 110, 132, 132]])


# -- properties --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(-2, 2, allow_nan=False),
    churn=st.floats(0, 1),
    initial=st.floats(0, 1e9),
    step=st.sampled_from(["month", "week", "day"]),
)
def test_compound_growth_is_never_negative(
    rate: float, churn: float, initial: float, step: str
) -> None:
    values = project(
        {"model": "compound", "rate": rate, "churn": churn}, initial, step=step, periods=30
    )
    assert np.all(np.isfinite(values))
    assert np.all(values >= 0)


@settings(max_examples=200, deadline=None)
@given(
    churn=st.floats(0, 0.5),
    margin=st.floats(1e-6, 1.0),
    initial=st.floats(0, 1e9),
    step=st.sampled_from(["month", "week", "day"]),
)
def test_compound_growth_is_monotone_when_rate_exceeds_churn(
    churn: float, margin: float, initial: float, step: str
) -> None:
    values = project(
        {"model": "compound", "rate": churn + margin, "churn": churn},
        initial,
        step=step,
        periods=30,
    )
    assert np.all(np.diff(values) >= 0)
    assert values[0] == initial
