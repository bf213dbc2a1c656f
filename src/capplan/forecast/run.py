"""One forecast run over metric history: frame → regular panel → forecasts with intervals →
runway to a threshold, and the rows the CLI and the service print.

:func:`run_on_panel` runs on a :class:`~capplan.data.Panel` with typed
:class:`ForecastOptions`; :func:`run_forecast` is the same from a metric frame and the
horizon as text (``14d``), its errors naming the parameters. The runways of a run, to a
level and to a plan's thresholds, are found by :mod:`capplan.forecast.run_runways`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan._types import Array
from capplan.data import MetricFrame, Panel, to_panel
from capplan.errors import UsageError
from capplan.forecast.backtest import BacktestResult, backtest
from capplan.forecast.base import MODELS
from capplan.forecast.intervals import BlockRunner, Forecast, forecast
from capplan.forecast.options import Horizon, RunwayLevel, infer_step
from capplan.forecast.run_runways import (
    metric_series,
    plan_advice,
    plan_runways,
    runway_fields,
    series_runways,
    stamp,
)
from capplan.forecast.runway import Runway, runway_advice
from capplan.forecast.seasons import default_seasons
from capplan.formatting import json_float
from capplan.plan.models import Metric, Plan

__all__ = [
    "ForecastOptions",
    "ForecastRun",
    "metric_bounds",
    "panel_of",
    "plan_bounds",
    "run_backtest",
    "run_forecast",
    "run_on_panel",
]


def metric_bounds(metric: Metric) -> tuple[float, float]:
    """What a plan metric can take: its ``bounds``, else [0, 100] for a ``%`` unit, else
    [0, ∞) unless it allows negative values."""
    lo, hi = -np.inf, np.inf
    if metric.unit.strip() == "%":
        lo, hi = 0.0, 100.0
    elif not metric.allow_negative:
        lo = 0.0
    if metric.bounds is not None:
        given_lo, given_hi = metric.bounds
        lo = lo if given_lo is None else float(given_lo)
        hi = hi if given_hi is None else float(given_hi)
    return lo, hi


def plan_bounds(
    ids: Sequence[str],
    plans: Sequence[Plan],
    given: tuple[float | None, float | None] | None = None,
    kinds: Sequence[str] | None = None,
) -> Array:
    """Per series ``(lower, upper)`` bounds (±inf for none): ``given`` (one pair, either side
    None) for every series, else the bounds of the plan metric a series belongs to; a
    counter's rate is never negative."""
    out = np.tile(np.array([-np.inf, np.inf]), (len(ids), 1))
    if kinds is not None:
        out[[i for i, k in enumerate(kinds) if k == "counter"], 0] = 0.0
    for plan in plans:
        for name, rows in metric_series(plan, ids).items():
            out[rows] = metric_bounds(plan.metrics[name])
    if given is not None:
        for j, value in enumerate(given):
            if value is not None:
                out[:, j] = value
    return out


@dataclass(frozen=True)
class ForecastOptions:
    """What a forecast run is asked for, typed: ``horizon`` steps ahead, the model, the
    interval levels, the level to find the runway to, ``(lower, upper)`` bounds for every
    series, the plans whose metrics bound the forecasts and whose thresholds get runways and
    advice (unless ``with_plan_runways`` is False), and the instant ages are counted to."""

    horizon: int
    model: str = "auto"
    levels: tuple[int, ...] = (80, 95)
    threshold: RunwayLevel | None = None
    bounds: tuple[float | None, float | None] | None = None
    plans: tuple[Plan, ...] = ()
    now: np.datetime64 | None = None
    with_plan_runways: bool = True


@dataclass
class ForecastRun:
    """Forecasts of every series of a panel, with runways when a threshold was given.

    ``now``: the instant the ages of the series' last samples are counted to (none when not
    given); ``smooth``: the longest seasonal period, over which the runway's trend is
    averaged; ``ahead``: the forecast run ``smooth / 2`` steps past the horizon, which the
    centred trend near the end reads."""

    panel: Panel
    h: int
    result: Forecast
    future: npt.NDArray[np.datetime64]  # (n, h)
    threshold: RunwayLevel | None = None
    runways: list[Runway] = field(default_factory=list)
    plan_runway: list[dict[str, Any]] = field(default_factory=list)
    now: np.datetime64 | None = None
    smooth: int = 1
    advice: list[str] = field(default_factory=list)
    ahead: Forecast | None = None

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

    def last_samples(self) -> list[dict[str, Any]]:
        """Per series: its last sample's time and value, and its age at ``now``."""
        out = []
        for i, name in enumerate(self.panel.ids):
            end = self.panel.end[i]
            age = None
            if self.now is not None:
                age = int((self.now - end).astype("timedelta64[s]").astype(np.int64))
            out.append(
                {
                    "series": name,
                    "last_sample": stamp(end),
                    "last_value": json_float(float(self.panel.values[i, -1])),
                    "age_seconds": age,
                }
            )
        return out

    def runway_rows(self) -> list[dict[str, Any]]:
        """One row per series: threshold, p10 / p50 / p90 crossing dates, the same for the
        trend, whether it is already past, and the message."""
        return [
            {"series": self.panel.ids[r.series_index], **runway_fields(r)} for r in self.runways
        ]

    def recommendations(self) -> list[str]:
        if not self.runways or self.threshold is None:
            return []
        return runway_advice(self.runways, self.panel.ids, self.threshold.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_seconds": self.panel.step_seconds,
            "horizon": self.h,
            "levels": list(self.levels),
            "models": dict(zip(self.panel.ids, self.result.model, strict=True)),
            "series": self.last_samples(),
            "forecast": self.rows(),
            "runway": self.runway_rows(),
            "plan_runway": self.plan_runway,
            "recommendations": self.recommendations(),
            "advice": self.advice,
            "warnings": list(self.result.warnings),
        }


