"""The alerts a plan's thresholds give: one :class:`AlertSpec` per level of each threshold on
an observed metric, and one per runway, with its PromQL expression, labels and annotations.

Both the rules file (``prometheus``) and its unit tests (``promtool_tests``) are written from
these specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capplan.export.base import camel, observed_metrics, plain_number
from capplan.plan.models import Plan, Threshold
from capplan.units import duration_seconds

__all__ = ["VALUE_TEMPLATE", "AlertSpec", "alert_specs", "selector"]

#: The annotation text Prometheus replaces with the alert's value, humanized.
VALUE_TEMPLATE = "{{ $value | humanize }}"

_SEVERITY = {"warning": "warning", "critical": "critical", "emergency": "critical"}


@dataclass(frozen=True)
class AlertSpec:
    """One generated alert, with what its unit test needs to know about it."""

    name: str
    threshold: str
    metric: str
    selector: str
    direction: str  # "above" or "below"
    value: float  # the level (or, for a runway, the highest level)
    for_text: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    runway_window: str | None = None
    runway_horizon: str | None = None
    expr: str = field(default="")

    @property
    def for_seconds(self) -> float:
        return duration_seconds(self.for_text) if self.for_text else 0.0

    @property
    def is_runway(self) -> bool:
        return self.runway_window is not None


def selector(plan: Plan, metric: str) -> str:
    """``capplan:<metric>`` when the metric has a query (a recording rule), else its name."""
    return f"capplan:{metric}" if plan.metrics[metric].query else metric


def _unit(threshold: Threshold, plan: Plan) -> str:
    return threshold.unit or plan.metrics[threshold.metric].unit


def _with_unit(value: str, unit: str) -> str:
    if not unit:
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def _labels(plan: Plan, name: str, threshold: Threshold, extra: dict[str, str]) -> dict[str, str]:
    labels = {**plan.metrics[threshold.metric].labels, **threshold.labels}
    labels.update(extra)
    labels["threshold"] = name
    return dict(sorted(labels.items()))


def _level_spec(
    plan: Plan, name: str, th: Threshold, level: str, value: float, for_text: str | None
) -> AlertSpec:
    sel = selector(plan, th.metric)
    op = ">" if th.direction == "above" else "<"
    unit = _unit(th, plan)
    extra = {"severity": _SEVERITY[level]}
    if level == "emergency":
        extra["level"] = "emergency"
    word = "above" if th.direction == "above" else "below"
    limit = _with_unit(plain_number(value), unit)
    current = _with_unit(VALUE_TEMPLATE, unit)
    held = f" for {for_text}" if for_text else ""
    description = f"{th.metric} is {current}, {word} the {level} level of {limit}{held}."
    if th.description:
        description += f" {th.description}"
    annotations = {
        "summary": f"{th.metric} {level}: {current} ({word} {limit})",
        "description": description,
    }
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
        expr=f"{sel} {op} {plain_number(value)}",
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
    annotations = {
        "summary": f"{th.metric} is on course to go {word} {limit} within {rule.horizon}",
        "description": (
            f"The linear trend of {th.metric} over the last {rule.window} crosses the {level} "
            f"level of {limit} within {rule.horizon}."
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
        runway_window=rule.window,
        runway_horizon=rule.horizon,
        expr=f"predict_linear({sel}[{rule.window}], {horizon}) {op} {plain_number(highest.value)}",
    )


def alert_specs(plan: Plan) -> list[AlertSpec]:
    """Every alert the plan's thresholds on observed metrics give, in plan order."""
    observed = observed_metrics(plan)
    specs: list[AlertSpec] = []
    for name, th in plan.thresholds.items():
        if th.metric not in observed:
            continue
        for level, lv in th.levels():
            if level == "target":
                continue
            specs.append(_level_spec(plan, name, th, level, lv.value, lv.for_ or th.for_))
        if th.runway is not None:
            specs.append(_runway_spec(plan, name, th))
    return specs
