"""capplan: dated, costed capacity plans and forecasts from one plan file and your metrics.

The public API is re-exported here; everything else is an implementation detail.
"""

from capplan.data import MetricFrame, Panel, Store, read_file, to_panel
from capplan.engine.events import Event, EventProbability
from capplan.engine.planner import run_plan, run_scenarios
from capplan.engine.projection import Projection
from capplan.errors import (
    CapplanError,
    ClusterError,
    DataError,
    EvaluationError,
    ExpressionError,
    ForecastError,
    PlanError,
    PlanSyntaxError,
    PlanValidationError,
    SourceError,
    StoreError,
    UsageError,
)
from capplan.forecast import Forecast, backtest, forecast, runway
from capplan.forecast.run import ForecastRun, run_forecast
from capplan.plan import Plan, load_plan

__version__ = "0.1.0"

__all__ = [
    "CapplanError",
    "ClusterError",
    "DataError",
    "EvaluationError",
    "Event",
    "EventProbability",
    "ExpressionError",
    "Forecast",
    "ForecastError",
    "ForecastRun",
    "MetricFrame",
    "Panel",
    "Plan",
    "PlanError",
    "PlanSyntaxError",
    "PlanValidationError",
    "Projection",
    "SourceError",
    "Store",
    "StoreError",
    "UsageError",
    "__version__",
    "backtest",
    "forecast",
    "load_plan",
    "read_file",
    "run_forecast",
    "run_plan",
    "run_scenarios",
    "runway",
    "to_panel",
]
