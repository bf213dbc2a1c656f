"""The generated Alertmanager configuration passes ``amtool check-config`` for every example
with receivers, and ``amtool config routes test`` sends each alert where its plan says: the
Claude Code Manager guide's critical alerts page, its warnings go to Slack, its info alerts by
e-mail; the APM runbook's all go to Slack. A real Alertmanager shows the inhibition.

amtool and Alertmanager come from Debian's ``prometheus-alertmanager`` package, which
``scripts/system-deps.sh`` installs (``make test`` and ``.ci/run`` call it). These tests FAIL
(never skip) when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML
from tests.conftest import free_port, stop, wait_ready
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError
from capplan.export import EXPORTERS
from capplan.export.alertmanager import ALERTMANAGER_FILE
from capplan.export.alerts import alert_specs
from capplan.plan.alerting import Alerting

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
ROUTED = ["apm", "claude_manager", "the_bot"]  # the examples whose documents route alerts
runner = CliRunner()


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: install Debian's prometheus-alertmanager package "
            "(bash scripts/system-deps.sh, as make test and .ci/run do)"
        )
    return path


def load(example: str) -> capplan.Plan:
    return capplan.load_plan(ROOT / "examples" / f"{example}.yaml")


def write_config(plan: capplan.Plan, folder: Path) -> Path:
    files = EXPORTERS.get("alertmanager")(plan)
    assert list(files) == [ALERTMANAGER_FILE]
    path = folder / ALERTMANAGER_FILE
    path.write_text(files[ALERTMANAGER_FILE], encoding="utf-8")
    return path


def routes_test(config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers ``amtool config routes test`` gives for an alert with ``labels``."""
    done = subprocess.run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().split(",")


def test_the_examples_with_routing_in_their_documents_have_receivers() -> None:
    routed = [e for e in EXAMPLES if EXPORTERS.get("alertmanager")(load(e))]
    assert routed == ROUTED


@pytest.mark.parametrize("example", ROUTED)
def test_config_passes_amtool_check_config(example: str, tmp_path: Path) -> None:
    config = write_config(load(example), tmp_path)
    done = subprocess.run(
        [tool("amtool"), "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"severity": "critical"}, "oncall"),
        ({"severity": "critical", "team": "x"}, "oncall"),
        ({"severity": "warning", "team": "x"}, "slack"),
        ({"severity": "info"}, "email"),
        ({"alertname": "Watchdog"}, "slack"),  # no severity: the default receiver
    ],
)
def test_claude_code_manager_routes(labels: dict[str, str], receiver: str, tmp_path: Path) -> None:
    """The guide: critical alerts page on-call, warnings go to Slack, info alerts by e-mail."""
    config = write_config(load("claude_manager"), tmp_path)
    assert routes_test(config, labels) == [receiver]


def test_apm_routes_everything_to_slack(tmp_path: Path) -> None:
    config = write_config(load("apm"), tmp_path)
    for severity in ("critical", "warning", "info"):
        assert routes_test(config, {"severity": severity, "team": "apm"}) == ["slack"]


def test_the_bot_pages_on_api_errors_only(tmp_path: Path) -> None:
    config = write_config(load("the_bot"), tmp_path)
    assert routes_test(config, {"severity": "warning", "threshold": "api_errors"}) == ["oncall"]
    assert routes_test(config, {"severity": "critical", "threshold": "cpu"}) == ["autoscaled"]


@pytest.mark.parametrize("example", ROUTED)
def test_every_generated_alert_goes_where_the_plan_says(example: str, tmp_path: Path) -> None:
    """amtool's route walk agrees with the plan's for the labels of every generated alert."""
    plan = load(example)
    config = write_config(plan, tmp_path)
    seen = set()
    for spec in alert_specs(plan):
        labels = {"alertname": spec.name, **spec.labels}
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        assert routes_test(config, labels) == plan.alerting.receiver_for(labels), spec.name


def test_no_secret_is_written(tmp_path: Path) -> None:
    text = EXPORTERS.get("alertmanager")(load("claude_manager"))[ALERTMANAGER_FILE]
    doc = YAML(typ="safe").load(text)
    configs = [c for r in doc["receivers"] for k, cs in r.items() if k != "name" for c in cs]
    keys = {key for config in configs for key in config}
    assert {"routing_key_file", "api_url_file", "auth_password_file"} <= keys
    assert not keys & {"routing_key", "service_key", "api_url", "auth_password"}
    assert "/etc/alertmanager/secrets/smtp-password (email)" in text  # listed in the header


