"""Tests of run_plan on small in-memory plans: events and their action dates,
alerts, evaluation errors, steps, options, Monte Carlo and JSON output."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capplan import EvaluationError, Event, Plan, Projection, UsageError, run_plan, run_scenarios
from capplan.plan.loader import load_plan, validate_plan_data


def make_plan(**fields: Any) -> Plan:
    data: dict[str, Any] = {
        "system": "demo",
        "start": "2026-01",
        "horizon": 6,
        "drivers": {"users": {"initial": 500, "growth": {"model": "compound", "rate": 0.5}}},
    }
    data.update(fields)
    return validate_plan_data(data, "mem.yaml", {})


def of_kind(projection: Projection, kind: str) -> list[Event]:
    return [e for e in projection.events if e.kind == kind]


TIERS = {
    "platform": {
        "kind": "tiers",
        "demand": "users",
        "lead_time": "2d",
        "tiers": [
            {"name": "small", "capacity": 1000, "price": 100},
            {"name": "mid", "capacity": 3000, "price": 300, "lead_time": "4h"},
            {"name": "big", "capacity": 5000, "price": 900},
        ],
    }
}
# users: 500, 750, 1125, 1687.5, 2531.25, 3796.9, 5695.3 → small, mid ×3, big, big (exceeded)


# -- tier and rung changes ---------------------------------------------------------------


def test_tier_change_act_by_uses_the_tier_lead_time() -> None:
    projection = run_plan(make_plan(components=TIERS))
    assert projection.levels["platform"] == ["small", "mid", "mid", "mid", "big", "big", "big"]
    first = of_kind(projection, "tier_change")[0]
    assert (first.period, first.date) == (1, dt.date(2026, 2, 1))
    assert first.detail["from"] == "small"
    assert first.detail["to"] == "mid"
    assert first.detail["lead_time"] == "4h"  # the tier's own, not the component's 2d
    assert first.act_by == dt.date(2026, 1, 31)
    assert "platform moves up from tier small to mid in 2026-02 (period 1)" in first.message
    assert "demand 750 is above 70% of small's 1,000" in first.message


def test_tier_change_without_own_lead_time_uses_the_component_lead_time() -> None:
    second = of_kind(run_plan(make_plan(components=TIERS)), "tier_change")[1]
    assert (second.period, second.detail["to"]) == (4, "big")
    assert second.detail["lead_time"] == "2d"
    assert second.act_by == dt.date(2026, 5, 1) - dt.timedelta(days=2)


def test_tier_change_is_recommended_with_its_start_date() -> None:
    recs = run_plan(make_plan(components=TIERS)).recommendations
    assert any(
        "Move platform from small to mid" in r and "start by 2026-01-31 (4h lead time)" in r
        for r in recs
    )


def test_long_lead_time_makes_an_overdue_action() -> None:
    comps = json.loads(json.dumps(TIERS))
    comps["platform"]["tiers"][1]["lead_time"] = "5w"
    projection = run_plan(make_plan(components=comps))
    first = of_kind(projection, "tier_change")[0]
    assert first.act_by == dt.date(2026, 2, 1) - dt.timedelta(weeks=5)
    assert first.overdue
    assert first.to_dict()["overdue"] is True
    assert any("that date has passed: start now" in r for r in projection.recommendations)


def test_exceeding_the_largest_tier_is_a_critical_event_and_an_alert() -> None:
    projection = run_plan(make_plan(components=TIERS))
    [event] = of_kind(projection, "capacity_exceeded")
    assert event.severity == "critical"
    assert event.period == 5
    assert "platform exceeds largest tier big in 2026-06 (period 5)" in event.message
    assert "demand 3,797 is above 70% of 5,000" in event.message
    assert event.act_by == dt.date(2026, 6, 1) - dt.timedelta(days=2)
    assert event in projection.alerts
    assert any(
        r.startswith("Capacity: platform exceeds largest tier") for r in projection.recommendations
    )


def test_over_capacity_is_flagged_in_every_view_of_a_projection() -> None:
    from capplan.report import PROJECTION_FORMATS, SCENARIO_FORMATS, scenario_summary

    projection = run_plan(make_plan(components=TIERS))
    assert projection.over_capacity["platform"] == [False] * 5 + [True] * 2
    assert projection.over_capacity_components == {"platform": 5}
    rows = projection.rows()
    assert [r["platform.over_capacity"] for r in rows] == projection.over_capacity["platform"]
    assert projection.to_dict()["over_capacity"] == {
        "platform": {"from_period": 5, "from": "2026-06-01"}
    }
    markdown = PROJECTION_FORMATS.get("markdown")(projection, None)
    assert "| big (over) |" in markdown
    assert "| big |" in markdown  # period 4 fits
    assert "(over): over capacity from platform 2026-06" in markdown
    [row] = [r for r in scenario_summary({"base": projection}) if r["figure"].startswith("over")]
    assert row == {"figure": "over capacity from", "base": "platform 2026-06"}
    assert "platform 2026-06" in SCENARIO_FORMATS.get("csv")({"base": projection})


def test_a_component_within_capacity_has_no_flag_column() -> None:
    projection = run_plan(make_plan(components=TIERS, horizon=3))
    assert projection.over_capacity_components == {}
    assert not any(k.endswith("over_capacity") for k in projection.rows()[0])
    assert projection.to_dict()["over_capacity"] == {}


def test_demand_beyond_every_tier_does_not_crash_the_run() -> None:
    plan = make_plan(
        drivers={"users": {"initial": 1e9}},
        components={
            "platform": {
                "kind": "tiers",
                "demand": "users",
                "tiers": [{"name": "t", "capacity": 10}],
            }
        },
    )
    projection = run_plan(plan)
    [event] = of_kind(projection, "capacity_exceeded")
    assert event.period == 0
    assert projection.levels["platform"] == ["t"] * 7


RUNGS = {
    "db": {
        "kind": "vertical",
        "lead_time": "1w",
        "headroom": 0.25,
        "demand": {"storage": "users * 0.004"},
        "rungs": [
            {"name": "free", "limits": {"storage": 4}, "price": 0},
            {"name": "pro", "limits": {"storage": 16}, "price": 25, "lead_time": "3d"},
            {"name": "team", "limits": {"storage": None}, "price": 599},
        ],
    }
}
# storage GB: 2, 3, 4.5, 6.75, 10.1, 15.2, 22.8 → free, free, pro ×3, team ×2


def test_rung_change_events_with_rung_and_component_lead_times() -> None:
    projection = run_plan(make_plan(components=RUNGS))
    assert projection.levels["db"] == ["free", "free", "pro", "pro", "pro", "team", "team"]
    up_pro, up_team = of_kind(projection, "rung_change")
    assert (up_pro.period, up_pro.detail["to"], up_pro.detail["lead_time"]) == (2, "pro", "3d")
    assert up_pro.act_by == dt.date(2026, 3, 1) - dt.timedelta(days=3)
    assert "storage 4.5 is above 75% of free's 4" in up_pro.message
    assert (up_team.period, up_team.detail["lead_time"]) == (5, "1w")
    assert up_team.act_by == dt.date(2026, 6, 1) - dt.timedelta(weeks=1)
    assert not of_kind(projection, "capacity_exceeded")


def test_exceeding_the_largest_rung_is_a_critical_event_and_an_alert() -> None:
    components = json.loads(json.dumps(RUNGS))
    components["db"]["rungs"][2]["limits"]["storage"] = 20  # no unlimited rung any more
    projection = run_plan(make_plan(components=components))
    [event] = of_kind(projection, "capacity_exceeded")
    assert (event.period, event.severity) == (5, "critical")  # 15.2 GB > 75% of 20 GB
    assert "db exceeds largest rung team in 2026-06 (period 5)" in event.message
    assert event in projection.alerts
    assert projection.levels["db"][-1] == "team"


def test_moving_down_has_no_action_date() -> None:
    plan = make_plan(
        drivers={"users": {"initial": 3000, "growth": {"model": "linear", "per_month": -500}}},
        components=RUNGS,
    )
    downs = of_kind(run_plan(plan), "rung_change")
    assert downs
    assert all(e.detail["direction"] == "down" and e.act_by is None for e in downs)
    assert "can move down" in downs[0].message


def test_instance_changes_are_scale_events_with_act_by() -> None:
    plan = make_plan(
        components={
            "api": {
                "kind": "horizontal",
                "demand": "users / 100",
                "capacity_per_instance": 5,
                "lead_time": "2w",
            }
        }
    )
    projection = run_plan(plan)
    np.testing.assert_array_equal(projection.values["api.instances"], [1, 2, 3, 4, 6, 8, 12])
    scale = of_kind(projection, "scale")
    assert [e.period for e in scale] == [1, 2, 3, 4, 5, 6]
    assert scale[0].act_by == dt.date(2026, 2, 1) - dt.timedelta(weeks=2)
    assert scale[0].detail == {**scale[0].detail, "from": 1.0, "to": 2.0, "direction": "up"}
    assert any(
        r.startswith("Scale api from 1 to 2 instances in 2026-02 (period 1), and to 12")
        for r in projection.recommendations
    )


def test_max_instances_exceeded_is_critical() -> None:
    plan = make_plan(
        components={
            "api": {
                "kind": "horizontal",
                "demand": "users / 100",
                "capacity_per_instance": 5,
                "max_instances": 4,
            }
        }
    )
    [event] = of_kind(run_plan(plan), "capacity_exceeded")
    assert (event.period, event.severity) == (4, "critical")  # 25.3 RPS needs 6 instances
    assert "exceeds max_instances 4" in event.message
    assert "needs 6 instances" in event.message


# -- thresholds and budget ---------------------------------------------------------------


def test_threshold_events_for_each_level_crossed() -> None:
    plan = make_plan(
        components=TIERS,
        thresholds={"util": {"metric": "platform.utilization", "warning": 0.6, "critical": 0.69}},
    )
    events = of_kind(run_plan(plan), "threshold")
    by_level = {e.detail["level"]: e for e in events}
    assert set(by_level) == {"warning", "critical"}
    assert by_level["warning"].severity == "warning"
    assert by_level["critical"].severity == "critical"
    assert by_level["critical"].period == 5
    assert by_level["critical"].detail["value"] == pytest.approx(3796.875 / 5000)
    assert "platform.utilization is above its critical level 0.69 in 2026-06" in (
        by_level["critical"].message
    )


def test_threshold_already_crossed_is_reported_now() -> None:
    plan = make_plan(thresholds={"users": {"metric": "users", "warning": 100}})
    [event] = of_kind(run_plan(plan, today=dt.date(2026, 1, 20)), "threshold")
    assert event.period == 0
    assert "users is above its warning level 100 now: 500" in event.message


def test_a_plan_read_after_its_start_says_now_at_todays_period_not_period_0() -> None:
    plan = make_plan(thresholds={"users": {"metric": "users", "warning": 100}})
    projection = run_plan(plan, today=dt.date(2026, 4, 3))
    tl = projection.timeline
    assert (tl.now_period, tl.when(0), tl.when(3)) == (3, "2026-01", "now")
    [event] = of_kind(projection, "threshold")
    assert "users is above its warning level 100 in 2026-01 (period 0): 500" in event.message
    assert "Act now: it was due in 2026-01 (period 0)" in " ".join(projection.recommendations)


@pytest.mark.parametrize(
    ("step", "start", "today", "period"),
    [
        ("month", "2026-01-01", "2026-01-01", 0),
        ("month", "2026-01-01", "2026-03-31", 2),
        ("month", "2026-01-15", "2026-03-14", 1),  # a month not yet complete
        ("week", "2026-01-01", "2026-01-15", 2),
        ("day", "2026-01-01", "2026-01-04", 3),
        ("month", "2026-01-01", "2025-12-31", None),  # before the plan starts
        ("month", "2026-01-01", "2030-01-01", None),  # after its horizon
    ],
)
def test_now_period_holds_today(step: str, start: str, today: str, period: int | None) -> None:
    from capplan.timeline import Timeline

    tl = Timeline(dt.date.fromisoformat(start), step, 12, dt.date.fromisoformat(today))
    assert tl.now_period == period


def test_overdue_is_against_today_not_the_plan_start() -> None:
    # the first tier change is needed 2026-02-01, act by 2026-01-31 (4h lead time)
    on_time = of_kind(
        run_plan(make_plan(components=TIERS), today=dt.date(2026, 1, 5)), "tier_change"
    )
    late = of_kind(run_plan(make_plan(components=TIERS), today=dt.date(2026, 3, 1)), "tier_change")
    assert on_time[0].act_by == late[0].act_by == dt.date(2026, 1, 31)
    assert not on_time[0].overdue
    assert late[0].overdue
    assert late[0].to_dict()["overdue"] is True
    assert "today" not in late[0].to_dict()["detail"]
    assert not late[1].overdue  # act by 2026-04-29: still ahead


def test_a_plan_without_start_starts_in_the_month_of_today() -> None:
    plan = make_plan()
    plan = plan.model_copy(update={"start": None})
    projection = run_plan(plan, today=dt.date(2027, 5, 17))
    assert projection.timeline.start == dt.date(2027, 5, 1)
    assert projection.timeline.when(0) == "now"


def test_threshold_below_direction() -> None:
    plan = make_plan(
        drivers={"users": {"initial": 500, "growth": {"model": "linear", "per_month": -50}}},
        thresholds={
            "low": {"metric": "users", "direction": "below", "warning": 400, "critical": 300}
        },
    )
    events = {e.detail["level"]: e.period for e in of_kind(run_plan(plan), "threshold")}
    assert events == {"warning": 3, "critical": 5}


def test_target_level_is_information_not_an_alert() -> None:
    plan = make_plan(thresholds={"u": {"metric": "users", "target": 600, "warning": 1e9}})
    projection = run_plan(plan)
    [event] = of_kind(projection, "threshold")
    assert (event.detail["level"], event.severity) == ("target", "info")
    assert event not in projection.alerts


def test_threshold_on_an_observed_metric_gives_no_plan_event() -> None:
    plan = make_plan(
        metrics={"cpu": {"unit": "%"}}, thresholds={"cpu": {"metric": "cpu", "warning": 1}}
    )
    assert not of_kind(run_plan(plan), "threshold")


def test_budget_kpi_and_cost_spike_events() -> None:
    plan = make_plan(
        components=TIERS,
        budget={"monthly_limit": 500, "max_cost_per_unit": 0.2, "spike_ratio": 2.5},
    )
    projection = run_plan(plan)
    [budget] = of_kind(projection, "budget")
    assert budget.period == 4
    assert "monthly cost $900 exceeds the budget of $500 in 2026-05 (period 4)" in budget.message
    [kpi] = of_kind(projection, "kpi")
    assert kpi.period == 1  # $300 / 750 users = $0.40
    assert "$0.40 is above the target of $0.20 in 2026-02 (period 1)" in kpi.message
    spikes = of_kind(projection, "cost_spike")
    assert [e.period for e in spikes] == [1, 4]  # x3 both times, above 2.5
    assert all(e.severity == "warning" and e in projection.alerts for e in [*spikes, budget, kpi])


def test_budget_warning_at_80_percent_of_the_limit() -> None:
    # costs: 100, 300, 300, 300, 900, 900, 900
    projection = run_plan(make_plan(components=TIERS, budget={"monthly_limit": 1000}))
    [warning] = of_kind(projection, "budget_warning")
    assert (warning.period, warning.severity) == (4, "info")
    assert "monthly cost $900 reaches 90% of the budget of $1,000 in 2026-05" in warning.message
    assert not of_kind(projection, "budget")
    quiet = make_plan(components=TIERS, budget={"monthly_limit": 1000, "warn_at": None})
    assert not of_kind(run_plan(quiet), "budget_warning")


def test_cost_spike_against_the_trailing_average() -> None:
    # costs: 100, 300, 300, 300, 900, 900, 900; period 5's $900 is 1.8x the average of
    # 300, 300 and 900 before it, but no jump from period 4's $900
    previous = run_plan(make_plan(components=TIERS))
    assert [e.period for e in of_kind(previous, "cost_spike")] == [1, 4]
    budget = {"spike_against": "average", "spike_window": 3}
    average = run_plan(make_plan(components=TIERS, budget=budget))
    spikes = of_kind(average, "cost_spike")
    assert [e.period for e in spikes] == [1, 4, 5]
    assert "from the 3-month average of $500 to $900 (x1.80) in 2026-06" in spikes[2].message
    assert spikes[0].detail == {"from": 100.0, "to": 300.0, "against": "average"}


def test_no_cost_spike_below_the_ratio() -> None:
    plan = make_plan(components=TIERS, budget={"spike_ratio": 3.5})
    assert not of_kind(run_plan(plan), "cost_spike")


def test_events_are_in_period_order_most_severe_first() -> None:
    plan = make_plan(
        components=TIERS,
        thresholds={"util": {"metric": "platform.utilization", "warning": 0.6, "critical": 0.69}},
    )
    events = run_plan(plan).events
    ranks = {"info": 0, "warning": 1, "critical": 2}
    keys = [(e.period, -ranks[e.severity]) for e in events]
    assert keys == sorted(keys)


# -- evaluation errors -------------------------------------------------------------------

FALLING = {"users": {"initial": 500, "growth": {"model": "linear", "per_month": -100}}}


def test_division_by_zero_names_the_metric_and_the_period() -> None:
    plan = make_plan(horizon=4, drivers=FALLING, metrics={"ratio": "1000 / (users - 300)"})
    with pytest.raises(EvaluationError) as info:
        run_plan(plan)
    [issue] = info.value.issues
    assert issue.path == "metrics.ratio"
    assert issue.file == "mem.yaml"
    assert "division by zero in '1000 / (users - 300)'" in issue.message
    assert "'users - 300' is 0 in period 2" in issue.message


def test_division_by_zero_in_a_plan_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "system: demo\nstart: 2026-01\nhorizon: 4\n"
        "drivers:\n  users:\n    initial: 500\n    growth: {model: linear, per_month: -100}\n"
        "metrics:\n  ratio: 1000 / (users - 300)\n"
    )
    with pytest.raises(EvaluationError) as info:
        run_plan(load_plan(path))
    [issue] = info.value.issues
    assert (issue.file, issue.line, issue.path) == (str(path), 9, "metrics.ratio")
    assert str(info.value).startswith(f"{path}:9 metrics.ratio division by zero")


def test_metric_going_negative_is_an_evaluation_error() -> None:
    plan = make_plan(horizon=4, drivers=FALLING, metrics={"spare": "users - 300"})
    with pytest.raises(EvaluationError) as info:
        run_plan(plan)
    [issue] = info.value.issues
    assert issue.path == "metrics.spare"
    assert "metric 'spare' is -100 in period 3" in issue.message
    assert "expected a finite value >= 0" in issue.message


def test_metric_allowed_to_go_negative() -> None:
    metrics = {"spare": {"expr": "users - 300", "allow_negative": True}}
    plan = make_plan(horizon=4, drivers=FALLING, metrics=metrics)
    np.testing.assert_allclose(run_plan(plan).values["spare"], [200, 100, 0, -100, -200])


def test_nan_from_a_function_is_an_evaluation_error() -> None:
    plan = make_plan(horizon=4, drivers=FALLING, metrics={"r": "sqrt(users - 300)"})
    with pytest.raises(EvaluationError, match="undefined in period 3") as info:
        run_plan(plan)
    assert info.value.issues[0].path == "metrics.r"


def test_negative_component_demand_names_the_component_field() -> None:
    comps = {"api": {"kind": "horizontal", "demand": "users - 300", "capacity_per_instance": 10}}
    plan = make_plan(horizon=4, drivers=FALLING, components=comps)
    with pytest.raises(EvaluationError) as info:
        run_plan(plan)
    assert info.value.issues[0].path == "components.api.demand"
    assert "is -100 in period 3" in info.value.issues[0].message


def test_driver_falling_below_zero_within_the_horizon() -> None:
    with pytest.raises(EvaluationError) as info:
        run_plan(make_plan(horizon=6, drivers=FALLING))
    assert info.value.issues[0].path == "drivers.users.growth"
    assert "period 6" in info.value.issues[0].message


# -- steps and options -------------------------------------------------------------------


def test_weekly_step() -> None:
    plan = make_plan(start="2026-01-05", step="week", horizon=8)
    projection = run_plan(plan)
    assert projection.timeline.dates()[:3] == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 12),
        dt.date(2026, 1, 19),
    ]
    users = projection.values["users"]
    assert (users[1] / users[0]) ** (52.1775 / 12) == pytest.approx(1.5)
    assert run_plan(plan, months=12).timeline.periods == 52
    assert projection.to_dict()["rows"][1]["date"] == "2026-01-12"


def test_daily_step() -> None:
    plan = make_plan(start="2026-01-05", step="day", horizon=30)
    projection = run_plan(plan)
    assert projection.timeline.date(30) == dt.date(2026, 2, 4)
    users = projection.values["users"]
    assert (users[1] / users[0]) ** (365.2425 / 12) == pytest.approx(1.5)
    assert run_plan(plan, months=2).timeline.periods == 61


def test_daily_events_are_dated_by_day() -> None:
    plan = make_plan(start="2026-01-05", step="day", horizon=30, components=TIERS)
    first = of_kind(run_plan(plan), "tier_change")[0]
    assert first.date == dt.date(2026, 1, 5) + dt.timedelta(days=first.period)
    assert first.act_by == first.date - dt.timedelta(days=1)  # 4h before midnight


def test_months_option_sets_the_number_of_periods() -> None:
    projection = run_plan(make_plan(), months=3)
    assert projection.timeline.periods == 3
    assert len(projection.values["users"]) == 4
    assert len(projection.rows()) == 4


@pytest.mark.parametrize(
    ("step", "months", "message"),
    [
        ("month", 0, "--months must be at least 1, got 0"),
        ("month", -5, "--months must be at least 1"),
        ("month", 121, "--months must be at most 120 for a plan in months, got 121"),
        ("week", 200, "--months must be at most 120 for a plan in weeks"),
        ("day", 61, "--months must be at most 60 for a plan in days, got 61"),
    ],
)
def test_months_out_of_bounds_is_a_usage_error(step: str, months: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        run_plan(make_plan(step=step), months=months)


def test_months_at_the_limit_is_accepted() -> None:
    assert (
        run_plan(make_plan(drivers={"users": {"initial": 1}}), months=120).timeline.periods == 120
    )


def test_unknown_scenario_lists_the_scenarios() -> None:
    plan = make_plan(scenarios={"low": "a", "high": "b"})
    with pytest.raises(UsageError) as info:
        run_plan(plan, scenario="hig")
    assert str(info.value) == "unknown scenario 'hig' (did you mean 'high'?); available: low, high"


def test_plan_without_scenarios_runs_as_base() -> None:
    with pytest.raises(UsageError, match="available: base"):
        run_plan(make_plan(), scenario="fast")
    assert run_plan(make_plan(), scenario="base").scenario == "base"


def test_default_scenario_then_middle_one() -> None:
    scenarios = {"low": "a", "mid": "b", "high": "c"}
    assert run_plan(make_plan(scenarios=scenarios)).scenario == "mid"
    chosen = make_plan(scenarios=scenarios, default_scenario="high")
    assert run_plan(chosen).scenario == "high"


def test_run_scenarios_runs_every_scenario_in_order() -> None:
    plan = make_plan(
        scenarios={"low": "a", "high": "b"},
        drivers={
            "users": {
                "initial": 100,
                "growth": {"model": "compound", "rate": 0.1},
                "scenarios": {"high": {"growth": {"rate": 0.2}}},
            }
        },
    )
    projections = run_scenarios(plan, months=1)
    assert list(projections) == ["low", "high"]
    assert projections["low"].values["users"][1] == pytest.approx(110)
    assert projections["high"].values["users"][1] == pytest.approx(120)


def test_negative_simulations_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--simulations must be >= 0, got -1"):
        run_plan(make_plan(), simulations=-1)


# -- Monte Carlo -------------------------------------------------------------------------

UNCERTAIN = {
    "users": {
        "initial": 1000,
        "growth": {
            "model": "compound",
            "rate": 0.2,
            "uncertainty": {"dist": "uniform", "low": 0.05, "high": 0.35},
        },
    }
}


def uncertain_plan() -> Plan:
    components = json.loads(json.dumps(RUNGS))
    components["db"]["demand"]["storage"] = "users * 0.002"  # 2 GB today: the free rung
    return make_plan(
        horizon=12,
        drivers=UNCERTAIN,
        components=components,
        thresholds={"db": {"metric": "db.storage_utilization", "warning": 0.5, "critical": 0.7}},
    )


def test_monte_carlo_quantiles_are_ordered() -> None:
    projection = run_plan(uncertain_plan(), simulations=500, seed=7)
    assert projection.simulations == 500
    for name, q in projection.quantiles.items():
        assert q.shape == (3, 13), name
        finite = np.isfinite(q).all(axis=0)
        assert np.all(q[0, finite] <= q[1, finite]), name
        assert np.all(q[1, finite] <= q[2, finite]), name
    users = projection.quantiles["users"]
    assert users[0, -1] < users[1, -1] < users[2, -1]
    np.testing.assert_allclose(users[:, 0], 1000)


def test_monte_carlo_quantiles_match_the_rate_distribution() -> None:
    projection = run_plan(uncertain_plan(), simulations=4000, seed=1)
    p10, p50, p90 = projection.quantiles["users"][:, 1]
    # Month 1 is 1000 × (1 + rate) with rate uniform on [0.05, 0.35].
    assert p10 == pytest.approx(1080, abs=3)
    assert p50 == pytest.approx(1200, abs=3)
    assert p90 == pytest.approx(1320, abs=3)


def test_monte_carlo_is_reproducible_with_the_same_seed() -> None:
    first = run_plan(uncertain_plan(), simulations=300, seed=42)
    second = run_plan(uncertain_plan(), simulations=300, seed=42)
    other = run_plan(uncertain_plan(), simulations=300, seed=43)
    np.testing.assert_array_equal(first.quantiles["users"], second.quantiles["users"])
    assert [p.to_dict() for p in first.probabilities] == [p.to_dict() for p in second.probabilities]
    assert not np.array_equal(first.quantiles["users"], other.quantiles["users"])


def test_monte_carlo_without_seed_uses_the_plan_seed() -> None:
    plan = make_plan(horizon=12, drivers=UNCERTAIN, simulation={"seed": 5})
    np.testing.assert_array_equal(
        run_plan(plan, simulations=100).quantiles["users"],
        run_plan(plan, simulations=100, seed=5).quantiles["users"],
    )


def test_event_probabilities_are_monotone_and_within_zero_and_one() -> None:
    projection = run_plan(uncertain_plan(), simulations=500, seed=7)
    keys = {p.key for p in projection.probabilities}
    assert {"db.level>=pro", "db.level>=team", "db.warning", "db.critical"} <= keys
    for prob in projection.probabilities:
        by = np.array(prob.by_period)
        assert len(by) == 13
        assert np.all((by >= 0) & (by <= 1)), prob.key
        assert np.all(np.diff(by) >= 0), prob.key
    by_key = {p.key: p.by_period for p in projection.probabilities}
    assert 0 < by_key["db.level>=team"][-1] < 1  # some paths grow enough, some do not
    assert all(
        a >= b for a, b in zip(by_key["db.level>=pro"], by_key["db.level>=team"], strict=True)
    )


def test_probability_of_a_certain_event_is_one() -> None:
    projection = run_plan(make_plan(components=TIERS), simulations=50, seed=0)
    by_key = {p.key: p.by_period for p in projection.probabilities}
    assert by_key["platform.level>=mid"] == [0, 1, 1, 1, 1, 1, 1]
    assert by_key["platform.exceeded"] == [0, 0, 0, 0, 0, 1, 1]


def test_one_simulation_is_not_a_monte_carlo_run() -> None:
    projection = run_plan(uncertain_plan(), simulations=1)
    assert projection.simulations == 0
    assert not projection.quantiles
    assert "quantiles" not in projection.to_dict()


# -- output ------------------------------------------------------------------------------


def assert_no_nan(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for item in value.values():
            assert_no_nan(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_nan(item)


def test_to_dict_is_json_serializable_without_nan() -> None:
    plan = make_plan(
        drivers={"users": {"initial": 0}},  # cost per user is undefined: NaN internally
        components=TIERS,
        budget={"max_cost_per_unit": 1},
    )
    projection = run_plan(plan)
    assert np.isnan(projection.values["total.cost_per_unit"]).all()
    out = projection.to_dict()
    json.dumps(out, allow_nan=False)
    assert_no_nan(out)
    assert out["rows"][0]["total.cost_per_unit"] is None


def test_to_dict_with_monte_carlo_is_json_serializable() -> None:
    projection = run_plan(uncertain_plan(), simulations=200, seed=3)
    out = projection.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert_no_nan(json.loads(text))
    assert out["simulations"] == 200
    assert len(out["quantiles"]) == 13
    assert {"users_p10", "users_p50", "users_p90"} <= set(out["quantiles"][1])
    assert out["event_probabilities"]
    assert all(e["date"] and "overdue" in e for e in out["events"])
    assert out["rows"][0]["db.level"] == "free"


def test_rows_hold_every_column_per_period() -> None:
    projection = run_plan(make_plan(components=TIERS))
    rows = projection.rows()
    assert [r["period"] for r in rows] == list(range(7))
    assert rows[1]["platform.level"] == "mid"
    assert rows[1]["platform.cost"] == 300
    assert rows[4]["total.cumulative_cost"] == 300 * 3 + 900
    assert projection.total_cost == 300 * 3 + 900 * 3


def test_threshold_on_a_component_output_is_due_a_lead_time_early() -> None:
    from importlib import resources

    import capplan
    from capplan.plan.loader import parse_plan_text, validate_plan_data

    text = resources.files("capplan").joinpath("templates/plan.yaml").read_text()
    data, lines = parse_plan_text(text, "plan.yaml")
    plan = validate_plan_data(data, "plan.yaml", lines)
    projection = capplan.run_plan(plan)
    (warning,) = [
        e for e in projection.events if e.kind == "threshold" and e.detail["level"] == "warning"
    ]
    assert warning.component == "db"
    assert warning.act_by == warning.date - dt.timedelta(days=7)  # db lead_time: 1w


def test_monte_carlo_without_uncertainty_says_why_its_quantiles_are_equal() -> None:
    certain = make_plan()
    p = run_plan(certain, simulations=50)
    assert len(p.notes) == 1
    assert "no driver of scenario 'base' has an uncertain growth rate" in p.notes[0].lower()
    assert p.to_dict()["notes"] == p.notes
    np.testing.assert_array_equal(p.quantiles["users"][0], p.quantiles["users"][2])
    uncertain = make_plan(
        drivers={
            "users": {
                "initial": 500,
                "growth": {
                    "model": "compound",
                    "rate": 0.5,
                    "uncertainty": {"dist": "normal", "sd": 0.1},
                },
            }
        }
    )
    assert run_plan(uncertain, simulations=50).notes == []
    assert run_plan(certain).notes == []  # no Monte Carlo, nothing to say
    assert "notes" not in run_plan(certain).to_dict()
