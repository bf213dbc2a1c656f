"""The Prometheus source against a real Prometheus server.

A fixture writes six hours of history as OpenMetrics, backfills it with
``promtool tsdb create-blocks-from openmetrics``, starts ``prometheus`` on a free loopback
port over that TSDB and stops it afterwards. The Debian package ``prometheus`` provides both
binaries (``.ci/run`` installs it); without them these tests fail rather than skip.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.data.prometheus import PrometheusSource, make_client, pull_history
from capplan.errors import SourceError

HOURS = 6  # of history, as written by the prometheus_url fixture in conftest.py
STEP = 60


def test_query_range_reads_backfilled_history(prometheus_url: str, history_end: int) -> None:
    src = PrometheusSource(make_client(prometheus_url))
    start = history_end - HOURS * 3600
    frame = src.query_range("cpu_usage", start, history_end, step=STEP)
    assert frame.names == ('cpu_usage{job="api"}', 'cpu_usage{job="worker"}')
    api = frame.values[frame.codes == 0]
    assert api.size == HOURS * 60 + 1
    assert api[0] == pytest.approx(40.0)
    assert api[-1] == pytest.approx(40.0 + HOURS * 60 * 0.01)


def test_long_range_at_a_fine_step_is_split_and_complete(
    prometheus_url: str, history_end: int
) -> None:
    # 6 h at 1 s is 21,601 points: over Prometheus' 11,000-point limit for one request.
    src = PrometheusSource(make_client(prometheus_url))
    start = history_end - HOURS * 3600
    frame = src.query_range('cpu_usage{job="api"}', start, history_end, step=1)
    stamps = frame.timestamps.astype(np.int64)
    assert stamps.size == HOURS * 3600 + 1
    assert np.all(np.diff(stamps) == 1)


def test_promql_error_carries_prometheus_message(prometheus_url: str, history_end: int) -> None:
    src = PrometheusSource(make_client(prometheus_url))
    with pytest.raises(SourceError, match=r"bad_data.*parse error"):
        src.query_range("sum(cpu_usage", history_end - 600, history_end, step=60)


def test_empty_result_is_a_clear_error(prometheus_url: str, history_end: int) -> None:
    src = PrometheusSource(make_client(prometheus_url))
    with pytest.raises(SourceError, match="returned no data"):
        src.query_range("no_such_metric", history_end - 600, history_end, step=60)


def test_pull_history_with_a_name_and_the_cli(
    prometheus_url: str, history_end: int, tmp_path: Path
) -> None:
    frame = pull_history(
        make_client(prometheus_url),
        ['avg(cpu_usage{job="api"})'],
        since="1h",
        step="5m",
        name="api_cpu",
        now=history_end,
    )
    assert frame.names == ("api_cpu",)
    assert frame.values.size == 13
    store = tmp_path / "p.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            "--prometheus",
            prometheus_url,
            "--query",
            "cpu_usage",
            "--since",
            "30d",
            "--step",
            "10m",
            "--store",
            str(store),
        ],
    )
    assert result.exit_code == 0, result.stderr
    listed = CliRunner().invoke(app, ["series", "--store", str(store), "--format", "json"])
    assert 'cpu_usage{job=\\"api\\"}' in listed.stdout


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = PrometheusSource(make_client(f"http://127.0.0.1:{port}"), retries=0)
    with pytest.raises(SourceError, match="cannot reach Prometheus"):
        src.query_range("up", 0, 60, 15)


def test_forecast_pulls_plan_metrics_and_gives_runway_per_level(
    prometheus_url: str, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: api\n"
        "drivers: {users: {initial: 1}}\n"
        "metrics:\n"
        "  api_cpu: {unit: '%', query: 'cpu_usage{job=\"api\"}'}\n"
        "thresholds:\n"
        "  cpu: {metric: api_cpu, warning: 44, critical: 60}\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "forecast",
            "--plan",
            str(plan),
            "--prometheus",
            prometheus_url,
            "--since",
            "1d",
            "--step",
            "5m",
            "--horizon",
            "1d",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    levels = {(r["threshold"], r["level"]): r for r in data["plan_runway"]}
    assert set(levels) == {("cpu", "warning"), ("cpu", "critical")}
    assert levels[("cpu", "warning")]["series"] == 'api_cpu{job="api"}'
    # 40 + 0.6 per hour ends at 43.6: 44 is plausible within the day; 60 is days away.
    assert levels[("cpu", "warning")]["p10"] is not None
    assert levels[("cpu", "critical")]["p10"] is None
    assert levels[("cpu", "critical")]["message"].startswith("not within the horizon")


def test_check_pulls_plan_metrics_from_prometheus(
    prometheus_url: str, history_end: int, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: api\n"
        "drivers: {users: {initial: 1}}\n"
        "metrics:\n"
        "  api_cpu: {unit: '%', query: 'cpu_usage{job=\"api\"}'}\n"
        "thresholds:\n"
        "  cpu: {metric: api_cpu, warning: 42, critical: 60}\n"
    )
    # The api series rises from 40 to 43.6: above 42 for its last 2.6 hours. The history
    # ends two hours ago: checked as of its end it is fresh, as of the current time stale.
    end = dt.datetime.fromtimestamp(history_end, dt.UTC).isoformat()
    args = ["check", str(plan), "--prometheus", prometheus_url, "--since", "1d", "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--now", end])
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    (cpu,) = doc["results"]
    assert (doc["status"], cpu["status"], cpu["stale"]) == ("warning", "warning", False)
    assert doc["now"] == end.replace("+00:00", "Z")
    assert cpu["last_sample"] <= doc["now"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["status"], doc["results"][0]["status"]) == ("stale", "stale")
    assert doc["results"][0]["age_seconds"] > 6000  # ended 2 h ago, 5 min of lookback after


def test_compare_pulls_actuals_from_prometheus(
    prometheus_url: str, history_end: int, tmp_path: Path
) -> None:
    end = dt.datetime.fromtimestamp(history_end, dt.UTC)
    first = (end - dt.timedelta(hours=HOURS)).date()
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: api\n"
        "step: day\n"
        f"start: {first.isoformat()}\n"
        "horizon: 7\n"
        "drivers:\n"
        "  api_cpu:\n"
        "    initial: 40\n"
        "    actual: {query: 'cpu_usage{job=\"api\"}', agg: max}\n"
    )
    today = end.date() + dt.timedelta(days=1)
    args = ["compare", str(plan), "--prometheus", prometheus_url, "--today", today.isoformat()]
    result = CliRunner().invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (figure,) = doc["figures"]
    actuals = [row["actual"] for row in figure["rows"] if row["actual"] is not None]
    # the api series rises from 40.00 to 43.60 over the six hours; hourly samples reach the
    # last one (the history ends on a whole hour)
    assert actuals
    assert max(actuals) == pytest.approx(43.60, abs=1e-9)
    assert all(40.0 <= a <= 43.6 + 1e-9 for a in actuals)
