"""Scheduled provisioning: today's amount plus additions at given periods, held against what
the plan needs; a shortfall is a warning naming the addition to bring forward."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capplan import Plan, PlanValidationError, run_plan
from capplan.cli import app
from capplan.plan.loader import load_plan, validate_plan_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def make_plan(provisioned: Any, horizon: int = 12) -> Plan:
    return validate_plan_data(
        {
            "system": "demo",
            "start": "2026-01",
            "horizon": horizon,
            # +15% a month, the APM cost template's compute growth
            "drivers": {"load": {"initial": 3, "growth": {"model": "compound", "rate": 0.15}}},
            "components": {
                "nodes": {
                    "kind": "horizontal",
                    "demand": "load",
                    "capacity_per_instance": 1,
                    "lead_time": "2w",
                    "provisioned": provisioned,
                },
            },
        },
        "mem.yaml",
        {},
    )


def test_schedule_in_place_and_shortfall_follow_the_additions() -> None:
    plan = make_plan({"instances": 3, "add": [{"at": [3, 6, 9], "instances": 2}]})
    p = run_plan(plan, today=dt.date(2026, 1, 1))
    need = [float(x) for x in p.values["nodes.instances"]]
    expected_need = [max(1, -(-round(3 * 1.15**t, 9) // 1)) for t in range(13)]
    assert need == expected_need
    in_place = [3 + 2 * sum(t >= m for m in (3, 6, 9)) for t in range(13)]
    assert list(p.values["nodes.provisioned_instances"]) == in_place
    shortfall = [max(n - h, 0) for n, h in zip(expected_need, in_place, strict=True)]
    assert list(p.values["nodes.instances_shortfall"]) == shortfall
    first = next(t for t, s in enumerate(shortfall) if s > 0)
    [event] = [e for e in p.events if e.kind == "schedule_short"]
    assert (event.period, event.severity, event.component) == (first, "warning", "nodes")
    assert f"needs {expected_need[first]:g} instances" in event.message
    assert f"schedule has {in_place[first]} in place" in event.message
    # the lead time moves the action date two weeks before the period
    assert event.act_by == p.timeline.date(first) - dt.timedelta(weeks=2)
    landed = [e.period for e in p.events if e.kind == "addition"]
    assert landed == [3, 6, 9]


def test_a_schedule_ahead_of_the_need_has_no_warning_and_dates_land_in_their_period() -> None:
    plan = make_plan({"instances": 4, "add": [{"at": ["2026-03-15", 7], "instances": 4}]}, 9)
    p = run_plan(plan)  # 3 × 1.15^9 = 10.6: 11 nodes needed at most
    in_place = list(p.values["nodes.provisioned_instances"])
    # a date inside March lands in April (period 3), when it is in place for the whole period
    assert in_place[:4] == [4, 4, 4, 8]
    assert in_place[7] == 12
    assert not [e for e in p.events if e.kind == "schedule_short"]


def test_addition_beyond_the_horizon_is_ignored() -> None:
    p = run_plan(make_plan({"instances": 10, "add": [{"at": 40, "instances": 5}]}, horizon=6))
    assert set(p.values["nodes.provisioned_instances"]) == {10}
    assert not [e for e in p.events if e.kind == "addition"]


@pytest.mark.parametrize(
    ("provisioned", "message"),
    [
        ({"add": [{"at": 3, "instances": 2}]}, "give what is in place today"),
        ({"instances": 3, "add": [{"at": 3, "storage_gb": 2}]}, "adds storage_gb"),
        ({"instances": 3, "add": [{"at": 3}]}, "needs an amount"),
        ({"instances": 3, "add": [{"at": -1, "instances": 1}]}, "period number >= 0"),
        ({"instances": 3, "add": [{"at": "sometime", "instances": 1}]}, "period number or a date"),
    ],
)
def test_bad_schedules_are_plan_errors(provisioned: Any, message: str) -> None:
    with pytest.raises(PlanValidationError, match="provisioned") as info:
        run_plan(make_plan(provisioned))
    assert message in str(info.value)


def test_apm_cost_template_schedule_is_a_month_late(tmp_path: Path) -> None:
    """The APM runbook's cost template adds 2 nodes in months 3, 6 and 9, but its own scripts
    need a 4th node in month 2: the plan says so, in the table, the note and the events."""
    p = run_plan(load_plan(EXAMPLES / "apm.yaml"), today=dt.date(2026, 1, 5))
    assert (
        list(p.values["compute.provisioned_instances"]) == [3, 3, 3] + [5] * 3 + [7] * 3 + [9] * 4
    )
    [short] = [e for e in p.events if e.kind == "schedule_short" and e.component == "compute"]
    assert short.period == 2
    assert "bring the period-3 addition forward or add 1 more" in short.message
    result = CliRunner().invoke(
        app, ["plan", str(EXAMPLES / "apm.yaml"), "--today", "2026-01-05", "-f", "markdown"]
    )
    assert result.exit_code == 0, result.output
    assert "3 (short)" in result.output
    assert "(short): the provisioning schedule falls behind the need from compute 2026-03" in (
        result.output
    )
    csv = CliRunner().invoke(app, ["plan", str(EXAMPLES / "apm.yaml"), "-f", "csv"])
    header = csv.output.splitlines()[0].split(",")
    assert {"compute.provisioned_instances", "compute.instances_shortfall"} <= set(header)
