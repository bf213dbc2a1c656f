"""Text forms of a projection and of a scenario comparison: CSV, JSON and Markdown.

Renderers return strings; writing files is the caller's job.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from capplan.engine.projection import Projection
from capplan.errors import UsageError
from capplan.formatting import fmt_money, fmt_number, json_float
from capplan.plan.models import FormulaComponent, TierComponent
from capplan.registry import Registry

__all__ = ["PROJECTION_FORMATS", "SCENARIO_FORMATS", "csv_text", "scenario_summary"]

#: a projection as text; the list names the columns to keep (None: the format's own)
PROJECTION_FORMATS: Registry[Callable[[Projection, list[str] | None], str]] = Registry(
    "output format"
)
SCENARIO_FORMATS: Registry[Callable[[Mapping[str, Projection]], str]] = Registry("output format")


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as CSV text, the keys of the first row as the header."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


@PROJECTION_FORMATS.register("csv")
def projectioncsv_text(projection: Projection, columns: list[str] | None = None) -> str:
    """One row per period; after a Monte Carlo run, ``_p10/_p50/_p90`` columns follow.
    With ``columns``, only those (and their quantiles)."""
    rows = projection.rows()
    if projection.quantiles:
        for row, q in zip(rows, projection.quantile_rows(), strict=True):
            row.update({k: v for k, v in q.items() if k not in ("period", "date")})
    if columns is not None:
        keys = [c for c, _ in choose_columns(projection, columns)]
        keep = ["period", "date"]
        for key in keys:
            keep += [key, *(f"{key}_{q}" for q in ("p10", "p50", "p90"))]
        rows = [{k: row[k] for k in keep if k in row} for row in rows]
    return csv_text(rows)


@PROJECTION_FORMATS.register("json")
def projection_json(projection: Projection, columns: list[str] | None = None) -> str:
    if columns is not None:
        raise UsageError("--columns applies to the table, csv and markdown formats, not json")
    data = projection.to_dict()
    if projection.plan.slos:
        data["slos"] = [slo.summary(name) for name, slo in projection.plan.slos.items()]
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def summary_columns(projection: Projection) -> list[tuple[str, str]]:
    """(column, heading) pairs of the compact per-period view shared by table and Markdown."""
    plan = projection.plan
    cols = [(d, d) for d in plan.drivers]
    cols += [(m, m) for m, metric in plan.metrics.items() if metric.expr is not None]
    for name, comp in plan.components.items():
        if name in projection.levels:
            cols.append((f"{name}.level", name))
            cols += _part_columns(projection, name)
        elif isinstance(comp, FormulaComponent) and "instances" not in comp.resources:
            cols.append((f"{name}.cost", f"{name} cost"))
        elif (service := _SERVICE_COLUMNS.get(comp.kind)) is not None:
            cols.append((f"{name}.{service[0]}", f"{name} {service[1]}"))
        else:
            cols.append((f"{name}.instances", f"{name} inst."))
        if comp.provisioned is not None:
            cols += [
                (f"{name}.provisioned_{r}", _in_place_heading(name, r))
                for r in comp.provisioned.amounts()
            ]
    cols += [(f"{host}.utilization", f"{host} use") for host in plan.hosts]
    cols += [
        ("total.cost", "cost/mo"),
        ("total.cumulative_cost", "cumulative"),
        ("total.cost_per_unit", f"cost/{projection.cost_unit}"),
    ]
    return cols


OVER_MARK = " (over)"

#: The one figure of a service component in the compact view, and its heading.
_SERVICE_COLUMNS = {
    "pool": ("utilization", "use"),
    "replicas": ("instances", "replicas"),
    "rate_limit": ("rejected_share", "rejected"),
    "cache": ("savings", "saved/mo"),
    "queue": ("instances", "servers"),
}
SHORT_MARK = " (short)"


_PART_HEADINGS = {"instances": "inst.", "vcpu": "vCPU", "memory_gb": "GB", "storage_gb": "disk GB"}


def _in_place_heading(name: str, resource: str) -> str:
    """``compute in place`` (instances), ``db in place disk GB`` (another resource)."""
    unit = "" if resource == "instances" else f" {_PART_HEADINGS[resource]}"
    return f"{name} in place{unit}"


def _part_columns(projection: Projection, name: str) -> list[tuple[str, str]]:
    """The parts a tier component's tiers allocate (``platform.backend.instances``), as
    compact columns (``backend inst.``) in the order of the first tier's allocations."""
    comp = projection.plan.components[name]
    if not isinstance(comp, TierComponent):
        return []
    out = []
    for tier in comp.tiers:
        for part, resources in tier.allocations.items():
            for resource in resources:
                column = (f"{name}.{part}.{resource}", f"{part} {_PART_HEADINGS[resource]}")
                if column not in out and column[0] in projection.values:
                    out.append(column)
    return out


