"""``promtool test rules`` unit tests for the generated alerting rules.

One test group per alert, checking its ``for:``. A level alert gets an input series that sits
on the safe side of the level for 10 minutes, then crosses it at minute 11 and stays past it
(promtool's expanding notation, ``'50+0x10 190+0x40'``). It is checked one evaluation before
its ``for`` has elapsed since the crossing (no alert: pending only), and at the first
evaluation after (the alert, with its exact labels and annotations). The annotations are
rendered here the way Prometheus renders the value formats of ``alerts`` (``humanize``,
``humanizeDuration``, ``humanize1024`` and ``printf`` below port Prometheus' template
functions), and ``{{ $labels.instance }}`` as the input's instance. A runway alert gets a
linearly rising (falling, for direction below) input that starts on the safe side but whose
trend crosses the level within the horizon; ``predict_linear`` has two samples from minute 1,
so it fires at 1m + ``for`` and not one evaluation before.

An availability alert (``up{job="app"} == 0``) gets ``up`` of that job at 1 for 10 minutes,
then 0 from minute 11: silent one evaluation before its ``for`` has elapsed, firing once it
has. The SLO burn-rate alerts bring their own cases (``slo_rules.slo_tests``).

Change alerts (``offset 7d``) are tested in a file of their own (:func:`change_test_file`):
their input must span the window, and promtool evaluates every rule of the file at every
evaluation from 0, so a week at 1m would take 10,080 evaluations (about 10 s per test). That
file evaluates every ``step``: the largest of 1h's divisors that divides every window (1h for
day and week windows, 168 evaluations for 7d). Each input is flat at 100 for the window and
two steps more, then steps past the level (a rise, or fall, of twice the level; a fall stays
under 100%), so ``offset`` finds the flat base and the change crosses at a known step: no
alert one step before ``for`` has elapsed (rounded up to steps), the alert once it has.

The input series is the alert's selector itself: ``capplan:<metric>`` when the metric has a
query (its recording rule's raw input is absent, so the recording rule yields nothing and does
not overwrite the fed series), else the metric's name; with an ``instance`` label when the
metric's series keep one.
"""

from __future__ import annotations

import json
import math
from typing import Any

from capplan.export.alerts import INSTANCE_TEMPLATE, AlertSpec, ValueFormat
from capplan.export.base import dump_yaml, header, plain_number
from capplan.plan.models import Plan
from capplan.units import duration_seconds

__all__ = [
    "TEST_INSTANCE",
    "change_test_file",
    "humanize",
    "humanize_1024",
    "humanize_duration",
    "render_value",
    "rules_test_file",
]

#: The instance label of the input series of the metrics whose series keep one.
TEST_INSTANCE = "node-1:9100"


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


def humanize_1024(value: float) -> str:
    """Prometheus' ``humanize1024``: binary prefixes (ki, Mi, Gi ...), 4 significant digits."""
    if abs(value) <= 1 or math.isnan(value) or math.isinf(value):
        return _go_g4(value)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix = p
        value /= 1024
    return f"{_go_g4(value)}{prefix}"


def humanize_duration(value: float) -> str:
    """Prometheus' ``humanizeDuration``: seconds as ``1d 2h 3m 4s``, below 1 s with SI
    prefixes (``250ms``)."""
    if math.isnan(value) or math.isinf(value):
        return _go_g4(value)
    if value == 0:
        return f"{_go_g4(value)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g4(abs(value))}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = p
        value *= 1000
    return f"{_go_g4(value)}{prefix}s"


def render_value(fmt: ValueFormat, value: float) -> str:
    """``fmt.template`` as Prometheus renders it for ``$value`` = ``value``."""
    if fmt.function.startswith("printf "):
        text = fmt.function.removeprefix("printf ").strip('"') % value
    else:
        text = {
            "humanize": humanize,
            "humanize1024": humanize_1024,
            "humanizeDuration": humanize_duration,
        }[fmt.function](value)
    return text + fmt.suffix


