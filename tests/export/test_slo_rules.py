"""SLOs: the error budget, the SRE workbook's burn-rate factors computed from the objective
and its window, the generated recording and alert rules run by the real promtool (their
generated tests, and an end-to-end test from raw ``up`` samples), the budget measured by
``capplan check`` on history, and the plan's SLO table."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError
from capplan.export import EXPORTERS
from capplan.export.slo_rules import slo_alerts
from capplan.plan.slos import BurnRate, Slo

from .test_promtool import promtool

runner = CliRunner()

P95 = "histogram_quantile(0.95, sum by (le) (rate(db_seconds_bucket[5m]))) * 1000"
ERRORS = 'sum(rate(http_requests_total{code=~"5.."}[W])) / sum(rate(http_requests_total[W]))'
PLAN = f"""\
system: Shop
drivers: {{users: {{initial: 100}}}}
metrics:
  db_query_p95: {{unit: ms, query: '{P95}'}}
slos:
  app_availability:
    objective: 99.9
    job: app
  db_latency:
    objective: 99
    window: 28d
    metric: db_query_p95
    limit: 100
  errors:
    objective: 99.5
    window: 7d
    error_ratio: {ERRORS.replace("W", "$window")}
    burn_rates: [{{consumed: 5, long: 1h, short: 10m, severity: warning}}]
