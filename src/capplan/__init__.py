"""capplan: dated, costed capacity plans from one plan file.

The public API is re-exported here; everything else is an implementation detail.
"""

from capplan.errors import (
    CapplanError,
    EvaluationError,
    ExpressionError,
    PlanError,
    PlanSyntaxError,
    PlanValidationError,
    UsageError,
)
from capplan.events import Event, EventProbability
from capplan.plan import Plan, load_plan
from capplan.planner import run_plan, run_scenarios
from capplan.projection import Projection

__version__ = "0.1.0"

__all__ = [
    "CapplanError",
    "EvaluationError",
    "Event",
    "EventProbability",
    "ExpressionError",
    "Plan",
    "PlanError",
    "PlanSyntaxError",
    "PlanValidationError",
    "Projection",
    "UsageError",
    "__version__",
    "load_plan",
    "run_plan",
    "run_scenarios",
]
