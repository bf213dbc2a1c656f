"""Plan vs actual: projected drivers and metrics held against their actual values, the
growth the actuals imply, and the plan re-anchored on them."""

from capplan.compare.periods import PeriodActuals, aggregate_periods
from capplan.compare.reanchor import Reanchor
from capplan.compare.refit import GrowthFit, fit_growth
from capplan.compare.review import FigureReview, PeriodRow, PlanReview, actual_sources, compare_plan

__all__ = [
    "FigureReview",
    "GrowthFit",
    "PeriodActuals",
    "PeriodRow",
    "PlanReview",
    "Reanchor",
    "actual_sources",
    "aggregate_periods",
    "compare_plan",
    "fit_growth",
]
