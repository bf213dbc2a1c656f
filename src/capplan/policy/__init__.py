"""Policies over metric history: threshold evaluation (Prometheus ``for:`` semantics)."""

from capplan.policy.evaluate import (
    AlertInterval,
    AlertState,
    CheckReport,
    CheckResult,
    CheckStatus,
    LevelEvaluation,
    ThresholdEvaluation,
    check_plan,
    evaluate_level,
    evaluate_threshold,
)

__all__ = [
    "AlertInterval",
    "AlertState",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "LevelEvaluation",
    "ThresholdEvaluation",
    "check_plan",
    "evaluate_level",
    "evaluate_threshold",
]
