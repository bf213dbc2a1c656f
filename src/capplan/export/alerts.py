"""The alerts a plan's thresholds give: one :class:`AlertSpec` per level of each threshold on
an observed metric, and one per runway, with its PromQL expression, ``for``, labels and
annotations; and the warnings a rules export prints (a metric with no ``query``).

Every alert has a ``for``: the level's, else the threshold's, else the plan's
``alerting.for`` (5m), so that no alert fires on one sample. Annotations show the value in the
metric's unit (``{{ $value | printf "%.4g" }}%``) and, when the metric's series keep their
``instance`` label (a bare selector, or a query that keeps it, see ``promql_labels``), the
instance. A threshold with ``change`` alerts on the percent change over its window,
``100 * (sel - sel offset 7d) / (sel offset 7d != 0) > 20`` (the fall, for ``below``), which
keeps the selector's labels; its annotations say ``grew 23% over 7d``.

Both the rules file (``prometheus``) and its unit tests (``promtool_tests``) are written from
these specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pq

from capplan.errors import Issue
from capplan.export.base import camel, observed_metrics, plain_number
from capplan.export.promql_labels import result_labels
from capplan.plan.models import Plan, Threshold
from capplan.plan.scrape import AvailabilityRule
from capplan.units import duration_seconds

__all__ = [
    "INSTANCE_TEMPLATE",
    "AlertSpec",
    "ValueFormat",
    "alert_specs",
    "availability_specs",
    "change_expr",
    "metrics_without_query",
    "rule_warnings",
    "selector",
    "value_format",
]

#: The annotation text Prometheus replaces with the alert's instance label.
INSTANCE_TEMPLATE = "{{ $labels.instance }}"

_SEVERITY = {"warning": "warning", "critical": "critical", "emergency": "critical"}


@dataclass(frozen=True)
class ValueFormat:
    """How an annotation shows ``$value``: a Prometheus template function (``humanize``,
    ``humanizeDuration``, ``humanize1024``) or a ``printf`` format, and a unit suffix."""

    function: str
    suffix: str = ""

    @property
    def template(self) -> str:
        return f"{{{{ $value | {self.function} }}}}{self.suffix}"


def value_format(unit: str) -> ValueFormat:
    """The format of a value in ``unit``: ``%`` and ratios with 4 significant digits,
    milliseconds whole, seconds as a duration, bytes with binary prefixes, others with SI
    prefixes (Prometheus' ``humanize``)."""
    text = unit.strip()
    key = text.lower()
    if key == "%":
        return ValueFormat('printf "%.4g"', "%")
    if key in ("ratio", "fraction", ""):
        return ValueFormat('printf "%.4g"', f" {text}" if text else "")
    if key == "ms":
        return ValueFormat('printf "%.0f"', " ms")
    if key in ("s", "seconds"):
        return ValueFormat("humanizeDuration")
    if key in ("b", "bytes"):
        return ValueFormat("humanize1024", "B")
    return ValueFormat("humanize", f" {text}")


@dataclass(frozen=True)
class AlertSpec:
    """One generated alert, with what its unit test needs to know about it."""

    name: str
    threshold: str
    metric: str
    selector: str
    direction: str  # "above" or "below"
    value: float  # the level (or, for a runway, the highest level)
    for_text: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value_format: ValueFormat
    instance: bool  # the series keep their instance label
    group: str | None  # the metric's component
    runway_window: str | None = None
    runway_horizon: str | None = None
    expr: str = field(default="")
    change_over: str | None = None  # a change threshold's window: the value is its % change
    job: str | None = None  # an availability alert: up{job} == 0

    @property
    def for_seconds(self) -> float:
        return duration_seconds(self.for_text)

    @property
    def is_runway(self) -> bool:
        return self.runway_window is not None

    @property
    def is_availability(self) -> bool:
        return self.job is not None


def selector(plan: Plan, metric: str) -> str:
    """``capplan:<metric>`` when the metric has a query (a recording rule), else its name."""
    return f"capplan:{metric}" if plan.metrics[metric].query else metric


def _keeps_instance(plan: Plan, metric: str) -> bool:
    """Whether the metric's series carry ``instance``: a bare selector's do (Prometheus adds
    it to every scraped series), as do a query's that keeps its selectors' labels; an
    aggregation keeps it only ``by (instance)``."""
    query = plan.metrics[metric].query
    if not query:
        return True
    labels = result_labels(query.strip())
    return labels is None or "instance" in labels


def _parse_error(query: str) -> str | None:
    """Why ``query`` does not parse as PromQL, or None when it does."""
    try:
        pq.parse(query)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _unit(threshold: Threshold, plan: Plan) -> str:
    return (threshold.unit or plan.metrics[threshold.metric].unit).strip()


def _with_unit(value: str, unit: str) -> str:
    if not unit:
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def _labels(plan: Plan, name: str, threshold: Threshold, extra: dict[str, str]) -> dict[str, str]:
    metric = plan.metrics[threshold.metric]
    labels = dict(plan.alerting.labels)
    if metric.component:
        labels["component"] = metric.component
    labels.update({**metric.labels, **threshold.labels})
    labels.update(extra)
    labels["threshold"] = name
    return dict(sorted(labels.items()))


def _where(instance: bool) -> str:
    return f" on {INSTANCE_TEMPLATE}" if instance else ""


def change_expr(sel: str, over: str, direction: str) -> str:
    """The percent change of ``sel`` over ``over``, a rise (``above``) or a fall (``below``)
    as a positive number; a zero base gives no value (filtered out by ``!= 0``)."""
    base = f"{sel} offset {over}"
    diff = f"{sel} - {base}" if direction == "above" else f"{base} - {sel}"
    return f"100 * ({diff}) / ({base} != 0)"


def _level_spec(
    plan: Plan, name: str, th: Threshold, level: str, value: float, for_text: str
) -> AlertSpec:
    """The alert of one level: the metric past the value, or, for a growth threshold
    (``change``), its percent change over the window past it."""
    sel = selector(plan, th.metric)
    instance = _keeps_instance(plan, th.metric)
    where = _where(instance)
    extra = {"severity": _SEVERITY[level]}
    if level == "emergency":
        extra["level"] = "emergency"
    over = th.change.over if th.change is not None else None
    if over is not None:
        fmt = value_format("%")
        verb = "grew" if th.direction == "above" else "fell"
        limit = f"{plain_number(value)}%"
        what = f"{verb} {fmt.template} over the last {over}, past the {level} level of {limit}"
        summary = f"{verb} {fmt.template} over {over} (more than {limit})"
        expr = f"{change_expr(sel, over, th.direction)} > {plain_number(value)}"
    else:
        unit = _unit(th, plan)
        fmt = value_format(unit)
        word = "above" if th.direction == "above" else "below"
        limit = _with_unit(plain_number(value), unit)
        what = f"is {fmt.template}, {word} the {level} level of {limit}"
        summary = f"{fmt.template} ({word} {limit})"
        op = ">" if th.direction == "above" else "<"
        expr = f"{sel} {op} {plain_number(value)}"
    description = f"{th.metric}{where} {what} for {for_text} or more."
    if th.description:
        description += f" {th.description}"
    annotations = {"summary": f"{th.metric} {level}{where}: {summary}", "description": description}
    if th.runbook_url:
        annotations["runbook_url"] = th.runbook_url
    return AlertSpec(
        name=f"{camel(name)}{level.capitalize()}",
        threshold=name,
        metric=th.metric,
        selector=sel,
        direction=th.direction,
        value=value,
        for_text=for_text,
        labels=_labels(plan, name, th, extra),
        annotations=annotations,
        value_format=fmt,
        instance=instance,
        group=plan.metrics[th.metric].component,
        expr=expr,
        change_over=over,
    )


def _runway_spec(plan: Plan, name: str, th: Threshold) -> AlertSpec:
    assert th.runway is not None
    rule = th.runway
    sel = selector(plan, th.metric)
    op = ">" if th.direction == "above" else "<"
    level, highest = th.levels()[-1]
    unit = _unit(th, plan)
    limit = _with_unit(plain_number(highest.value), unit)
    word = "above" if th.direction == "above" else "below"
    horizon = int(duration_seconds(rule.horizon))
    instance = _keeps_instance(plan, th.metric)
    where = _where(instance)
    annotations = {
        "summary": f"{th.metric}{where} is on course to go {word} {limit} within {rule.horizon}",
        "description": (
            f"The linear trend of {th.metric}{where} over the last {rule.window} crosses the "
            f"{level} level of {limit} within {rule.horizon}."
        ),
    }
    if th.runbook_url:
        annotations["runbook_url"] = th.runbook_url
    return AlertSpec(
        name=f"{camel(name)}Runway",
        threshold=name,
        metric=th.metric,
        selector=sel,
        direction=th.direction,
        value=highest.value,
        for_text=rule.for_,
        labels=_labels(plan, name, th, {"severity": rule.severity}),
        annotations=annotations,
        value_format=value_format(unit),
        instance=instance,
        group=plan.metrics[th.metric].component,
        runway_window=rule.window,
        runway_horizon=rule.horizon,
        expr=f"predict_linear({sel}[{rule.window}], {horizon}) {op} {plain_number(highest.value)}",
    )


def _availability_spec(plan: Plan, rule: AvailabilityRule) -> AlertSpec:
    """``up{job="app"} == 0`` for the rule's ``for``: a target Prometheus cannot scrape."""
    sel = f"up{{job={json.dumps(rule.job)}}}"
    labels = dict(plan.alerting.labels)
    if rule.component:
        labels["component"] = rule.component
    labels.update(rule.labels)
    labels["severity"] = rule.severity
    where = _where(True)
    description = (
        f"Prometheus has not been able to scrape the {rule.job} target{where} (up == 0) "
        f"for {rule.for_} or more."
    )
    if rule.description:
        description += f" {rule.description}"
    annotations = {"summary": f"{rule.job}{where} is down", "description": description}
    if rule.runbook_url:
        annotations["runbook_url"] = rule.runbook_url
    return AlertSpec(
        name=f"{camel(rule.job)}Down",
        threshold="",
        metric="up",
        selector=sel,
        direction="below",
        value=1,
        for_text=rule.for_,
        labels=dict(sorted(labels.items())),
        annotations=annotations,
        value_format=value_format(""),
        instance=True,
        group=rule.component,
        expr=f"{sel} == 0",
        job=rule.job,
    )


def availability_specs(plan: Plan) -> list[AlertSpec]:
    """The alerts of ``alerting.availability``: one per job, in plan order."""
    return [_availability_spec(plan, rule) for rule in plan.alerting.availability]


def alert_specs(plan: Plan) -> list[AlertSpec]:
    """Every alert the plan's thresholds on observed metrics give, in plan order, then the
    availability alerts (``alerting.availability``)."""
    observed = observed_metrics(plan)
    default_for = plan.alerting.for_
    specs: list[AlertSpec] = []
    for name, th in plan.thresholds.items():
        if th.metric not in observed:
            continue
        for level, lv in th.levels():
            if level == "target":
                continue
            for_text = lv.for_ or th.for_ or default_for
            specs.append(_level_spec(plan, name, th, level, lv.value, for_text))
        if th.runway is not None:
            specs.append(_runway_spec(plan, name, th))
    return specs + availability_specs(plan)


def metrics_without_query(plan: Plan) -> list[str]:
    """The observed metrics that have alerts but no ``query`` (plan order)."""
    alerted = {s.metric for s in alert_specs(plan) if not s.is_availability}
    return [n for n, m in observed_metrics(plan).items() if n in alerted and not m.query]


def rule_warnings(plan: Plan) -> list[Issue]:
    """What a rules export should warn of, each with its plan file, line and field: metrics
    whose alerts select a bare series name, and queries (and SLO error ratios) the PromQL
    parser cannot read."""
    found: list[tuple[str, str]] = []
    for name in metrics_without_query(plan):
        found.append(
            (
                f"metrics.{name}",
                f"has no query: its alerts select the bare series '{name}', which exists only "
                "if an exporter or a recording rule writes a series of that name; give the "
                "PromQL that measures it as its query",
            )
        )
    alerted = {s.metric for s in alert_specs(plan) if not s.is_availability}
    for name, metric in observed_metrics(plan).items():
        if name in alerted and metric.query and (error := _parse_error(metric.query)):
            found.append(
                (
                    f"metrics.{name}.query",
                    f"does not parse as PromQL ({error}); `promtool check rules` on the "
                    "rules file tells whether Prometheus reads it",
                )
            )
    for name, slo in plan.slos.items():
        if slo.error_ratio and (error := _parse_error(slo.error_ratio.replace("$window", "5m"))):
            found.append(
                (
                    f"slos.{name}.error_ratio",
                    f"does not parse as PromQL ({error}); `promtool check rules` on the "
                    "rules file tells whether Prometheus reads it",
                )
            )
    return [
        Issue(message, path=path, file=plan.source, line=plan.line_of(path))
        for path, message in found
    ]


def rule_notes(plan: Plan) -> list[str]:
    """The same warnings, for the rules file's header (the plan's file name, not its path)."""
    notes = []
    source = Path(plan.source).name
    for issue in rule_warnings(plan):
        where = f"{source}:{issue.line}" if issue.line else source
        notes.append(f"WARNING {issue.path} ({where}) {issue.message}.")
    return notes