PLAN = """
system: Routing edge cases
drivers:
  users: {initial: 10}
components:
  api: {kind: horizontal, demand: users, capacity_per_instance: 5}
metrics:
  latency: {unit: s, component: api}
thresholds:
  slow: {metric: latency, warning: 1, critical: 2}
alerting:
  labels: {team: payments}
  receivers:
    hook:
      kind: webhook
      url: http://alert-sink.internal:8080/alerts
      credentials_file: /run/secrets/sink-token
      max_alerts: 20
    quiet: {kind: none}
    payments:
      kind: slack
      api_url_file: /run/secrets/slack
      send_resolved: false
  default_receiver: quiet
  routes:
    - {team: [payments, billing], receiver: hook, continue: true, group_by: [alertname, instance]}
    - {severity: [critical, warning], team: payments, receiver: payments, group_wait: 10s}
"""


def synthetic(tmp_path: Path, text: str = PLAN) -> capplan.Plan:
    source = tmp_path / "plan.yaml"
    source.write_text(text, encoding="utf-8")
    return capplan.load_plan(source)


def test_webhook_none_continue_and_lists_pass_amtool(tmp_path: Path) -> None:
    plan = synthetic(tmp_path)
    config = write_config(plan, tmp_path)
    check = subprocess.run(
        [tool("amtool"), "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    text = config.read_text(encoding="utf-8")
    assert 'team=~"payments|billing"' in text
    assert "credentials_file: /run/secrets/sink-token" in text
    both = {"severity": "critical", "team": "payments"}
    assert routes_test(config, both) == ["hook", "payments"] == plan.alerting.receiver_for(both)
    assert routes_test(config, {"severity": "info", "team": "billing"}) == ["hook"]
    assert routes_test(config, {"severity": "critical", "team": "ops"}) == ["quiet"]
    # alerting.labels reach every rule, so team routing works for the generated alerts
    assert all(s.labels["team"] == "payments" for s in alert_specs(plan))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("api_url_file: /run/secrets/slack", "api_url: https://hooks.slack.com/x"),
            "api_url_file",
        ),
        (("receiver: payments,", "receiver: payment,"), "did you mean 'payments'"),
        (("default_receiver: quiet", "default_receiver: nobody"), "alerting.default_receiver"),
        (("component: api}", "component: db}"), "metrics.latency.component"),
        (("kind: none", "kind: sms"), "alerting.receivers.quiet"),
    ],
)
def test_plan_errors_name_the_field(change: tuple[str, str], message: str, tmp_path: Path) -> None:
    old, new = change
    assert old in PLAN
    with pytest.raises(PlanError) as caught:
        synthetic(tmp_path, PLAN.replace(old, new))
    assert message in str(caught.value)
    assert "plan.yaml:" in str(caught.value)  # with the line


def test_an_inline_secret_says_which_file_field_to_use(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        synthetic(
            tmp_path, PLAN.replace("url: http://alert", "token: abc\n      url: http://alert")
        )
    assert "'token' would write a secret" in str(caught.value)
    assert "credentials_file" in str(caught.value)


def test_without_receivers_the_cli_says_what_is_missing() -> None:
    result = runner.invoke(app, ["export", "alertmanager", str(ROOT / "examples/omniops.yaml")])
    assert result.exit_code == 0
    assert "nothing to export" in result.stderr
    assert "alerting:" in result.stderr


def test_route_walk_of_the_model() -> None:
    alerting = Alerting.model_validate(
        {
            "receivers": {"a": {"kind": "none"}, "b": {"kind": "none"}},
            "routes": [{"severity": "critical", "receiver": "b"}],
        }
    )
    assert alerting.root_receiver() == "a"
    assert alerting.receiver_for({"severity": "critical"}) == ["b"]
    assert alerting.receiver_for({}) == ["a"]


def test_a_real_alertmanager_inhibits_the_warning_of_a_critical(tmp_path: Path) -> None:
    """The generated inhibit rules in a running Alertmanager: CpuCritical on one instance
    silences CpuWarning there, not on another instance, and not another threshold's warning."""
    binary = tool("prometheus-alertmanager")
    config = write_config(load("claude_manager"), tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, "alertmanager")
        alerts = [
            ("CpuWarning", "warning", "cpu", "app-1"),
            ("CpuCritical", "critical", "cpu", "app-1"),
            ("CpuWarning", "warning", "cpu", "app-2"),
            ("MemoryWarning", "warning", "memory", "app-1"),
        ]
        body = [
            {"labels": {"alertname": a, "severity": s, "threshold": t, "instance": i}}
            for a, s, t, i in alerts
        ]
        assert httpx.post(f"{url}/api/v2/alerts", json=body, timeout=5).status_code == 200
        state: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
            state = {
                (a["labels"]["alertname"], a["labels"]["instance"]): a["status"]["state"]
                for a in got
            }
            if len(state) == 4 and "suppressed" in state.values():
                break
            time.sleep(0.2)
        assert state == {
            ("CpuWarning", "app-1"): "suppressed",
            ("CpuCritical", "app-1"): "active",
            ("CpuWarning", "app-2"): "active",
            ("MemoryWarning", "app-1"): "active",
        }
    finally:
        stop(proc)
