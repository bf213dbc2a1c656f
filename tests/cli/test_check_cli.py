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


NOW = "2026-01-01T10:20:00Z"  # a minute after the last sample of write_csv's 20 values


def run(*args: str | Path, now: str | None = NOW) -> tuple[int, str, str]:
    """``capplan check ARGS`` as of ``now`` (None: the current time)."""
    extra = ["--now", now] if now is not None else []
    result = runner.invoke(app, ["check", *map(str, args), *extra])
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


# --- as of --now: stale data, --max-age, --since counted from now ---------------------------


def test_old_data_is_stale_as_of_the_current_time(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 20)  # ends 2026-01-01 10:19
    code, out, err = run(plan, data, now=None)
    assert code == 1, err
    assert "stale" in out
    assert "last sample" in out
    assert "2026-01-01 10:19" in out  # the last sample, in its own column
    assert "older than the max age 5m" in out  # for: 5m is longer than 3 steps of 1m
    assert "Status: stale (exit 1)" in out


def test_stale_in_json(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 20)
    code, out, _ = run(plan, data, "--format", "json", now="2026-01-08T10:19:00Z")
    assert code == 1
    doc = json.loads(out)
    assert (doc["status"], doc["exit_code"]) == ("stale", 1)
    assert doc["now"] == "2026-01-08T10:19:00Z"
    cpu = doc["results"][0]
    assert (cpu["status"], cpu["stale"]) == ("stale", True)
    assert cpu["last_sample"] == "2026-01-01T10:19:00Z"
    assert cpu["age_seconds"] == 7 * 86400
    assert cpu["max_age_seconds"] == 300  # for: 5m is longer than 3 steps of 1m
    assert cpu["message"] == "last sample 1w 0d ago, older than the max age 5m"


def test_now_makes_the_same_data_fresh(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 20)
    code, out, _ = run(plan, data, now="2026-01-01T10:22:00Z")
    assert code == 0
    assert "Threshold check as of 2026-01-01 10:22 UTC" in out
    assert "3m 0s" in out  # the age of the last sample
    assert "Status: ok (exit 0)" in out
    code, out, _ = run(plan, data, "-f", "json", now="2026-01-01T10:22:00Z")
    cpu = json.loads(out)["results"][0]
    assert (cpu["status"], cpu["stale"], cpu["age_seconds"]) == ("ok", False, 180)


def test_now_in_another_zone(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 20)
    code, out, _ = run(plan, data, "-f", "json", now="2026-01-01T11:20:00+01:00")
    assert code == 0
    assert json.loads(out)["now"] == "2026-01-01T10:20:00Z"


def test_max_age_off_and_explicit(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 20)
    later = "2026-01-01T12:00:00Z"
    assert run(plan, data, now=later)[0] == 1  # 1h 41m old: stale
    for off in ("off", "0"):
        code, out, _ = run(plan, data, "--max-age", off, now=later)
        assert code == 0, off
        assert "1h 41m" in out
        assert "stale" not in out
    assert run(plan, data, "--max-age", "2h", now=later)[0] == 0
    assert run(plan, data, "--max-age", "1h", now=later)[0] == 1


def test_critical_wins_over_stale(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("  load: {expr: users * 2}", '  mem: {unit: "%"}'))
    lines = ["series,timestamp,value"]
    lines += [f"cpu,2026-01-01T10:{i:02d}:00Z,95" for i in range(20)]
    lines += [f"mem,2026-01-01T09:{i:02d}:00Z,10" for i in range(20)]
    (tmp_path / "both.csv").write_text("\n".join(lines) + "\n")
    plan.write_text(plan.read_text().replace("metric: load", "metric: mem"))
    code, out, _ = run(plan, tmp_path / "both.csv")
    assert code == 2
    assert "stale" in out  # mem stopped at 09:19
    assert "Status: critical (exit 2)" in out


def test_since_counts_back_from_now(plan: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50] * 10 + [95] * 10)  # 95 from 10:10
    # as of 10:09 (a replay) only the 50s exist
    assert run(plan, data, now="2026-01-01T10:09:00Z")[0] == 0
    # as of 10:30, the last 20m still hold the 95s of 10:10 to 10:19
    assert run(plan, data, "--since", "20m", "--max-age", "1h", now="2026-01-01T10:30:00Z")[0] == 2
    # the last 5m hold no sample: counted from the last sample they would have been critical
    code, out, _ = run(
        plan, data, "--since", "5m", "--max-age", "1h", "-f", "json", now="2026-01-01T10:30:00Z"
    )
    assert code == 1
    cpu = json.loads(out)["results"][0]
    assert cpu["status"] == "no data"
    assert cpu["message"] == "no sample in the last 5m; last sample 11m 0s ago"
    assert cpu["last_sample"] == "2026-01-01T10:19:00Z"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--now", "yesterday"], "--now: expected an ISO 8601 time such as 2026-10-13T00:00:00Z"),
        (["--now", ""], "--now: expected an ISO 8601 time"),
        (
            ["--max-age", "3 hours"],
            "--max-age: expected a duration such as 30m, 3h or 2d, or 'off'",
        ),
        (["--max-age", "-1h"], "--max-age: expected a duration"),
        (["--since", "a week"], "--since: 'a week' is not a duration"),
    ],
)
def test_bad_now_max_age_and_since_exit_3(
    plan: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    data = write_csv(tmp_path / "cpu.csv", [50.0])
    result = runner.invoke(app, ["check", str(plan), str(data), *args])
    assert result.exit_code == 3
    assert says in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr
