"""The runways of a forecast run: of its series to a level, and to every level of a plan's
thresholds on observed metrics, with the advice of what to do by when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from capplan.forecast.intervals import Forecast
from capplan.forecast.runway import Runway, runway
from capplan.formatting import json_float
from capplan.plan.models import Plan
from capplan.policy.plan_check import series_of_metric

if TYPE_CHECKING:
    from capplan.forecast.run import ForecastRun

__all__ = [
    "metric_series",
    "plan_advice",
    "plan_runways",
    "runway_fields",
    "series_runways",
    "stamp",
]


def metric_series(plan: Plan, ids: Sequence[str]) -> dict[str, list[int]]:
    """Per observed plan metric, the rows of ``ids`` holding its history: those matching
    its ``series`` glob, else those named after it (``cpu`` or ``cpu{job="api"}``)."""
    out: dict[str, list[int]] = {}
    row = {sid: i for i, sid in enumerate(ids)}
    for name, metric in plan.metrics.items():
        if metric.expr is None:
            rows = [row[sid] for sid in series_of_metric(ids, metric.series or name)]
            if rows:
                out[name] = rows
    return out


def runway_fields(r: Runway) -> dict[str, Any]:
    return {
        "threshold": r.threshold,
        "direction": r.direction,
        "p10": stamp(r.p10),
        "p50": stamp(r.p50),
        "p90": stamp(r.p90),
        "trend_p10": stamp(r.trend_p10),
        "trend_p50": stamp(r.trend_p50),
        "trend_p90": stamp(r.trend_p90),
        "trend_max": None if r.trend_max is None else json_float(r.trend_max),
        "crossed_since": stamp(r.crossed_since),
        "crossed_seconds": r.crossed_seconds,
        "message": r.message,
    }


def _subset(result: Forecast, rows: Sequence[int]) -> Forecast:
    idx = list(rows)
    return Forecast(
        result.mean[idx],
        {lv: b[idx] for lv, b in result.lower.items()},
        {lv: b[idx] for lv, b in result.upper.items()},
        [result.model[i] for i in idx],
    )


def series_runways(
    run: ForecastRun, rows: Sequence[int], value: float, direction: str
) -> list[Runway]:
    """Runways of the series ``rows`` of ``run`` (indexed as in ``rows``); series ending at
    different times have their own forecast instants, so they are done one at a time."""
    full = run.ahead if run.ahead is not None else run.result
    result = _subset(full, rows)
    steps = full.mean.shape[1]
    future = run.panel.future_timestamps(steps)[list(rows)]
    history = run.panel.values[list(rows)]
    level = 80 if 80 in result.levels else result.levels[0]
    way: Literal["above", "below"] = "above" if direction == "above" else "below"
    opts: dict[str, Any] = {"level": level, "smooth": run.smooth, "horizon": run.h}
    if bool((future[:, 0] == future[0, 0]).all()):
        return runway(result, value, way, future[0], history=history, **opts)
    out: list[Runway] = []
    for i in range(result.mean.shape[0]):
        one = _subset(result, [i])
        r = runway(one, value, way, future[i], history=history[i : i + 1], **opts)[0]
        out.append(replace(r, series_index=i))
    return out


def plan_runways(run: ForecastRun, plan: Plan) -> list[dict[str, Any]]:
    """The runway of every series to every warning / critical / emergency level of the plan's
    thresholds on observed metrics, soonest first (a level already crossed first of all)."""
    rows: list[dict[str, Any]] = []
    matched = metric_series(plan, run.panel.ids)
    for tname, thr in plan.thresholds.items():
        idx = matched.get(thr.metric)
        if not idx or thr.change is not None:  # a change's levels are not on the values
            continue
        for level_name, level in thr.levels():
            if level_name == "target":
                continue
            for r in series_runways(run, idx, level.value, thr.direction):
                fields = runway_fields(r)
                fields.pop("threshold")
                rows.append(
                    {
                        "series": run.panel.ids[idx[r.series_index]],
                        "threshold": tname,
                        "level": level_name,
                        "value": level.value,
                        **fields,
                    }
                )
    rows.sort(key=lambda r: (r["crossed_since"] or r["p10"] or r["p50"] or "9999", r["series"]))
    return rows


_ADVICE = (
    ("cpu", "increase CPU capacity"),
    ("mem", "increase memory capacity"),
    ("disk", "add storage"),
    ("storage", "add storage"),
    ("conn", "raise the connection limit or add replicas"),
    ("request", "scale the application out"),
    ("rps", "scale the application out"),
    ("queue", "add workers"),
)


def _what_to_do(threshold_name: str, metric: str, given: str | None) -> str:
    if given:
        return given
    text = f"{threshold_name} {metric}".lower()
    return next((advice for key, advice in _ADVICE if key in text), "add capacity")


def plan_advice(run: ForecastRun, plan: Plan) -> list[str]:
    """Per observed metric with thresholds, the APM runbook's recommendation: the highest
    trend forecast over the horizon (its seasonal cycles averaged out, as the runbook's
    regression line has none) and, past a level, what to do and by when — ``avg_cpu_usage
    predicted max 80.8% > 80% (critical): increase CPU capacity before 2027-01-08 (earliest
    2026-12-21; peaks pass 80% from 2026-10-22).``"""
    lines: list[str] = []
    matched = metric_series(plan, run.panel.ids)
    for tname, thr in plan.thresholds.items():
        if thr.change is not None:  # a change's levels are not on the values
            continue
        for i in matched.get(thr.metric, []):
            name = run.panel.ids[i]
            unit = thr.unit or plan.metrics[thr.metric].unit
            levels = [(n, lv) for n, lv in thr.levels() if n != "target"]
            if not levels:
                continue
            found = [
                (n, lv.value, series_runways(run, [i], lv.value, thr.direction)[0])
                for n, lv in levels
            ]
            trend_max = found[0][2].trend_max
            if trend_max is None:
                continue
            above = thr.direction == "above"
            passed = [f for f in found if f[2].trend_p50 is not None or f[2].crossed]
            word = "max" if above else "min"
            head = f"{name} predicted {word} {_fmt(trend_max, unit)}"
            if not passed:
                bar = f"{'<' if above else '>'} {_fmt(found[0][1], unit)}"
                lines.append(f"{head}: within the {tname} levels ({bar}).")
                continue
            level_name, value, rw = passed[-1]
            sign = ">" if above else "<"
            todo = _what_to_do(tname, thr.metric, thr.advice)
            if rw.crossed:
                lines.append(
                    f"{head} {sign} {_fmt(value, unit)} ({level_name}): {todo} now — {rw.message}."
                )
                continue
            due = _day(rw.trend_p50)
            notes = []
            if rw.trend_p10 is not None and _day(rw.trend_p10) != due:
                notes.append(f"earliest {_day(rw.trend_p10)}")
            if rw.p50 is not None and _day(rw.p50) < due:
                notes.append(f"peaks pass {_fmt(value, unit)} from {_day(rw.p50)}")
            tail = f" ({'; '.join(notes)})" if notes else ""
            lines.append(
                f"{head} {sign} {_fmt(value, unit)} ({level_name}): {todo} before {due}{tail}."
            )
    return lines


def _fmt(value: float, unit: str) -> str:
    text = f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{text}%" if unit.strip() == "%" else f"{text} {unit}".rstrip()


def _day(d: np.datetime64 | None) -> str:
    return "" if d is None else str(np.datetime_as_string(d, unit="D"))


def stamp(day: np.datetime64 | None) -> str | None:
    """``day`` as UTC ISO 8601 to the second (``2027-01-08T00:00:00Z``), or None."""
    return None if day is None else str(np.datetime_as_string(day, unit="s")) + "Z"
