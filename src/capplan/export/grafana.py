"""A Grafana dashboard from a plan (``grafana`` exporter): observed metrics, runway, headroom, cost.

``<system>.dashboard.json`` works both provisioned from disk and imported in the UI: its
Prometheus is the ``datasource`` template variable (type ``datasource``, plugin
``prometheus``) that every panel and query names as ``${datasource}``, never an import-time
``__inputs`` placeholder, which file provisioning leaves unresolved. Its ``id`` is null and
its ``uid`` stable (``capplan-<system>``), so provisioning a new version updates the same
dashboard. It validates against Grafana's dashboard JSON schema (tests bundle it).

Panels:

- *Observed metrics*: a ``timeseries`` panel per observed metric (no ``expr``: only those
  have history) whose query is the metric's ``query`` (else its name). Legends come from the
  query's labels: ``{{instance}}`` for ``avg by (instance) (...)``, the metric's name for a
  query that aggregates to one series, and Grafana's ``__auto`` (the labels that differ
  between series) where the query does not say which labels its series carry (a bare
  selector). Every warning, critical and emergency level of every threshold on the metric is
  a threshold step, drawn as a line with its area: green, then yellow, red, dark red (for a
  threshold on values below its levels the colours run the other way).
- *SLOs*: a panel per SLO with burn rates: the recorded bad share over each alert's long
  window (``capplan:slo_<name>:error_ratio_rate1h``, from the rules export) divided by the
  budget's share, so 1 spends the budget exactly over the window; the alerts' factors are
  the threshold lines (the highest red).
- *Capacity plan*, fed by ``capplan serve``'s ``/metrics`` gauges and filtered by the
  ``plan`` variable (the served plan's name, its file name under ``--plans``):
  ``capplan_runway_seconds`` (most likely time to each level as bars, and the earliest
  plausible crossing over time), ``capplan_headroom_ratio`` per component,
  ``capplan_over_capacity_start_timestamp_seconds`` (when a component first outgrows what
  the plan can give it, per scenario), ``capplan_plan_monthly_cost`` (red past the budget's
  ``monthly_limit``) and ``capplan_plan_total_cost``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from capplan.export.base import (
    EXPORTERS,
    dump_json,
    generated_note,
    observed_metrics,
    plain_number,
    slug,
)
from capplan.export.promql_labels import result_labels
from capplan.export.slo_rules import promql_duration, recorded
from capplan.plan.models import Metric, Plan, Threshold
from capplan.plan.slos import Slo

__all__ = ["GRAFANA_UNITS", "grafana_dashboard", "grafana_unit", "legend_format", "threshold_steps"]

SCHEMA_VERSION = 39
DATASOURCE_VARIABLE = "datasource"
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
PLAN_VARIABLE = "plan"
COLOURS = {"ok": "green", "warning": "yellow", "critical": "red", "emergency": "dark-red"}
_RANK = {"ok": 0, "warning": 1, "critical": 2, "emergency": 3}
GRAFANA_UNITS = {
    "%": "percent",
    "percent": "percent",
    "ms": "ms",
    "s": "s",
    "seconds": "s",
    "us": "µs",
    "b": "bytes",
    "bytes": "bytes",
    "kb": "deckbytes",
    "mb": "decmbytes",
    "gb": "decgbytes",
    "tb": "dectbytes",
    "kib": "kbytes",
    "mib": "mbytes",
    "gib": "gbytes",
    "req/s": "reqps",
    "rps": "reqps",
    "requests/s": "reqps",
    "ops/s": "ops",
    "cores": "none",
    "": "short",
}
CURRENCY_UNITS = {
    code: f"currency{code}"
    for code in ("USD", "EUR", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "INR")
}
DAY = 86_400
RUNWAY_STEPS = [  # seconds to a crossing: under a week red, under a month yellow
    {"color": "red", "value": None},
    {"color": "yellow", "value": 7 * DAY},
    {"color": "green", "value": 30 * DAY},
]
HEADROOM_STEPS = [  # share of capacity free: none (over capacity) red, under 20% yellow
    {"color": "red", "value": None},
    {"color": "yellow", "value": 0},
    {"color": "green", "value": 0.2},
]
FULL_WIDTH, PANEL_WIDTH, PANEL_HEIGHT = 24, 12, 8


def grafana_unit(unit: str) -> str:
    """A plan unit as a Grafana unit id; unknown units become a suffix (``suffix: nodes``)."""
    known = GRAFANA_UNITS.get(unit.strip().lower())
    return known if known is not None else f"suffix: {unit.strip()}"


def _currency_unit(currency: str) -> str:
    return CURRENCY_UNITS.get(currency.upper(), f"suffix: {currency}")


def threshold_steps(thresholds: Threshold | Iterable[Threshold] | None) -> list[dict[str, Any]]:
    """Grafana absolute threshold steps for every warning / critical / emergency level of
    ``thresholds`` (``value`` null is the base step). Each level starts a step, coloured by
    the worst level a value from there up to the next level is past: for a threshold
    ``above``, values at or above its level; ``below``, values under it."""
    if isinstance(thresholds, Threshold):
        thresholds = [thresholds]
    levels = [
        (th.direction, name, lv.value)
        for th in thresholds or []
        for name, lv in th.levels()
        if name != "target" and th.change is None  # a change's levels are not on the values
    ]

    def colour(start: float | None) -> str:
        """The colour of the values from ``start`` (None: the lowest) to the next level."""
        worst = "ok"
        for direction, name, value in levels:
            past = (
                start is not None and start >= value
                if direction == "above"
                else start is None or start < value
            )
            if past and _RANK[name] > _RANK[worst]:
                worst = name
        return COLOURS[worst]

    steps: list[dict[str, Any]] = [{"color": colour(None), "value": None}]
    steps += [{"color": colour(v), "value": v} for v in sorted({v for _, _, v in levels})]
    return steps


def legend_format(name: str, query: str) -> str:
    """The legend of a metric's series: its labels where the query names them (``{{pod}}``
    for ``sum by (pod) (...)``), its name for a query giving one series, else ``__auto``."""
    labels = result_labels(query)
    if labels is None:
        return "__auto"
    if not labels:
        return name
    return " ".join(f"{{{{{label}}}}}" for label in labels)


def _target(expr: str, legend: str, ref: str = "A", *, instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {
        "datasource": dict(DATASOURCE),
        "expr": expr,
        "legendFormat": legend,
        "refId": ref,
    }
    if instant:
        target.update(instant=True, range=False)
    return target


def _legend(show: bool = True) -> dict[str, Any]:
    return {"displayMode": "list", "placement": "bottom", "showLegend": show, "calcs": []}


def _timeseries(
    title: str, description: str, targets: list[dict[str, Any]], unit: str, steps: list[Any]
) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"thresholdsStyle": {"mode": "line+area"}},
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": {"legend": _legend(), "tooltip": {"mode": "multi", "sort": "none"}},
    }


def _reduce_last() -> dict[str, Any]:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def _bargauge(
    title: str, description: str, target: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "targets": [target],
        "fieldConfig": {"defaults": {"color": {"mode": "thresholds"}, **defaults}, "overrides": []},
        "options": {
            "displayMode": "gradient",
            "valueMode": "color",
            "namePlacement": "auto",
            "showUnfilled": True,
            "sizing": "auto",
            "minVizWidth": 8,
            "minVizHeight": 16,
            "maxVizHeight": 300,
            "legend": _legend(show=False),
            "reduceOptions": _reduce_last(),
            "orientation": "horizontal",
        },
    }


def _stat(
    title: str, description: str, target: dict[str, Any], unit: str, steps: list[Any]
) -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "targets": [target],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": {
            "graphMode": "none",
            "colorMode": "value",
            "justifyMode": "auto",
            "textMode": "value",
            "wideLayout": True,
            "showPercentChange": False,
            "reduceOptions": _reduce_last(),
            "percentChangeColorMode": "standard",
            "orientation": "auto",
        },
    }


def _level_note(th_name: str, th: Threshold) -> str:
    sign = ">" if th.direction == "above" else "<"
    if th.change is not None:
        sign = "+" if th.direction == "above" else "-"
    parts = []
    for name, lv in th.levels():
        if name == "target":
            continue
        held = lv.for_ if lv.for_ is not None else th.for_
        duration = f" for {held}" if held else ""
        if th.change is not None:
            parts.append(f"{name} {sign}{plain_number(lv.value)}% over {th.change.over}{duration}")
        else:
            parts.append(f"{name} {sign} {plain_number(lv.value)}{duration}")
    if th.bands:
        within = "<" if th.direction == "above" else ">"
        bands = [
            band if limit is None else f"{band} {within} {plain_number(limit)}"
            for band, limit in th.bands.items()
        ]
        parts.append(f"bands {' / '.join(bands)}")
    return f"{th_name}: {', '.join(parts)}"


def _metric_panel(name: str, metric: Metric, thresholds: dict[str, Threshold]) -> dict[str, Any]:
    first = next(iter(thresholds.values()), None)
    unit = first.unit if first is not None and first.unit else metric.unit
    query = (metric.query or name).strip()
    description = name + (f" ({metric.unit})" if metric.unit else "")
    if thresholds:
        notes = "; ".join(_level_note(n, th) for n, th in thresholds.items())
        description += f". Levels: {notes}."
    return _timeseries(
        metric.description or name,
        description,
        [_target(query, legend_format(name, query))],
        grafana_unit(unit),
        threshold_steps(thresholds.values()),
    )


def _slo_panel(name: str, slo: Slo) -> dict[str, Any]:
    """The burn rate of an SLO over each long window of its alerts: the recorded bad share
    over the budget's share (1: the budget lasts exactly the window), with the alerts'
    factors as threshold lines."""
    budget = slo.budget_fraction
    longs = {promql_duration(r.long_seconds): slo.factor(r) for r in slo.burn_rates}
    targets = [
        _target(f"{recorded(name, w)} / {plain_number(budget)}", f"over {w}", chr(ord("A") + i))
        for i, w in enumerate(longs)
    ]
    factors = sorted({float(f"{f:.12g}") for f in longs.values()})
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [  # the highest factor red, the others orange
        {"color": "red" if f == factors[-1] else "orange", "value": f} for f in factors
    ]
    alerts = ", ".join(f"{plain_number(float(f'{f:.12g}'))}x over {w}" for w, f in longs.items())
    description = (
        f"SLO {name}: {plain_number(slo.objective)}% over {slo.window}, an error budget of "
        f"{plain_number(float(f'{slo.budget_seconds / 60:.12g}'))} min. Burn rate = bad share "
        f"/ {plain_number(budget)} (recorded by the prometheus-rules export); alerts at "
        f"{alerts}."
    )
    return _timeseries(f"SLO {name}: burn rate", description, targets, "none", steps)


def _plan_panels(plan: Plan, runways: bool) -> list[dict[str, Any]]:
    """Runway, headroom and cost from ``capplan serve``'s gauges for the chosen plan."""
    where = f'plan="${PLAN_VARIABLE}"'
    panels = []
    if runways:
        legend = "{{threshold}} {{level}} ({{series}})"
        panels.append(
            _bargauge(
                "Runway to each level (most likely)",
                "capplan_runway_seconds, median (p50): time until the forecast of each series "
                "crosses each warning, critical and emergency level; negative once crossed.",
                _target(f'capplan_runway_seconds{{{where}, quantile="0.5"}}', legend, instant=True),
                {
                    "unit": "s",
                    "min": 0,
                    "max": 90 * DAY,
                    "thresholds": {"mode": "absolute", "steps": RUNWAY_STEPS},
                },
            )
        )
        panels.append(
            _timeseries(
                "Earliest plausible crossing (p10) over time",
                "capplan_runway_seconds, 10th percentile: how the earliest plausible "
                "crossing of each level moves as history arrives.",
                [_target(f'capplan_runway_seconds{{{where}, quantile="0.1"}}', legend)],
                "s",
                RUNWAY_STEPS,
            )
        )
    panels.append(
        _bargauge(
            "Headroom per component",
            "capplan_headroom_ratio: 1 - utilization of each component in the plan's current "
            "period (default scenario); below 0 it is over capacity.",
            _target(f"capplan_headroom_ratio{{{where}}}", "{{component}}", instant=True),
            {
                "unit": "percentunit",
                "min": 0,
                "max": 1,
                "thresholds": {"mode": "absolute", "steps": HEADROOM_STEPS},
            },
        )
    )
    unit = _currency_unit(plan.currency)
    limit = plan.budget.monthly_limit
    monthly_steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    monthly_note = "capplan_plan_monthly_cost: the plan's cost in its current period"
    if limit is not None:
        monthly_steps.append({"color": "red", "value": limit})
        monthly_note += f"; red above the budget's monthly_limit ({plain_number(limit)})"
    panels.append(
        _stat(
            "Monthly cost",
            monthly_note + ".",
            _target(f"capplan_plan_monthly_cost{{{where}}}", "per month"),
            unit,
            monthly_steps,
        )
    )
    panels.append(
        _stat(
            "Cost over the horizon",
            f"capplan_plan_total_cost: the plan's cost summed over its {plan.horizon} "
            f"{plan.step}s (default scenario).",
            _target(f"capplan_plan_total_cost{{{where}}}", "over the horizon"),
            unit,
            [{"color": "text", "value": None}],
        )
    )
    over = _stat(
        "Over capacity from",
        "capplan_over_capacity_start_timestamp_seconds: the start of the first period in which "
        "a component's demand is beyond its largest tier or rung or needs more than "
        "max_instances, per scenario (none: every component fits the whole horizon).",
        _target(
            f"capplan_over_capacity_start_timestamp_seconds{{{where}}} * 1000",
            "{{component}} ({{scenario}})",
            instant=True,
        ),
        "dateTimeFromNow",
        [{"color": "red", "value": None}],
    )
    over["fieldConfig"]["defaults"]["noValue"] = "none within the horizon"
    over["options"]["textMode"] = "value_and_name"
    over["_size"] = (FULL_WIDTH, PANEL_HEIGHT - 2)
    panels.append(over)
    return panels


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def _lay_out(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids and grid positions: rows across the page, stats half a panel wide, other panels
    two to a line, unless a panel gives its own ``_size`` (width, height)."""
    x = y = line = 0
    for number, panel in enumerate(panels, start=1):
        if "_size" in panel:
            w, h = panel.pop("_size")
        elif panel["type"] == "row":
            w, h = FULL_WIDTH, 1
        elif panel["type"] == "stat":
            w, h = PANEL_WIDTH // 2, PANEL_HEIGHT
        else:
            w, h = PANEL_WIDTH, PANEL_HEIGHT
        if x + w > FULL_WIDTH or (panel["type"] == "row" and x):
            x, y, line = 0, y + line, 0
        panel["id"] = number
        panel["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x, line = x + w, max(line, h)
    return [{"id": p.pop("id"), **p} for p in panels]


def _variables(with_plan: bool) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = [
        {
            "name": DATASOURCE_VARIABLE,
            "label": "Prometheus",
            "description": "The Prometheus that scrapes the planned system and capplan serve",
            "type": "datasource",
            "query": "prometheus",
            "regex": "",
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "skipUrlSync": False,
        }
    ]
    if with_plan:
        query = "label_values(capplan_plan_monthly_cost, plan)"
        variables.append(
            {
                "name": PLAN_VARIABLE,
                "label": "Plan",
                "description": "The plan as capplan serve names it: its file name under --plans",
                "type": "query",
                "datasource": dict(DATASOURCE),
                "query": query,
                "definition": query,
                "regex": "",
                "hide": 0,
                "includeAll": False,
                "multi": False,
                "options": [],
                "refresh": 1,
                "sort": 1,
                "skipUrlSync": False,
            }
        )
    return variables


@EXPORTERS.register("grafana")
def grafana_dashboard(plan: Plan) -> dict[str, str]:
    """``<system>.dashboard.json``: observed metrics with their threshold levels, and the
    runway, headroom and cost gauges of ``capplan serve``."""
    observed = observed_metrics(plan)
    on_metric: dict[str, dict[str, Threshold]] = {}
    for th_name, th in plan.thresholds.items():
        on_metric.setdefault(th.metric, {})[th_name] = th
    panels: list[dict[str, Any]] = []
    if observed:
        panels.append(_row("Observed metrics"))
        panels += [_metric_panel(n, m, on_metric.get(n, {})) for n, m in observed.items()]
    slos = {n: o for n, o in plan.slos.items() if o.burn_rates}
    if slos:
        panels.append(_row("SLOs: burn rate (1: the error budget lasts the window)"))
        panels += [_slo_panel(n, o) for n, o in slos.items()]
    runways = any(th.metric in observed for th in plan.thresholds.values())
    with_plan = bool(plan.components) or runways
    if with_plan:
        panels.append(_row("Capacity plan (capplan serve)"))
        panels += _plan_panels(plan, runways)
    if not panels:
        return {}
    what = "Observed metrics with their threshold levels" if observed else ""
    if with_plan:
        what += ("; " if what else "") + "runway, headroom and cost from capplan serve"
    dashboard: dict[str, Any] = {
        "id": None,
        "uid": f"capplan-{slug(plan.system)}"[:40],
        "title": f"{plan.system} capacity",
        "description": f"{generated_note(plan, 'Grafana dashboard')} {what}.",
        "tags": ["capplan", "capacity"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-7d", "to": "now"},
        "timepicker": {},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": _variables(with_plan)},
        "panels": _lay_out(panels),
    }
    return {f"{slug(plan.system)}.dashboard.json": dump_json(dashboard)}
