"""Multiwindow, multi-burn-rate alerts for a plan's SLOs (the Google SRE workbook's method),
written into the ``prometheus-rules`` export.

Per SLO, a rule group ``capplan-<system>-slo-<name>`` holds:

- a recording rule ``capplan:slo_<name>:error_ratio_rate<w>`` per window ``w`` its burn rates
  use (long and short), the bad share over ``w``: ``1 - avg(avg_over_time(up{job="app"}[w]))``
  for a job, the ``error_ratio`` query with ``$window`` replaced, or ``avg(avg_over_time((<m>
  > bool <limit>)[w:]))`` for a metric (a subquery at the evaluation interval);
- an alert per burn rate, ``<Slo>BurnRate<long>``: the bad share over the long window AND
  over the short one both above ``factor × budget``, where ``budget = 1 − objective`` and
  ``factor = consumed × window / long`` (:meth:`~capplan.plan.slos.Slo.factor`: 14.4 for 2%
  of a 30-day budget in 1h); the short window lets the alert reset soon after the trouble
  ends, and the burn rate's ``for`` (2m) keeps one bad evaluation from paging.

Their ``promtool test rules`` cases (:func:`slo_tests`) feed the two recorded series
directly (their raw inputs are absent, so the recording rules yield nothing and do not
overwrite them): the long window past the threshold throughout, the short one below it for
ten minutes and past it from then: no alert one evaluation before ``for`` has elapsed since,
the alert once it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from capplan.export.base import camel, kebab, plain_number, slug
from capplan.plan.models import Plan
from capplan.plan.slos import WINDOW_PLACEHOLDER, BurnRate, Slo
from capplan.units import duration_seconds, format_duration

__all__ = ["SloAlert", "promql_duration", "recorded", "slo_alerts", "slo_groups", "slo_tests"]


def promql_duration(seconds: float) -> str:
    """A PromQL duration: the largest unit that divides it (``1h``, ``5m``, ``3d``, ``90s``)."""
    whole = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _number(value: float) -> str:
    """A computed figure without float noise: ``0.001``, not ``0.0010000000000000009``."""
    return plain_number(float(f"{value:.12g}"))


def recorded(name: str, window: str) -> str:
    return f"capplan:slo_{name}:error_ratio_rate{window}"


@dataclass(frozen=True)
class SloAlert:
    """One burn-rate alert of an SLO, with what its test needs."""

    slo: str
    name: str
    long: str
    short: str
    factor: float
    threshold: float  # factor × budget, on the bad share
    expr: str
    for_text: str
    labels: dict[str, str]
    annotations: dict[str, str]


def _ratio_expr(plan: Plan, slo: Slo, window: str) -> str:
    if slo.job is not None:
        return f'1 - avg(avg_over_time(up{{job="{slo.job}"}}[{window}]))'
    if slo.error_ratio is not None:
        return slo.error_ratio.replace(WINDOW_PLACEHOLDER, window).strip()
    assert slo.metric is not None
    assert slo.limit is not None
    metric = plan.metrics[slo.metric]
    sel = f"({metric.query.strip()})" if metric.query else slo.metric
    op = ">" if slo.direction == "above" else "<"
    return f"avg(avg_over_time(({sel} {op} bool {plain_number(slo.limit)})[{window}:]))"


def _windows(rate: BurnRate) -> tuple[str, str]:
    return promql_duration(rate.long_seconds), promql_duration(rate.short_seconds)


def _alert(plan: Plan, name: str, slo: Slo, rate: BurnRate) -> SloAlert:
    long, short = _windows(rate)
    factor = slo.factor(rate)
    budget = float(f"{slo.budget_fraction:.12g}")
    threshold = float(f"{factor * budget:.12g}")
    limit = f"({_number(factor)} * {_number(budget)})"
    expr = f"{recorded(name, long)} > {limit} and {recorded(name, short)} > {limit}"
    labels = dict(plan.alerting.labels)
    labels.update(slo.labels)
    labels.update({"severity": rate.severity, "slo": name, "long_window": long})
    lasts = format_duration(slo.window_seconds / factor)
    target = f"{plain_number(slo.objective)}% over {slo.window}"
    annotations = {
        "summary": f"SLO {name} ({target}): error budget burning at {_number(factor)}x",
        "description": (
            f"The bad share of {name} over the last {long} and the last {short} is above "
            f"{_number(factor)} times its budget of {_number(100 * budget)}%: "
            f"{plain_number(rate.consumed)}% of the {slo.window} budget goes in {long}, and "
            f"all of it in {lasts} at this rate."
        ),
    }
    if slo.description:
        annotations["description"] += f" {slo.description}"
    if slo.runbook_url:
        annotations["runbook_url"] = slo.runbook_url
    return SloAlert(
        slo=name,
        name=f"{camel(name)}BurnRate{long}",
        long=long,
        short=short,
        factor=factor,
        threshold=threshold,
        expr=expr,
        for_text=rate.for_,
        labels=dict(sorted(labels.items())),
        annotations=annotations,
    )


def slo_alerts(plan: Plan) -> list[SloAlert]:
    """Every burn-rate alert of the plan's SLOs, in plan order."""
    return [
        _alert(plan, name, slo, rate) for name, slo in plan.slos.items() for rate in slo.burn_rates
    ]


def slo_groups(plan: Plan) -> list[dict[str, Any]]:
    """One rule group per SLO with burn rates: its recording rules, then its alerts."""
    groups = []
    for name, slo in plan.slos.items():
        if not slo.burn_rates:
            continue
        windows: dict[str, float] = {}
        for rate in slo.burn_rates:
            long, short = _windows(rate)
            windows[long], windows[short] = rate.long_seconds, rate.short_seconds
        rules: list[dict[str, Any]] = [
            {"record": recorded(name, w), "expr": _ratio_expr(plan, slo, w)}
            for w, _ in sorted(windows.items(), key=lambda item: item[1])
        ]
        for alert in (a for a in slo_alerts(plan) if a.slo == name):
            rules.append(
                {
                    "alert": alert.name,
                    "expr": alert.expr,
                    "for": alert.for_text,
                    "labels": dict(alert.labels),
                    "annotations": dict(alert.annotations),
                }
            )
        groups.append({"name": f"capplan-{slug(plan.system)}-slo-{kebab(name)}", "rules": rules})
    return groups


def slo_tests(plan: Plan) -> list[dict[str, Any]]:
    """The ``promtool test rules`` cases of the burn-rate alerts (see the module docstring)."""
    tests = []
    for alert in slo_alerts(plan):
        past, below = 2 * alert.threshold, alert.threshold / 2
        fires = 10 + math.ceil(duration_seconds(alert.for_text) / 60)  # past from 10m
        tests.append(
            {
                "name": (
                    f"{alert.name}: over {alert.long} and {alert.short} past "
                    f"{_number(alert.factor)}x the budget"
                ),
                "interval": "1m",
                "input_series": [
                    {
                        "series": recorded(alert.slo, alert.long),
                        "values": f"{_number(past)}+0x{fires + 20}",
                    },
                    {
                        "series": recorded(alert.slo, alert.short),
                        "values": f"{_number(below)}+0x9 {_number(past)}+0x{fires + 10}",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": f"{fires - 1}m", "alertname": alert.name, "exp_alerts": []},
                    {
                        "eval_time": f"{fires}m",
                        "alertname": alert.name,
                        "exp_alerts": [
                            {
                                "exp_labels": dict(alert.labels),
                                "exp_annotations": dict(alert.annotations),
                            }
                        ],
                    },
                ],
            }
        )
    return tests
