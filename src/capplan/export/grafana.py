"""A Grafana dashboard from a plan (``grafana`` exporter): a panel per observed metric.

``<system>.dashboard.json`` is a current-schema dashboard (``schemaVersion`` 39) to import:
the Prometheus data source is the ``${DS_PROMETHEUS}`` input declared under ``__inputs``. Each
observed metric (no ``expr``: only those have history) gets a ``timeseries`` panel whose query
is the metric's ``query`` (else its name); the first threshold on the metric is drawn as
absolute threshold steps (green, then warning yellow, critical red, emergency dark red; for a
threshold on values below its levels the colours run the other way) with ``line+area`` style.
"""

from __future__ import annotations

from typing import Any

from capplan.export.base import EXPORTERS, dump_json, observed_metrics, slug
from capplan.plan.models import Metric, Plan, Threshold

__all__ = ["GRAFANA_UNITS", "grafana_dashboard"]

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
COLOURS = {"ok": "green", "warning": "yellow", "critical": "red", "emergency": "dark-red"}
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
PANEL_WIDTH, PANEL_HEIGHT = 12, 8


def grafana_unit(unit: str) -> str:
    """A plan unit as a Grafana unit id; unknown units become a suffix (``suffix: nodes``)."""
    known = GRAFANA_UNITS.get(unit.strip().lower())
    return known if known is not None else f"suffix: {unit.strip()}"


def threshold_steps(threshold: Threshold | None) -> list[dict[str, Any]]:
    """Grafana absolute threshold steps (``value`` null is the base step)."""
    if threshold is None:
        return [{"color": "green", "value": None}]
    levels = [(n, lv.value) for n, lv in threshold.levels() if n != "target"]
    if threshold.direction == "above":
        steps: list[dict[str, Any]] = [{"color": COLOURS["ok"], "value": None}]
        steps += [{"color": COLOURS[n], "value": v} for n, v in levels]
        return steps
    # Values below the levels are bad: the base step is the worst level's colour, and each
    # level's value starts the next milder colour, up to green above the mildest level.
    names = [n for n, _ in levels]
    milder = ["ok", *names[:-1]]
    steps = [{"color": COLOURS[names[-1]], "value": None}]
    steps += [
        {"color": COLOURS[m], "value": v}
        for (_, v), m in sorted(zip(levels, milder, strict=True), key=lambda x: x[0][1])
    ]
    return steps


def _panel(index: int, name: str, metric: Metric, threshold: Threshold | None) -> dict[str, Any]:
    unit = threshold.unit if threshold is not None and threshold.unit else metric.unit
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": metric.description or name,
        "description": f"{name}" + (f" ({metric.unit})" if metric.unit else ""),
        "datasource": dict(DATASOURCE),
        "gridPos": {
            "h": PANEL_HEIGHT,
            "w": PANEL_WIDTH,
            "x": (index % 2) * PANEL_WIDTH,
            "y": (index // 2) * PANEL_HEIGHT,
        },
        "targets": [
            {
                "datasource": dict(DATASOURCE),
                "expr": (metric.query or name).strip(),
                "legendFormat": name,
                "refId": "A",
            }
        ],
        "fieldConfig": {
            "defaults": {
                "unit": grafana_unit(unit),
                "custom": {"thresholdsStyle": {"mode": "line+area"}},
                "thresholds": {"mode": "absolute", "steps": threshold_steps(threshold)},
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
    }


@EXPORTERS.register("grafana")
def grafana_dashboard(plan: Plan) -> dict[str, str]:
    """``<system>.dashboard.json``: a timeseries panel per observed metric."""
    first: dict[str, Threshold] = {}
    for th in plan.thresholds.values():
        first.setdefault(th.metric, th)
    panels = [
        _panel(i, name, metric, first.get(name))
        for i, (name, metric) in enumerate(observed_metrics(plan).items())
    ]
    dashboard: dict[str, Any] = {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "The Prometheus that scrapes the planned system",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        ],
        "annotations": {"list": []},
        "description": f"Observed metrics and threshold levels of the {plan.system} capacity plan",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["capplan", "capacity"],
        "templating": {"list": []},
        "time": {"from": "now-7d", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": f"{plan.system} capacity",
        "uid": f"capplan-{slug(plan.system)}"[:40],
        "version": 1,
    }
    return {f"{slug(plan.system)}.dashboard.json": dump_json(dashboard)}
