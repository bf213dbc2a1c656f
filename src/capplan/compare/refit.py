"""The growth the actuals imply: a least-squares fit of one driver's actual values per
period, with a t-interval on its rate, in the terms of the plan's growth model (pure).

- ``compound`` (and ``logistic``, ``points``, ``none``): log-linear least squares,
  ``log x_t = a + b t``; the monthly rate is ``exp(b / months per period) - 1``.
- ``annual``: the same fit, as the yearly rate ``(1 + monthly)^12 - 1``.
- ``linear``: least squares ``x_t = a + b t``; ``per_month = b / months per period``.

The interval is the slope's two-sided t-interval at ``level`` (n - 2 degrees of freedom),
mapped through the same conversion; it needs 3 periods or more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan._types import Array

__all__ = ["GrowthFit", "fit_growth"]


@dataclass(frozen=True)
class GrowthFit:
    """A re-fitted growth rate: ``rate`` with its interval ``low``..``high`` (None with fewer
    than 3 periods), in the unit ``what`` (monthly rate, annual rate, per month)."""

    model: str
    what: str
    rate: float
    low: float | None
    high: float | None
    level: float
    periods: int
    #: the fitted value at the last period used (the line's, not the last actual)
    fitted_last: float


def _convert(model: str, slope_per_period: float, months_per_period: float) -> float:
    per_month = slope_per_period / months_per_period
    if model == "linear":
        return per_month
    monthly = float(np.expm1(per_month))
    if model == "annual":
        return float((1 + monthly) ** 12 - 1)
    return monthly


def fit_growth(
    periods: Array,
    values: Array,
    model: str,
    months_per_period: float = 1.0,
    level: float = 0.8,
) -> GrowthFit | None:
    """Fit the rate of ``model`` to ``values`` at ``periods`` (NaN values are left out);
    None when fewer than 2 usable periods remain (or, for a log fit, fewer than 2 positive)."""
    x = np.asarray(periods, dtype=float)
    y = np.asarray(values, dtype=float)
    keep = np.isfinite(y)
    if model != "linear":
        keep &= y > 0
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 2 or np.ptp(x) == 0:
        return None
    target = y if model == "linear" else np.log(y)
    from scipy import stats  # here: SciPy is slow to import at start-up

    fit = stats.linregress(x, target)
    slope, intercept = float(fit.slope), float(fit.intercept)
    fitted = intercept + slope * x[-1]
    fitted_last = fitted if model == "linear" else float(np.exp(fitted))
    what = {"linear": "per month", "annual": "annual rate"}.get(model, "monthly rate")
    low = high = None
    if n >= 3:
        t = float(stats.t.ppf(0.5 + level / 2, n - 2))
        half = t * float(fit.stderr)
        low = _convert(model, slope - half, months_per_period)
        high = _convert(model, slope + half, months_per_period)
    rate = _convert(model, slope, months_per_period)
    return GrowthFit(model, what, rate, low, high, level, n, fitted_last)
