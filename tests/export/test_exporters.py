"""What each exporter writes, checked field by field, and the ``capplan export`` command."""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml import YAML
from typer.testing import CliRunner

import capplan
import capplan.cli.export  # registers the command
from capplan.cli.app import app
from capplan.export import EXPORTERS
from capplan.export.compose import compose_memory
from capplan.export.grafana import grafana_unit, threshold_steps
from capplan.plan.models import Threshold

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def load(example: str) -> capplan.Plan:
    return capplan.load_plan(ROOT / "examples" / f"{example}.yaml")


def rules(example: str) -> dict[str, dict[str, object]]:
    files = EXPORTERS.get("prometheus-rules")(load(example))
    text = next(t for n, t in files.items() if n.endswith(".rules.yml"))
    doc = YAML(typ="safe").load(text)
    return {r.get("alert") or r["record"]: r for g in doc["groups"] for r in g["rules"]}


def test_only_observed_metrics_alert() -> None:
    by_name = rules("apm")
    # cpu / memory thresholds are on plan drivers: plan events, named in the header comment.
    assert not any(name.startswith(("CpuWarning", "Memory")) for name in by_name)
    text = EXPORTERS.get("prometheus-rules")(load("apm"))["apm.rules.yml"]
    assert "#   cpu (cpu_usage)\n" in text
    assert "ResponseTimeTarget" not in by_name  # target levels are not alerted


def test_alert_fields() -> None:
    by_name = rules("apm")
    assert by_name["capplan:pod_cpu_utilization"]["expr"].startswith("100 * sum(rate(")
    critical = by_name["ConnectionPoolCritical"]
    assert critical["expr"] == "capplan:db_pool_utilization > 80"
    assert critical["for"] == "3m"
    common = {"component": "database_storage", "team": "apm", "threshold": "connection_pool"}
    assert critical["labels"] == {"severity": "critical", **common}
    assert by_name["ConnectionPoolWarning"]["for"] == "5m"  # alerting.for: no level gives one
    emergency = by_name["ConnectionPoolEmergency"]["labels"]
    assert emergency == {"severity": "critical", "level": "emergency", **common}
    pod = by_name["PodCpuWarning"]
    assert pod["expr"] == "capplan:pod_cpu_utilization > 85"
    assert pod["labels"]["service"] == "apm-service"  # metric labels
    disk = by_name["DiskSpaceCritical"]
    assert disk["labels"]["team"] == "apm"  # threshold labels
    assert disk["annotations"]["runbook_url"] == "https://runbooks.example.com/apm/disk-space"
    summary = disk["annotations"]["summary"]
    assert summary == (
        'disk_usage critical on {{ $labels.instance }}: {{ $value | printf "%.4g" }}% (above 90%)'
    )
    runway = by_name["DiskSpaceRunway"]
    assert runway["expr"] == "predict_linear(capplan:disk_usage[6h], 86400) > 90"
    assert runway["for"] == "1h"
    assert runway["labels"]["severity"] == "warning"


def test_direction_below() -> None:
    by_name = rules("claude_manager")
    below = [r for r in by_name.values() if " < " in str(r["expr"])]
    assert below, "claude_manager's throughput threshold is on values below its levels"
    steps = threshold_steps(Threshold(metric="x", direction="below", warning=20, critical=10))
    assert steps == [
        {"color": "red", "value": None},
        {"color": "yellow", "value": 10},
        {"color": "green", "value": 20},
    ]


def test_grafana_dashboard() -> None:
    plan = load("apm")
    dashboard = json.loads(EXPORTERS.get("grafana")(plan)["apm.dashboard.json"])
    observed = [n for n, m in plan.metrics.items() if m.expr is None]
    charts = [p for p in dashboard["panels"] if p["type"] == "timeseries"][: len(observed)]
    assert [p["description"].split(" ")[0] for p in charts] == observed
    assert dashboard["schemaVersion"] >= 39
    assert "__inputs" not in dashboard
    disk_io = charts[0]["fieldConfig"]["defaults"]
    assert disk_io["unit"] == "percent"
    assert disk_io["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert disk_io["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "yellow", "value": 70},
        {"color": "red", "value": 85},
        {"color": "dark-red", "value": 95},
    ]
    assert (grafana_unit("ms"), grafana_unit("GB"), grafana_unit("tasks")) == (
        "ms",
        "decgbytes",
        "suffix: tasks",
    )


def test_compose_follows_the_seed_snippets() -> None:
    services = YAML(typ="safe").load(
        EXPORTERS.get("compose")(load("freeagentics"))["compose.capplan.yaml"]
    )
    # Seed 001's docker-compose backend before scaling: cpus 2.0 / 1.0, memory 4G / 2G.
    assert services["services"]["backend"]["deploy"]["resources"] == {
        "limits": {"cpus": "2", "memory": "4G"},
        "reservations": {"cpus": "1", "memory": "2G"},
    }
    bot = YAML(typ="safe").load(EXPORTERS.get("compose")(load("the_bot"))["compose.capplan.yaml"])
    assert bot["services"]["backend"]["deploy"]["replicas"] == 6  # tier_10k at period 0
    assert (compose_memory(4 * 2**30), compose_memory(1.5 * 2**30)) == ("4G", "1536M")


def test_cli_unknown_kind_lists_kinds() -> None:
    result = runner.invoke(app, ["export", "nagios", str(ROOT / "examples" / "apm.yaml")])
    assert result.exit_code == 2
    assert "compose, grafana, kubernetes, prometheus-config, prometheus-rules" in result.output


def test_cli_prints_files_with_headers() -> None:
    result = runner.invoke(app, ["export", "prometheus-rules", str(ROOT / "examples" / "apm.yaml")])
    assert result.exit_code == 0, result.output
    assert "# file: apm.rules.yml\n" in result.output
    assert "# file: apm.rules.test.yml\n" in result.output


def test_cli_writes_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    args = ["export", "kubernetes", str(ROOT / "examples" / "apm.yaml"), "--output", str(out)]
    result = runner.invoke(app, [*args, "--set", "policies.apm_service_hpa.metrics.0.target=60"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "apm-service.deployment.yaml",
        "apm-service.hpa.yaml",
        "apm-service.pdb.yaml",
        "apm-service.vpa.yaml",
        "postgres-replica.hpa.yaml",
        "postgres-replica.pdb.yaml",
        "postgres-replica.statefulset.yaml",
    ]
    assert "averageUtilization: 60\n" in (out / "apm-service.hpa.yaml").read_text()


def test_cli_output_must_be_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "file.yaml"
    target.write_text("x")
    args = ["export", "compose", str(ROOT / "examples" / "apm.yaml"), "--output", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "directory" in result.output
