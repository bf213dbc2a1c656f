"""Whether a history shows a clear trend: the test behind ``auto``'s choice between a trend
and a flat level when no long backtest can decide.

A line plus the seasonal terms is fitted by least squares over all history. The trend is
clear when the slope is at least ``t_min`` (4) standard errors from zero, the errors
corrected for autocorrelation by the lag-1 autocorrelation ``r`` of the residuals (the
effective number of points is ``N (1 - r) / (1 + r)``), and the line rises or falls over
the history by at least half the residual standard deviation.
"""

from __future__ import annotations

import numpy as np

from capplan._types import Array, BoolArray
from capplan.forecast._panel import first_valid, seasonal_fill
from capplan.forecast.seasons import Seasons

__all__ = ["clear_trend"]


def clear_trend(y: Array, seasons: Seasons, t_min: float = 4.0) -> BoolArray:
    """Per series of the panel ``y``: a clear trend (see the module docstring)."""
    from capplan.forecast.regression import SeasonalTrend  # regression imports the base

    n, t_all = y.shape
    model = SeasonalTrend(periods=seasons.periods)
    model.fit(y, seasons=seasons)
    x = np.arange(-t_all, 0, dtype=np.float64) / model.scale_
    fitted = model.coef_[:, :1] + model.coef_[:, 1:2] * x[None, :]
    # residuals of the whole model, seasonal terms included
    full = model.in_sample()
    filled = seasonal_fill(y, seasons.periods[0]) if seasons.periods else y
    resid = filled - full
    start = first_valid(filled)
    live = (np.arange(t_all)[None, :] >= start[:, None]) & ~np.isnan(resid)
    cnt = live.sum(axis=1)
    r0 = np.where(live, resid, 0.0)
    var = (r0 * r0).sum(axis=1) / np.maximum(cnt - 2, 1)
    lag = (r0[:, 1:] * r0[:, :-1]).sum(axis=1) / np.maximum((r0 * r0).sum(axis=1), 1e-300)
    rho = np.clip(lag, 0.0, 0.99)
    eff = np.maximum(cnt * (1 - rho) / (1 + rho), 3.0)
    tt = np.where(live, x[None, :], 0.0)
    mean_t = tt.sum(axis=1) / np.maximum(cnt, 1)
    sxx = (np.where(live, (x[None, :] - mean_t[:, None]) ** 2, 0.0)).sum(axis=1)
    sxx_eff = sxx * eff / np.maximum(cnt, 1)
    se = np.sqrt(var / np.maximum(sxx_eff, 1e-300))
    slope = model.coef_[:, 1]
    begin = fitted[np.arange(n), np.minimum(start, t_all - 1)]
    rise = np.abs(fitted[:, -1] - begin)
    out: BoolArray = (np.abs(slope) >= t_min * se) & (rise >= 0.5 * np.sqrt(var)) & (cnt >= 6)
    return out