"""


def load(tmp_path: Path, text: str = PLAN) -> capplan.Plan:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return capplan.load_plan(path)


def promtool_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_budget_of_99_9_percent_over_30_days_is_43_2_minutes() -> None:
    slo = Slo(objective=99.9, job="app")
    assert math.isclose(slo.budget_seconds / 60, 43.2)
    assert math.isclose(Slo(objective=99, job="app", window="7d").budget_seconds / 3600, 1.68)


def test_factors_follow_the_workbook_from_the_window() -> None:
    month = Slo(objective=99.9, job="app")
    assert [round(month.factor(r), 9) for r in month.burn_rates] == [14.4, 6, 1]
    assert [r.short_seconds for r in month.burn_rates] == [300, 1800, 21600]  # 5m, 30m, 6h
    four_weeks = Slo(objective=99.9, job="app", window="28d")
    # 2% of 28 days in 1h: 0.02 × 672 h = 13.44
    assert [round(four_weeks.factor(r), 9) for r in four_weeks.burn_rates] == [
        13.44,
        5.6,
        round(0.1 * 28 / 3, 9),
    ]
    assert math.isclose(month.factor(BurnRate(consumed=100, long="30d")), 1)


def test_rules_hold_the_thresholds_computed_from_each_objective(tmp_path: Path) -> None:
    plan = load(tmp_path)
    alerts = {a.name: a for a in slo_alerts(plan)}
    assert sorted(alerts) == [
        "AppAvailabilityBurnRate1h",
        "AppAvailabilityBurnRate3d",
        "AppAvailabilityBurnRate6h",
        "DbLatencyBurnRate1h",
        "DbLatencyBurnRate3d",
        "DbLatencyBurnRate6h",
        "ErrorsBurnRate1h",
    ]
    page = alerts["AppAvailabilityBurnRate1h"]
    assert page.expr == (
        "capplan:slo_app_availability:error_ratio_rate1h > (14.4 * 0.001) and "
        "capplan:slo_app_availability:error_ratio_rate5m > (14.4 * 0.001)"
    )
    assert page.labels == {"long_window": "1h", "severity": "critical", "slo": "app_availability"}
    assert alerts["AppAvailabilityBurnRate3d"].labels["severity"] == "warning"
    # 5% of a 7-day budget of 0.5% in 1h: factor 0.05 × 168 = 8.4, short window 10m
    errors = alerts["ErrorsBurnRate1h"]
    assert errors.expr == (
        "capplan:slo_errors:error_ratio_rate1h > (8.4 * 0.005) and "
        "capplan:slo_errors:error_ratio_rate10m > (8.4 * 0.005)"
    )
    files = EXPORTERS.get("prometheus-rules")(plan)
    groups = {g["name"]: g for g in YAML(typ="safe").load(files["shop.rules.yml"])["groups"]}
    records = {
        r["record"]: r["expr"] for r in groups["capplan-shop-slo-errors"]["rules"] if "record" in r
    }
    assert records == {
        "capplan:slo_errors:error_ratio_rate10m": ERRORS.replace("W", "10m"),
        "capplan:slo_errors:error_ratio_rate1h": ERRORS.replace("W", "1h"),
    }
    latency = groups["capplan-shop-slo-db-latency"]["rules"][0]
    assert latency["expr"] == f"avg(avg_over_time((({P95}) > bool 100)[5m:]))"


def test_rules_and_their_generated_tests_pass_promtool(tmp_path: Path) -> None:
    plan = load(tmp_path)
    for name, text in EXPORTERS.get("prometheus-rules")(plan).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = promtool_run("check", "rules", "shop.rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool_run("test", "rules", "shop.rules.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # not vacuous: a page threshold twice too high fails its test
    rules = tmp_path / "shop.rules.yml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("(14.4 * 0.001)", "(28.8 * 0.001)"), encoding="utf-8")
    broken = promtool_run("test", "rules", "shop.rules.test.yml", cwd=tmp_path)
    assert broken.returncode != 0
    assert "AppAvailabilityBurnRate1h" in broken.stdout + broken.stderr


def test_from_raw_up_samples_a_full_outage_pages_at_once(tmp_path: Path) -> None:
    """End to end, through the recording rules: up = 1 for an hour, then 0. From the first 0
    the 1h window is at least 1/61 bad (> 14.4 × 0.001) and the 5m window 1/6: the page fires
    2m (its for) later, not one minute before."""
    plan = load(tmp_path)
    for name, text in EXPORTERS.get("prometheus-rules")(plan).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    labels = {"long_window": "1h", "severity": "critical", "slo": "app_availability"}
    alert = next(a for a in slo_alerts(plan) if a.name == "AppAvailabilityBurnRate1h")
    case = {
        "rule_files": ["shop.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'up{job="app", instance="a:1"}', "values": "1+0x59 0+0x10"},
                    {"series": 'up{job="web", instance="b:1"}', "values": "0+0x70"},
                ],
                "alert_rule_test": [
                    {"eval_time": "61m", "alertname": alert.name, "exp_alerts": []},
                    {
                        "eval_time": "62m",
                        "alertname": alert.name,
                        "exp_alerts": [
                            {"exp_labels": labels, "exp_annotations": alert.annotations}
                        ],
                    },
                ],
            }
        ],
    }
    with (tmp_path / "raw.test.yml").open("w", encoding="utf-8") as handle:
        YAML().dump(case, handle)
    result = promtool_run("test", "rules", "raw.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_omniops_availability_kpi_is_an_slo() -> None:
    plan = capplan.load_plan(Path(__file__).resolve().parents[2] / "examples" / "omniops.yaml")
    slo = plan.slos["availability"]
    assert slo.objective == 99.9
    assert math.isclose(slo.budget_seconds / 60, 43.2)
    assert plan.thresholds["availability"].critical is not None
    assert plan.thresholds["availability"].critical.value == 99.5
    assert plan.thresholds["db_query"].critical is not None
    assert plan.thresholds["db_query"].critical.value == 100
    assert plan.thresholds["page_load"].critical is not None
    assert plan.thresholds["page_load"].critical.value == 3


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    job: app\n", "", "give exactly one indicator"),
        ("    job: app\n", "    job: app\n    metric: db_query_p95\n", "got job, metric"),
        (ERRORS.replace("W", "$window"), ERRORS.replace("W", "5m"), "write the range as $window"),
        ("    limit: 100\n", "", "limit goes with metric"),
        ("objective: 99.9", "objective: 100", "less than 100"),
        ("long: 1h, short", "long: 8d, short", "must not exceed the window"),
        ("    job: app\n", "    job: 'a\"pp'\n", "holds no quote"),
        ("metric: db_query_p95\n    limit", "metric: db_query_p99\n    limit", "db_query_p95"),
    ],
)
def test_bad_slos_are_clear_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in PLAN
    with pytest.raises(PlanError) as info:
        load(tmp_path, PLAN.replace(old, new))
    text = str(info.value)
    assert expected in text
    assert "slos." in text
    assert "plan.yaml:" in text


def test_an_slo_on_a_computed_metric_is_refused(tmp_path: Path) -> None:
    text = PLAN.replace(
        "  db_query_p95: {unit: ms,", "  load: users * 2\n  db_query_p95: {unit: ms,"
    )
    text = text.replace("metric: db_query_p95\n    limit", "metric: load\n    limit")
    with pytest.raises(PlanError, match="computed by the plan"):
        load(tmp_path, text)


# -- the budget measured by check, and shown by plan ----------------------------------------


def test_check_measures_the_budget_from_up_samples(tmp_path: Path) -> None:
    """A day of 1-minute samples of up for two targets, 3 minutes down: 3 bad samples of
    2,880 (0.104%), a burn rate of 1.04 (warning: faster than the budget lasts), and 1.5 min
    of bad time of the 43.2-minute budget (3.5%)."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: Shop\ndrivers: {users: {initial: 1}}\n"
        "slos: {avail: {objective: 99.9, job: app}}\n",
        encoding="utf-8",
    )
    rows = ["timestamp,series,value"]
    for minute in range(1440):
        stamp = f"2026-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z"
        rows.append(f'{stamp},"up{{instance=""a:1"",job=""app""}}",{0 if minute < 3 else 1}')
        rows.append(f'{stamp},"up{{instance=""b:1"",job=""app""}}",1')
        rows.append(f'{stamp},"up{{instance=""c:1"",job=""web""}}",0')
    history = tmp_path / "up.csv"
    history.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["check", str(plan), str(history), "--now", "2026-01-02T00:00:00Z", "--since", "1d"],
        catch_exceptions=False,
    )
    table = result.stdout
    assert "SLO error budgets" in table
    result = runner.invoke(
        app,
        [
            "check",
            str(plan),
            str(history),
            "--now",
            "2026-01-02T00:00:00Z",
            "--since",
            "1d",
            "--format",
            "json",
        ],
    )
    data = json.loads(result.stdout)
    (slo,) = data["slos"]
    assert slo["samples"] == 2880
    assert slo["series"] == ['up{instance="a:1",job="app"}', 'up{instance="b:1",job="app"}']
    assert math.isclose(slo["bad_share"], 3 / 2880)
    assert math.isclose(slo["burn_rate"], 3 / 2880 / 0.001)
    span = 1439 * 60
    assert math.isclose(slo["budget_used"], 3 / 2880 * span / (43.2 * 60))
    assert slo["status"] == "warning"
    assert result.exit_code == 1


