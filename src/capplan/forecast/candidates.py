"""The candidates ``auto`` chooses among (see :mod:`capplan.forecast.auto`): the short-range
and long-range pools, and which candidates forecast a season or only the short horizon."""

from __future__ import annotations

from collections.abc import Sequence

from capplan.forecast.arima import ARIMA
from capplan.forecast.base import Forecaster
from capplan.forecast.ets import ETS
from capplan.forecast.naive import (
    MultiSeasonalNaive,
    Naive,
    SeasonalDrift,
    SeasonalMean,
    SeasonalNaive,
)
from capplan.forecast.regression import Drift, SeasonalTrend
from capplan.forecast.theta import Theta

__all__ = ["default_pool", "long_pool", "short_only", "uses_seasons"]

LONG_HARMONICS = 12  # per season, in the long-range profiles: smooth enough, half the columns


def default_pool(periods: Sequence[int]) -> list[Forecaster]:
    """The short-range candidates for a panel with these seasonal periods (naive first)."""
    pool: list[Forecaster] = [Naive(), Drift()]
    if not periods:
        return [*pool, ARIMA(max_p=3)]
    m = periods[0]
    big = periods[-1] if len(periods) > 1 else 7 * m
    ratio = max(1, big // m)
    pool += [SeasonalNaive(m), SeasonalDrift(m, k=ratio)]
    arima = [ARIMA(), ARIMA(seasonal=False)]
    if len(periods) == 1:
        return [
            *pool,
            SeasonalTrend(window=big, periods=(m,), harmonics=min(8, m // 2)),
            *arima,
            Theta(),
        ]
    return [
        *pool,
        SeasonalMean(big, k=3),
        MultiSeasonalNaive(m, big, k=2),
        SeasonalTrend(window=3 * big, periods=(m, big)),
        *arima,
        ARIMA(period=big),
        Theta(),
    ]


def long_pool(periods: Sequence[int]) -> list[Forecaster]:
    """Candidates added for lead times past the short horizon: with seasons, trend + profile
    over all history (additive and multiplicative), a flat level + profile and Theta; for
    every series, Theta without a season. Damped Holt-Winters (``ets``), with or without a
    season, was left out: no gain on the daily data or the synthetic panels, for a quarter
    of the time of a long-range forecast."""
    plain: list[Forecaster] = [Theta(seasonal=False)]
    if not periods:
        return plain
    big = periods[-1]
    return [
        SeasonalTrend(harmonics=LONG_HARMONICS),
        SeasonalTrend(harmonics=LONG_HARMONICS, seasonality="multiplicative"),
        SeasonalTrend(window=3 * big, harmonics=LONG_HARMONICS, trend=False),
        *plain,
    ]


def short_only(model: Forecaster) -> bool:
    """Candidates weighed only up to the short horizon: the autoregressions (which fade to
    the last season), the last season repeated and the line over one long season. Leaving
    them out of the long backtests saves about a third of their time; no long-range choice
    on the benchmark data picked them."""
    if isinstance(model, ARIMA | SeasonalNaive):
        return True
    return isinstance(model, Drift) and model.window is not None


def uses_seasons(model: Forecaster) -> bool:
    """Whether the candidate forecasts a seasonal pattern (usable only for series with a
    detected season)."""
    if isinstance(model, Naive | Drift):
        return False
    if isinstance(model, SeasonalTrend):
        return model.periods != ()
    if isinstance(model, Theta | ETS):
        return bool(model.seasonal)
    return True