def choose_columns(projection: Projection, names: list[str] | None) -> list[tuple[str, str]]:
    """(column, heading) pairs to show: the compact view, or the ``names`` given, each a
    heading of the compact view (``cost/mo``, ``db``) or a column name (``db.vcpu``)."""
    compact = summary_columns(projection)
    if names is None:
        return compact
    by_heading = {heading: (column, heading) for column, heading in compact}
    known = set(projection.columns())
    chosen = []
    for name in names:
        if name in by_heading:
            chosen.append(by_heading[name])
        elif name in known:
            chosen.append((name, name))
        else:
            raise UsageError(
                f"--columns: no column {name!r}; choose from the table's headings "
                f"({', '.join(by_heading)}) or any column of --format csv, such as "
                f"{', '.join(sorted(known - {c for c, _ in compact})[:6])}"
            )
    return chosen


def cell(projection: Projection, column: str, period: int) -> str:
    """One figure of the compact view, formatted for reading; a component's level or
    instance count is marked ``(over)`` in the periods it is over capacity, and what a
    schedule has in place ``(short)`` where the need exceeds it."""
    name, _, figure = column.rpartition(".")
    marked = figure in {"level", "instances", "utilization"}
    flags = projection.over_capacity.get(name) if marked else None
    mark = OVER_MARK if flags and flags[period] else ""
    if column.endswith(".level"):
        return projection.levels[column[: -len(".level")]][period] + mark
    value = float(projection.values[column][period])
    if figure.startswith("provisioned_"):
        short = projection.values[f"{name}.{figure.removeprefix('provisioned_')}_shortfall"]
        return fmt_number(value) + (SHORT_MARK if short[period] > 0 else "")
    if column.endswith(("utilization", "_share")):
        return f"{value:.0%}{mark}"
    if mark:
        return fmt_number(value) + mark
    if column.endswith(("cost", ".savings")) or column == "total.cost_per_unit":
        return fmt_money(value, projection.plan.currency)
    return fmt_number(value)


@PROJECTION_FORMATS.register("markdown")
def projection_markdown(projection: Projection, columns: list[str] | None = None) -> str:
    tl = projection.timeline
    cols = choose_columns(projection, columns)
    out = [
        f"# Capacity plan: {projection.plan.system}",
        "",
        f"Scenario **{projection.scenario}**, {tl.periods} {tl.step}s from "
        f"{tl.start.isoformat()}. Total cost over the horizon: "
        f"**{fmt_money(projection.total_cost, projection.plan.currency)}**.",
        "",
        _md_table(
            ["period", "date"] + [h for _, h in cols],
            [
                [str(t), tl.label(t)] + [cell(projection, c, t) for c, _ in cols]
                for t in range(tl.periods + 1)
            ],
        ),
        "",
    ]
    notes = [over_capacity_note(projection), schedule_note(projection)]
    out += [line for note in notes if note for line in (note, "")]
    out += [line for note in projection.notes for line in (f"Note: {note}", "")]
    out += _tiers_markdown(projection)
    out += ["## Events", ""]
    out += [f"- **{e.severity}** {e.message}" for e in projection.events] or ["- none"]
    out += ["", "## Recommendations", ""]
    out += [f"- {r}" for r in projection.recommendations]
    if projection.plan.slos:
        out += ["", "## SLOs", ""]
        out.append(
            _md_table(
                ["SLO", "objective", "indicator", "error budget", "burn-rate alerts"],
                [
                    [
                        name,
                        f"{fmt_number(slo.objective)}% over {slo.window}",
                        slo.indicator(),
                        f"{fmt_number(slo.budget_seconds / 60)} min per {slo.window}",
                        ", ".join(
                            f"{fmt_number(slo.factor(r))}x over {r.long} ({r.severity})"
                            for r in slo.burn_rates
                        )
                        or "none",
                    ]
                    for name, slo in projection.plan.slos.items()
                ],
            )
        )
    if projection.probabilities:
        out += ["", f"## Event probabilities ({projection.simulations} paths)", ""]
        marks = _marks(tl.periods)
        out.append(
            _md_table(
                ["event"] + [f"by {tl.label(t)}" for t in marks],
                [
                    [p.description] + [f"{p.by_period[t]:.0%}" for t in marks]
                    for p in projection.probabilities
                ],
            )
        )
    return "\n".join(out) + "\n"


def _tiers_markdown(projection: Projection) -> list[str]:
    """Per tiers component with ``serves``: each tier and what it serves, as a table."""
    out: list[str] = []
    for name, tiers in projection.tier_summaries().items():
        units = list(tiers[0]["serves"])
        rows = [
            [
                str(t["name"]),
                fmt_number(t["capacity"]),
                fmt_number(t["next_tier_at"]),
                fmt_money(t["price"], projection.plan.currency),
                *(fmt_number(v) for v in t["serves"].values()),
            ]
            for t in tiers
        ]
        header = ["tier", "capacity", "next tier at", "price/mo", *units]
        out += [f"## {name}: tiers", "", _md_table(header, rows), ""]
    return out


