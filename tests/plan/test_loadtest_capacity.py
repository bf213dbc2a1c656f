"""``capacity_per_instance: {loadtest: ...}``: the capacity read from load-test results when a
plan is loaded, its errors (plan file, line, results file) and its notes."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli.app import app
from capplan.errors import PlanValidationError
from capplan.loadtest import Limits, analyse, read_runs
from capplan.plan.models import HorizontalComponent

RESULTS = Path(__file__).resolve().parents[2] / "examples" / "loadtests"

PLAN = """\
system: demo
start: 2026-01
horizon: 12
drivers:
  rps:
    initial: 500
    growth: {{model: compound, rate: 0.1}}
components:
  api:
    kind: horizontal
    demand: rps
    capacity_per_instance:
{ref}
"""


def write(tmp_path: Path, ref: str, results: str = "k6") -> Path:
    target = tmp_path / "results"
    shutil.copytree(RESULTS / results, target)
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(ref=ref))
    return path


def test_capacity_comes_from_the_results_beside_the_plan(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results\n      latency_limit: 1s")
    plan = capplan.load_plan(path)
    expected = analyse(read_runs([tmp_path / "results"]), Limits(1000, 0.01)).capacity
    assert expected is not None
    comp = plan.components["api"]
    assert isinstance(comp, HorizontalComponent)
    assert comp.per_instance == expected.throughput
    projection = capplan.run_plan(plan)
    instances = projection.values["api.instances"]
    assert instances[0] == -(-500 // expected.throughput)
    assert any("capacity_per_instance" in n and "results" in n for n in projection.notes)


def test_a_plan_run_from_another_directory_reads_relative_to_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "      loadtest: results")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    plan = capplan.load_plan(Path("..") / path.name)
    comp = plan.components["api"]
    assert isinstance(comp, HorizontalComponent)
    assert 45 < comp.per_instance < 56


def test_missing_results_name_the_plan_line_and_the_results(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: nowhere/")
    with pytest.raises(PlanValidationError) as info:
        capplan.load_plan(path)
    (issue,) = info.value.issues
    assert issue.file == str(path)
    assert issue.line == 13
    assert issue.path == "components.api.capacity_per_instance.loadtest"
    assert "nowhere" in issue.message
    assert "does not exist" in issue.message


def test_unreadable_results_name_the_results_file(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results")
    (tmp_path / "results" / "vus-10.json").write_text('{"metrics": {"http_reqs": 3}}')
    with pytest.raises(PlanValidationError) as info:
        capplan.load_plan(path)
    message = str(info.value)
    assert f"{path}:13 components.api.capacity_per_instance.loadtest" in message
    assert "vus-10.json" in message
    assert "metrics.http_reqs" in message


def test_results_beyond_every_limit_give_no_capacity(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results\n      latency_limit: 10ms")
    with pytest.raises(PlanValidationError, match=r"every run in .* breaks the limits"):
        capplan.load_plan(path)


def test_a_bad_limit_points_at_its_field(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results\n      error_limit: 2")
    with pytest.raises(PlanValidationError) as info:
        capplan.load_plan(path)
    (issue,) = info.value.issues
    assert issue.path == "components.api.capacity_per_instance.error_limit"
    assert issue.line == 14


def test_a_plan_without_a_file_cannot_name_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "      loadtest: results")
    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text()))
    with pytest.raises(PlanValidationError, match="give capacity_per_instance as a number"):
        capplan.load_plan("-")


def test_a_number_set_on_the_command_line_replaces_the_results(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results")
    plan = capplan.load_plan(path, {"components.api.capacity_per_instance": 50})
    comp = plan.components["api"]
    assert isinstance(comp, HorizontalComponent)
    assert comp.per_instance == 50
    assert capplan.run_plan(plan).notes == []


def test_validate_and_plan_report_the_derived_figure(tmp_path: Path) -> None:
    path = write(tmp_path, "      loadtest: results", results="freeagentics")
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    capacity = analyse(read_runs([tmp_path / "results"]), Limits()).capacity
    assert capacity is not None
    assert f"api: capacity_per_instance {capacity.throughput:.4g} from 7 load-test runs" in (
        result.output
    )
    result = runner.invoke(app, ["plan", str(path), "--format", "json", "--months", "2"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert any(f"{capacity.throughput:.4g}" in n for n in notes)
