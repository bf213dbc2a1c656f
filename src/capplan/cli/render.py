"""Rich renderings of projections for the terminal."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from capplan.cli.output import FittingTable
from capplan.cli.render_slos import slo_section
from capplan.engine.projection import Projection
from capplan.formatting import fmt_money, fmt_number
from capplan.plan.components import ServiceComponent as Service
from capplan.report.formats import (
    OVER_MARK,
    SHORT_MARK,
    cell,
    choose_columns,
    over_capacity_note,
    scenario_summary,
    schedule_note,
)

__all__ = ["render_projection", "render_scenarios"]

_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def _drop_order(p: Projection, cols: list[tuple[str, str]]) -> list[str]:
    """Headings of the compact view a narrow terminal leaves out first: the period number,
    derived metrics, per-component costs, a tier's parts, what schedules have in place, the
    service components' figures, cumulative and per-unit cost, then drivers after the first;
    the month, other components and monthly cost stay."""
    metrics = [h for c, h in cols if c in p.plan.metrics]
    costs = [h for c, h in cols if c.endswith(".cost") and not c.startswith("total.")]
    parts = [h for c, h in cols if c.count(".") == 2]  # a tier's parts (platform.db.vcpu)
    drivers = [h for c, h in cols if c in p.plan.drivers][1:]
    totals = [h for c, h in cols if c in ("total.cumulative_cost", "total.cost_per_unit")]
    in_place = [h for c, h in cols if ".provisioned_" in c]
    services = [h for c, h in cols if isinstance(p.plan.components.get(c.split(".")[0]), Service)]
    details = [*reversed(metrics), *reversed(costs), *reversed(parts), *reversed(in_place)]
    details += reversed(services)  # a pool's use, replicas, rejected share, cache savings
    return ["#", *details, *totals, *reversed(drivers)]


def _main_table(p: Projection, cols: list[tuple[str, str]]) -> Table:
    tl = p.timeline
    title = (
        f"{p.plan.system} — scenario {p.scenario}, {tl.periods} {tl.step}s from "
        f"{tl.start.isoformat()}"
    )
    table = FittingTable(
        title=Text(title),
        title_justify="left",
        header_style="bold",
        drop_order=_drop_order(p, cols),
    )
    table.add_column("#", justify="right")
    table.add_column(tl.step.capitalize())
    for column, heading in cols:
        table.add_column(heading, justify="left" if column.endswith(".level") else "right")
    levels = {c: p.levels[c.removesuffix(".level")] for c, _ in cols if c.endswith(".level")}
    for t in range(tl.periods + 1):
        cells = []
        for column, _ in cols:
            text = cell(p, column, t)
            changed = column in levels and t > 0 and levels[column][t] != levels[column][t - 1]
            style = (
                "bold red"
                if text.endswith(OVER_MARK)
                else "bold yellow"
                if changed or text.endswith(SHORT_MARK)
                else ""
            )
            cells.append(Text(text, style=style))
        table.add_row(str(t), tl.when(t), *cells)
    return table


def _events(p: Projection) -> RenderableType:
    if not p.events:
        return Text("Events: none within the horizon.")
    table = Table(title="Events", title_justify="left", header_style="bold")
    for heading in ("#", "date", "severity", "event", "act by"):
        table.add_column(heading)
    for e in p.events:
        act_by = e.act_by.isoformat() if e.act_by else ""
        if e.overdue:
            act_by += " (overdue)"
        table.add_row(
            str(e.period),
            p.timeline.label(e.period),
            Text(e.severity, style=_STYLE[e.severity]),
            e.message,
            act_by,
        )
    return table


def _monte_carlo(p: Projection) -> list[RenderableType]:
    if not p.quantiles:
        return []
    tl = p.timeline
    marks = sorted({max(1, round(tl.periods * f)) for f in (0.25, 0.5, 0.75, 1.0)})
    quant = Table(
        title=f"Monte Carlo, {p.simulations:,} paths: P10 / P50 / P90",
        title_justify="left",
        header_style="bold",
    )
    quant.add_column("figure")
    quant.add_column("")
    for t in marks:
        quant.add_column(tl.label(t), justify="right")
    money = {"total.cost", "total.cumulative_cost"}
    varying = [d for d in p.plan.drivers if not (p.quantiles[d][0] == p.quantiles[d][2]).all()]
    for column in [*varying, "total.cost", "total.cumulative_cost"]:
        q = p.quantiles[column]
        fmt = (lambda v: fmt_money(v, p.plan.currency)) if column in money else fmt_number
        for i, label in enumerate(("P10", "P50", "P90")):
            style = "bold" if label == "P50" else "dim"
            cells = [fmt(float(q[i, t])) for t in marks]
            quant.add_row(column if i == 0 else "", label, *cells, style=style, end_section=i == 2)
    odds = Table(title="Probability by date", title_justify="left", header_style="bold")
    odds.add_column("event")
    for t in marks:
        odds.add_column(f"by {tl.label(t)}", justify="right")
    for prob in p.probabilities:
        odds.add_row(prob.description, *[f"{prob.by_period[t]:.0%}" for t in marks])
    return [quant, odds]


def _tiers(p: Projection) -> list[RenderableType]:
    """Per tiers component with ``serves``: each tier, its capacity, the demand that moves
    past it, its price and what it serves."""
    out: list[RenderableType] = []
    for name, tiers in p.tier_summaries().items():
        units = list(tiers[0]["serves"])
        table = Table(title=f"{name}: tiers", title_justify="left", header_style="bold")
        for heading in ("tier", "capacity", "next tier at", "price/mo", *units):
            table.add_column(heading, justify="left" if heading == "tier" else "right")
        for tier in tiers:
            table.add_row(
                str(tier["name"]),
                fmt_number(tier["capacity"]),
                fmt_number(tier["next_tier_at"]),
                fmt_money(tier["price"], p.plan.currency),
                *(fmt_number(v) for v in tier["serves"].values()),
            )
        out.append(table)
    return out


def render_projection(p: Projection, columns: list[str] | None = None) -> RenderableType:
    """The month-by-month table (``columns``: the figures to show, by heading or column
    name; default: the compact view), events, recommendations and Monte Carlo summaries."""
    recs = Text("Recommendations\n", style="bold")
    for r in p.recommendations:
        recs.append(f"  • {r}\n", style="")
    total = Text.assemble(
        ("Total cost over the horizon: ", "bold"),
        fmt_money(p.total_cost, p.plan.currency),
        f"  ({len(p.alerts)} alert{'' if len(p.alerts) == 1 else 's'})",
    )
    cols = choose_columns(p, columns)
    parts: list[RenderableType] = [_main_table(p, cols), *_tiers(p)]
    note = over_capacity_note(p)
    if note:
        parts.append(Text(note, style="red"))
    short = schedule_note(p)
    if short:
        parts.append(Text(short, style="yellow"))
    parts += [Text(f"Note: {note}", style="yellow") for note in p.notes]
    parts += [total, _events(p), recs, *slo_section(p.plan), *_monte_carlo(p)]
    return Group(*parts)


def render_scenarios(projections: Mapping[str, Projection]) -> RenderableType:
    """Every scenario side by side."""
    first = next(iter(projections.values()))
    tl = first.timeline
    table = Table(
        title=Text(
            f"{first.plan.system} — scenarios over {tl.periods} {tl.step}s from "
            f"{tl.start.isoformat()}"
        ),
        title_justify="left",
        header_style="bold",
    )
    table.add_column("figure")
    for name in projections:
        table.add_column(name, justify="right")
    for row in scenario_summary(projections):
        figure = row["figure"]
        cells: list[str | Text] = []
        for name in projections:
            value = row[name]
            if value is None:
                cells.append("-")
            elif isinstance(value, int | float) and "cost" in figure:
                cells.append(fmt_money(float(value), first.plan.currency))
            elif isinstance(value, int | float) and "alerts" not in figure:
                cells.append(fmt_number(float(value)))
            elif figure == "over capacity from" and value != "none":
                cells.append(Text(str(value), style="bold red"))
            else:
                cells.append(str(value))
        style = "bold" if figure == "total cost over horizon" else ""
        table.add_row(figure, *cells, style=style)
    return table
