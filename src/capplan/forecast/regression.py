"""Least-squares models: a linear trend (``drift``) and trend plus Fourier seasonality
(``seasonal_trend``), batched through one shared design matrix.

The design is built once on the panel's common time axis (right-aligned, so column ``t`` is
the same instant for every series). Gaps are filled with the value one season earlier before
fitting. Series are grouped by where their history starts inside the fitting window; each
group is solved with one pseudo-inverse of the design rows it covers (a loop over distinct
start positions, never over series). Seasonal terms of a period are used only where the
series has two full seasons of it inside the window.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray
from capplan.errors import ForecastError
from capplan.forecast._panel import ffill, first_valid, seasonal_fill
from capplan.forecast.base import MODELS, Forecaster

__all__ = ["Drift", "SeasonalTrend", "fourier_design"]


def _harmonics(periods: Sequence[int], harmonics: int | Sequence[int] | None) -> list[int]:
    if harmonics is None:
        return [min(m // 2, 10 if i == 0 else 30) for i, m in enumerate(periods)]
    if isinstance(harmonics, int):
        return [min(m // 2, harmonics) for m in periods]
    return [min(m // 2, int(k)) for m, k in zip(periods, harmonics, strict=True)]


@functools.lru_cache(maxsize=64)
def _cached_design(
    start: int,
    stop: int,
    periods: tuple[int, ...],
    harmonics: tuple[int, ...],
    trend: bool,
    scale: float,
) -> tuple[Array, tuple[int, ...]]:
    t = np.arange(start, stop, dtype=np.float64)
    x, owner = fourier_design(t, periods, harmonics, trend, scale)
    x.setflags(write=False)
    return x, tuple(owner)


@functools.lru_cache(maxsize=256)
def _cached_pinv(
    length: int,
    skip: int,
    keep: tuple[bool, ...],
    periods: tuple[int, ...],
    harmonics: tuple[int, ...],
    trend: bool,
) -> Array:
    """Pseudo-inverse of the design rows ``skip:`` and columns ``keep`` of a window."""
    x, _ = _cached_design(-length, 0, periods, harmonics, trend, float(length))
    p: Array = np.asarray(np.linalg.pinv(x[skip:, np.asarray(keep)]), dtype=np.float64)
    p.setflags(write=False)
    return p


def fourier_design(
    t: Array, periods: Sequence[int], harmonics: Sequence[int], trend: bool, scale: float
) -> tuple[Array, list[int]]:
    """Columns: intercept, optional trend (``t / scale``), then sin/cos pairs for each period.

    Returns the design and, per column, the period it belongs to (0 for intercept and trend).
    A harmonic whose frequency an earlier (shorter) period already has, and the always-zero
    sine at the Nyquist frequency, are left out."""
    cols = [np.ones_like(t)]
    owner = [0]
    if trend:
        cols.append(t / scale)
        owner.append(0)
    seen: set[tuple[int, int]] = set()
    for m, kmax in zip(periods, harmonics, strict=True):
        for k in range(1, kmax + 1):
            g = np.gcd(k, m)
            freq = (k // g, m // g)
            if freq in seen:
                continue
            seen.add(freq)
            angle = 2.0 * np.pi * k * t / m
            if 2 * k != m:
                cols.append(np.sin(angle))
                owner.append(m)
            cols.append(np.cos(angle))
            owner.append(m)
    return np.stack(cols, axis=1), owner


@MODELS.register("seasonal_trend")
class SeasonalTrend(Forecaster):
    """Linear trend plus Fourier terms for each season (daily and weekly for hourly data),
    fitted by least squares on the last ``window`` points (default: all history).

    ``periods``: default the detected seasons. ``harmonics``: per period (default 10 for the
    shortest, 30 for longer ones, at most ``period // 2``). ``trend=False``: a flat level.

    ``seasonality="multiplicative"``: swings that grow with the level. The level line is
    taken from the additive fit, the seasonal terms are fitted to the ratio of the series to
    it, and the forecast is the line times ``1 +`` those terms. Series that are not positive
    throughout, or whose line is not, keep the additive fit."""

    name = "seasonal_trend"
    coef_: Array
    design_owner_: list[int]
    supported_: BoolArray
    ratio_: SeasonalTrend | None

    def __init__(
        self,
        window: int | None = None,
        periods: tuple[int, ...] | None = None,
        harmonics: int | tuple[int, ...] | None = None,
        trend: bool = True,
        seasonality: str = "additive",
    ) -> None:
        if seasonality not in ("additive", "multiplicative"):
            raise ForecastError(
                f"seasonality must be 'additive' or 'multiplicative', got {seasonality!r}"
            )
        self.window = window
        self.periods = periods
        self.harmonics = harmonics
        self.trend = trend
        self.seasonality = seasonality

    @property
    def long_range(self) -> bool:  # type: ignore[override]
        """Sound far ahead when the trend is fitted on all history, or there is none: a
        slope from a short window is too unsteady to extend far past it."""
        return self.window is None or not self.trend

    def _periods(self) -> tuple[int, ...]:
        return tuple(self.periods) if self.periods is not None else self.seasons_.periods

    def _spec(self) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
        periods = self.periods_used_
        return periods, tuple(_harmonics(periods, self.harmonics)), bool(self.trend)

    def _fit(self, y: Array) -> None:
        self._fit_additive(y)
        self.ratio_ = None
        if self.seasonality == "multiplicative" and self.periods_used_:
            self._fit_ratio(y)

    def _fit_ratio(self, y: Array) -> None:
        """Seasonal terms of the ratio to the level line, for positive series."""
        length = int(self.scale_)
        t = np.arange(-length, 0, dtype=np.float64) / self.scale_
        slope = self.coef_[:, 1] if self.trend else np.zeros(self.n_series_)
        level = self.coef_[:, :1] + slope[:, None] * t[None, :]
        yw = y[:, y.shape[1] - length :]
        with np.errstate(invalid="ignore"):
            positive = ((yw > 0) | np.isnan(yw)).all(axis=1) & (level > 0).all(axis=1)
        positive &= self.supported_
        if not positive.any():
            return
        ratio = np.full(yw.shape, np.nan)
        ratio[positive] = yw[positive] / level[positive] - 1.0
        part = SeasonalTrend(length, self.periods_used_, self.harmonics, trend=False)
        part._adopt(self)
        part._fit(ratio)
        self.ratio_ = part
        self.level_ = np.stack([self.coef_[:, 0], slope], axis=1)
        self.multiplied_ = positive

    def _fit_additive(self, y: Array) -> None:
        n, t_all = y.shape
        length = t_all if self.window is None else max(2, min(int(self.window), t_all))
        self.periods_used_ = tuple(m for m in self._periods() if 2 * m <= length)
        self.scale_ = float(length)
        yw = y[:, t_all - length :]
        if self.periods_used_:
            yw = seasonal_fill(yw, self.periods_used_[0])
        elif int(np.isnan(yw).sum()) != int(first_valid(yw).sum()):
            yw = ffill(yw)
        periods, harm, trend = self._spec()
        x, owner = _cached_design(-length, 0, periods, harm, trend, float(length))
        self.design_owner_ = list(owner)
        owner_arr = np.asarray(owner)
        self.coef_ = np.zeros((n, x.shape[1]))
        self.supported_ = np.zeros(n, dtype=bool)
        start = first_valid(yw)
        for s in np.unique(start):
            if s >= length:
                continue
            rows = np.flatnonzero(start == s)
            span = length - s
            keep = np.ones(x.shape[1], dtype=bool)
            for m in self.periods_used_:
                if 2 * m > span:
                    keep &= owner_arr != m
            if span < 3 and self.trend:
                keep[1] = False
            pinv = _cached_pinv(length, int(s), tuple(keep.tolist()), periods, harm, trend)
            cols = np.flatnonzero(keep)
            if rows.size == n and cols.size == x.shape[1]:
                self.coef_ = yw[:, s:] @ pinv.T
            else:
                self.coef_[np.ix_(rows, cols)] = yw[rows, s:] @ pinv.T
            wanted = all(2 * m <= span for m in self._periods())
            self.supported_[rows] = wanted and span >= 2

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        """One pass for every origin: the cross-products of the design with the series are
        summed once, stretch by stretch between origins, and each origin's fit is a small
        solve of its normal equations (the same least squares as a refit, on the panel's own
        time axis). The multiplicative form refits per origin."""
        if self.seasonality == "multiplicative":
            return super()._fit_backtest(y, h, origins)
        self._fit(y)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
            out = self._backtest_pass(y, h, list(origins))
        return out

    def _backtest_pass(self, y: Array, h: int, origins: list[int]) -> Array:
        n, t_all = y.shape
        out = np.full((n, len(origins), h), np.nan)
        wanted = self._periods()
        filled = seasonal_fill(y, wanted[0]) if wanted else ffill(y)
        start = first_valid(filled)
        yz = np.nan_to_num(filled)
        spans: dict[int, tuple[int, tuple[int, ...]]] = {}
        for o in origins:
            if 2 <= o < t_all:
                length = o if self.window is None else max(2, min(int(self.window), o))
                spans[o] = (length, tuple(m for m in wanted if 2 * m <= length))
        for used in sorted({u for _, u in spans.values()}):
            harm = tuple(_harmonics(used, self.harmonics))
            t = np.arange(t_all + h, dtype=np.float64)
            x, owner = fourier_design(t, used, harm, bool(self.trend), float(t_all))
            owner_arr = np.asarray(owner)
            mine = [o for o, (_, u) in spans.items() if u == used]
            marks = sorted({0, *mine, *(o - spans[o][0] for o in mine)})
            sums = {0: np.zeros((n, x.shape[1]))}
            for a, b in itertools.pairwise(marks):
                sums[b] = sums[a] + yz[:, a:b] @ x[a:b]
            for o in mine:
                lo = o - spans[o][0]
                cross = sums[o] - sums[lo]
                first = np.maximum(start, lo)
                w = origins.index(o)
                for s in np.unique(first[first < o]):
                    rows = np.flatnonzero(first == s)
                    span = o - int(s)
                    keep = np.ones(x.shape[1], dtype=bool)
                    for m in used:
                        if 2 * m > span:
                            keep &= owner_arr != m
                    if span < 3 and self.trend:
                        keep[1] = False
                    xs = x[int(s) : o][:, keep]
                    coef = cross[np.ix_(rows, np.flatnonzero(keep))] @ np.linalg.pinv(
                        xs.T @ xs, hermitian=True
                    )
                    out[rows, w] = coef @ x[o : o + h][:, keep].T
        for w, o in enumerate(origins):  # as predict() finishes a forecast
            if o in spans:
                rows = self.nonneg_ & ~np.isnan(out[:, w, 0])
                out[rows, w] = np.maximum(out[rows, w], 0.0)
        return out

    def in_sample(self) -> Array:
        """The additive fit over the fitting window, ``(n, window)``."""
        periods, harm, trend = self._spec()
        length = int(self.scale_)
        x, _ = _cached_design(-length, 0, periods, harm, trend, float(length))
        out: Array = self.coef_ @ x.T
        return out

    def _predict(self, h: int) -> Array:
        periods, harm, trend = self._spec()
        x, _ = _cached_design(0, h, periods, harm, trend, self.scale_)
        out: Array = self.coef_ @ x.T
        ratio = getattr(self, "ratio_", None)
        if ratio is not None:
            rows = self.multiplied_
            t = np.arange(h, dtype=np.float64) / self.scale_
            level = self.level_[rows, :1] + self.level_[rows, 1:] * t[None, :]
            swing = ratio._predict(h)[rows]
            out[rows] = np.maximum(level, 0.0) * (1.0 + swing)
        return out


@MODELS.register("drift")
class Drift(SeasonalTrend):
    """A straight line fitted by least squares on the last ``window`` points (default: all
    history) — Prometheus ``predict_linear`` and the APM runbook's linear regression per
    metric."""

    name = "drift"

    def __init__(self, window: int | None = None) -> None:
        super().__init__(window=window, periods=(), harmonics=None, trend=True)
