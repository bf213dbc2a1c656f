"""Monte Carlo draws of growth rates: one rate per path, or one per path and period."""

from __future__ import annotations

import numpy as np

from capplan._types import Array
from capplan.growth.models import central_rate
from capplan.plan.models import Growth

__all__ = ["sample_rates"]


def sample_rates(
    growth: Growth, paths: int, periods: int, rng: np.random.Generator
) -> Array | None:
    """Sampled rates of shape (paths, 1) or (paths, periods); None when nothing is uncertain
    (the caller then uses the central rate on every path)."""
    unc = getattr(growth, "uncertainty", None)
    central = central_rate(growth)
    if unc is None or central is None:
        return None
    cols = periods if unc.per == "period" else 1
    size = (paths, cols)
    if unc.dist == "normal":
        return rng.normal(central, unc.sd or 0.0, size=size)
    low, high = float(unc.low or 0.0), float(unc.high or 0.0)
    if unc.dist == "uniform" or high == low:
        return rng.uniform(low, high, size=size)
    mode = min(max(central, low), high)
    return rng.triangular(low, mode, high, size=size)
