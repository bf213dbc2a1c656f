"""Policies over metric history: threshold evaluation (Prometheus ``for:`` semantics), the
freshness of the data, and autoscaler simulation (step rules and the Kubernetes HPA)."""

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
from capplan.policy.freshness import Freshness, default_max_age, freshness
from capplan.policy.plan_check import (
    CheckReport,
    CheckResult,
    CheckStatus,
    ReportStatus,
    check_plan,
)
from capplan.policy.thresholds import (
    AlertInterval,
    AlertState,
    LevelEvaluation,
    ThresholdEvaluation,
    evaluate_level,
    evaluate_threshold,
)

__all__ = [
    "AlertInterval",
    "AlertState",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "Freshness",
    "LevelEvaluation",
    "ReportStatus",
    "ScalingActions",
    "ScalingPolicy",
    "SimulationResult",
    "SimulationSummary",
    "ThresholdEvaluation",
    "check_plan",
    "critical_level",
    "default_max_age",
    "evaluate_level",
    "evaluate_threshold",
    "freshness",
    "scaling_policies",
    "simulate",
    "simulate_plan",
]
