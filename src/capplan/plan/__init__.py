"""The plan file: models, loading with line numbers, safe expressions and whole-plan checks."""

from capplan.plan.compiled import CompiledPlan, compile_plan
from capplan.plan.expressions import Expression, compile_expression
from capplan.plan.loader import load_plan, parse_set_option
from capplan.plan.models import Plan

__all__ = [
    "CompiledPlan",
    "Expression",
    "Plan",
    "compile_expression",
    "compile_plan",
    "load_plan",
    "parse_set_option",
]
