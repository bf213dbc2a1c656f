"""`capplan check`: status per threshold, exit codes 0/1/2 for ok/warning/critical, 3 on errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

import capplan.cli.check  # noqa: F401  (registers the command)
from capplan.cli import app

runner = CliRunner()

PLAN = """\
system: demo
drivers:
  users: {initial: 100}
metrics:
  cpu: {unit: "%"}
  load: {expr: users * 2}
thresholds:
  cpu_hot:
    metric: cpu
    unit: "%"
    for: 5m
    warning: 80
    critical: 90
  load_high:
    metric: load
    warning: 500
"""


def write_csv(path: Path, values: Sequence[float]) -> Path:
    lines = ["series,timestamp,value"]
    lines += [f"cpu,2026-01-01T10:{i:02d}:00Z,{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    return path


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_critical_exits_2_and_says_critical(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 10 + [95] * 10)
    code, out, err = run(plan, data, "--timeline")
    assert code == 2, err
    assert "critical" in out
    assert "2026-01-01 10:15" in out  # firing since: 10:10 + for 5m
    assert "Alert timeline" in out
    assert "load_high (load)" in out  # plan-computed: listed as not observed
    assert "Status: critical (exit 2)" in out


def test_warning_only_exits_1(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 10 + [85] * 10)
    code, out, _ = run(plan, data)
    assert code == 1
    assert "warning" in out


def test_ok_exits_0(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [95] * 10 + [50] * 10)
    code, out, _ = run(plan, data)
    assert code == 0
    assert "Status: ok (exit 0)" in out


def test_no_data_exits_1(plan: Path, tmp_path: Path) -> None:
    path = tmp_path / "mem.csv"
    path.write_text("series,timestamp,value\nmem,2026-01-01T10:00:00Z,1\n")
    code, out, _ = run(plan, path)
    assert code == 1
    assert "no data" in out


def test_json_output(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 10 + [95] * 10)
    code, out, _ = run(plan, data, "--format", "json", "--timeline")
    assert code == 2
    doc = json.loads(out)
    assert doc["status"] == "critical"
    assert doc["exit_code"] == 2
    cpu, load = doc["results"]
    assert (cpu["threshold"], cpu["series"], cpu["level"]) == ("cpu_hot", "cpu", "critical")
    assert cpu["since"] == "2026-01-01T10:15:00Z"
    assert cpu["evaluation"]["last_value"] == 95
    assert cpu["evaluation"]["timeline"][0]["start"] == "2026-01-01T10:10:00Z"
    assert load["status"] == "not observed"


def test_store_is_read(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 10 + [85] * 10)
    store = tmp_path / "m.duckdb"
    assert runner.invoke(app, ["ingest", str(data), "--store", str(store)]).exit_code == 0
    code, out, _ = run(plan, "--store", store, "--since", "1h")
    assert code == 1
    assert "warning" in out


def test_bad_plan_exits_3_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAN.replace("warning: 80", "warning: 95"))  # warning above critical
    code, _, err = run(bad, write_csv(tmp_path / "cpu.csv", [50.0]))
    assert code == 3
    assert f"{bad}:" in err.replace("\n", "")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("metric: cpu\n", "metric: cpux\n", 9, "cpux"),
        ("for: 5m", "for: 5 minutes", 11, "5 minutes"),
    ],
)
def test_unknown_metric_and_bad_duration_exit_3(
    tmp_path: Path, old: str, new: str, line: int, says: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAN.replace(old, new))
    code, _, err = run(bad, write_csv(tmp_path / "cpu.csv", [50.0]))
    assert code == 3
    flat = err.replace("\n", "")
    assert f"{bad}:{line}" in flat
    assert says in flat


def test_missing_store_exits_3(plan: Path, tmp_path: Path) -> None:
    code, _, err = run(plan, "--store", tmp_path / "none.duckdb")
    assert code == 3
    assert "does not exist" in err


def test_usage_errors_exit_3(plan: Path, tmp_path: Path) -> None:
    assert run(plan, "--bogus")[0] == 3
    assert run()[0] == 3
    assert run(plan, write_csv(tmp_path / "c.csv", [1.0]), "--format", "xml")[0] == 3
    assert run(plan, write_csv(tmp_path / "c.csv", [1.0]), "--since", "soon")[0] == 3


def test_other_commands_keep_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "none.yaml")]).exit_code == 2
