"""`capplan simulate` end to end on examples/apm.yaml with generated traces."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import capplan.cli.simulate  # noqa: F401  (registers the command)
from capplan.cli import app

APM = str(Path(__file__).resolve().parents[2] / "examples" / "apm.yaml")
runner = CliRunner()
START = np.datetime64("2026-03-01T00:00:00")


def write_trace(path: Path, values: np.ndarray, *, drop: slice | None = None) -> Path:
    """A wide CSV trace of apm_service CPU demand in cores, one row every 15 s."""
    stamps = START + (np.arange(len(values)) * 15).astype("timedelta64[s]")
    rows = [f"{s}Z,{v:.4f}" for s, v in zip(stamps, values, strict=True)]
    if drop is not None:
        del rows[drop]
    path.write_text("timestamp,apm_cpu_cores\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    """Six hours of a daily-like wave between 1 and 7 cores, with noise."""
    n = 6 * 240
    t = np.arange(n)
    rng = np.random.default_rng(3)
    values = 4 + 3 * np.sin(2 * np.pi * t / n) + rng.normal(0, 0.2, n)
    return write_trace(tmp_path / "cpu.csv", np.maximum(values, 0))


def test_json_compares_both_policies_and_writes_the_plot(trace: Path, tmp_path: Path) -> None:
    plot = tmp_path / "sim.html"
    result = runner.invoke(
        app, ["simulate", APM, "--trace", str(trace), "-f", "json", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["trace"]["steps"] == 1440
    assert doc["trace"]["step_seconds"] == 15
    assert doc["trace"]["start"] == "2026-03-01T00:00:00Z"
    assert list(doc["policies"]) == ["apm_service_hpa", "apm_service_step"]
    hpa, step = doc["policies"]["apm_service_hpa"], doc["policies"]["apm_service_step"]
    assert hpa["kind"] == "hpa"
    assert step["kind"] == "step"
    for fig in (hpa, step):
        assert 2 <= fig["max_replicas"] <= 10
        assert fig["scale_ups"] > 0
        assert fig["critical"] == 100.0
        assert fig["instance_hours"] == pytest.approx(fig["mean_replicas"] * 6)
    html = plot.read_text()
    assert "<html>" in html[:100]
    assert "plotly" in html.lower()
    assert "apm_service_hpa replicas" in html
    assert "critical 100%" in html


def test_table_and_csv_outputs(trace: Path) -> None:
    table = runner.invoke(app, ["simulate", APM, "--trace", str(trace)])
    assert table.exit_code == 0, table.stderr
    assert "apm_service_hpa" in table.stdout
    assert "time above critical" in table.stdout
    one = runner.invoke(
        app, ["simulate", APM, "--trace", str(trace), "--policy", "apm_service_step", "-f", "csv"]
    )
    assert one.exit_code == 0, one.stderr
    rows = list(csv.reader(io.StringIO(one.stdout)))
    assert rows[0] == ["figure", "apm_service_step"]
    assert ["kind", "step"] in rows
    assert any(r[0] == "oscillations" for r in rows)


def test_unknown_policy_lists_the_available_ones(trace: Path) -> None:
    result = runner.invoke(app, ["simulate", APM, "--trace", str(trace), "--policy", "nope"])
    assert result.exit_code == 2
    assert "unknown policy 'nope'" in result.stderr
    assert "apm_service_hpa, apm_service_step" in result.stderr


def test_a_gap_names_the_file_and_the_time_range(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "gappy.csv", np.full(100, 3.0), drop=slice(40, 44))
    result = runner.invoke(app, ["simulate", APM, "--trace", str(path)])
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "gappy.csv" in err
    assert "gap: no data from 2026-03-01T00:10:00Z to 2026-03-01T00:11:00Z" in err
    assert "--fill hold" in err
    filled = runner.invoke(app, ["simulate", APM, "--trace", str(path), "--fill", "hold"])
    assert filled.exit_code == 0, filled.stderr


def test_negative_load_names_file_line_and_column(tmp_path: Path) -> None:
    values = np.full(100, 3.0)
    values[57] = -2.0
    path = write_trace(tmp_path / "neg.csv", values)
    result = runner.invoke(app, ["simulate", APM, "--trace", str(path)])
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "neg.csv:59 column apm_cpu_cores" in err
    assert "demand must be >= 0, got -2 at 2026-03-01T00:14:15Z" in err


def test_min_greater_than_max_is_a_plan_error(trace: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate", APM, "--trace", str(trace),
            "--set", "policies.apm_service_step.min_replicas=20",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "apm.yaml" in err
    assert "apm_service_step" in err
    assert "min_replicas (20) must not exceed max_replicas (10)" in err


def test_several_series_need_series(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("timestamp,a,b\n2026-03-01T00:00:00Z,1,2\n2026-03-01T00:00:15Z,1,2\n")
    result = runner.invoke(app, ["simulate", APM, "--trace", str(path)])
    assert result.exit_code == 2
    assert "holds 2 series (a, b); choose one with --series" in " ".join(result.stderr.split())
    ok = runner.invoke(app, ["simulate", APM, "--trace", str(path), "--series", "b"])
    assert ok.exit_code == 0, ok.stderr


def test_trace_from_the_store(trace: Path, tmp_path: Path) -> None:
    store = tmp_path / "metrics.duckdb"
    assert runner.invoke(app, ["ingest", str(trace), "--store", str(store)]).exit_code == 0
    args = ["simulate", APM, "--store", str(store), "--series", "apm_cpu_cores", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    from_file = runner.invoke(app, ["simulate", APM, "--trace", str(trace), "-f", "json"])
    assert json.loads(result.stdout)["policies"] == json.loads(from_file.stdout)["policies"]
    both = runner.invoke(app, ["simulate", APM, "--trace", str(trace), "--store", str(store)])
    assert both.exit_code == 2
    assert "--trace FILE or --store STORE" in both.stderr


def write_wide(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """A wide CSV trace, one column per series, one row every 15 s."""
    n = len(next(iter(columns.values())))
    stamps = START + (np.arange(n) * 15).astype("timedelta64[s]")
    rows = [
        ",".join([f"{s}Z", *(f"{columns[c][i]:.4f}" for c in columns)])
        for i, s in enumerate(stamps)
    ]
    path.write_text("timestamp," + ",".join(columns) + "\n" + "\n".join(rows) + "\n")
    return path


def test_multi_metric_hpa_follows_the_busiest_metric(tmp_path: Path) -> None:
    # apm-service pods request 1 core and 2 GiB; the HPA targets CPU 70% and memory 80%.
    # 2.8 cores on 4 pods is CPU's target; memory (4 GiB, 50%) alone would want 3 pods.
    # Step 10: memory 9 GiB wants ceil(9 / 1.6) = 6 (100% per 15 s allows 8): 6 pods.
    # Step 40: memory 3 GiB wants 2, CPU ceil(2.8 / 0.7) = 4; after the 300 s window
    # (step 59) the count goes to 4 (50% per 60 s would allow 3).
    memory = np.r_[np.full(10, 4.0), np.full(30, 9.0), np.full(60, 3.0)]
    path = write_wide(tmp_path / "usage.csv", {"cpu": np.full(100, 2.8), "memory": memory})
    result = runner.invoke(app, ["simulate", APM, "--trace", str(path), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["trace"]["series"] is None  # no load trace: every series is a metric's
    assert doc["trace"]["metrics"] == {"cpu": "cpu", "memory": "memory"}
    assert list(doc["policies"]) == ["apm_service_hpa"]  # the step policy needs a load trace
    hpa = doc["policies"]["apm_service_hpa"]
    assert (hpa["scale_ups"], hpa["scale_downs"], hpa["max_replicas"]) == (1, 1, 6)
    assert hpa["mean_replicas"] == pytest.approx((10 * 4 + 49 * 6 + 41 * 4) / 100)
    assert set(hpa["metrics"]) == {"cpu", "memory"}
    assert hpa["metrics"]["cpu"]["critical"] == 100.0  # the pod_cpu threshold's critical level
    table = runner.invoke(app, ["simulate", APM, "--trace", str(path)])
    assert table.exit_code == 0, table.stderr
    assert "memory: p95 utilization (%)" in table.stdout


def test_keda_queue_depth_trace_scales_to_zero_and_back(tmp_path: Path) -> None:
    bot = str(Path(APM).with_name("the_bot.yaml"))
    depth = np.r_[np.zeros(10), np.full(40, 100.0), np.zeros(40)]
    path = write_wide(tmp_path / "depth.csv", {"queue_depth": depth})
    sets = ["--set", "policies.celery_queue.min_replicas=0"]
    sets += ["--set", "policies.celery_queue.activation=5"]
    result = runner.invoke(app, ["simulate", bot, "--trace", str(path), "-f", "json", *sets])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc["policies"]) == ["celery_queue"]  # the backend HPA has no trace here
    queue = doc["policies"]["celery_queue"]
    assert queue["kind"] == "queue"
    # 0 workers; step 10 (a 30 s poll): active, 1 worker, ready 60 s later (step 14), when the
    # HPA asks for ceil(100 / 25) = 4; the last active poll is step 48, the cooldown (300 s)
    # ends at step 68: zero workers.
    assert (queue["scale_ups"], queue["scale_downs"], queue["max_replicas"]) == (2, 1, 4)
    assert queue["instance_hours"] == pytest.approx((4 * 1 + 54 * 4) * 15 / 3600)
    csv_out = runner.invoke(app, ["simulate", bot, "--trace", str(path), "-f", "csv", *sets])
    assert ["kind", "queue"] in list(csv.reader(io.StringIO(csv_out.stdout)))