def panel_of(frame: MetricFrame, step: str | int | None = None, agg: str = "mean") -> Panel:
    """The regular panel a forecast runs on: ``frame`` aggregated with ``agg`` onto ``step``
    (default: the data's own, see :func:`~capplan.forecast.options.infer_step`), carrying the
    stray points the reader set aside among its warnings."""
    if frame.values.size == 0:
        raise UsageError("no metric data to forecast (no series matched, or the input is empty)")
    if step is None:
        try:
            step = infer_step(frame)
        except ValueError as exc:
            raise UsageError(f"cannot infer the step: {exc}; give one") from None
    panel = to_panel(frame, step, agg)
    strays = tuple(w for w in frame.warnings if w.code == "stray")
    return replace(panel, warnings=strays + panel.warnings) if strays else panel


def run_forecast(
    frame: MetricFrame,
    horizon: str,
    *,
    step: str | None = None,
    agg: str = "mean",
    model: str = "auto",
    levels: Sequence[int] = (80, 95),
    threshold: RunwayLevel | None = None,
    bounds: tuple[float | None, float | None] | None = None,
    plans: Sequence[Plan] = (),
    now: np.datetime64 | None = None,
    with_plan_runways: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ForecastRun:
    """Forecast every series of ``frame`` ``horizon`` ahead (``14d`` or a number of steps):
    :func:`run_on_panel` on :func:`panel_of` the frame, with the options given here."""
    MODELS.get(model)  # unknown names fail here, listing the available ones
    panel = panel_of(frame, step, agg)
    try:
        h = Horizon.parse(horizon).steps(panel.step_seconds)
    except ValueError as exc:
        raise UsageError(f"horizon: {exc}") from None
    options = ForecastOptions(
        h,
        model=model,
        levels=tuple(levels),
        threshold=threshold,
        bounds=bounds,
        plans=tuple(plans),
        now=now,
        with_plan_runways=with_plan_runways,
    )
    return run_on_panel(panel, options, progress=progress)


def run_on_panel(
    panel: Panel,
    options: ForecastOptions,
    *,
    progress: Callable[[int], None] | None = None,
    runner: BlockRunner | None = None,
) -> ForecastRun:
    """Forecast every series of ``panel`` ``options.horizon`` steps ahead.

    ``options.bounds`` and the units and bounds of the ``options.plans``' metrics clip the
    forecasts and their bands (see :func:`plan_bounds`); with plans, the runway to each of
    their threshold levels and the advice are computed too (unless
    ``options.with_plan_runways`` is False). ``progress(done)``: the series forecast so far;
    ``runner``: what runs the blocks of series (:data:`~capplan.forecast.BlockRunner`; in
    turn by default)."""
    model, threshold, plans = options.model, options.threshold, options.plans
    MODELS.get(model)  # unknown names fail here, listing the available ones
    h = options.horizon
    limits = plan_bounds(panel.ids, plans, options.bounds, panel.kinds)
    # forecasts do not depend on the horizon: run half the longest season further, for the
    # centred trend of the runway near the horizon
    pad = max(default_seasons(panel.step_seconds), default=0) // 2
    ahead = forecast(
        panel.values,
        h + pad,
        model=model,
        levels=options.levels,
        step_seconds=panel.step_seconds,
        bounds=limits,
        progress=progress,
        runner=runner,
    )
    future = panel.future_timestamps(h)
    smooth = max(ahead.periods, default=1)
    run = ForecastRun(
        panel, h, ahead.head(h), future, threshold, now=options.now, smooth=smooth, ahead=ahead
    )
    # points set aside as implausible, by the reader or the panel, are said with the forecast
    strays = [w for w in panel.warnings if w.code == "stray"]
    run.result.warnings[:0] = [str(w) for w in strays]
    if threshold is not None:
        run.runways = series_runways(
            run, list(range(panel.n_series)), threshold.value, threshold.direction
        )
    for plan in plans if options.with_plan_runways else ():
        run.plan_runway += plan_runways(run, plan)
        run.advice += plan_advice(run, plan)
    return run


def run_backtest(
    panel: Panel,
    h: int,
    *,
    models: Sequence[str] = (),
    windows: int = 3,
    levels: Sequence[int] = (80, 95),
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` (every registered model when empty) on ``windows``
    windows of ``h`` steps at the end of ``panel``."""
    names = list(models) or MODELS.names()
    for name in names:
        MODELS.get(name)
    if windows < 1:
        raise UsageError(f"windows must be at least 1, got {windows}")
    longest = int(np.max(panel.lengths)) if panel.values.size else 0
    if longest <= h * windows:
        raise UsageError(
            f"the longest series has {longest} steps; {windows} windows of {h} steps need more"
        )
    return backtest(names, panel.values, h, windows, levels, panel.step_seconds)
