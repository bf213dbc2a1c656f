"""``promtool test rules`` unit tests for the generated alerting rules.

One test group per alert. A level alert gets an input series that sits on the safe side of
the level for 10 minutes, then crosses it and stays past it (promtool's expanding notation,
``'50+0x10 190+0x40'``); it is checked at an ``eval_time`` before its ``for`` has elapsed (no
alert) and after (the alert, with its exact labels and annotations). The annotations are
rendered here the way Prometheus renders ``{{ $value | humanize }}`` (``humanize`` below ports
Prometheus' template function). A runway alert gets a linearly rising (falling, for direction
below) input that starts on the safe side but whose trend crosses the level within the horizon.

The input series is the alert's selector itself: ``capplan:<metric>`` when the metric has a
query (its recording rule's raw input is absent, so the recording rule yields nothing and does
not overwrite the fed series), else the metric's name.
"""

from __future__ import annotations

import math
from typing import Any

from capplan.export.alerts import VALUE_TEMPLATE, AlertSpec
from capplan.export.base import dump_yaml, header, plain_number
from capplan.plan.models import Plan
from capplan.units import duration_seconds

__all__ = ["humanize", "rules_test_file"]


def _go_g4(value: float) -> str:
    """Go's ``fmt.Sprintf("%.4g", v)`` (Python's %g, with Go's two-digit exponent kept)."""
    return f"{value:.4g}"


def humanize(value: float) -> str:
    """Prometheus' ``humanize`` template function: SI prefixes, 4 significant digits."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _go_g4(value)
    prefix = ""
    if abs(value) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix = p
            value /= 1000
        return f"{_go_g4(value)}{prefix}"
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = p
        value *= 1000
    return f"{_go_g4(value)}{prefix}"


def _safe_and_crossing(spec: AlertSpec) -> tuple[float, float]:
    """A value on the safe side of the level and one past it (halving / doubling)."""
    v = spec.value
    low, high = (v / 2, v * 2) if v > 0 else (v - 1, v + 1)
    return (low, high) if spec.direction == "above" else (high, low)


def _minutes(text: str | None) -> int:
    return math.ceil(duration_seconds(text) / 60) if text else 0


def _expected(spec: AlertSpec, value: float | None) -> dict[str, Any]:
    annotations = {
        key: text.replace(VALUE_TEMPLATE, humanize(value)) if value is not None else text
        for key, text in spec.annotations.items()
    }
    return {"exp_labels": dict(spec.labels), "exp_annotations": annotations}


def _level_test(spec: AlertSpec) -> dict[str, Any]:
    safe, crossing = _safe_and_crossing(spec)
    wait = _minutes(spec.for_text)
    before = 10 + wait  # the series crosses at 11m; the alert fires at 11m + for
    after = before + 5
    values = f"{plain_number(safe)}+0x10 {plain_number(crossing)}+0x{after + 10 - 11}"
    name = f"{spec.name}: past {plain_number(spec.value)} for {spec.for_text or '0s'}"
    return _case(name, spec, values, before, after, _expected(spec, crossing))


def _runway_test(spec: AlertSpec) -> dict[str, Any]:
    safe, _ = _safe_and_crossing(spec)
    horizon_minutes = duration_seconds(spec.runway_horizon or "0s") / 60
    # A slope whose trend crosses the level well within the horizon from the first minute.
    needed = 2 * abs(spec.value - safe) / max(horizon_minutes, 1)
    slope = 10.0 ** math.ceil(math.log10(needed)) if needed > 0 else 1.0
    wait = _minutes(spec.for_text)
    before = wait  # predict_linear needs two samples: pending from 1m, firing at 1m + for
    after = wait + 6
    sign = "+" if spec.direction == "above" else "-"
    values = f"{plain_number(safe)}{sign}{plain_number(slope)}x{after + 10}"
    name = f"{spec.name}: trend crosses {plain_number(spec.value)} within {spec.runway_horizon}"
    return _case(name, spec, values, before, after, _expected(spec, None))


def _case(
    name: str, spec: AlertSpec, values: str, before: int, after: int, expected: dict[str, Any]
) -> dict[str, Any]:
    """One promtool test: the input series, no alert at ``before`` minutes, the expected one
    at ``after``."""
    return {
        "name": name,
        "interval": "1m",
        "input_series": [{"series": spec.selector, "values": values}],
        "alert_rule_test": [
            {"eval_time": f"{before}m", "alertname": spec.name, "exp_alerts": []},
            {"eval_time": f"{after}m", "alertname": spec.name, "exp_alerts": [expected]},
        ],
    }


def rules_test_file(plan: Plan, rules_file: str, specs: list[AlertSpec]) -> str:
    """The ``promtool test rules`` file for ``rules_file`` (run it from the same directory)."""
    tests = [_runway_test(s) if s.is_runway else _level_test(s) for s in specs]
    doc: dict[str, Any] = {
        "rule_files": [rules_file],
        "evaluation_interval": "1m",
        "tests": tests,
    }
    notes = [f"Unit tests of {rules_file}: promtool test rules <this file>"]
    return header(plan, "promtool rule tests", notes) + dump_yaml(doc)