def test_a_spent_budget_is_critical(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: Shop\ndrivers: {users: {initial: 1}}\nmetrics: {p95: {unit: ms}}\n"
        "slos: {fast: {objective: 99.9, window: 7d, metric: p95, limit: 100}}\n",
        encoding="utf-8",
    )
    rows = ["timestamp,series,value"]
    for minute in range(120):  # two hours, the first 30 minutes slow
        value = 250 if minute < 30 else 40  # 25% bad over 2 h: 30 min, of a 10.08 min budget
        rows.append(f"2026-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z,p95,{value}")
    history = tmp_path / "p95.csv"
    history.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["check", str(plan), str(history), "--now", "2026-01-01T02:00:00Z", "--format", "json"],
    )
    (slo,) = json.loads(result.stdout)["slos"]
    assert math.isclose(slo["bad_share"], 0.25)
    assert math.isclose(slo["budget_used"], 0.25 * 119 * 60 / (0.001 * 7 * 86400))
    assert slo["status"] == "critical"
    assert result.exit_code == 2


def test_plan_shows_the_slo_table() -> None:
    result = runner.invoke(
        app,
        ["plan", str(Path(__file__).resolve().parents[2] / "examples" / "omniops.yaml")],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    section = result.stdout.split("SLOs", 1)[1]
    assert "99.9% over 30d" in section
    assert "43.2 min per 30d" in section
    assert "14.4x over 1h (critical)" in section
    assert "1x over 3d (warning)" in section


def test_plan_json_and_markdown_carry_the_slos() -> None:
    plan = str(Path(__file__).resolve().parents[2] / "examples" / "omniops.yaml")
    data = json.loads(runner.invoke(app, ["plan", plan, "--format", "json"]).stdout)
    (slo,) = data["slos"]
    assert slo["budget_minutes"] == 43.2
    assert [r["factor"] for r in slo["burn_rates"]] == [14.4, 6, 1]
    assert [r["bad_share_above"] for r in slo["burn_rates"]] == [0.0144, 0.006, 0.001]
    markdown = runner.invoke(app, ["plan", plan, "--format", "markdown"]).stdout
    assert "| availability | 99.9% over 30d | error_ratio query | 43.2 min per 30d |" in markdown


def test_an_error_ratio_that_is_not_promql_is_warned_of(tmp_path: Path) -> None:
    text = PLAN.replace(ERRORS.replace("W", "$window"), "sum(rate(errors[$window]) /")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["export", "prometheus-rules", str(path)])
    assert result.exit_code == 0, result.output
    assert "slos.errors.error_ratio" in result.stderr
    assert "does not parse as PromQL" in result.stderr


def test_grafana_charts_each_slos_burn_rate(tmp_path: Path) -> None:
    plan = load(tmp_path)
    (text,) = EXPORTERS.get("grafana")(plan).values()
    panels = {p["title"]: p for p in json.loads(text)["panels"]}
    panel = panels["SLO app_availability: burn rate"]
    exprs = [t["expr"] for t in panel["targets"]]
    assert exprs == [
        f"capplan:slo_app_availability:error_ratio_rate{w} / 0.001" for w in ("1h", "6h", "3d")
    ]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 1, 6, 14.4]
    assert steps[-1]["color"] == "red"
    errors = panels["SLO errors: burn rate"]  # 5% of a 7-day budget in 1h: 8.4x
    assert [t["expr"] for t in errors["targets"]] == [
        "capplan:slo_errors:error_ratio_rate1h / 0.005"
    ]
    assert errors["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 8.4
