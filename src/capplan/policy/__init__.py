"""Policies over metric history: threshold evaluation (Prometheus ``for:`` semantics) and
autoscaler simulation (step rules and the Kubernetes HPA)."""

from capplan.policy.autoscale import (
    ScalingActions,
    ScalingPolicy,
    SimulationResult,
    SimulationSummary,
    critical_level,
    scaling_policies,
    simulate,
    simulate_plan,
)
from capplan.policy.evaluate import (
    AlertInterval,
    AlertState,
    LevelEvaluation,
    ThresholdEvaluation,
    evaluate_level,
    evaluate_threshold,
)
from capplan.policy.plan_check import CheckReport, CheckResult, CheckStatus, check_plan

__all__ = [
    "AlertInterval",
    "AlertState",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "LevelEvaluation",
    "ScalingActions",
    "ScalingPolicy",
    "SimulationResult",
    "SimulationSummary",
    "ThresholdEvaluation",
    "check_plan",
    "critical_level",
    "evaluate_level",
    "evaluate_threshold",
    "scaling_policies",
    "simulate",
    "simulate_plan",
]
