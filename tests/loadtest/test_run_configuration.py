"""The FreeAgentics format's test configuration: the target rate and the duration of a run,
read, reported in JSON, and refused with the field named when they are not a number and a
duration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.errors import DataError
from capplan.loadtest.runs import parse_run

RUN = """\
Test Configuration:
  Duration: {duration}
  Concurrent Users: 100
  Target RPS: {target}
Results:
  Actual RPS: 195
  Response Times: {{50th: 150ms, 95th: 450ms, 99th: 800ms}}
  Error Rate: 0.2%
"""


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("5 minutes", 300),
        ("300s", 300),
        ("5m", 300),
        ("1 hour", 3600),
        ("90", 90),
        ("2.5 min", 150),
    ],
)
def test_duration_and_target_are_read(duration: str, seconds: float) -> None:
    got = parse_run(RUN.format(duration=duration, target=200), "run.yaml")
    assert got.duration_s == seconds
    assert got.target_rps == 200
    assert (got.p50_ms, got.p95_ms, got.p99_ms) == (150, 450, 800)


def test_a_run_without_them_has_none() -> None:
    text = (
        "Test Configuration: {Concurrent Users: 3}\n"
        "Results: {Actual RPS: 30, Response Times: {95th: 200ms}}\n"
    )
    got = parse_run(text, "run.yaml")
    assert (got.target_rps, got.duration_s) == (None, None)


@pytest.mark.parametrize(
    ("duration", "target", "message"),
    [
        (
            "soon",
            200,
            r"run\.yaml: Test Configuration: Duration: expected a duration such as 5 minutes",
        ),
        (
            "5 minutes",
            "lots",
            r"run\.yaml: Test Configuration: Target RPS: expected a finite number",
        ),
    ],
)
def test_bad_values_name_the_field(duration: str, target: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_run(RUN.format(duration=duration, target=target), "run.yaml")


def test_json_reports_every_figure_of_the_run(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(RUN.format(duration="5 minutes", target=200), encoding="utf-8")
    result = CliRunner().invoke(app, ["loadtest", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    [run] = json.loads(result.output)["runs"]
    assert run["target_rps"] == 200
    assert run["duration_s"] == 300
    assert (run["p50_ms"], run["p95_ms"], run["p99_ms"]) == (150, 450, 800)


def test_a_bad_duration_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(RUN.format(duration="soon", target=200), encoding="utf-8")
    result = CliRunner().invoke(app, ["loadtest", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Test Configuration: Duration" in result.output


def test_resource_usage_and_bottlenecks_are_kept(tmp_path: Path) -> None:
    text = RUN.format(duration="5 minutes", target=200) + (
        "Resource Usage: {CPU: 65%, Memory: 72%, Network: 15%}\n"
        "Bottlenecks:\n  - Database connection pool saturation at 85%\n"
    )
    got = parse_run(text, "run.yaml")
    assert dict(got.resource_usage) == pytest.approx({"cpu": 0.65, "memory": 0.72, "network": 0.15})
    assert got.bottlenecks == ("Database connection pool saturation at 85%",)
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["loadtest", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    [run] = json.loads(result.output)["runs"]
    assert run["resource_usage"] == pytest.approx({"cpu": 0.65, "memory": 0.72, "network": 0.15})
    assert run["bottlenecks"] == ["Database connection pool saturation at 85%"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("Resource Usage: {CPU: busy}\n", r"Resource Usage: CPU: expected a percentage"),
        ("Resource Usage: [65%]\n", r"Resource Usage: expected a mapping"),
        ("Bottlenecks: pool\n", r"Bottlenecks: expected a list of texts"),
    ],
)
def test_bad_usage_or_bottlenecks_name_the_field(extra: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_run(RUN.format(duration="5 minutes", target=200) + extra, "run.yaml")
