"""``capplan compare``: the plan against its actuals, the growth they imply, and the plan
re-anchored on them (``--write-plan``). The computation is :mod:`capplan.compare`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from capplan.cli import source_options as prom
from capplan.cli.app import SET_HELP, _load, _today_option, app
from capplan.cli.errors import handle_errors
from capplan.cli.forecasting import INPUT_HELP, load_history
from capplan.cli.output import FittingTable, emit, err_console, write_text
from capplan.compare import PlanReview, actual_sources, compare_plan
from capplan.data import MetricFrame, concat
from capplan.data.prometheus import PrometheusOptions, pull_history
from capplan.errors import SourceError, UsageError
from capplan.formatting import fmt_number
from capplan.plan.models import Plan
from capplan.plan.rewrite import rewrite_plan_text
from capplan.report.plan_actual import (
    fit_sentence,
    review_csv,
    review_json,
    review_markdown,
    review_notes,
    title,
)

__all__ = ["compare_command", "parse_tolerance"]

FORMATS = ("table", "markdown", "csv", "json")
_TOLERANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
_BAND_STYLE = {"below P10": "bold red", "above P90": "bold yellow"}
_PULL_STEP = {"month": "1d", "week": "6h", "day": "1h"}


def parse_tolerance(text: str) -> float:
    """``10%`` or ``0.1`` → 0.1."""
    found = _TOLERANCE.match(text)
    if found is None or (not found.group(2) and float(found.group(1)) >= 1):
        raise UsageError(
            f"--tolerance: give a percentage such as 10% or a fraction such as 0.1, got {text!r}"
        )
    value = float(found.group(1))
    return value / 100 if found.group(2) else value


def _pull(plan: Plan, url: str, options: PrometheusOptions, today: dt.date) -> MetricFrame:
    """The actuals of every driver and metric that names a query, from the plan's start."""
    named = {name: src.query for name, (_, src) in actual_sources(plan).items() if src.query}
    if not named:
        raise SourceError(
            f"no driver or metric of {plan.source} names a query for its actuals "
            "(actual: {query: ...}); give files or --store instead"
        )
    assert plan.start is not None  # compare_plan refuses a plan without one
    now = dt.datetime.combine(today, dt.time(), dt.UTC)
    days = max(1, (today - plan.start).days + 1)
    frames = []
    with options.client(url) as client:
        for name, query in named.items():
            assert query is not None
            frames.append(
                pull_history(
                    client,
                    [query],
                    since=f"{days}d",
                    step=_PULL_STEP[plan.step],
                    name=name,
                    now=now.timestamp(),
                    limits=options.limits,
                )
            )
    return concat(frames)


def _figure_table(review: PlanReview, index: int) -> FittingTable:
    fig = review.figures[index]
    banded = fig.name in review.projection.quantiles
    unit = f" ({fig.unit})" if fig.unit else ""
    table = FittingTable(
        title=Text(f"{fig.name}{unit}: {fig.agg} per {review.projection.timeline.step}"),
        title_justify="left",
        header_style="bold",
        drop_order=["points", "band", "P10-P90"],
    )
    table.add_column(review.projection.timeline.step.capitalize())
    table.add_column("projected", justify="right")
    if banded:
        table.add_column("P10-P90", justify="right")
    table.add_column("actual", justify="right")
    table.add_column("points", justify="right")
    table.add_column("deviation", justify="right")
    if banded:
        table.add_column("band")
    for r in fig.rows:
        cells: list[str | Text] = [
            r.label + (" (partial)" if r.partial else ""),
            fmt_number(r.projected),
        ]
        if banded:
            cells.append(f"{fmt_number(r.p10 or 0)}-{fmt_number(r.p90 or 0)}")
        cells.append("-" if r.actual is None else fmt_number(r.actual))
        cells.append(str(r.points))
        dev = "" if r.deviation is None else f"{100 * r.deviation:+.1f}%"
        cells.append(Text(dev + (" !" if r.flagged else ""), style="bold" if r.flagged else ""))
        if banded:
            cells.append(Text(r.band or "", style=_BAND_STYLE.get(r.band or "", "")))
        table.add_row(*cells)
    return table


