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
    """Components, metrics and scrape jobs that ``alerting.availability`` and ``slos`` name
    but the plan does not declare (jobs only when it declares some); SLO metrics that are
    computed rather than observed."""
    issues: list[Issue] = []
    jobs = list(plan.scrape.jobs)

    def unknown_job(job: str, path: str) -> None:
        # only when the plan says what Prometheus scrapes: then a job outside it is a typo
        if jobs and job not in jobs:
            issues.append(
                Issue(
                    f"names job '{job}', which scrape.jobs does not declare"
                    f"{suggest(job, jobs)}; declared: {', '.join(jobs)}",
                    path=path,
                )
            )

    seen: dict[str, int] = {}
    for i, rule in enumerate(plan.alerting.availability):
        unknown_job(rule.job, f"alerting.availability[{i}].job")
        if rule.job in seen:
            issues.append(
                Issue(
                    f"job '{rule.job}' already has an availability alert "
                    f"(alerting.availability[{seen[rule.job]}]); give each job one",
                    path=f"alerting.availability[{i}].job",
                )
            )
        seen.setdefault(rule.job, i)
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
        if slo.job is not None:
            unknown_job(slo.job, f"slos.{name}.job")
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
