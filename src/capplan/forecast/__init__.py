"""Batched forecasting: models as estimators, backtests, conformal intervals and runway.

Every function takes a right-aligned panel ``y`` of shape ``(n_series, T)`` (NaN before a
series starts and in gaps) and the sampling step in seconds.
"""

from capplan.forecast.arima import ARIMA
from capplan.forecast.auto import Auto
from capplan.forecast.backtest import (
    BacktestResult,
    backtest,
    coverage,
    mase,
    rolling_origin,
    smape,
)
from capplan.forecast.base import MODELS, Forecaster, make_model
from capplan.forecast.ets import ETS
from capplan.forecast.intervals import (
    Block,
    BlockRunner,
    Forecast,
    conformal_widths,
    forecast,
    forecast_block,
    predict_intervals,
)
from capplan.forecast.naive import (
    MultiSeasonalNaive,
    Naive,
    SeasonalDrift,
    SeasonalMean,
    SeasonalNaive,
)
from capplan.forecast.regression import Drift, SeasonalTrend
from capplan.forecast.runway import Runway, runway, runway_advice
from capplan.forecast.seasons import Seasons, default_seasons, detect_seasons
from capplan.forecast.theta import Theta

__all__ = [
    "ARIMA",
    "ETS",
    "MODELS",
    "Auto",
    "BacktestResult",
    "Block",
    "BlockRunner",
    "Drift",
    "Forecast",
    "Forecaster",
    "MultiSeasonalNaive",
    "Naive",
    "Runway",
    "SeasonalDrift",
    "SeasonalMean",
    "SeasonalNaive",
    "SeasonalTrend",
    "Seasons",
    "Theta",
    "backtest",
    "conformal_widths",
    "coverage",
    "default_seasons",
    "detect_seasons",
    "forecast",
    "forecast_block",
    "make_model",
    "mase",
    "predict_intervals",
    "rolling_origin",
    "runway",
    "runway_advice",
    "smape",
]
