"""The generated Prometheus rules pass ``promtool check rules``, and the generated unit tests
pass ``promtool test rules``, for every example plan: every alert has a ``for:``, and its test
shows it silent one evaluation before the ``for:`` has elapsed and firing once it has.

promtool comes from Debian's ``prometheus`` package, which ``.ci/run`` installs. These tests
FAIL (never skip) when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.export import EXPORTERS, humanize
from capplan.export.alerts import alert_specs
from capplan.export.promtool_tests import humanize_1024, humanize_duration

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


def unit_test_files(example: str, folder: Path) -> list[str]:
    """Every ``promtool test rules`` file the export writes (the change tests' too)."""
    write_rules(example, folder)
    return sorted(p.name for p in folder.glob("*.test.yml"))


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
    result = run("test", "rules", *unit_test_files(example, tmp_path), cwd=tmp_path)
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


def alert_rules(text: str) -> list[dict[str, object]]:
    doc = YAML(typ="safe").load(text)
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_alert_has_a_for(example: str) -> None:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    files = EXPORTERS.get("prometheus-rules")(plan)
    rules = alert_rules(next(t for n, t in files.items() if n.endswith(".rules.yml")))
    assert rules
    assert all(r.get("for") for r in rules), [r["alert"] for r in rules if not r.get("for")]


@pytest.mark.parametrize("example", ["apm", "claude_manager"])
def test_the_tests_check_every_for(example: str, tmp_path: Path) -> None:
    """Without its for:, every alert fires too early and fails its test."""
    rules, tests = write_rules(example, tmp_path)
    text = rules.read_text(encoding="utf-8")
    names = [str(r["alert"]) for r in alert_rules(text)]
    rules.write_text(re.sub(r"\n        for: \S+\n", "\n        for: 0s\n", text))
    result = run("test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode != 0
    failed = set(re.findall(r"alertname: (\w+)", result.stdout + result.stderr))
    assert failed == set(names)


def test_rules_are_grouped_by_component() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    doc = YAML(typ="safe").load(EXPORTERS.get("prometheus-rules")(plan)["apm.rules.yml"])
    groups = {g["name"]: [r.get("alert") or r["record"] for r in g["rules"]] for g in doc["groups"]}
    assert list(groups) == [
        "capplan-apm-compute",
        "capplan-apm-network",
        "capplan-apm-database-storage",
        "capplan-apm-apm-service",
    ]
    # the recording rules sit in their alerts' group, before them
    compute = groups["capplan-apm-compute"]
    assert compute[:3] == [
        "capplan:node_cpu_utilization",
        "capplan:node_memory_utilization",
        "capplan:disk_usage",
    ]
    assert all(not name.startswith("capplan:") for name in compute[3:])
    assert "DiskSpaceRunway" in groups["capplan-apm-compute"]
    service = groups["capplan-apm-apm-service"]
    records = [name for name in service if name.startswith("capplan:")]
    assert service[: len(records)] == records  # recording rules first here too
    assert "capplan:pod_cpu_utilization" in records


def test_annotations_name_the_instance_where_the_series_keep_it() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    by_name = {s.name: s for s in alert_specs(plan)}
    kept = by_name["ConnectionPoolWarning"]  # a ratio of two postgres_exporter series
    assert kept.instance
    assert "on {{ $labels.instance }}" in kept.annotations["summary"]
    summed = by_name["PodCpuWarning"]  # sum(...) / sum(...): one series, no instance
    assert not summed.instance
    assert "$labels" not in summed.annotations["summary"]


def test_metrics_without_a_query_are_warned_of() -> None:
    result = CliRunner().invoke(
        app, ["export", "prometheus-rules", str(ROOT / "examples" / "apm.yaml")]
    )
    assert result.exit_code == 0, result.stderr
    line = next(
        n
        for n, text in enumerate((ROOT / "examples" / "apm.yaml").read_text().splitlines(), 1)
        if text.lstrip().startswith("disk_io_utilization:")
    )
    assert (
        f"warning: {ROOT / 'examples' / 'apm.yaml'}:{line} metrics.disk_io_utilization has no query"
        in (" ".join(result.stderr.split()))
    )
    assert "db_pool_utilization" not in result.stderr  # it has one
    assert f"# WARNING metrics.disk_io_utilization (apm.yaml:{line}) has no query" in result.stdout


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


@pytest.mark.parametrize(
    ("value", "duration", "binary"),
    [
        (0, "0s", "0"),
        (0.25, "250ms", "0.25"),
        (1.5, "1.5s", "1.5"),
        (899.99, "14m 59s", "900"),
        (90061, "1d 1h 1m 1s", "87.95ki"),
        (1048576, "12d 3h 16m 16s", "1Mi"),
    ],
)
def test_duration_and_binary_prefixes_match_prometheus(
    value: float, duration: str, binary: str
) -> None:
    assert humanize_duration(value) == duration
    assert humanize_1024(value) == binary


SYNTHETIC = """
system: Synthetic edge cases
drivers:
  users: {initial: 10}
metrics:
  free_ratio: {unit: ratio, description: Free share of the pool, labels: {team: core}}
  latency:
    unit: s
    query: histogram_quantile(0.95, sum by (le) (rate(http_duration_seconds_bucket[5m])))
  cache_bytes: {unit: bytes, query: 'sum by (instance) (redis_memory_used_bytes)'}
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
  cache:
    metric: cache_bytes
    warning: 3000000
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
        "CacheWarning",
    ]
    rules = "synthetic-edge-cases.rules.yml"
    assert "expr: predict_linear(free_ratio[30m], 7200) < 0\n" in files[rules]
    assert "{{ $value | humanizeDuration }}" in files[rules]
    assert "{{ $value | humanize1024 }}B" in files[rules]
    assert "{{ $value | humanize }} MB" not in files[rules]
    assert "#   plan_side (users)\n" in files[rules]
    check = run("check", "rules", rules, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    test = run("test", "rules", "synthetic-edge-cases.rules.test.yml", cwd=tmp_path)
    assert test.returncode == 0, test.stdout + test.stderr
