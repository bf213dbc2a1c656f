"""The Grafana dashboard: valid for Grafana's own schema, ready for provisioning and import,
legends from the queries' labels, every threshold level drawn, capplan's gauges charted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from typer.testing import CliRunner

import capplan
import capplan.cli.export  # registers the command
from capplan.cli.app import app
from capplan.export import EXPORTERS
from capplan.export.grafana import legend_format, threshold_steps
from capplan.export.promql_labels import result_labels
from capplan.plan.models import Threshold

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "grafana-schema"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text("utf-8"))
    return loaded


def validator(name: str, definition: str | None = None) -> Draft7Validator:
    """A validator for the schema file ``name``, or for one of its definitions."""
    doc = schema(name)
    if definition is not None:
        doc = {**doc, "$ref": f"#/definitions/{definition}"}
    Draft7Validator.check_schema(doc)
    return Draft7Validator(doc)


DASHBOARD = validator("dashboard")
PANEL_OPTIONS = {kind: validator(kind, "Options") for kind in ("timeseries", "bargauge", "stat")}
TIMESERIES_CUSTOM = validator("timeseries", "FieldConfig")
PROMETHEUS_QUERY = validator("prometheus")


def dashboard_of(example: str) -> dict[str, Any]:
    plan = capplan.load_plan(ROOT / "examples" / f"{example}.yaml")
    files = EXPORTERS.get("grafana")(plan)
    assert len(files) == 1
    [text] = files.values()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def errors(check: Draft7Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(instance)
    ]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_passes_the_dashboard_schema(example: str) -> None:
    dashboard = dashboard_of(example)
    assert errors(DASHBOARD, dashboard) == []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert errors(PANEL_OPTIONS[panel["type"]], panel["options"]) == [], panel["title"]
        if panel["type"] == "timeseries":
            custom = panel["fieldConfig"]["defaults"]["custom"]
            assert errors(TIMESERIES_CUSTOM, custom) == [], panel["title"]
        for target in panel["targets"]:
            assert errors(PROMETHEUS_QUERY, target) == [], panel["title"]


def test_the_schema_catches_what_file_provisioning_cannot_use() -> None:
    """The bundled schema is strict: the old ``__inputs`` placeholder and a panel option of
    the wrong type fail it."""
    dashboard = dashboard_of("apm")
    assert errors(DASHBOARD, {**dashboard, "__inputs": []})
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": "yes", "calcs": []}
    options = {"legend": legend, "tooltip": {"mode": "multi", "sort": "none"}}
    assert errors(PANEL_OPTIONS["timeseries"], options)


def walk(node: Any) -> Any:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from walk(child)


@pytest.mark.parametrize("example", EXAMPLES)
def test_dashboards_import_with_a_datasource_variable(example: str) -> None:
    """Provisioned from disk or imported in the UI, the same file works: the Prometheus is
    the ``datasource`` variable, every panel and query names it, and nothing is left for an
    import dialog to fill in."""
    dashboard = dashboard_of(example)
    text = json.dumps(dashboard)
    assert "__inputs" not in dashboard
    assert "__requires" not in dashboard
    assert "DS_PROMETHEUS" not in text
    assert dashboard["id"] is None
    assert re.fullmatch(r"capplan-[a-z0-9-]{1,32}", dashboard["uid"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    source = variables["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    refs = [n["datasource"] for n in walk(dashboard) if isinstance(n, dict) and "datasource" in n]
    assert refs
    assert all(ref == {"type": "prometheus", "uid": "${datasource}"} for ref in refs)
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    # every variable the panels name is defined
    used = set(re.findall(r"\$\{?(\w+)", text))
    assert used <= set(variables)
    # ids unique, panels inside the 24-column grid
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])


def test_the_marker_is_the_description() -> None:
    for example in EXAMPLES:
        assert "generated by capplan" in dashboard_of(example)["description"]


# capplan's own gauges --------------------------------------------------------------------------
def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_runway_headroom_and_cost_panels_use_the_services_gauges() -> None:
    dashboard = dashboard_of("apm")
    names = {m for e in exprs(dashboard) for m in re.findall(r"\bcapplan_\w+", e)}
    assert names == {
        "capplan_runway_seconds",
        "capplan_headroom_ratio",
        "capplan_plan_monthly_cost",
        "capplan_plan_total_cost",
        "capplan_over_capacity_start_timestamp_seconds",
    }
    served = (ROOT / "src" / "capplan" / "web" / "metrics.py").read_text("utf-8")
    for name in names:
        assert f'"{name}"' in served or f'= "{name}"' in served, name
    plan_var = next(v for v in dashboard["templating"]["list"] if v["name"] == "plan")
    assert plan_var["query"] == "label_values(capplan_plan_monthly_cost, plan)"
    assert all('plan="$plan"' in e for e in exprs(dashboard) if "capplan_" in e)
    by_title = {p.get("title"): p for p in dashboard["panels"]}
    runway = by_title["Runway to each level (most likely)"]
    assert runway["fieldConfig"]["defaults"]["unit"] == "s"
    assert 'quantile="0.5"' in runway["targets"][0]["expr"]
    assert runway["targets"][0]["legendFormat"] == "{{threshold}} {{level}} ({{series}})"
    headroom = by_title["Headroom per component"]
    assert headroom["targets"][0]["legendFormat"] == "{{component}}"
    assert headroom["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert by_title["Monthly cost"]["fieldConfig"]["defaults"]["unit"] == "currencyUSD"
    over = by_title["Over capacity from"]
    assert over["targets"][0]["expr"].endswith("* 1000")  # Grafana's dates are milliseconds
    assert over["targets"][0]["legendFormat"] == "{{component}} ({{scenario}})"
    assert over["fieldConfig"]["defaults"]["unit"] == "dateTimeFromNow"


def test_a_plan_without_observed_metrics_still_charts_its_capacity() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "freeagentics.yaml")
    metrics = {n: m for n, m in plan.metrics.items() if m.expr is not None}
    thresholds = {n: t for n, t in plan.thresholds.items() if t.metric not in plan.metrics}
    plan = plan.model_copy(update={"metrics": metrics, "thresholds": thresholds})
    dashboard = json.loads(next(iter(EXPORTERS.get("grafana")(plan).values())))
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles == [
        "Capacity plan (capplan serve)",
        "Headroom per component",
        "Monthly cost",
        "Cost over the horizon",
        "Over capacity from",
    ]
    assert errors(DASHBOARD, dashboard) == []


def test_budget_limit_colours_the_monthly_cost() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "omniops.yaml")
    plan = plan.model_copy(
        update={"budget": plan.budget.model_copy(update={"monthly_limit": 5000.0})}
    )
    dashboard = json.loads(next(iter(EXPORTERS.get("grafana")(plan).values())))
    monthly = next(p for p in dashboard["panels"] if p.get("title") == "Monthly cost")
    assert monthly["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "red", "value": 5000.0},
    ]


# legends ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "legend"),
    [
        # seed 003's panels
        (
            '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)',
            "{{instance}}",
        ),
        ("sum by (method, status) (rate(http_requests_total[5m]))", "{{method}} {{status}}"),
        ("avg(rate(node_cpu_seconds_total[5m])) by (pod)", "{{pod}}"),
        ("histogram_quantile(0.95, sum by (le, route) (rate(h_bucket[5m])))", "{{route}}"),
        ('label_replace(sum by (a) (x), "b", "$1", "a", "(.*)")', "{{a}} {{b}}"),
        ("sum by (ns) (x) / on (ns) group_left (team) sum by (ns, team) (y)", "{{ns}} {{team}}"),
        # one series: the metric's name
        ("100 * sum(rate(a[5m])) / sum(b)", "m"),
        ("scalar(sum(x))", "m"),
        # labels the query does not name: Grafana's auto legend (the labels that differ)
        ("(1 - (node_filesystem_free_bytes / node_filesystem_size_bytes)) * 100", "__auto"),
        ("rate(http_requests_total[5m])", "__auto"),
        ("sum without (cpu) (x)", "__auto"),
        ("topk(3, x)", "__auto"),
        ("sum(x", "__auto"),  # does not parse
    ],
)
def test_legend_from_labels(query: str, legend: str) -> None:
    assert legend_format("m", query) == legend


def test_result_labels_keep_their_order_once() -> None:
    assert result_labels("sum by (b, a) (x) * on (b) group_left (a) y") == ("b", "a")
    assert result_labels('count_values("version", build_info)') == ("version",)
    assert result_labels("vector(1)") == ()


def test_example_panels_have_legends_from_labels() -> None:
    dashboard = dashboard_of("apm")
    legends = {
        p["description"].split(" ")[0]: p["targets"][0]["legendFormat"]
        for p in dashboard["panels"]
        if p["type"] == "timeseries" and not p["title"].startswith("Earliest")
    }
    assert legends["pod_cpu_utilization"] == "pod_cpu_utilization"  # sum / sum: one series
    assert legends["disk_usage"] == "__auto"  # per filesystem
    assert len({p["targets"][0]["legendFormat"] for p in dashboard["panels"][1:3]}) == 1


# thresholds ------------------------------------------------------------------------------------
def test_every_level_of_every_threshold_is_drawn() -> None:
    cpu = Threshold(metric="cpu", warning=70, critical={"value": 85, "for": "5m"}, emergency=95)
    scaling = Threshold(metric="cpu", critical=80)
    assert threshold_steps([cpu, scaling]) == [
        {"color": "green", "value": None},
        {"color": "yellow", "value": 70},
        {"color": "red", "value": 80},
        {"color": "red", "value": 85},
        {"color": "dark-red", "value": 95},
    ]


def test_levels_above_and_below_on_one_metric() -> None:
    high = Threshold(metric="pool", warning=70, critical=90)
    low = Threshold(metric="pool", direction="below", warning=20, critical=10)
    assert threshold_steps([high, low]) == [
        {"color": "red", "value": None},
        {"color": "yellow", "value": 10},
        {"color": "green", "value": 20},
        {"color": "yellow", "value": 70},
        {"color": "red", "value": 90},
    ]


def test_a_panel_draws_both_thresholds_of_its_metric(tmp_path: Path) -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    extra = Threshold(metric="disk_usage", warning=75)
    plan = plan.model_copy(update={"thresholds": {**plan.thresholds, "disk_early": extra}})
    dashboard = json.loads(EXPORTERS.get("grafana")(plan)["apm.dashboard.json"])
    disk = next(p for p in dashboard["panels"] if p.get("description", "").startswith("disk_usage"))
    assert disk["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "yellow", "value": 75},
        {"color": "red", "value": 90},
    ]
    assert "disk_space: critical > 90 for 2m; disk_early: warning > 75" in disk["description"]
    assert errors(DASHBOARD, dashboard) == []


def test_nothing_to_chart_says_what_is_missing(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("system: bare\ndrivers:\n  users: {initial: 100}\n")
    assert EXPORTERS.get("grafana")(capplan.load_plan(plan)) == {}
    result = CliRunner().invoke(app, ["export", "grafana", str(plan), "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no observed metrics" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]
