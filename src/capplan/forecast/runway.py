"""Runway: when a forecast crosses a threshold, with a range from the intervals, in words.

For an upward crossing (``direction="above"``) of threshold ``c``:

- ``p50`` is the first forecast step whose point forecast is at or above ``c``;
- ``p10`` (earliest plausible date) is the first step whose *upper* band is at or above
  ``c``: the upper bound of the central ``level``% interval (80% by default) is the 90%
  quantile, so by then there is about a 10% chance the metric has crossed;
- ``p90`` (latest plausible date) is the first step whose *lower* band is at or above ``c``:
  the 10% quantile has crossed, so there is about a 90% chance the metric has crossed.

For ``direction="below"`` (free disk space, say) the bands swap roles: the lower band gives
``p10`` and the upper band ``p90``. A date is ``None`` when the crossing is not within the
horizon. Thresholds are absolute, or a fraction of a per-series ``capacity`` (disk at 90% of
its size: ``threshold=0.9, capacity=sizes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from capplan.errors import ForecastError
from capplan.forecast._panel import Array
from capplan.forecast.intervals import Forecast

__all__ = ["Runway", "recommend", "runway"]

Date = np.datetime64


@dataclass(frozen=True)
class Runway:
    """When series ``series_index`` crosses ``threshold``: earliest plausible (``p10``), most
    likely (``p50``) and latest plausible (``p90``) dates, or ``None`` beyond the horizon."""

    series_index: int
    threshold: float
    p10: Date | None
    p50: Date | None
    p90: Date | None
    message: str
    direction: str = "above"
    horizon_end: Date | None = None


def _first_crossing(values: Array, limit: Array, above: bool) -> npt.NDArray[np.intp]:
    with np.errstate(invalid="ignore"):
        hit = values >= limit[:, None] if above else values <= limit[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1).astype(np.intp)


def _day(d: Date | None) -> str:
    return "" if d is None else str(np.datetime_as_string(d, unit="D"))


def _message(p10: Date | None, p50: Date | None, p90: Date | None, end: Date, lv: int) -> str:
    if p50 is None and p10 is None:
        return f"not within the horizon (to {_day(end)})"
    if p50 is None:
        return f"unlikely within the horizon (to {_day(end)}); earliest plausible {_day(p10)}"
    early = _day(p10 if p10 is not None else p50)
    if p90 is None:
        return f"most likely {_day(p50)}, from {early} to beyond {_day(end)} ({lv}% interval)"
    if early == _day(p90):
        return f"on {early} ({lv}% interval), most likely {_day(p50)}"
    return f"between {early} and {_day(p90)} ({lv}% interval), most likely {_day(p50)}"


def runway(
    forecast: Forecast,
    threshold: float | npt.ArrayLike,
    direction: Literal["above", "below"] = "above",
    timestamps_future: npt.ArrayLike | None = None,
    *,
    capacity: float | npt.ArrayLike | None = None,
    level: int = 80,
) -> list[Runway]:
    """The crossing dates of every series (see the module docstring). ``timestamps_future``:
    the ``h`` forecast instants (datetime64); ``level``: the band used for p10/p90."""
    if direction not in ("above", "below"):
        raise ForecastError(f"direction must be 'above' or 'below', got {direction!r}")
    mean = forecast.mean
    n, h = mean.shape
    if level not in forecast.lower:
        raise ForecastError(f"level {level} is not in the forecast; got {list(forecast.levels)}")
    if timestamps_future is None:
        raise ForecastError("timestamps_future (the h forecast instants) is required")
    ts = np.asarray(timestamps_future, dtype="datetime64[s]")
    if ts.shape != (h,):
        raise ForecastError(f"timestamps_future must have {h} instants, got shape {ts.shape}")
    limit = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)).copy()
    if capacity is not None:
        limit = limit * np.broadcast_to(np.asarray(capacity, dtype=np.float64), (n,))
    above = direction == "above"
    early_band = forecast.upper[level] if above else forecast.lower[level]
    late_band = forecast.lower[level] if above else forecast.upper[level]
    idx = [_first_crossing(b, limit, above) for b in (early_band, mean, late_band)]
    empty = np.asarray(np.isnan(mean).all(axis=1), dtype=np.bool_)
    out = []
    for i in range(n):
        dates = [ts[k[i]] if k[i] >= 0 else None for k in idx]
        msg = _message(dates[0], dates[1], dates[2], ts[-1], level)
        if empty[i]:
            msg = "no forecast (the series has no observations)"
        out.append(Runway(i, float(limit[i]), dates[0], dates[1], dates[2], msg, direction, ts[-1]))
    return out


def _format_threshold(value: float, unit: str) -> str:
    text = f"{value:g}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}".rstrip()


def recommend(runways: Sequence[Runway], names: Sequence[str], unit: str = "") -> list[str]:
    """One plain-language line per series, e.g. ``api p95 CPU crosses 80% between
    2026-03-12 and 2026-03-19 (80% interval), most likely 2026-03-15: act before
    2026-03-12.``; a series without a crossing gets ``...: not within the horizon (to ...)``."""
    if len(names) != len(runways):
        raise ForecastError(f"expected {len(runways)} names, got {len(names)}")
    lines = []
    for rw, name in zip(runways, names, strict=True):
        verb = "crosses" if rw.direction == "above" else "falls below"
        thr = _format_threshold(rw.threshold, unit)
        if rw.p50 is None:
            lines.append(f"{name} reaching {thr}: {rw.message}.")
            continue
        act = rw.p10 if rw.p10 is not None else rw.p50
        lines.append(f"{name} {verb} {thr} {rw.message}: act before {_day(act)}.")
    return lines
