"""Prometheus alerting rules from a plan's thresholds (``prometheus-rules`` exporter).

Only thresholds on OBSERVED metrics (metrics with no ``expr``: their history comes from
monitoring) become alerts; thresholds on plan quantities (drivers, derived metrics, component
outputs) are plan events, listed in a comment at the top of the rules file.

For each observed metric with thresholds:

- a recording rule ``capplan:<metric>`` with the metric's ``query`` when it has one (alerts then
  use ``capplan:<metric>``; without a query they use the metric name as the selector);
- one alert per level (warning, critical, emergency; ``target`` is not alerted), named
  ``<Threshold><Level>`` (``CpuCritical``), ``for`` the level's duration, else the threshold's;
  labels ``severity`` (emergency → ``critical`` plus ``level: emergency``) and ``threshold``,
  plus the threshold's and the metric's labels; ``summary`` / ``description`` annotations and
  ``runbook_url`` when given;
- for thresholds with ``runway``: ``predict_linear(<selector>[window], horizon) > <highest
  level>`` (``<`` for direction below), named ``<Threshold>Runway``.

The alerts are the specs of ``alerts``; a ``promtool test rules`` file is generated alongside
(see ``promtool_tests``).
"""

from __future__ import annotations

from typing import Any

from capplan.export.alerts import AlertSpec, alert_specs
from capplan.export.base import EXPORTERS, dump_yaml, header, observed_metrics, slug
from capplan.export.promtool_tests import rules_test_file
from capplan.plan.models import Plan

__all__ = ["prometheus_rules", "rules_file_name"]


def rules_file_name(plan: Plan) -> str:
    return f"{slug(plan.system)}.rules.yml"


def _rule(spec: AlertSpec) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": spec.name, "expr": spec.expr}
    if spec.for_text:
        rule["for"] = spec.for_text
    rule["labels"] = dict(spec.labels)
    rule["annotations"] = dict(spec.annotations)
    return rule


def _notes(plan: Plan) -> list[str]:
    observed = observed_metrics(plan)
    skipped = [(n, th.metric) for n, th in plan.thresholds.items() if th.metric not in observed]
    notes = ["Alerts for thresholds on observed metrics (metrics with no expression)."]
    if skipped:
        notes += [
            "",
            "Thresholds on plan quantities are plan events (see `capplan plan`), not alerts:",
        ]
        notes += [f"  {name} ({metric})" for name, metric in skipped]
    name = rules_file_name(plan)
    test = name.removesuffix(".yml") + ".test.yml"
    notes += ["", f"Check: promtool check rules {name} && promtool test rules {test}"]
    return notes


@EXPORTERS.register("prometheus-rules")
def prometheus_rules(plan: Plan) -> dict[str, str]:
    """``<system>.rules.yml`` (recording + alerting rules) and ``<system>.rules.test.yml``."""
    specs = alert_specs(plan)
    used = []
    for spec in specs:
        if spec.metric not in used:
            used.append(spec.metric)
    rules: list[dict[str, Any]] = [
        {"record": f"capplan:{m}", "expr": str(plan.metrics[m].query).strip()}
        for m in used
        if plan.metrics[m].query
    ]
    rules += [_rule(spec) for spec in specs]
    name = rules_file_name(plan)
    group = f"capplan-{slug(plan.system)}"
    doc: dict[str, Any] = {"groups": [{"name": group, "rules": rules}]}
    text = header(plan, "Prometheus rules", _notes(plan)) + dump_yaml(doc)
    test_name = name.removesuffix(".yml") + ".test.yml"
    return {name: text, test_name: rules_test_file(plan, name, specs)}