def _marks(periods: int) -> list[int]:
    """A handful of periods to show probabilities at: quarters of the horizon and the end."""
    marks = sorted({max(1, round(periods * f)) for f in (0.25, 0.5, 0.75, 1.0)})
    return [m for m in marks if m <= periods]


def scenario_summary(projections: Mapping[str, Projection]) -> list[dict[str, Any]]:
    """One row per figure, one column per scenario: the side-by-side comparison."""
    first = next(iter(projections.values()))
    plan, end = first.plan, first.timeline.periods
    rows: list[dict[str, Any]] = []

    def add(label: str, values: dict[str, Any]) -> None:
        clean = {n: json_float(v) if isinstance(v, float) else v for n, v in values.items()}
        rows.append({"figure": label, **clean})

    def at_end(column: str) -> dict[str, Any]:
        return {n: float(p.values[column][end]) for n, p in projections.items()}

    for d in plan.drivers:
        add(f"{d} at end", at_end(d))
    for name in plan.components:
        if name in first.levels:
            add(f"{name} at end", {n: p.levels[name][end] for n, p in projections.items()})
        else:
            peaks = {n: float(p.values[f"{name}.instances"].max()) for n, p in projections.items()}
            add(f"{name} peak instances", peaks)
    add("first scaling event", {n: _first_change(p) for n, p in projections.items()})
    add("over capacity from", {n: over_capacity_text(p) for n, p in projections.items()})
    add("alerts", {n: len(p.alerts) for n, p in projections.items()})
    add("monthly cost at end", at_end("total.cost"))
    add(f"cost per {first.cost_unit} at end", at_end("total.cost_per_unit"))
    add("total cost over horizon", {n: p.total_cost for n, p in projections.items()})
    return rows


def over_capacity_text(p: Projection) -> str:
    """Each component over capacity within the horizon and the first period it is; "none"."""
    over = p.over_capacity_components
    return ", ".join(f"{c} {p.timeline.label(t)}" for c, t in over.items()) or "none"


def over_capacity_note(p: Projection) -> str | None:
    """What ``(over)`` in the compact view means, when it appears."""
    if not p.over_capacity_components:
        return None
    kinds = {getattr(p.plan.components.get(n), "kind", "") for n in p.over_capacity_components}
    also = "".join(text for kind, text in _OVER_ALSO.items() if kind in kinds)
    return (
        f"(over): over capacity from {over_capacity_text(p)} — demand beyond the largest "
        "tier or rung, more instances than max_instances allows, or components needing more "
        f"than their host has{also}; the figures shown are the capped ones and the rest of the "
        "demand is not served."
    )


#: What over capacity also means for the service components that can be over it.
_OVER_ALSO = {
    "pool": ", pools that may open more connections than max_connections",
    "replicas": ", more read replicas than max_replicas allows",
}


def schedule_note(p: Projection) -> str | None:
    """What ``(short)`` in the compact view means, when it appears: the first period each
    scheduled component has less in place than the plan needs."""
    firsts = []
    for name, comp in p.plan.components.items():
        for resource in comp.provisioned.amounts() if comp.provisioned else {}:
            short = p.values[f"{name}.{resource}_shortfall"]
            if (short > 0).any():
                firsts.append(f"{name} {p.timeline.label(int((short > 0).argmax()))}")
    if not firsts:
        return None
    return (
        f"(short): the provisioning schedule falls behind the need from {', '.join(firsts)} "
        "— the events say by how much and which addition to bring forward."
    )


def _first_change(p: Projection) -> str:
    for e in p.events:
        if e.kind in {"tier_change", "rung_change", "scale", "capacity_exceeded"}:
            return f"{e.component} {p.timeline.label(e.period)}"
    return "none"


@SCENARIO_FORMATS.register("csv")
def scenarioscsv_text(projections: Mapping[str, Projection]) -> str:
    return csv_text(scenario_summary(projections))


@SCENARIO_FORMATS.register("json")
def scenarios_json(projections: Mapping[str, Projection]) -> str:
    data = {
        "summary": scenario_summary(projections),
        "scenarios": {n: p.to_dict() for n, p in projections.items()},
    }
    return json.dumps(data, indent=2, allow_nan=False, default=str) + "\n"


@SCENARIO_FORMATS.register("markdown")
def scenarios_markdown(projections: Mapping[str, Projection]) -> str:
    first = next(iter(projections.values()))
    names = list(projections)
    rows = [
        [r["figure"]] + [_summary_cell(r["figure"], r[n], first) for n in names]
        for r in scenario_summary(projections)
    ]
    title = f"# Scenarios: {first.plan.system}\n\n"
    return title + _md_table(["figure", *names], rows) + "\n"


def _summary_cell(figure: str, value: Any, p: Projection) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "alerts" in figure:
            return str(value)
        return fmt_money(value, p.plan.currency) if "cost" in figure else fmt_number(value)
    return str(value)
