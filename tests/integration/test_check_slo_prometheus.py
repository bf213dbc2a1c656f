"""``capplan check --prometheus`` measures an SLO on a job's availability from the ``up``
series of a real Prometheus (backfilled with promtool): ``up`` of that job is pulled with the
plan metrics' queries, and other jobs' ``up`` is not counted."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import backfilled_prometheus
from typer.testing import CliRunner

from capplan.cli import app

STEP = 60


def test_slo_budget_from_a_real_prometheus(tmp_path: Path) -> None:
    end = int(time.time()) // 3600 * 3600 - 3600
    start = end - 6 * 3600
    lines = ["# TYPE up gauge", "# TYPE cpu gauge"]
    for ts in range(start, end + 1, STEP):
        down = start + 3600 <= ts < start + 3600 + 30 * 60  # half an hour down
        lines.append(f'up{{job="app",instance="a:1"}} {0 if down else 1} {ts}')
        lines.append(f'up{{job="web",instance="b:1"}} 0 {ts}')
        lines.append(f'cpu{{job="app"}} 20 {ts}')
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: Shop\ndrivers: {users: {initial: 1}}\n"
        "metrics: {cpu: {unit: '%', query: 'cpu{job=\"app\"}'}}\n"
        "thresholds: {cpu: {metric: cpu, warning: 80}}\n"
        "slos: {avail: {objective: 99.9, job: app}}\n",
        encoding="utf-8",
    )
    with backfilled_prometheus(tmp_path, lines) as url:
        result = CliRunner().invoke(
            app,
            [
                "check",
                str(plan),
                "--prometheus",
                url,
                "--since",
                "6h",
                "--now",
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end)),
                "--max-age",
                "off",
                "--format",
                "json",
            ],
        )
    # half an hour down: about 30 of the month's 43.2 minutes, burning far faster than 1x
    assert result.exit_code == 1, result.output
    (slo,) = json.loads(result.stdout)["slos"]
    assert slo["status"] == "warning"
    assert 0.6 < slo["budget_used"] < 0.8
    assert len(slo["series"]) == 1
    assert 'job="app"' in slo["series"][0]
    assert 0.05 < slo["bad_share"] < 0.12  # about 30 of 360 minutes
    assert slo["burn_rate"] > 1
