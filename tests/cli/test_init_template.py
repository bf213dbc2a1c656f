"""The plan ``capplan init`` writes uses every growth model, component kind and policy kind the
schema accepts (read off the schema's tagged unions, not a list kept here), plus ``deploy``, a
threshold ``runway`` and a metric ``query``; it plans with no warning, and every exporter
writes something from it that the real tools accept."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.export import EXPORTERS
from capplan.plan.loader import parse_plan_text
from capplan.plan.models import Plan

runner = CliRunner()
SCHEMA: dict[str, Any] = Plan.model_json_schema(by_alias=True)


def tags(node: dict[str, Any]) -> set[str]:
    """The tags (``kind`` / ``model`` values) of a tagged union in the schema."""
    return set(node["discriminator"]["mapping"])


GROWTH_MODELS = tags(SCHEMA["$defs"]["Driver"]["properties"]["growth"])
COMPONENT_KINDS = tags(SCHEMA["properties"]["components"]["additionalProperties"])
POLICY_KINDS = tags(SCHEMA["properties"]["policies"]["additionalProperties"])


def template() -> dict[str, Any]:
    text = resources.files("capplan").joinpath("templates/plan.yaml").read_text(encoding="utf-8")
    data, _ = parse_plan_text(text, "plan.yaml")
    return data


def test_the_unions_are_read_from_the_schema() -> None:
    assert {"compound", "annual", "linear", "logistic", "points", "none"} <= GROWTH_MODELS
    assert {"horizontal", "vertical", "tiers", "formula"} <= COMPONENT_KINDS
    assert {"hpa", "step", "vpa"} <= POLICY_KINDS


def test_template_uses_every_growth_model_component_kind_and_policy_kind() -> None:
    data = template()
    models = {d.get("growth", {}).get("model", "none") for d in data["drivers"].values()}
    assert models == GROWTH_MODELS, f"missing growth models: {GROWTH_MODELS - models}"
    kinds = {c["kind"] for c in data["components"].values()}
    assert kinds == COMPONENT_KINDS, f"missing component kinds: {COMPONENT_KINDS - kinds}"
    policies = {p["kind"] for p in data.get("policies", {}).values()}
    assert policies == POLICY_KINDS, f"missing policy kinds: {POLICY_KINDS - policies}"


def test_template_shows_deploy_runway_and_query() -> None:
    data = template()
    assert any("deploy" in c for c in data["components"].values())
    assert any("runway" in t for t in data["thresholds"].values())
    observed = [m for m in data["metrics"].values() if isinstance(m, dict) and "query" in m]
    assert observed
    assert all("expr" not in m for m in observed)  # a query is for an observed metric


RECEIVER_KINDS = tags(
    SCHEMA["$defs"]["Alerting"]["properties"]["receivers"]["additionalProperties"]
)


def test_template_routes_alerts_to_every_kind_of_receiver() -> None:
    alerting = template()["alerting"]
    kinds = {r["kind"] for r in alerting["receivers"].values()}
    assert kinds == RECEIVER_KINDS - {"none"}, f"missing: {RECEIVER_KINDS - kinds - {'none'}}"
    routed = {r["receiver"] for r in alerting["routes"]}
    assert routed == set(alerting["receivers"])  # each receiver is reached by some route
    assert any("component" in m for m in template()["metrics"].values() if isinstance(m, dict))


@pytest.fixture(scope="module")
def init_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("init")
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    return folder / "plan.yaml"


def test_init_plan_validates_and_plans_with_no_warning(init_plan: Path) -> None:
    for command in (["validate"], ["plan"], ["scenarios"], ["plan", "-n", "200"]):
        result = runner.invoke(app, [*command, str(init_plan)])
        assert result.exit_code == 0, result.stderr
        assert result.stderr == "", result.stderr
    result = runner.invoke(app, ["plan", str(init_plan), "--format", "csv"])
    header = result.stdout.splitlines()[0].split(",")
    assert {"api.instances", "db.level", "cache.memory_gb", "search.level"} <= set(header)


@pytest.mark.parametrize("kind", EXPORTERS.names())
def test_every_export_of_the_init_plan_writes_files(
    kind: str, init_plan: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["export", kind, str(init_plan), "--output", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "nothing to export" not in result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written
    if kind == "kubernetes":  # an autoscaler per policy kind that has a manifest
        assert {"api.hpa.yaml", "api.vpa.yaml", "worker.scaledobject.yaml"} <= set(written)
        images = "".join((tmp_path / name).read_text() for name in written)
        assert "image: registry.example.com/shop/api:1.0" in images
        assert "image: registry.example.com/shop/worker:1.0" in images


def test_init_plan_rules_pass_promtool(init_plan: Path, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: install Debian's prometheus package")
    result = runner.invoke(app, ["export", "prometheus-rules", str(init_plan), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    rules = tmp_path / "my-service.rules.yml"
    assert "predict_linear" in rules.read_text()  # the runway alert
    for args in (["check", "rules", rules.name], ["test", "rules", "my-service.rules.test.yml"]):
        done = subprocess.run(
            [promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_template_shows_the_monitoring_blocks() -> None:
    data = template()
    assert data["scrape"]["jobs"]
    assert data["alerting"]["availability"]
    assert data["probes"]
    kinds = {
        k for slo in data["slos"].values() for k in ("job", "error_ratio", "metric") if k in slo
    }
    assert kinds >= {"job", "error_ratio"}
    assert any("bands" in t for t in data["thresholds"].values())


def test_init_plan_prometheus_config_passes_promtool(init_plan: Path, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: install Debian's prometheus package")
    for kind in ("prometheus-rules", "prometheus-config"):
        result = runner.invoke(app, ["export", kind, str(init_plan), "-o", str(tmp_path)])
        assert result.exit_code == 0, result.stderr
    done = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout + done.stderr
