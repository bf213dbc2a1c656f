"""``capplan export prometheus-config``: the generated prometheus.yml passes the real
``promtool check config`` (with the rules file beside it) for every example that declares
scrape jobs, and for static and Kubernetes jobs with basic auth and bearer tokens; secrets
stay in files; availability alerts (``up == 0``) fire after their ``for:`` and not before.

promtool comes from Debian's ``prometheus`` package (scripts/system-deps.sh). These tests FAIL
(never skip) when it is missing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError
from capplan.export import EXPORTERS

from .test_promtool import promtool

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
WITH_JOBS = [e for e in EXAMPLES if capplan.load_plan(ROOT / "examples" / f"{e}.yaml").scrape.jobs]


def export_all(plan: capplan.Plan, folder: Path) -> None:
    for kind in ("prometheus-config", "prometheus-rules"):
        for name, text in EXPORTERS.get(kind)(plan).items():
            (folder / name).write_text(text, encoding="utf-8")


def check_config(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), "check", "config", "prometheus.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_documents_with_prometheus_setups_declare_scrape_jobs() -> None:
    assert {"apm", "claude_manager"} <= set(WITH_JOBS)


@pytest.mark.parametrize("example", WITH_JOBS)
def test_example_config_passes_promtool(example: str, tmp_path: Path) -> None:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    export_all(plan, tmp_path)
    result = check_config(tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "SUCCESS: prometheus.yml is valid prometheus config file syntax" in out
    assert "SUCCESS: 1 rule files found" in out


def test_apm_config_holds_the_runbooks_jobs(tmp_path: Path) -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    doc = YAML(typ="safe").load(EXPORTERS.get("prometheus-config")(plan)["prometheus.yml"])
    assert doc["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    assert doc["rule_files"] == ["apm.rules.yml"]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["localhost:9093"]
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    assert list(jobs) == ["apm-application", "node-exporter", "postgres-exporter"]
    assert jobs["apm-application"]["scrape_interval"] == "5s"
    assert jobs["apm-application"]["static_configs"] == [{"targets": ["localhost:8080"]}]
    assert jobs["postgres-exporter"]["static_configs"] == [{"targets": ["localhost:9187"]}]


PLAN = """\
system: Shop
drivers: {users: {initial: 100}}
alerting:
  receivers: {ops: {kind: webhook, url: "http://hooks.example.com/alerts"}}
  availability:
    - {job: api, for: 2m}
scrape:
  interval: 30s
  alertmanagers: ["am-1:9093", "am-2:9093"]
  jobs:
    api:
      kubernetes_sd: pod
      namespaces: [shop]
      labels: {team: payments}
      scheme: https
      credentials_file: secrets/api-token
    node:
      targets: ["10.0.0.1:9100", "10.0.0.2:9100"]
      labels: {env: prod}
      interval: 10s
      timeout: 5s
      basic_auth: {username: prom, password_file: secrets/node-password}
