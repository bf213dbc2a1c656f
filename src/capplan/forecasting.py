"""One forecast run over metric history: frame → regular panel → forecasts with intervals →
runway to a threshold, and the rows the CLI and the service print."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from capplan.data import MetricFrame, Panel, parse_step, to_panel
from capplan.errors import UsageError
from capplan.forecast import MODELS, Forecast, Runway, backtest, forecast, recommend, runway
from capplan.forecast.backtest import BacktestResult
from capplan.formatting import json_float
from capplan.plan.durations import duration_seconds
from capplan.plan.models import Plan

__all__ = [
    "ForecastRun",
    "Threshold",
    "horizon_steps",
    "infer_step",
    "parse_levels",
    "parse_threshold",
    "plan_runways",
    "run_backtest",
    "run_forecast",
]


@dataclass(frozen=True)
class Threshold:
    """A level to find the crossing of: absolute, or a share of a capacity."""

    value: float
    direction: Literal["above", "below"] = "above"
    unit: str = ""


def parse_threshold(
    text: str, capacity: float | None = None, direction: str = "above"
) -> Threshold:
    """``80`` → 80; ``90%`` with ``capacity=500`` → 450; ``90%`` alone → 90 (a percent metric)."""
    if direction not in ("above", "below"):
        raise UsageError(f"--direction must be above or below, got '{direction}'")
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise UsageError(f"--threshold must be a number or a percentage, got '{text}'") from None
    if not np.isfinite(value):
        raise UsageError(f"--threshold must be finite, got '{text}'")
    unit = ""
    if percent and capacity is not None:
        value = value / 100.0 * capacity
    elif percent:
        unit = "%"
    elif capacity is not None:
        raise UsageError("--capacity needs a percentage --threshold such as 90%")
    return Threshold(value, direction, unit)  # type: ignore[arg-type]


def parse_levels(text: str) -> tuple[int, ...]:
    """``80,95`` → (80, 95)."""
    try:
        levels = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UsageError(
            f"--levels must be whole percentages such as 80,95, got '{text}'"
        ) from None
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise UsageError(f"--levels must be between 1 and 99, got '{text}'")
    return levels


def infer_step(frame: MetricFrame) -> int:
    """The coarsest median spacing of the frame's series, in seconds (at least 1).

    Vectorized over series: one sort of (series, time), the spacings within each series, a
    second sort of (series, spacing), and the middle of each series' run."""
    ts = frame.timestamps.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((ts, frame.codes))
    codes, stamps = frame.codes[order], ts[order]
    within = codes[1:] == codes[:-1]
    gaps, owner = np.diff(stamps)[within], codes[1:][within]
    if gaps.size == 0:
        raise UsageError("cannot infer --step: every series has a single point; give --step")
    by_series = np.lexsort((gaps, owner))
    gaps, owner = gaps[by_series], owner[by_series]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    counts = np.diff(np.r_[starts, gaps.size])
    lower, upper = gaps[starts + (counts - 1) // 2], gaps[starts + counts // 2]
    medians = (lower + upper) / 2  # np.median of each series' spacings
    return max(1, int(medians.max()))


def horizon_steps(text: str, step_seconds: int) -> int:
    """``14d`` at a 1h step → 336; a bare number is a number of steps."""
    raw = text.strip()
    if raw.isdigit():
        steps = int(raw)
    else:
        try:
            seconds = duration_seconds(raw)
        except ValueError as exc:
            raise UsageError(f"--horizon: {exc}") from None
        steps = round(seconds / step_seconds)
    if steps < 1:
        raise UsageError(f"--horizon '{text}' is shorter than one step of {step_seconds}s")
    if steps > 100_000:
        raise UsageError(f"--horizon '{text}' is {steps} steps; at most 100,000")
    return steps


@dataclass
class ForecastRun:
    """Forecasts of every series of a panel, with runways when a threshold was given."""

    panel: Panel
    h: int
    result: Forecast
    future: npt.NDArray[np.datetime64]  # (n, h)
    threshold: Threshold | None = None
    runways: list[Runway] = field(default_factory=list)
    plan_runway: list[dict[str, Any]] = field(default_factory=list)

    @property
    def levels(self) -> tuple[int, ...]:
        return self.result.levels

    def rows(self) -> list[dict[str, Any]]:
        """Long format: series, timestamp, mean, lo80, hi80, lo95, hi95 ..."""
        return [
            {"series": name, **row}
            for i, name in enumerate(self.panel.ids)
            for row in self.series_rows(i)
        ]

    def series_rows(self, i: int) -> list[dict[str, Any]]:
        """The forecast of series ``i``: timestamp, mean and a lo/hi pair per level."""
        fc = self.result
        out = []
        for k in range(self.h):
            row: dict[str, Any] = {
                "timestamp": str(self.future[i, k]) + "Z",
                "mean": json_float(float(fc.mean[i, k])),
            }
            for lv in self.levels:
                row[f"lo{lv}"] = json_float(float(fc.lower[lv][i, k]))
                row[f"hi{lv}"] = json_float(float(fc.upper[lv][i, k]))
            out.append(row)
        return out

    def runway_rows(self) -> list[dict[str, Any]]:
        """One row per series: threshold, p10 / p50 / p90 crossing dates and the message."""

        return [
            {
                "series": self.panel.ids[r.series_index],
                "threshold": r.threshold,
                "direction": r.direction,
                "p10": _stamp(r.p10),
                "p50": _stamp(r.p50),
                "p90": _stamp(r.p90),
                "message": r.message,
            }
            for r in self.runways
        ]

    def recommendations(self) -> list[str]:
        if not self.runways or self.threshold is None:
            return []
        return recommend(self.runways, self.panel.ids, self.threshold.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_seconds": self.panel.step_seconds,
            "horizon": self.h,
            "levels": list(self.levels),
            "models": dict(zip(self.panel.ids, self.result.model, strict=True)),
            "forecast": self.rows(),
            "runway": self.runway_rows(),
            "plan_runway": self.plan_runway,
            "recommendations": self.recommendations(),
            "warnings": list(self.result.warnings),
        }


def _panel(frame: MetricFrame, step: str | None, agg: str) -> Panel:
    if frame.values.size == 0:
        raise UsageError("no metric data to forecast (no series matched, or the input is empty)")
    step_seconds = parse_step(step) if step is not None else infer_step(frame)
    return to_panel(frame, step_seconds, agg)


def run_forecast(
    frame: MetricFrame,
    horizon: str,
    *,
    step: str | None = None,
    agg: str = "mean",
    model: str = "auto",
    levels: Sequence[int] = (80, 95),
    threshold: Threshold | None = None,
) -> ForecastRun:
    """Forecast every series of ``frame`` ``horizon`` ahead (``14d`` or a number of steps)."""
    MODELS.get(model)  # unknown names fail here, listing the available ones
    panel = _panel(frame, step, agg)
    h = horizon_steps(horizon, panel.step_seconds)
    result = forecast(panel.values, h, model=model, levels=levels, step_seconds=panel.step_seconds)
    future = panel.future_timestamps(h)
    run = ForecastRun(panel, h, result, future, threshold)
    if threshold is not None:
        run.runways = _runways(result, threshold.value, threshold.direction, future)
    return run


def _subset(result: Forecast, rows: Sequence[int]) -> Forecast:
    idx = list(rows)
    return Forecast(
        result.mean[idx],
        {lv: b[idx] for lv, b in result.lower.items()},
        {lv: b[idx] for lv, b in result.upper.items()},
        [result.model[i] for i in idx],
    )


def _runways(
    result: Forecast, value: float, direction: str, future: npt.NDArray[np.datetime64]
) -> list[Runway]:
    """Runways of every series of ``result``; series ending at different times have their
    own forecast instants, so they are done one at a time."""
    level = 80 if 80 in result.levels else result.levels[0]
    way: Literal["above", "below"] = "above" if direction == "above" else "below"
    if bool((future[:, 0] == future[0, 0]).all()):
        return runway(result, value, way, future[0], level=level)
    out: list[Runway] = []
    for i in range(result.mean.shape[0]):
        r = runway(_subset(result, [i]), value, way, future[i], level=level)[0]
        out.append(
            Runway(i, r.threshold, r.p10, r.p50, r.p90, r.message, r.direction, r.horizon_end)
        )
    return out


def plan_runways(run: ForecastRun, plan: Plan) -> list[dict[str, Any]]:
    """The runway of every series to every warning / critical / emergency level of the plan's
    thresholds on observed metrics, soonest first. A metric's series are those matching its
    ``series`` glob, else those named after it (``cpu`` or ``cpu{job="api"}``)."""
    rows: list[dict[str, Any]] = []
    for tname, thr in plan.thresholds.items():
        metric = plan.metrics.get(thr.metric)
        if metric is None or metric.expr is not None:
            continue
        pattern = metric.series or thr.metric
        idx = [
            i
            for i, sid in enumerate(run.panel.ids)
            if fnmatch.fnmatchcase(sid, pattern) or sid.split("{", 1)[0] == pattern
        ]
        if not idx:
            continue
        part = _subset(run.result, idx)
        for level_name, level in thr.levels():
            if level_name == "target":
                continue
            found = _runways(part, level.value, thr.direction, run.future[idx])
            for r in found:
                rows.append(
                    {
                        "series": run.panel.ids[idx[r.series_index]],
                        "threshold": tname,
                        "level": level_name,
                        "value": level.value,
                        "direction": thr.direction,
                        "p10": _stamp(r.p10),
                        "p50": _stamp(r.p50),
                        "p90": _stamp(r.p90),
                        "message": r.message,
                    }
                )
    rows.sort(key=lambda r: (r["p10"] or r["p50"] or "9999", r["series"]))
    return rows


def _stamp(day: np.datetime64 | None) -> str | None:
    return None if day is None else str(np.datetime_as_string(day, unit="s")) + "Z"


def run_backtest(
    frame: MetricFrame,
    horizon: str,
    *,
    step: str | None = None,
    agg: str = "mean",
    models: Sequence[str] = (),
    windows: int = 3,
    levels: Sequence[int] = (80, 95),
) -> tuple[Panel, BacktestResult]:
    """Rolling-origin backtest of ``models`` (every registered model when empty)."""
    names = list(models) or MODELS.names()
    for name in names:
        MODELS.get(name)
    if windows < 1:
        raise UsageError(f"--windows must be at least 1, got {windows}")
    panel = _panel(frame, step, agg)
    h = horizon_steps(horizon, panel.step_seconds)
    longest = int(np.max(panel.lengths)) if panel.values.size else 0
    if longest <= h * windows:
        raise UsageError(
            f"the longest series has {longest} steps; {windows} windows of {h} steps need more"
        )
    result = backtest(names, panel.values, h, windows, levels, panel.step_seconds)
    return panel, result