def render_review(review: PlanReview) -> RenderableType:
    parts: list[RenderableType] = [Text(title(review), style="bold")]
    for i, fig in enumerate(review.figures):
        parts.append(_figure_table(review, i))
        parts.append(Text(f"{fig.name}: {fig.summary}"))
        sentence = fit_sentence(fig)
        if sentence:
            parts.append(Text(sentence))
    ra = review.reanchor
    if ra is not None:
        parts.append(Text(f"\nRe-anchored from {ra.anchor_date.strftime('%Y-%m')}:", style="bold"))
        parts += [Text(f"  {m}") for m in ra.moved] or [Text("  nothing moved")]
        changes = ", ".join(f"{k}: {v}" for k, v in ra.changes.items())
        parts.append(Text(f"  changes: {changes}", style="dim"))
    notes = review_notes(review)
    if notes:
        parts.append(Text("\nNotes:", style="bold"))
        parts += [Text(f"  {n}", style="dim") for n in notes]
    return Group(*parts)


def _write_plan(review: PlanReview, plan_file: Path, target: Path, force: bool) -> None:
    if review.reanchor is None:
        raise UsageError("--write-plan: no driver has actuals to re-anchor the plan on")
    if str(plan_file) == "-":
        raise UsageError("--write-plan needs the plan as a file, not standard input")
    same = target.exists() and target.resolve() == plan_file.resolve()
    if target.exists() and not force:
        what = "is the input plan" if same else "already exists"
        raise UsageError(f"--write-plan {target} {what}; use --force to overwrite it")
    text = plan_file.read_text(encoding="utf-8")
    write_text(target, rewrite_plan_text(text, review.reanchor.changes, str(plan_file)))
    err_console.print(f"Wrote the re-anchored plan to {target}")


@app.command("compare")
@handle_errors
@prom.with_connection_options
def compare_command(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    files: list[Path] | None = typer.Argument(None, help=INPUT_HELP, show_default=False),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store to read the actuals from (default ./capplan.duckdb)."
    ),
    scenario: str | None = typer.Option(None, "--scenario", "-s", help="Scenario compared."),
    tolerance_text: str = typer.Option(
        "10%", "--tolerance", help="Flag a period whose actual is this far from the plan."
    ),
    simulations: int | None = typer.Option(
        None,
        "--simulations",
        "-n",
        help="Monte Carlo paths for the P10-P90 band (default: 1000 when a growth rate is "
        "uncertain, else 0).",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed for Monte Carlo."),
    today: dt.date | None = _today_option(),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown, csv or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    write_plan: Path | None = typer.Option(
        None,
        "--write-plan",
        metavar="FILE",
        help="Write the re-anchored plan here (comments and layout of PLAN kept).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Let --write-plan overwrite an existing file (PLAN included)."
    ),
    prometheus: str | None = prom.url_option(
        "Pull the actuals of every driver and metric that names a query (not with files or "
        "--store)."
    ),
    *,
    connection: PrometheusOptions,
) -> None:
    """Compare the plan with its actuals: projected vs observed per period, the growth the
    actuals imply, and the plan re-anchored on the last actual.

    Each driver and derived metric reads the series named in its `actual` block (default:
    its name), aggregated per period (`actual.agg`, default mean).

    Example: `capplan compare examples/omniops.yaml examples/actuals/omniops.csv --today 2026-08-15`
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format '{fmt}'; available: {', '.join(FORMATS)}")
    tolerance = parse_tolerance(tolerance_text)
    if simulations is not None and simulations < 0:
        raise UsageError(f"--simulations must be >= 0, got {simulations}")
    day = today or dt.date.today()
    if prom.ambient(ctx) and (files or store is not None):
        prometheus = None  # another source given: the URL from the environment is not asked for
    plan = _load(plan_file, sets)
    if prometheus is not None:
        if files or store is not None:
            raise UsageError("give actuals files, --store or --prometheus, not several")
        frame = _pull(plan, prometheus, connection, day)
    else:
        frame = load_history(files, store, None, None)
    for warning in frame.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    review = compare_plan(plan, frame, day, scenario, tolerance, simulations, seed)
    if write_plan is not None:
        _write_plan(review, plan_file, write_plan, force)
    if fmt == "table":
        emit(render_review(review), output)
    elif fmt == "markdown":
        emit(review_markdown(review), output)
    elif fmt == "csv":
        emit(review_csv(review), output)
    else:
        emit(review_json(review), output)
