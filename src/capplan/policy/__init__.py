"""Policies over metric history: threshold evaluation (Prometheus ``for:`` semantics), the
freshness of the data, and autoscaler simulation (step rules, the Kubernetes HPA with one or
several metrics, KEDA queue-depth scalers)."""

from capplan.policy.autoscale import (
    ScalingActions,
    ScalingPolicy,
    SimulationResult,
    SimulationSummary,
    simulate,
)
from capplan.policy.freshness import Freshness, default_max_age, freshness
from capplan.policy.plan_check import (
    CheckReport,
    CheckResult,
    CheckStatus,
    ReportStatus,
    check_plan,
)
from capplan.policy.plan_sim import (
    critical_level,
    critical_levels,
    scaling_policies,
    simulate_plan,
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
    "critical_levels",
    "default_max_age",
    "evaluate_level",
    "evaluate_threshold",
    "freshness",
    "scaling_policies",
    "simulate",
    "simulate_plan",
]
