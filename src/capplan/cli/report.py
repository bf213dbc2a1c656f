"""``capplan report daily|weekly|monthly|quarterly``: the APM runbook's capacity reports for any
plan, written as Markdown, HTML or PDF and sent to people (``--send``).

Parse, call :func:`capplan.report.periodic.periodic_report`, render, write, send: every file
asked for is written before anything is sent, so a target that cannot be reached (exit 2)
leaves the report on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from capplan.cli import source_options as prom
from capplan.cli.app import SET_HELP, _date, _load, app
from capplan.cli.errors import handle_errors
from capplan.cli.forecasting import INPUT_HELP, load_history
from capplan.cli.output import console, err_console, write_text
from capplan.data import concat
from capplan.data.frame import MetricFrame
from capplan.data.prometheus import PrometheusOptions, pull_plan_metrics
from capplan.errors import UsageError
from capplan.notify import LINK_HELP, SEND_CONFIG_HELP, URL_HELP, load_targets, send
from capplan.plan.models import Plan
from capplan.policy.freshness import parse_instant, wall_clock
from capplan.report.periodic import PERIOD_DAYS, PeriodicReport, periodic_report
from capplan.report.periodic_html import periodic_html
from capplan.report.periodic_text import notification_body, periodic_markdown

__all__ = ["render_report", "report_command", "write_report"]

_SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".json": "json",
}


def _format_of(path: Path) -> str:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"--output {path}: the file name must end in .md, .html, .pdf or .json (the format)"
        )
    return fmt


def render_report(rep: PeriodicReport, fmt: str, link: str | None) -> str:
    """The report as text in ``fmt`` (markdown, html or json)."""
    if fmt == "markdown":
        return periodic_markdown(rep, link)
    if fmt == "html":
        return periodic_html(rep, link)
    if fmt == "json":
        return json.dumps(rep.to_dict(), indent=2, allow_nan=False) + "\n"
    raise UsageError(f"unknown --format '{fmt}'; available: html, json, markdown")


def write_report(rep: PeriodicReport, path: Path, link: str | None = None) -> None:
    """Write the report to ``path`` in the format its suffix names (PDF: printed from the
    HTML form with headless Chromium)."""
    fmt = _format_of(path)
    if fmt == "pdf":
        from capplan.report.pdf import html_to_pdf

        if path.is_dir():
            raise UsageError(f"--output {path} is a directory; give a file name")
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            html_to_pdf(periodic_html(rep, link), tmp)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return
    write_text(path, render_report(rep, fmt, link))


def _history(
    plans: list[Plan],
    files: list[Path] | None,
    store: Path | None,
    prometheus: str | None,
    options: PrometheusOptions,
    kind: str,
    now: np.datetime64,
) -> MetricFrame:
    if prometheus is None:
        return load_history(files, store, None, None)
    if files or store is not None:
        raise UsageError("give metric files, --store or --prometheus, not several")
    window = f"{2 * PERIOD_DAYS[kind]}d"  # the period and the one before
    frames = []
    with options.client(prometheus) as client:
        for plan in plans:
            frames.append(
                pull_plan_metrics(
                    plan, client, window, now=float(now.astype(np.int64)), limits=options.limits
                )
            )
    return concat(frames)


@app.command("report")
@handle_errors
@prom.with_connection_options
def report_command(
    ctx: typer.Context,
    kind: str = typer.Argument(
        ...,
        help="daily, weekly, monthly or quarterly.",
        metavar="daily|weekly|monthly|quarterly",
    ),
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    files: list[Path] | None = typer.Argument(None, help=INPUT_HELP, show_default=False),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store to read from (default ./capplan.duckdb)."
    ),
    checks: list[Path] | None = typer.Option(
        None,
        "--checks",
        metavar="PLAN",
        help="Another plan file whose thresholds on observed metrics are checked too "
        "(repeatable), e.g. the monitoring thresholds of the system.",
    ),
    now_text: str | None = typer.Option(
        None,
        "--now",
        metavar="TIMESTAMP",
        help="The end of the period (ISO 8601; default: now): for reproducible reports.",
        show_default=False,
    ),
    today: str | None = typer.Option(
        None,
        "--today",
        metavar="DATE",
        help="The date the plan is read on (default: the day of --now).",
        show_default=False,
    ),
    horizon: str = typer.Option("90d", "--horizon", help="How far the runways look ahead."),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option(
        "markdown", "--format", "-f", help="Printed without --output: markdown, html or json."
    ),
    outputs: list[Path] | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write to this file, its format from its suffix: .md, .html, .pdf or .json "
        "(repeatable).",
    ),
    send_to: list[str] | None = typer.Option(
        None, "--send", metavar="URL", help="Send the summary to this " + URL_HELP
    ),
    send_config: list[Path] | None = typer.Option(
        None, "--send-config", metavar="FILE", help=SEND_CONFIG_HELP
    ),
    link: str | None = typer.Option(
        None, "--link", metavar="URL", envvar="CAPPLAN_LINK", help=LINK_HELP
    ),
    prometheus: str | None = prom.url_option(
        "Pull the plans' metric queries from this Prometheus (not with files or --store)."
    ),
    *,
    connection: PrometheusOptions,
) -> None:
    """The weekly capacity report or the monthly capacity review of a plan and its metrics
    (and a daily summary or a quarterly review).

    Per observed metric: average, peak and p95 over the period (1, 7, 30 or 91 days to
    --now) and the trend against the period before; threshold firings and time firing; the
    runway to every level; the plan's scaling events and recommendations. Monthly and
    quarterly add the scaling-event count (of the month, of the quarter), the month's cost to
    date against budget.monthly_limit (a warning from 80%) and plan vs actual.

    Example: `capplan report weekly plan.yaml --store capplan.duckdb -o weekly.html`
    """
    if kind not in PERIOD_DAYS:
        raise UsageError(f"unknown report '{kind}'; available: {', '.join(sorted(PERIOD_DAYS))}")
    if prom.ambient(ctx) and (files or store is not None):
        prometheus = None
    options = connection
    targets = load_targets(send_to or [], send_config or [])
    now = parse_instant(now_text, "--now") if now_text is not None else wall_clock()
    day = None
    if today is not None:
        try:
            day = _date(today)
        except typer.BadParameter as exc:
            raise UsageError(f"--today: {exc}") from None
    plan = _load(plan_file, sets)
    others = [_load(p, None) for p in checks or []]
    frame = _history([plan, *others], files, store, prometheus, options, kind, now)
    for warning in frame.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    rep = periodic_report(
        kind,  # type: ignore[arg-type]  # checked above
        plan,
        frame,
        now=now,
        today=day,
        checks=others,
        horizon=horizon,
    )
    for path in outputs or []:
        _format_of(path)  # every name checked before anything is written
    if outputs:
        for path in outputs:
            write_report(rep, path, link)
            err_console.print(f"wrote {path}")
    else:
        if fmt not in ("markdown", "html", "json"):
            raise UsageError(f"unknown --format '{fmt}'; available: html, json, markdown")
        console.file.write(render_report(rep, fmt, link))
    if targets:
        sent = send(targets, rep.title, notification_body(rep, link))
        err_console.print(f"sent the summary to {sent} target{'s' if sent != 1 else ''}")
