"""The weekly and monthly reports carry an "SLOs" section: each objective's error budget and
what the period's samples spent of it (the same figures as ``capplan check``)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli import app

runner = CliRunner()


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: Shop\ndrivers: {users: {initial: 1}}\n"
        "slos: {avail: {objective: 99.9, job: app}}\n",
        encoding="utf-8",
    )
    rows = ["timestamp,series,value"]
    for hour in range(7 * 24):  # a week of hourly samples, the first two hours down
        day, h = divmod(hour, 24)
        stamp = f"2026-01-{day + 1:02d}T{h:02d}:00:00Z"
        rows.append(f'{stamp},"up{{instance=""a:1"",job=""app""}}",{0 if hour < 2 else 1}')
    history = tmp_path / "up.csv"
    history.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return plan, history


def test_weekly_report_shows_the_slo_budget(tmp_path: Path) -> None:
    plan, history = write_inputs(tmp_path)
    args = ["report", "weekly", str(plan), str(history), "--now", "2026-01-08T00:00:00Z"]
    result = runner.invoke(app, [*args, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## SLOs", 1)[1].split("\n## ", 1)[0]
    assert "| avail | 99.9% over 30d | 43.2 min |" in section
    assert "critical" in section  # 2 of 168 hours down: more than the month's 43.2 minutes
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    (slo,) = data["slos"]
    assert slo["samples"] == 168
    assert abs(slo["bad_share"] - 2 / 168) < 1e-12
    assert slo["status"] == "critical"
