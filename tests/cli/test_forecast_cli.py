"""`capplan forecast` and `capplan backtest` end to end on files and a store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from capplan.cli import app

NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"
runner = CliRunner()


@pytest.fixture
def rising(tmp_path: Path) -> Path:
    """Disk usage rising 1 point an hour from 10 with a small daily wave, 20 days hourly."""
    t = np.arange(480)
    values = 10 + t * 0.1 + 0.5 * np.sin(2 * np.pi * t / 24)
    stamps = np.datetime64("2026-01-01T00:00:00") + t.astype("timedelta64[h]")
    lines = ["timestamp,disk_used"] + [f"{s}Z,{v:.4f}" for s, v in zip(stamps, values, strict=True)]
    path = tmp_path / "disk.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_forecast_csv_is_long_format_with_a_pair_per_level(rising: Path) -> None:
    result = runner.invoke(app, ["forecast", str(rising), "--horizon", "2d", "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["series", "timestamp", "mean", "lo80", "hi80", "lo95", "hi95"]
    assert len(rows) == 48
    assert rows[0]["timestamp"] == "2026-01-21T00:00:00Z"
    for row in rows:
        assert float(row["lo95"]) <= float(row["lo80"]) <= float(row["mean"])
        assert float(row["mean"]) <= float(row["hi80"]) <= float(row["hi95"])


def test_runway_finds_the_crossing_of_a_rising_series(rising: Path, tmp_path: Path) -> None:
    # 10 + 0.1 t crosses 70 at t = 600 h: 120 h after the last point (t = 479).
    out = tmp_path / "f.json"
    result = runner.invoke(
        app,
        [
            "forecast",
            str(rising),
            "--horizon",
            "10d",
            "--threshold",
            "70",
            "-f",
            "json",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    (runway,) = data["runway"]
    p50 = np.datetime64(runway["p50"].rstrip("Z"))
    expected = np.datetime64("2026-01-26T00:00:00")
    assert abs(p50 - expected) <= np.timedelta64(12, "h")
    assert runway["p10"] <= runway["p50"] <= runway["p90"]
    assert data["recommendations"]


def test_percent_of_capacity_threshold_and_plot(rising: Path, tmp_path: Path) -> None:
    plot = tmp_path / "disk.html"
    result = runner.invoke(
        app,
        [
            "forecast",
            str(rising),
            "--horizon",
            "10d",
            "--threshold",
            "90%",
            "--capacity",
            "80",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "Runway to 72" in result.stdout
    html = plot.read_text()
    assert "plotly" in html.lower()
    assert "threshold 72" in html


def test_forecast_from_the_store_with_a_glob(tmp_path: Path) -> None:
    store = tmp_path / "m.duckdb"
    files = [str(NAB / "ec2_cpu_utilization_24ae8d.csv"), str(NAB / "nyc_taxi.csv")]
    assert runner.invoke(app, ["ingest", *files, "--store", str(store)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "forecast",
            "--store",
            str(store),
            "--series",
            "ec2_*",
            "--step",
            "1h",
            "--horizon",
            "24h",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["models"]) == {"ec2_cpu_utilization_24ae8d"}
    assert len(data["forecast"]) == 24


def test_backtest_reports_metrics_per_model_and_series() -> None:
    result = runner.invoke(
        app,
        [
            "backtest",
            str(NAB / "ec2_cpu_utilization_24ae8d.csv"),
            "--step",
            "1h",
            "--horizon",
            "24h",
            "--windows",
            "3",
            "--model",
            "naive",
            "--model",
            "seasonal_naive",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["model"] for r in data["summary"]] == ["naive", "seasonal_naive"]
    assert len(data["per_series"]) == 2
    for row in data["per_series"]:
        assert row["mase"] > 0
        assert 0 <= row["coverage80"] <= 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--horizon", "soon"], "--horizon"),
        (["--horizon", "1d", "--model", "prophet"], "unknown"),
        (["--horizon", "1d", "--threshold", "high"], "--threshold must be a number"),
        (["--horizon", "1d", "--levels", "80,150"], "--levels"),
        (["--horizon", "1d", "--step", "fast"], "fast"),
        (["--horizon", "1d", "--series", "nothing*"], "no series matches"),
        (["--horizon", "1d", "--bounds", "100,0"], "--bounds: the lower bound must be below"),
        (["--horizon", "1d", "--bounds", "0"], "--bounds must be LOWER,UPPER"),
        (["--horizon", "1d", "--bounds", "zero,100"], "'zero' is not a number"),
        (["--horizon", "1d", "--now", "tomorrow"], "--now: expected an ISO 8601 time"),
        (["--horizon", "1d", "--since", "2d"], "no samples in the last 2d before"),
    ],
)
def test_bad_forecast_arguments_exit_2(rising: Path, args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["forecast", str(rising), *args])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unparseable_data_names_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2024-01-01T00:00:00Z,1\nyesterday,2\n")
    result = runner.invoke(app, ["forecast", str(bad), "--horizon", "1d"])
    assert result.exit_code == 2
    assert "bad.csv:3" in result.stderr


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "metrics"


def test_plan_forecast_gives_trend_crossings_and_the_runbook_advice() -> None:
    result = runner.invoke(
        app,
        [
            "forecast",
            str(EXAMPLES / "apm_history.csv"),
            "--plan",
            str(EXAMPLES / "apm_checks.yaml"),
            "--horizon",
            "90d",
            "--now",
            "2026-10-13T00:00:00Z",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    cpu = next(
        r for r in data["plan_runway"] if r["series"] == "avg_cpu_usage" and r["value"] == 80
    )
    assert cpu["p50"] < cpu["trend_p50"]  # daily peaks pass 80 weeks before the trend does
    assert cpu["trend_max"] > 80
    assert any(a.startswith("avg_cpu_usage predicted max") for a in data["advice"])
    ages = {r["series"]: r["age_seconds"] for r in data["series"]}
    assert ages["avg_cpu_usage"] == 3600  # the last sample is 2026-10-12 23:00
    for row in data["forecast"]:  # the plan says %: no interval past 0-100
        if row["series"] == "avg_cpu_usage":
            assert 0 <= row["lo95"] <= row["hi95"] <= 100


def test_bounds_option_and_a_stale_warning(rising: Path) -> None:
    result = runner.invoke(
        app, ["forecast", str(rising), "--horizon", "20d", "--bounds", ",50", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["forecast"]
    assert max(r["hi95"] for r in rows) <= 50
    assert "older than 3h 0m: their forecast starts at that sample, not now" in result.stderr
    fresh = runner.invoke(
        app,
        ["forecast", str(rising), "--horizon", "1d", "--now", "2026-01-20T23:30:00Z"],
    )
    assert fresh.exit_code == 0, fresh.stderr
    assert "older than" not in fresh.stderr
    assert "(30m 0s ago)" in fresh.stdout


def test_a_level_already_passed_is_reported_since_when(tmp_path: Path) -> None:
    t = np.arange(24 * 10)
    values = np.where(t < 24 * 10 - 5, 50.0, 96.0) + np.sin(t)
    stamps = np.datetime64("2014-04-14T00:00:00") + t.astype("timedelta64[h]")
    path = tmp_path / "cpu.csv"
    rows = [f"{s}Z,{v:.3f}" for s, v in zip(stamps, values, strict=True)]
    path.write_text("timestamp,cpu\n" + "\n".join(rows) + "\n")
    result = runner.invoke(
        app, ["forecast", str(path), "--horizon", "1d", "--threshold", "80", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["runway"]
    assert row["crossed_since"] == "2014-04-23T19:00:00Z"
    assert row["message"] == "above 80 since 2014-04-23 19:00 (for 5 h)"
    assert "is already above 80 since" in json.loads(result.stdout)["recommendations"][0]


def test_the_runway_is_the_same_at_30_and_90_days(tmp_path: Path) -> None:
    # six weeks of a trending hourly metric with daily and weekly cycles
    t = np.arange(6 * 168)
    rng = np.random.default_rng(5)
    values = 40 + 0.02 * t + 8 * np.sin(2 * np.pi * t / 24) - 5 * (t % 168 >= 120)
    values = values + rng.normal(0, 1.5, t.size)
    stamps = np.datetime64("2026-09-01T00:00:00") + t.astype("timedelta64[h]")
    path = tmp_path / "cpu.csv"
    rows = [f"{s}Z,{v:.3f}" for s, v in zip(stamps, values, strict=True)]
    path.write_text("timestamp,cpu\n" + "\n".join(rows) + "\n")
    found = {}
    for horizon in ("30d", "90d"):
        result = runner.invoke(
            app,
            ["forecast", str(path), "--horizon", horizon, "--threshold", "70", "-f", "json"],
        )
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        (row,) = data["runway"]
        found[horizon] = (row, data["forecast"])
    short, long = found["30d"], found["90d"]
    assert short[0]["p50"] is not None
    for key in ("p10", "p50", "p90"):
        assert short[0][key] == long[0][key]
    assert short[1] == long[1][: len(short[1])]