def _safe_and_crossing(spec: AlertSpec) -> tuple[float, float]:
    """A value on the safe side of the level and one past it (halving / doubling)."""
    v = spec.value
    low, high = (v / 2, v * 2) if v > 0 else (v - 1, v + 1)
    return (low, high) if spec.direction == "above" else (high, low)


def _minutes(text: str) -> int:
    """Evaluations (of 1m) from an alert's first true one to its firing one."""
    return math.ceil(duration_seconds(text) / 60)


def _series(spec: AlertSpec) -> str:
    return f'{spec.selector}{{instance="{TEST_INSTANCE}"}}' if spec.instance else spec.selector


def _expected(spec: AlertSpec, value: float | None) -> dict[str, Any]:
    annotations = {}
    for key, text in spec.annotations.items():
        if value is not None:
            text = text.replace(spec.value_format.template, render_value(spec.value_format, value))
        annotations[key] = text.replace(INSTANCE_TEMPLATE, TEST_INSTANCE)
    labels = dict(spec.labels)
    if spec.instance:
        labels["instance"] = TEST_INSTANCE
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": annotations}


def _level_test(spec: AlertSpec) -> dict[str, Any]:
    safe, crossing = _safe_and_crossing(spec)
    crossed = 11  # the minute the series crosses the level: the alert is pending from here
    fires = crossed + _minutes(spec.for_text)
    before = fires - 1 if fires > crossed else crossed - 1
    values = f"{plain_number(safe)}+0x10 {plain_number(crossing)}+0x{fires + 10 - crossed}"
    name = f"{spec.name}: past {plain_number(spec.value)} for {spec.for_text}"
    return _case(name, spec, values, before, fires, _expected(spec, crossing))


def _availability_test(spec: AlertSpec) -> dict[str, Any]:
    """A target up for 10 minutes, then down from minute 11: the alert once it has been
    down for its ``for``, not one evaluation before."""
    crossed = 11
    fires = crossed + _minutes(spec.for_text)
    before = fires - 1 if fires > crossed else crossed - 1
    series = f'up{{instance="{TEST_INSTANCE}", job={json.dumps(spec.job)}}}'
    case = _case(
        f"{spec.name}: down for {spec.for_text}",
        spec,
        f"1+0x10 0+0x{fires + 10 - crossed}",
        before,
        fires,
        _expected(spec, None),
    )
    case["input_series"] = [{"series": series, "values": case["input_series"][0]["values"]}]
    labels = case["alert_rule_test"][1]["exp_alerts"][0]["exp_labels"]
    labels["job"] = spec.job
    case["alert_rule_test"][1]["exp_alerts"][0]["exp_labels"] = dict(sorted(labels.items()))
    return case


def _test_of(spec: AlertSpec) -> dict[str, Any]:
    if spec.is_availability:
        return _availability_test(spec)
    return _runway_test(spec) if spec.is_runway else _level_test(spec)


def _runway_test(spec: AlertSpec) -> dict[str, Any]:
    safe, _ = _safe_and_crossing(spec)
    horizon_minutes = duration_seconds(spec.runway_horizon or "0s") / 60
    # A slope whose trend crosses the level well within the horizon from the first minute.
    needed = 2 * abs(spec.value - safe) / max(horizon_minutes, 1)
    slope = 10.0 ** math.ceil(math.log10(needed)) if needed > 0 else 1.0
    fires = 1 + _minutes(spec.for_text)  # predict_linear needs two samples: pending from 1m
    sign = "+" if spec.direction == "above" else "-"
    values = f"{plain_number(safe)}{sign}{plain_number(slope)}x{fires + 10}"
    name = f"{spec.name}: trend crosses {plain_number(spec.value)} within {spec.runway_horizon}"
    return _case(name, spec, values, fires - 1, fires, _expected(spec, None))


