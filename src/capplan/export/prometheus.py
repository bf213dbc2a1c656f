"""Prometheus alerting rules from a plan's thresholds (``prometheus-rules`` exporter).

Only thresholds on OBSERVED metrics (metrics with no ``expr``: their history comes from
monitoring) become alerts; thresholds on plan quantities (drivers, derived metrics, component
outputs) are plan events, listed in a comment at the top of the rules file.

Rules are grouped by component: a metric's ``component`` names its group
(``capplan-<system>-<component>``), metrics with none share ``capplan-<system>``. In each group:

- a recording rule ``capplan:<metric>`` with the metric's ``query`` when it has one (alerts then
  use ``capplan:<metric>``, evaluated after it in the same group); without a query they use the
  metric name as the selector, and the file's header (and ``capplan export``) warns of it;
- one alert per level (warning, critical, emergency; ``target`` is not alerted), named
  ``<Threshold><Level>`` (``CpuCritical``), ``for`` the level's duration, else the threshold's,
  else ``alerting.for``; labels ``severity`` (emergency → ``critical`` plus ``level:
  emergency``), ``threshold`` and ``component``, plus ``alerting.labels`` and the metric's and
  threshold's labels; ``summary`` / ``description`` annotations with the value and, where the
  series keep it, the instance; ``runbook_url`` when given;
- for thresholds with ``runway``: ``predict_linear(<selector>[window], horizon) > <highest
  level>`` (``<`` for direction below), named ``<Threshold>Runway``.
- for ``alerting.availability``: ``up{job="<job>"} == 0`` for its ``for``, named
  ``<Job>Down``, in the group of its component.

Then one group per SLO: the bad share over each window its burn rates use (recording rules)
and the multiwindow burn-rate alerts (see ``slo_rules``).

The alerts are the specs of ``alerts``; a ``promtool test rules`` file is generated alongside
(see ``promtool_tests``), and ``<system>.rules.change.test.yml`` for the alerts of
thresholds with ``change`` (``100 * (sel - sel offset 7d) / (sel offset 7d != 0) > 20``),
whose inputs must span the window.
"""

from __future__ import annotations

import textwrap
from typing import Any

from capplan.export.alerts import AlertSpec, alert_specs, rule_notes
from capplan.export.base import EXPORTERS, dump_yaml, header, kebab, observed_metrics, slug
from capplan.export.promtool_tests import change_test_file, rules_test_file
from capplan.export.slo_rules import slo_groups, slo_tests
from capplan.plan.models import Plan

__all__ = ["change_test_name", "group_name", "prometheus_rules", "rules_file_name"]


def rules_file_name(plan: Plan) -> str:
    return f"{slug(plan.system)}.rules.yml"


def group_name(plan: Plan, component: str | None) -> str:
    """``capplan-<system>-<component>``, or ``capplan-<system>`` for metrics of no component."""
    base = f"capplan-{slug(plan.system)}"
    return f"{base}-{kebab(component)}" if component else base


def _rule(spec: AlertSpec) -> dict[str, Any]:
    return {
        "alert": spec.name,
        "expr": spec.expr,
        "for": spec.for_text,
        "labels": dict(spec.labels),
        "annotations": dict(spec.annotations),
    }


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, width=96, subsequent_indent="  ") or [""]


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
    warnings = rule_notes(plan)
    if warnings:
        notes.append("")
        for warning in warnings:
            notes += _wrapped(warning)
    name = rules_file_name(plan)
    test = name.removesuffix(".yml") + ".test.yml"
    if any(th.change is not None and th.metric in observed for th in plan.thresholds.values()):
        test += f" {change_test_name(plan)}"
    notes += ["", f"Check: promtool check rules {name} && promtool test rules {test}"]
    return notes


def _groups(plan: Plan, specs: list[AlertSpec]) -> list[dict[str, Any]]:
    """One group per component, in the order their first alert comes: each metric's
    recording rule, then the alerts."""
    by_group: dict[str | None, list[AlertSpec]] = {}
    for spec in specs:
        by_group.setdefault(spec.group, []).append(spec)
    groups = []
    for component, members in by_group.items():
        metrics = list(dict.fromkeys(s.metric for s in members if not s.is_availability))
        rules: list[dict[str, Any]] = [
            {"record": f"capplan:{m}", "expr": str(plan.metrics[m].query).strip()}
            for m in metrics
            if plan.metrics[m].query
        ]
        rules += [_rule(spec) for spec in members]
        groups.append({"name": group_name(plan, component), "rules": rules})
    return groups


@EXPORTERS.register("prometheus-rules")
def prometheus_rules(plan: Plan) -> dict[str, str]:
    """``<system>.rules.yml`` (recording + alerting rules) and ``<system>.rules.test.yml``."""
    specs = alert_specs(plan)
    slo = slo_groups(plan)
    if not specs and not slo:
        return {}
    name = rules_file_name(plan)
    doc: dict[str, Any] = {"groups": _groups(plan, specs) + slo}
    text = header(plan, "Prometheus rules", _notes(plan)) + dump_yaml(doc)
    test_name = name.removesuffix(".yml") + ".test.yml"
    files = {name: text, test_name: rules_test_file(plan, name, specs, slo_tests(plan))}
    changes = change_test_file(plan, name, specs)
    if changes is not None:
        files[change_test_name(plan)] = changes
    return files


def change_test_name(plan: Plan) -> str:
    """``<system>.rules.change.test.yml``: the unit tests of the change alerts."""
    return rules_file_name(plan).removesuffix(".yml") + ".change.test.yml"
