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

These dates are when the metric itself first crosses — with a daily cycle, the daily peak:
when an alert on the level would start to fire. With ``smooth`` (the longest seasonal
period, in steps), the same dates are also given for the *trend*: the centred mean over
``smooth`` steps of the history and the forecast (bands likewise), which averages the
seasonal cycles out — what a trend line through the history says (the APM runbook's 90-day
regression) — and ``trend_max``, its highest value over the horizon. The forecast may run
``smooth / 2`` steps past the horizon (``horizon``) so that the centred mean is whole up to
its end; crossings past the horizon are not reported.

With the ``history`` (the panel the forecast continues), a series whose last observation is
already past the level is reported as such — "above 80 since 2026-03-01 09:00 (for 3 h)",
the start of its current run of observations past the level — not with a future date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from capplan._types import Array, IndexArray
from capplan.errors import ForecastError
from capplan.forecast.intervals import Forecast

__all__ = ["Runway", "runway", "runway_advice"]

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
    trend_p10: Date | None = None
    trend_p50: Date | None = None
    trend_p90: Date | None = None
    trend_max: float | None = None
    crossed_since: Date | None = None
    crossed_seconds: int | None = None

    @property
    def crossed(self) -> bool:
        """The last observation is already past the level."""
        return self.crossed_since is not None


def _first_crossing(values: Array, limit: Array, above: bool) -> IndexArray:
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
    history: npt.ArrayLike | None = None,
    smooth: int = 1,
    horizon: int | None = None,
) -> list[Runway]:
    """The crossing dates of every series (see the module docstring). ``timestamps_future``:
    the forecast instants (datetime64), one step apart; ``level``: the band used for
    p10/p90; ``history``: the ``(n, T)`` observations just before them (NaN = none);
    ``smooth``: the window of the trend dates; ``horizon``: how many forecast steps count
    (default all)."""
    if direction not in ("above", "below"):
        raise ForecastError(f"direction must be 'above' or 'below', got {direction!r}")
    mean = forecast.mean
    n, steps = mean.shape
    h = steps if horizon is None else min(int(horizon), steps)
    if level not in forecast.lower:
        raise ForecastError(f"level {level} is not in the forecast; got {list(forecast.levels)}")
    if timestamps_future is None:
        raise ForecastError("timestamps_future (the forecast instants) is required")
    ts = np.asarray(timestamps_future, dtype="datetime64[s]")
    if ts.shape != (steps,):
        raise ForecastError(f"timestamps_future must have {steps} instants, got shape {ts.shape}")
    limit = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)).copy()
    if capacity is not None:
        limit = limit * np.broadcast_to(np.asarray(capacity, dtype=np.float64), (n,))
    above = direction == "above"
    hist = None if history is None else np.asarray(history, dtype=np.float64).reshape(n, -1)
    step = ts[1] - ts[0] if steps > 1 else np.timedelta64(0, "s")
    early_band = forecast.upper[level] if above else forecast.lower[level]
    late_band = forecast.lower[level] if above else forecast.upper[level]
    bands = (early_band, mean, late_band)
    idx = [_first_crossing(b[:, :h], limit, above) for b in bands]
    trend = [_centred_mean(b, hist, max(1, int(smooth)))[:, :h] for b in bands]
    tidx = [_first_crossing(b, limit, above) for b in trend]
    peak = (np.fmax if above else np.fmin).reduce(trend[1], axis=1)  # NaN: no forecast
    run = _run_past(hist, limit, above) if hist is not None else np.zeros(n, dtype=np.intp)
    empty = np.asarray(np.isnan(mean).all(axis=1), dtype=np.bool_)
    end = ts[h - 1]
    out = []
    for i in range(n):
        dates = [ts[k[i]] if k[i] >= 0 else None for k in idx]
        tdates = [ts[k[i]] if k[i] >= 0 else None for k in tidx]
        msg = _message(dates[0], dates[1], dates[2], end, level)
        since: Date | None = None
        seconds: int | None = None
        if run[i] > 0:
            since = ts[0] - step * int(run[i])
            seconds = int((step * int(run[i])).astype("timedelta64[s]").astype(np.int64))
            msg = _crossed_message(above, float(limit[i]), since, seconds)
        if empty[i]:
            msg = "no forecast (the series has no observations)"
        out.append(
            Runway(
                i,
                float(limit[i]),
                dates[0],
                dates[1],
                dates[2],
                msg,
                direction,
                end,
                tdates[0],
                tdates[1],
                tdates[2],
                None if np.isnan(peak[i]) else float(peak[i]),
                since,
                seconds,
            )
        )
    return out


