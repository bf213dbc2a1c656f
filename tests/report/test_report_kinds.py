"""Daily summaries and quarterly reviews beside the weekly report and the monthly review (the
APM runbook's "Automated Reporting Schedule": daily, weekly, monthly, quarterly): their
periods, titles and sections, and the schedules that build them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import UsageError
from capplan.report.periodic import periodic_report
from capplan.report.periodic_text import periodic_markdown
from capplan.report.schedule import parse_schedule

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "examples" / "metrics" / "apm_history.csv"
CHECKS = ROOT / "examples" / "metrics" / "apm_checks.yaml"
NOW = np.datetime64("2026-10-13T00:00:00", "s")


def unix(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_daily_summary_covers_the_last_day() -> None:
    rep = periodic_report("daily", capplan.load_plan(CHECKS), capplan.read_file(HISTORY), now=NOW)
    assert rep.title == "Daily Capacity Summary - APM service monitoring - 2026-10-13"
    assert rep.start == NOW - np.timedelta64(86400, "s")
    assert rep.scaling_events is None
    assert rep.budget is None
    assert "## Executive Summary" not in periodic_markdown(rep)


def test_a_quarterly_review_counts_the_quarters_scaling_events() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    frame = capplan.read_file(HISTORY)
    rep = periodic_report("quarterly", plan, frame, now=NOW, checks=[capplan.load_plan(CHECKS)])
    assert rep.title == "Quarterly Capacity Review - APM - 2026-Q4"
    assert rep.start == NOW - np.timedelta64(91 * 86400, "s")
    quarter = {"2026-10", "2026-11", "2026-12"}
    expected = sum(
        1
        for e in capplan.run_plan(plan, today=dt.date(2026, 10, 13)).events
        if e.kind in ("scale", "tier", "rung", "capacity_exceeded")
        and e.date.strftime("%Y-%m") in quarter
    )
    assert expected > 0
    assert rep.scaling_events == expected
    text = periodic_markdown(rep)
    assert f"Scaling events planned in 2026-Q4: {expected}" in text
    assert "## Budget" in text
    assert "## Plan vs Actual" in text


def test_an_unknown_kind_lists_the_four() -> None:
    with pytest.raises(UsageError, match="available: daily, monthly, quarterly, weekly"):
        periodic_report("hourly", capplan.load_plan(CHECKS), capplan.read_file(HISTORY), now=NOW)


@pytest.mark.parametrize(
    ("spec", "now", "slot"),
    [
        ("daily 08:00", "2026-02-15T07:00:00Z", "2026-02-14T08:00:00Z"),
        ("daily 08:00", "2026-02-15T08:00:00Z", "2026-02-15T08:00:00Z"),
        ("quarterly 1 08:00", "2026-02-15T07:00:00Z", "2026-01-01T08:00:00Z"),
        ("quarterly 1 08:00", "2026-01-01T07:59:00Z", "2025-10-01T08:00:00Z"),
        ("quarterly 15 06:30", "2026-05-20T00:00:00Z", "2026-04-15T06:30:00Z"),
        ("quarterly 15 06:30", "2026-04-15T06:00:00Z", "2026-01-15T06:30:00Z"),
    ],
)
def test_daily_and_quarterly_slots(spec: str, now: str, slot: str) -> None:
    schedule = parse_schedule(spec)
    assert schedule.spec == spec
    assert schedule.last_slot(unix(now)) == unix(slot)


@pytest.mark.parametrize("bad", ["daily mon 08:00", "quarterly 29 08:00", "quarterly 08:00"])
def test_bad_daily_and_quarterly_schedules(bad: str) -> None:
    with pytest.raises(UsageError, match="'daily HH:MM'"):
        parse_schedule(bad)


def test_the_cli_writes_both(tmp_path: Path) -> None:
    runner = CliRunner()
    now = ["--now", "2026-10-13T00:00:00Z"]
    daily = tmp_path / "daily.md"
    result = runner.invoke(
        app, ["report", "daily", str(CHECKS), str(HISTORY), *now, "-o", str(daily)]
    )
    assert result.exit_code == 0, result.output
    assert daily.read_text(encoding="utf-8").startswith("# Daily Capacity Summary")
    quarterly = tmp_path / "quarterly.md"
    args = ["report", "quarterly", str(ROOT / "examples" / "apm.yaml"), str(HISTORY)]
    result = runner.invoke(app, [*args, "--checks", str(CHECKS), *now, "-o", str(quarterly)])
    assert result.exit_code == 0, result.output
    assert quarterly.read_text(encoding="utf-8").startswith("# Quarterly Capacity Review - APM")
