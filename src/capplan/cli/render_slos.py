"""The "SLOs" section of ``capplan plan``: each objective, its indicator, its error budget
per window, and the burn rates its alerts fire at."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from capplan.formatting import fmt_number
from capplan.plan.models import Plan

__all__ = ["slo_section"]


def slo_section(plan: Plan) -> list[RenderableType]:
    """A table of the plan's SLOs, or nothing when it has none."""
    if not plan.slos:
        return []
    table = Table(title=Text("SLOs"), title_justify="left", header_style="bold")
    for heading in ("SLO", "objective", "indicator", "error budget", "burn-rate alerts"):
        table.add_column(heading, justify="right" if heading == "error budget" else "left")
    for name, slo in plan.slos.items():
        rates = ", ".join(
            f"{fmt_number(slo.factor(r))}x over {r.long} ({r.severity})" for r in slo.burn_rates
        )
        table.add_row(
            name,
            f"{fmt_number(slo.objective)}% over {slo.window}",
            slo.indicator(),
            f"{fmt_number(slo.budget_seconds / 60)} min per {slo.window}",
            rates or "none",
        )
    return [table]
