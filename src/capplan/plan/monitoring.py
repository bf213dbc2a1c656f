"""Cross-checks of the monitoring blocks (``scrape``, ``probes``, ``slos``,
``alerting.availability``) against the rest of the plan: the components and metrics they
name must exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from capplan.errors import Issue
from capplan.plan.base import suggest

if TYPE_CHECKING:
    from capplan.plan.models import Plan

__all__ = ["monitoring_issues"]


def monitoring_issues(plan: Plan, components: list[str]) -> list[Issue]:
    """Components and metrics that ``alerting.availability`` and ``slos`` name but the plan
    does not declare; SLO metrics that are computed rather than observed."""
    issues: list[Issue] = []
    for i, rule in enumerate(plan.alerting.availability):
        if rule.component is not None and rule.component not in components:
            issues.append(
                Issue(
                    f"names component '{rule.component}', which the plan does not define"
                    f"{suggest(rule.component, components)}",
                    path=f"alerting.availability[{i}].component",
                )
            )
    observed = [n for n, m in plan.metrics.items() if m.expr is None]
    for name, slo in plan.slos.items():
        if slo.metric is None:
            continue
        path = f"slos.{name}.metric"
        if slo.metric not in plan.metrics:
            issues.append(
                Issue(
                    f"names metric '{slo.metric}', which the plan does not define"
                    f"{suggest(slo.metric, observed)}; observed metrics: "
                    f"{', '.join(observed) or 'none'}",
                    path=path,
                )
            )
        elif slo.metric not in observed:
            issues.append(
                Issue(
                    f"'{slo.metric}' is computed by the plan (it has an expression); an SLO "
                    "is on an observed metric (no expression), whose history comes from "
                    "monitoring",
                    path=path,
                )
            )
    return issues
