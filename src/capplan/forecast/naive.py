"""The naive family: last value, last season, and seasonal averages, adjustments and drift.

Each model learns a per-series pattern at fit time and tiles it in ``predict``; all are
NaN-aware (a gap takes the value one season earlier). A series without two full seasons of
the model's period is forecast with its last value; ``supported_`` is False for it.
"""

from __future__ import annotations

import numpy as np

from capplan._types import Array, BoolArray
from capplan.forecast._panel import nanmean, seasonal_profile
from capplan.forecast.base import MODELS, Forecaster, check_period

__all__ = ["MultiSeasonalNaive", "Naive", "SeasonalDrift", "SeasonalMean", "SeasonalNaive"]


class _Patterned(Forecaster):
    """A model whose forecast is ``pattern_`` tiled with period ``period_`` (+ ``slope_``·cycle)."""

    period_: int
    pattern_: Array
    slope_: Array
    supported_: BoolArray

    def _predict(self, h: int) -> Array:
        p = self.period_
        f: Array = np.tile(self.pattern_, (1, -(-h // p)))[:, :h]  # a copy, in blocks
        if self.slope_.any():
            cycles = np.arange(h) // p + 1
            f += self.slope_[:, None] * cycles[None, :]
        return f

    def _use_period(self, period: int | None, longest: bool = False) -> int | None:
        """The period to use (the given one, else the shortest/longest detected) and the
        series that have two full seasons of it (``supported_``); warns on fallbacks."""
        n = self.n_series_
        periods = self.seasons_.periods
        m = period
        if m is None and periods:
            m = periods[-1] if longest else periods[0]
        if m is None:
            self.supported_ = np.zeros(n, dtype=bool)
            self._warn(
                f"{self.name}: no seasonal period detected in series {{series}}: naive forecast",
                ~self.empty_,
            )
            return None
        self.supported_ = (self.seasons_.span >= 2 * m) & ~self.empty_
        if m != self.seasons_.shortest:
            self._warn(
                f"{self.name}: series {{series}} have fewer than two seasons ({2 * m} points)"
                f" of the {m}-step season: naive forecast",
                ~self.supported_ & ~self.empty_,
            )
        return int(m)

    def _naive(self) -> None:
        self.period_ = 1
        self.pattern_ = self.last_[:, None].copy()
        self.slope_ = np.zeros(self.n_series_)

    def _mask(self) -> None:
        """Series without support forecast their last value (NaN pattern → fallback)."""
        self.pattern_[~self.supported_] = np.nan
        self.slope_[~self.supported_] = 0.0

    def _fit_seasons(self, y: Array, m: int | None, k: int = 1) -> None:
        """Repeat the mean of the last ``k`` (at least one) seasons of period ``m``; the last
        value when there is no period."""
        if m is None:
            return self._naive()
        self.period_ = m
        self.pattern_ = seasonal_profile(y, m, max(1, int(k)))
        self.slope_ = np.zeros(self.n_series_)
        self._mask()
        return None


@MODELS.register("naive")
class Naive(_Patterned):
    """The last observed value, repeated."""

    name = "naive"

    def _fit(self, y: Array) -> None:
        self._naive()
        self.supported_ = ~self.empty_


@MODELS.register("seasonal_naive")
class SeasonalNaive(_Patterned):
    """The last season, repeated. ``period``: default the shortest detected season."""

    name = "seasonal_naive"

    def __init__(self, period: int | None = None) -> None:
        check_period(period)
        self.period = period

    def _fit(self, y: Array) -> None:
        self._fit_seasons(y, self._use_period(self.period))


@MODELS.register("seasonal_mean")
class SeasonalMean(_Patterned):
    """Mean of the last ``k`` seasons at the same phase ("the same hour of the last k
    weeks"). ``period``: default the longest detected season."""

    name = "seasonal_mean"
    long_range = True

    def __init__(self, period: int | None = None, k: int = 2) -> None:
        check_period(period)
        self.period = period
        self.k = k

    def _fit(self, y: Array) -> None:
        self._fit_seasons(y, self._use_period(self.period, longest=True), self.k)


@MODELS.register("seasonal_drift")
class SeasonalDrift(_Patterned):
    """Seasonal naive plus a drift per season: the mean change from one season to the next
    over the last ``k`` seasons. ``period``: default the shortest detected season."""

    name = "seasonal_drift"

    def __init__(self, period: int | None = None, k: int = 7) -> None:
        check_period(period)
        self.period = period
        self.k = k

    def _fit(self, y: Array) -> None:
        m = self._use_period(self.period)
        if m is None:
            return self._naive()
        self.period_ = m
        self.pattern_ = seasonal_profile(y, m, 1)
        span = min(y.shape[1] - m, max(1, int(self.k)) * m)
        diffs = y[:, -span:] - y[:, y.shape[1] - span - m : y.shape[1] - m]
        self.slope_ = np.nan_to_num(nanmean(diffs, axis=1))
        self._mask()
        return None


@MODELS.register("multi_seasonal_naive")
class MultiSeasonalNaive(_Patterned):
    """The last short season (``period``, default the shortest) adjusted by the long season
    (``long_period``, default the longest): at each future step, add the mean over the last
    ``k`` long seasons of how that step differed from the short season before it (the
    day-of-week effect on top of yesterday's profile)."""

    name = "multi_seasonal_naive"

    def __init__(self, period: int | None = None, long_period: int | None = None, k: int = 2):
        check_period(period)
        check_period(long_period)
        self.period = period
        self.long_period = long_period
        self.k = k

    def _fit(self, y: Array) -> None:
        m = self._use_period(self.period)
        periods = self.seasons_.periods
        big = self.long_period
        if big is None and periods:
            big = periods[-1]
        if m is None or big is None or big <= m:
            return self._fit_seasons(y, m)
        long_ok = self._use_period(big)
        assert long_ok is not None
        n, t = y.shape
        base = seasonal_profile(y, m, 1)
        k = int(self.k)
        # step j of long season q back, against the short season before that step's own
        # short season: contiguous slices of the history padded with NaN on the left
        pad = big * k + m
        ypad = np.concatenate([np.full((n, pad), np.nan), y], axis=1)
        j = np.arange(big)
        before = j - m * (j // m) - m  # offset of the short season before, step by step
        adj = np.empty((n, k, big))
        for q in range(1, k + 1):
            at = pad + t - big * q
            adj[:, q - 1] = ypad[:, at : at + big] - ypad[:, at + before]
        self.period_ = big
        self.pattern_ = base[:, j % m] + np.nan_to_num(nanmean(adj, axis=1))
        self.slope_ = np.zeros(n)
        self._mask()
        return None