def _centred_mean(values: Array, history: Array | None, width: int) -> Array:
    """Mean over the ``width`` steps centred on each forecast step, reaching back into the
    history (NaN ignored, a window cut short at the end of the forecast); the values
    themselves for a width of 1."""
    if width <= 1:
        return values
    n, h = values.shape
    before, after = width // 2, width - width // 2 - 1
    back = np.full((n, before), np.nan)
    if history is not None and history.shape[1] and before:
        tail = history[:, -before:]
        back[:, before - tail.shape[1] :] = tail
    full = np.concatenate([back, values, np.full((n, after), np.nan)], axis=1)
    ok = ~np.isnan(full)
    zero = np.zeros((n, 1))
    csum = np.concatenate([zero, np.cumsum(np.where(ok, full, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([zero, np.cumsum(ok, axis=1)], axis=1)
    tot = csum[:, width:] - csum[:, :-width]
    cnt = ccnt[:, width:] - ccnt[:, :-width]
    out = np.full((n, h), np.nan)
    np.divide(tot, cnt, out=out, where=cnt > 0)
    return out


def _run_past(history: Array, limit: Array, above: bool) -> IndexArray:
    """Per series, how many of the last observations in a row are past the limit (a gap
    ends the run)."""
    with np.errstate(invalid="ignore"):
        past = history >= limit[:, None] if above else history <= limit[:, None]
    # the run is the distance from the end to the last observation not past the limit
    not_past = ~past[:, ::-1]
    first = np.where(not_past.any(axis=1), not_past.argmax(axis=1), history.shape[1])
    out: IndexArray = first.astype(np.intp)
    return out


def _crossed_message(above: bool, limit: float, since: Date, seconds: int) -> str:
    where = "above" if above else "below"
    return f"{where} {limit:g} since {_minute(since)} (for {_span(seconds)})"


def _minute(d: Date) -> str:
    return str(np.datetime_as_string(d, unit="m")).replace("T", " ")


def _span(seconds: int) -> str:
    """``3 days``, ``5 h``, ``20 min``: the largest unit that fits, rounded down."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {'day' if unit == 'days' and count == 1 else unit}"
    return f"{seconds} s"


def _format_threshold(value: float, unit: str) -> str:
    text = f"{value:g}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}".rstrip()


def runway_advice(runways: Sequence[Runway], names: Sequence[str], unit: str = "") -> list[str]:
    """One plain-language line per series, e.g. ``api p95 CPU crosses 80% between
    2026-03-12 and 2026-03-19 (80% interval), most likely 2026-03-15: act before
    2026-03-12.``; a series without a crossing gets ``...: not within the horizon (to ...)``."""
    if len(names) != len(runways):
        raise ForecastError(f"expected {len(runways)} names, got {len(names)}")
    lines = []
    for rw, name in zip(runways, names, strict=True):
        verb = "crosses" if rw.direction == "above" else "falls below"
        thr = _format_threshold(rw.threshold, unit)
        if rw.crossed:
            lines.append(f"{name} is already {rw.message.replace(f'{rw.threshold:g}', thr, 1)}.")
            continue
        if rw.p50 is None:
            lines.append(f"{name} reaching {thr}: {rw.message}.")
            continue
        act = rw.p10 if rw.p10 is not None else rw.p50
        lines.append(f"{name} {verb} {thr} {rw.message}: act before {_day(act)}.")
    return lines
