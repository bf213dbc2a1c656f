"""The generated Prometheus rules pass ``promtool check rules``, and the generated unit tests
pass ``promtool test rules``, for every example plan.

promtool comes from Debian's ``prometheus`` package, which ``.ci/run`` installs. These tests
FAIL (never skip) when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import capplan
from capplan.export import EXPORTERS, humanize
from capplan.export.alerts import alert_specs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: install Debian's prometheus package "
            "(apt-get install prometheus), as .ci/run does"
        )
    return path


def write_rules(example: str, folder: Path) -> tuple[Path, Path]:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    files = EXPORTERS.get("prometheus-rules")(plan)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    rules = next(folder / n for n in files if not n.endswith(".test.yml"))
    tests = next(folder / n for n in files if n.endswith(".test.yml"))
    return rules, tests


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_rules_pass_promtool_check(example: str, tmp_path: Path) -> None:
    rules, _ = write_rules(example, tmp_path)
    result = run("check", "rules", rules.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@pytest.mark.parametrize("example", EXAMPLES)
def test_generated_unit_tests_pass(example: str, tmp_path: Path) -> None:
    _, tests = write_rules(example, tmp_path)
    result = run("test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_catch_a_wrong_rule(tmp_path: Path) -> None:
    """The generated tests are not vacuous: a rule with a changed level fails them."""
    rules, tests = write_rules("apm", tmp_path)
    text = rules.read_text(encoding="utf-8")
    assert "expr: disk_io_utilization > 85\n" in text
    rules.write_text(text.replace("disk_io_utilization > 85\n", "disk_io_utilization > 500\n"))
    result = run("test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "DiskIoCritical" in result.stdout + result.stderr


def test_every_alert_and_runway_is_tested() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    specs = alert_specs(plan)
    text = EXPORTERS.get("prometheus-rules")(plan)["apm.rules.test.yml"]
    for spec in specs:
        assert f"alertname: {spec.name}\n" in text
    assert any(s.is_runway for s in specs), "apm.yaml's disk_space threshold has a runway rule"
    assert any(s.selector.startswith("capplan:") for s in specs), "a recording-rule selector"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1, "1"),
        (190, "190"),
        (4000, "4k"),
        (1234567, "1.235M"),
        (0.2, "200m"),
        (0.05, "50m"),
        (-1, "-1"),
        (1.5, "1.5"),
    ],
)
def test_humanize_matches_prometheus(value: float, text: str) -> None:
    assert humanize(value) == text


SYNTHETIC = """
system: Synthetic edge cases
drivers:
  users: {initial: 10}
metrics:
  free_ratio: {unit: ratio, description: Free share of the pool, labels: {team: core}}
  latency:
    unit: s
    query: histogram_quantile(0.95, sum by (le) (rate(http_duration_seconds_bucket[5m])))
thresholds:
  free_pool:
    metric: free_ratio
    direction: below
    for: 90s
    warning: 0.25
    critical: {value: 0.1, for: 10m}
    emergency: 0
    runway: {horizon: 2h, window: 30m, for: 15m, severity: critical}
  slow:
    metric: latency
    unit: s
    warning: 1.5
    critical: 2500
    runway: {horizon: 7d}
  plan_side:
    metric: users
    warning: 100
"""


def test_edge_cases_pass_promtool(tmp_path: Path) -> None:
    """Direction below, fractional and zero levels, odd durations, runways both ways."""
    source = tmp_path / "plan.yaml"
    source.write_text(SYNTHETIC, encoding="utf-8")
    plan = capplan.load_plan(source)
    files = EXPORTERS.get("prometheus-rules")(plan)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    names = [s.name for s in alert_specs(plan)]
    assert names == [
        "FreePoolWarning",
        "FreePoolCritical",
        "FreePoolEmergency",
        "FreePoolRunway",
        "SlowWarning",
        "SlowCritical",
        "SlowRunway",
    ]
    rules = "synthetic-edge-cases.rules.yml"
    assert "expr: predict_linear(free_ratio[30m], 7200) < 0\n" in files[rules]
    assert "#   plan_side (users)\n" in files[rules]
    check = run("check", "rules", rules, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    test = run("test", "rules", "synthetic-edge-cases.rules.test.yml", cwd=tmp_path)
    assert test.returncode == 0, test.stdout + test.stderr