def _case(
    name: str, spec: AlertSpec, values: str, before: int, fires: int, expected: dict[str, Any]
) -> dict[str, Any]:
    """One promtool test: the input series, no alert at ``before`` minutes (its ``for`` not
    yet elapsed), the expected one at ``fires``."""
    return {
        "name": name,
        "interval": "1m",
        "input_series": [{"series": _series(spec), "values": values}],
        "alert_rule_test": [
            {"eval_time": f"{before}m", "alertname": spec.name, "exp_alerts": []},
            {"eval_time": f"{fires}m", "alertname": spec.name, "exp_alerts": [expected]},
        ],
    }


def rules_test_file(
    plan: Plan,
    rules_file: str,
    specs: list[AlertSpec],
    extra: list[dict[str, Any]] | None = None,
) -> str:
    """The ``promtool test rules`` file for ``rules_file`` (run it from the same directory);
    ``extra``: more test cases (the SLO burn-rate alerts')."""
    tests = [_test_of(s) for s in specs if not s.change_over] + list(extra or [])
    doc: dict[str, Any] = {
        "rule_files": [rules_file],
        "evaluation_interval": "1m",
        "tests": tests,
    }
    notes = [
        f"Unit tests of {rules_file}: promtool test rules <this file>",
        "Each alert: none one evaluation before its for: has elapsed, the alert once it has.",
    ]
    return header(plan, "promtool rule tests", notes) + dump_yaml(doc)


def _change_step(specs: list[AlertSpec]) -> int:
    """Seconds between evaluations of the change tests: the gcd of 3600 and every window."""
    step = 3600
    for spec in specs:
        step = math.gcd(step, max(1, int(duration_seconds(spec.change_over or "1h"))))
    return step


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _change_crossing(spec: AlertSpec) -> tuple[float, float]:
    """From a base of 100: the value past the level (a rise, or fall, of twice the level; a
    fall of half way to 100% when twice is too much) and the change Prometheus computes."""
    above = spec.direction == "above"
    size = 2 * spec.value if above or spec.value < 50 else (spec.value + 100) / 2
    value = 100 + size if above else 100 - size
    return value, 100 * ((value - 100) if above else (100 - value)) / 100


def _change_test(spec: AlertSpec, step: int) -> dict[str, Any]:
    over = int(duration_seconds(spec.change_over or "0s")) // step
    value, change = _change_crossing(spec)
    crossed = over + 2  # steps: the change is 0 from ``over`` and past the level from here
    fires = crossed + math.ceil(spec.for_seconds / step)
    before = fires - 1 if fires > crossed else crossed - 1
    values = f"100+0x{crossed - 1} {plain_number(value)}+0x{fires + 2 - crossed}"
    name = f"{spec.name}: changed past {plain_number(spec.value)}% over {spec.change_over}"
    case = _case(name, spec, values, 0, 0, _expected(spec, change))
    case["interval"] = _duration(step)
    tests = case["alert_rule_test"]
    tests[0]["eval_time"] = _duration(before * step)
    tests[1]["eval_time"] = _duration(fires * step)
    return case


def change_test_file(plan: Plan, rules_file: str, specs: list[AlertSpec]) -> str | None:
    """The ``promtool test rules`` file of the change alerts of ``rules_file`` (None when it
    has none), evaluated every hour (or less, see the module docstring)."""
    changes = [s for s in specs if s.change_over]
    if not changes:
        return None
    step = _change_step(changes)
    doc: dict[str, Any] = {
        "rule_files": [rules_file],
        "evaluation_interval": _duration(step),
        "tests": [_change_test(s, step) for s in changes],
    }
    notes = [
        f"Unit tests of the change alerts of {rules_file}: promtool test rules <this file>",
        f"Evaluated every {_duration(step)}, so that the input spans each alert's offset quickly.",
        "Each alert: none one evaluation before its for: has elapsed, the alert once it has.",
    ]
    return header(plan, "promtool rule tests", notes) + dump_yaml(doc)