"""


def load(tmp_path: Path, text: str = PLAN) -> capplan.Plan:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return capplan.load_plan(path)


def test_authenticated_jobs_pass_promtool(tmp_path: Path) -> None:
    plan = load(tmp_path)
    export_all(plan, tmp_path)
    (tmp_path / "secrets").mkdir()
    for name in ("api-token", "node-password"):  # promtool checks that they exist
        (tmp_path / "secrets" / name).write_text("s3cret\n", encoding="utf-8")
    text = (tmp_path / "prometheus.yml").read_text(encoding="utf-8")
    doc = YAML(typ="safe").load(text)
    api, node = doc["scrape_configs"]
    assert api["authorization"] == {
        "type": "Bearer",
        "credentials_file": "secrets/api-token",
    }
    assert node["basic_auth"] == {
        "username": "prom",
        "password_file": "secrets/node-password",
    }
    assert node["static_configs"] == [
        {"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod"}}
    ]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "am-1:9093",
        "am-2:9093",
    ]
    assert "secrets/node-password (node)" in text  # listed in the header
    # Debian's promtool is built without Kubernetes service discovery (it rejects the field
    # kubernetes_sd_configs), so the Kubernetes job is checked by its structure above and
    # promtool checks the rest of the file.
    doc["scrape_configs"] = [node, {**api, "static_configs": [{"targets": ["api:8080"]}]}]
    del doc["scrape_configs"][1]["kubernetes_sd_configs"]
    with (tmp_path / "prometheus.yml").open("w", encoding="utf-8") as handle:
        YAML().dump(doc, handle)
    result = check_config(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_job_is_what_prometheus_documents(tmp_path: Path) -> None:
    plan = load(tmp_path)
    doc = YAML(typ="safe").load(EXPORTERS.get("prometheus-config")(plan)["prometheus.yml"])
    api = doc["scrape_configs"][0]
    assert api["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["shop"]}}]
    assert "static_configs" not in api
    # labels of discovered targets come from relabelling: no source label, the value set
    assert api["relabel_configs"] == [{"target_label": "team", "replacement": "payments"}]
    assert api["scheme"] == "https"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "password_file: secrets/node-password",
            "password: hunter2",
            "password_file",
        ),
        (
            "credentials_file: secrets/api-token",
            "bearer_token: abc",
            "credentials_file",
        ),
        ("timeout: 5s", "timeout: 20s", "must not exceed its scrape interval"),
        ('targets: ["10.0.0.1:9100", "10.0.0.2:9100"]', "targets: [http://x/]", "host:port"),
        ("kubernetes_sd: pod", 'targets: ["a:1"]\n      kubernetes_sd: pod', "exactly one of"),
    ],
)
def test_bad_scrape_blocks_are_clear_errors(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in PLAN
    with pytest.raises(PlanError) as info:
        load(tmp_path, PLAN.replace(old, new))
    text = str(info.value)
    assert expected in text
    assert "plan.yaml:" in text
    assert "scrape.jobs." in text


def test_nothing_without_jobs_and_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "prometheus-config", str(ROOT / "examples" / "the_bot.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "no scrape jobs" in result.output


def test_export_refuses_a_foreign_prometheus_yml(tmp_path: Path) -> None:
    plan = str(ROOT / "examples" / "apm.yaml")
    own = tmp_path / "prometheus.yml"
    own.write_text("global: {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["export", "prometheus-config", plan, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "not written by capplan" in result.output
    assert own.read_text(encoding="utf-8") == "global: {}\n"
    result = CliRunner().invoke(
        app, ["export", "prometheus-config", plan, "-o", str(tmp_path), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert "generated by capplan" in own.read_text(encoding="utf-8")


# -- availability alerts ----------------------------------------------------------------------


def test_availability_alert_and_its_promtool_test(tmp_path: Path) -> None:
    plan = load(tmp_path)
    files = EXPORTERS.get("prometheus-rules")(plan)
    rules = YAML(typ="safe").load(files["shop.rules.yml"])
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ApiDown"]
    assert rule["expr"] == 'up{job="api"} == 0'
    assert rule["for"] == "2m"
    assert rule["labels"] == {"severity": "critical"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    tests = YAML(typ="safe").load(files["shop.rules.test.yml"])
    (case,) = [t for t in tests["tests"] if t["name"].startswith("ApiDown")]
    silent, fires = case["alert_rule_test"]
    assert (silent["eval_time"], fires["eval_time"]) == ("12m", "13m")  # down from 11m, for 2m
    ok = subprocess.run(
        [promtool(), "test", "rules", "shop.rules.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The test is not vacuous: a rule that fires after 1m fails it.
    rules_path = tmp_path / "shop.rules.yml"
    text = rules_path.read_text(encoding="utf-8")
    rules_path.write_text(
        text.replace(
            'expr: up{job="api"} == 0\n        for: 2m', 'expr: up{job="api"} == 0\n        for: 1m'
        ),
        encoding="utf-8",
    )
    assert rules_path.read_text(encoding="utf-8") != text
    bad = subprocess.run(
        [promtool(), "test", "rules", "shop.rules.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode != 0
    assert "ApiDown" in bad.stdout + bad.stderr


def test_claude_manager_pages_when_the_app_or_the_database_is_down() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "claude_manager.yaml")
    text = EXPORTERS.get("prometheus-rules")(plan)["claude-code-manager.rules.yml"]
    rules = {
        r["alert"]: r
        for g in YAML(typ="safe").load(text)["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    for name, job in (("AppDown", "app"), ("PostgresDown", "postgres")):
        assert rules[name]["expr"] == f'up{{job="{job}"}} == 0'
        assert rules[name]["for"] == "1m"
        assert rules[name]["labels"]["severity"] == "critical"


def test_an_availability_job_outside_the_scrape_jobs_is_a_typo(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load(tmp_path, PLAN.replace("- {job: api, for: 2m}", "- {job: apj, for: 2m}"))
    text = str(info.value)
    assert "alerting.availability[0].job names job 'apj'" in text
    assert "did you mean 'api'?" in text


def test_one_availability_alert_per_job(tmp_path: Path) -> None:
    text = PLAN.replace("- {job: api, for: 2m}", "- {job: api, for: 2m}\n    - {job: api}")
    with pytest.raises(PlanError) as info:
        load(tmp_path, text)
    assert "alerting.availability[1].job job 'api' already has an availability alert" in str(
        info.value
    )
