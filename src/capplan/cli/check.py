"""``capplan check``: the plan's thresholds against metric history, for cron and CI.

Exit codes (Nagios style): 0 ok, 1 warning (or a metric with no data, or stale data), 2
critical (emergency counts as critical), 3 for any error: bad plan or data, missing store, bad
argument. Only this command uses 3 for errors; see :mod:`capplan.cli.errors`.

The check is made as of ``--now`` (default: the current time): ``--since`` counts back from
it, and a series whose newest sample is older than ``--max-age`` is ``stale``. The plan's SLOs
are measured on the same history; ``--probes`` also makes its HTTP probes (``--probes-only``:
only them). Both count in the status and the exit code like the thresholds.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperCommand

from capplan.cli import source_options as prom
from capplan.cli.app import SET_HELP, _load, app
from capplan.cli.errors import EXIT_CHECK_ERROR, handle_errors, report
from capplan.cli.forecasting import INPUT_HELP, load_history
from capplan.cli.output import emit, err_console
from capplan.data.frame import concat
from capplan.data.probing import run_probes
from capplan.data.prometheus import PrometheusOptions, pull_history, pull_plan_metrics
from capplan.errors import CapplanError, UsageError
from capplan.formatting import fmt_age, fmt_number
from capplan.notify import LINK_HELP, SEND_CONFIG_HELP, URL_HELP, Targets, load_targets, send
from capplan.plan.models import Plan
from capplan.policy.freshness import parse_instant, parse_max_age, wall_clock
from capplan.policy.plan_check import CheckReport, CheckResult, check_plan
from capplan.units import duration_seconds, format_duration

__all__ = ["check_command"]

_STYLE = {
    "ok": "green",
    "warning": "yellow",
    "critical": "bold red",
    "no data": "yellow",
    "stale": "yellow",
    "not observed": "dim",
    "not measured": "dim",
}


class _CheckCommand(TyperCommand):
    """A command whose command-line usage errors exit 3, not click's 2 (2 means critical)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except ClickUsageError as exc:
            exc.exit_code = EXIT_CHECK_ERROR
            raise


def _time(t: np.datetime64 | None) -> str:
    return "-" if t is None else np.datetime_as_string(t, unit="m").replace("T", " ")


def _per_level(result: CheckResult, what: str) -> str:
    ev = result.evaluation
    if ev is None:
        return "-"
    parts = []
    for lv in ev.levels:
        if lv.level == "target":
            continue
        if what == "firings" and lv.firings:
            parts.append(f"{lv.level} {lv.firings}")
        elif what == "time" and lv.seconds_firing:
            parts.append(f"{lv.level} {format_duration(lv.seconds_firing)}")
        elif what == "flapping" and lv.flapping:
            parts.append(f"{lv.level} ({lv.flaps} flaps)")
    return ", ".join(parts) or ("0" if what == "firings" else "-" if what == "time" else "no")


def _title(rep: CheckReport, since: str | None) -> str:
    title = "Threshold check"
    if rep.now is not None:
        title += f" as of {_time(rep.now)} UTC"
    if since is not None:
        title += f", last {since}"
    return title


def _status_table(rep: CheckReport, checked: list[CheckResult], since: str | None) -> Table:
    table = Table(title=_title(rep, since), title_justify="left", header_style="bold")
    for heading in ("threshold", "metric / series", "value", "status", "level", "since"):
        table.add_column(heading, justify="right" if heading == "value" else "left")
    table.add_column("last sample")
    table.add_column("age", justify="right")
    for heading in ("firings", "time firing", "flapping"):
        table.add_column(heading)
    for r in checked:
        value = r.value_text if r.band is None else f"{r.value_text} ({r.band})"
        where = r.metric if r.series in (None, r.metric) else f"{r.metric} / {r.series}"
        level = r.level or "-"
        if r.pending:
            level = f"{level} ({r.pending} pending)" if r.level else f"{r.pending} pending"
        table.add_row(
            r.threshold,
            where,
            value,
            Text(r.status, style=_STYLE[r.status]),
            r.message if r.status in ("no data", "stale") else level,
            _time(r.since),
            _time(r.last_sample),
            fmt_age(r.age_seconds),
            _per_level(r, "firings"),
            _per_level(r, "time"),
            _per_level(r, "flapping"),
        )
    return table


def _timeline_table(checked: list[CheckResult]) -> RenderableType:
    table = Table(title="Alert timeline", title_justify="left", header_style="bold")
    for heading in ("threshold", "series", "level", "state", "start", "end", "duration"):
        table.add_column(heading)
    rows = 0
    for r in checked:
        if r.evaluation is None:
            continue
        for iv in r.evaluation.timeline:
            rows += 1
            table.add_row(
                r.threshold,
                r.series or "-",
                iv.level,
                Text(iv.state, style="red" if iv.state == "firing" else "yellow"),
                _time(iv.start),
                "ongoing" if iv.ongoing else _time(iv.end),
                format_duration(iv.seconds),
            )
    return table if rows else Text("Alert timeline: no level was pending or firing.")


def _probe_table(rep: CheckReport) -> Table:
    table = Table(title="HTTP probes", title_justify="left", header_style="bold")
    for heading in ("probe", "url", "result", "status", "HTTP", "latency", "detail"):
        table.add_column(heading, justify="right" if heading in ("HTTP", "latency") else "left")
    for r in rep.probes:
        latency = "-" if r.latency_seconds is None else f"{r.latency_seconds * 1000:.0f} ms"
        table.add_row(
            r.name,
            r.url,
            r.verdict,
            Text(r.status, style=_STYLE[r.status]),
            "-" if r.http_status is None else str(r.http_status),
            latency,
            r.message,
        )
    return table


def _slo_table(rep: CheckReport) -> Table:
    table = Table(title="SLO error budgets", title_justify="left", header_style="bold")
    for heading in ("SLO", "objective", "budget", "samples", "bad", "burn rate", "used"):
        table.add_column(heading, justify="left" if heading == "SLO" else "right")
    table.add_column("status")
    table.add_column("detail")
    for r in rep.slos:
        burn, used = r.burn_rate, r.budget_used
        table.add_row(
            r.name,
            f"{fmt_number(r.objective)}% / {r.window}",
            format_duration(r.budget_seconds),
            str(r.samples),
            "-" if r.bad_share is None else f"{r.bad_share:.3%}",
            "-" if burn is None else f"{burn:.2f}x",
            "-" if used is None else f"{used:.0%}",
            Text(r.status, style=_STYLE[r.status]),
            r.message if r.status in ("no data", "not measured") else "",
        )
    return table


def _render(rep: CheckReport, timeline: bool, since: str | None) -> RenderableType:
    checked = rep.checked
    parts: list[RenderableType] = []
    if checked:
        parts.append(_status_table(rep, checked, since))
    elif rep.results or not rep.probes:
        parts.append(Text("No threshold of the plan is on an observed metric."))
    if rep.slos:
        parts.append(_slo_table(rep))
    if rep.probes:
        parts.append(_probe_table(rep))
    if timeline and checked:
        parts.append(_timeline_table(checked))
    skipped = [r for r in rep.results if r.status == "not observed"]
    if skipped:
        names = ", ".join(f"{r.threshold} ({r.metric})" for r in skipped)
        parts.append(
            Text(f"Not observed (computed by the plan; see `capplan plan`): {names}", style="dim")
        )
    status = Text("Status: ")
    status.append(rep.status, style=_STYLE[rep.status])
    status.append(f" (exit {rep.exit_code})")
    parts.append(status)
    return Group(*parts)


def _level_value(r: CheckResult) -> str:
    ev = r.evaluation
    thr = next((lv for lv in ev.levels if lv.level == r.level), None) if ev else None
    if thr is None:
        return ""
    if ev is not None and ev.change_over is not None:
        grew = "+" if ev.direction == "above" else "-"
        return f" ({r.level}: {grew}{fmt_number(thr.value)}% over {ev.change_over})"
    sign = ">" if ev is not None and ev.direction == "above" else "<"
    return f" ({r.level} {sign} {fmt_number(thr.value)}{r.unit})"


def notification(rep: CheckReport, system: str, link: str | None) -> tuple[str, str]:
    """The title and body of the message ``--notify`` sends: every threshold not ok."""
    title = f"capplan check: {rep.status.upper()} - {system}"
    lines = []
    for r in rep.checked:
        if r.status == "ok":
            continue
        where = r.series or r.metric
        if r.status in ("warning", "critical") and r.evaluation is not None:
            value = r.value_text
            lines.append(
                f"{r.threshold} {r.status} on {where}: {value}{_level_value(r)}, "
                f"firing since {_time(r.since)} UTC"
            )
        else:
            lines.append(f"{r.threshold} {r.status} on {where}: {r.message}")
    for p in rep.probes:
        if p.status != "ok":
            lines.append(f"probe {p.name} {p.verdict} ({p.status}) on {p.url}: {p.message}")
    for o in rep.slos:
        if o.status in ("warning", "critical"):
            lines.append(f"SLO {o.name} {o.status}: {o.message}")
    if rep.now is not None:
        lines.append(f"As of {_time(rep.now)} UTC.")
    if link:
        lines.append(f"Details: {link}")
    return title, "\n".join(lines)


def _since_seconds(since: str | None) -> float | None:
    if since is None:
        return None
    try:
        return duration_seconds(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


def _run(
    plan_file: Path,
    files: list[Path] | None,
    store: Path | None,
    since: str | None,
    sets: list[str] | None,
    fmt: str,
    timeline: bool,
    output: Path | None,
    prometheus: str | None = None,
    options: PrometheusOptions | None = None,
    now_text: str | None = None,
    max_age: str | None = None,
    targets: Targets | None = None,
    link: str | None = None,
    probes: Literal["no", "too", "only"] = "no",
) -> int:
    if fmt not in ("table", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: json, table")
    now = parse_instant(now_text, "--now") if now_text is not None else wall_clock()
    max_age_seconds = parse_max_age(max_age, "--max-age") if max_age is not None else None
    since_seconds = _since_seconds(since)
    plan = _load(plan_file, sets)
    if probes != "no" and not plan.probes:
        raise UsageError(
            f"--probes{'-only' if probes == 'only' else ''}: {plan_file} declares no probes; "
            "add 'probes:' with a url (and status, latency) for each HTTP check"
        )
    if probes == "only":
        if files or store is not None or prometheus is not None:
            raise UsageError(
                "--probes-only reads no metric history; give no files, --store or --prometheus"
            )
        rep = CheckReport((), now, probes=tuple(run_probes(plan.probes)))
    else:
        rep = _check_history(
            plan, files, store, since, prometheus, options, now, since_seconds, max_age_seconds
        )
        if probes == "too":
            rep = replace(rep, probes=tuple(run_probes(plan.probes)))
    if fmt == "json":
        emit(json.dumps(rep.to_dict(timeline), indent=2, allow_nan=False) + "\n", output)
    else:
        emit(_render(rep, timeline, since), output)
    if targets and rep.status != "ok":
        title, body = notification(rep, plan.system, link)
        sent = send(targets, title, body)
        err_console.print(f"notified {sent} target{'s' if sent != 1 else ''}")
    return rep.exit_code


def _check_history(
    plan: Plan,
    files: list[Path] | None,
    store: Path | None,
    since: str | None,
    prometheus: str | None,
    options: PrometheusOptions | None,
    now: np.datetime64,
    since_seconds: float | None,
    max_age_seconds: float | None,
) -> CheckReport:
    """The thresholds (and SLOs) of ``plan`` on the history from files, the store or
    Prometheus."""
    if prometheus is not None:
        if files or store is not None:
            raise UsageError("give metric files, --store or --prometheus, not several")
        options = options or PrometheusOptions()
        with options.client(prometheus) as client:
            at = float(now.astype(np.int64))
            frame = pull_plan_metrics(plan, client, since or "7d", now=at, limits=options.limits)
            # the up series of the SLOs on a job's availability, which no metric names
            jobs = sorted({slo.job for slo in plan.slos.values() if slo.job is not None})
            ups = [f'up{{job="{job}"}}' for job in jobs]
            if ups:
                more = pull_history(
                    client, ups, since=since or "7d", name="up", now=at, limits=options.limits
                )
                frame = concat([frame, more])
    else:
        # the whole history: the newest sample of a series may be older than --since
        frame = load_history(files, store, None, None)
    for warning in frame.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    return check_plan(
        plan, frame, now=now, since_seconds=since_seconds, max_age_seconds=max_age_seconds
    )


@app.command("check", cls=_CheckCommand)
@handle_errors
@prom.with_connection_options
def check_command(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    files: list[Path] | None = typer.Argument(None, help=INPUT_HELP, show_default=False),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store to read from (default ./capplan.duckdb)."
    ),
    since: str | None = typer.Option(
        "7d", "--since", help="History checked, counted back from --now."
    ),
    now_text: str | None = typer.Option(
        None,
        "--now",
        metavar="TIMESTAMP",
        help="Evaluate as of this instant (ISO 8601; default: now); for replaying an old export.",
        show_default=False,
    ),
    max_age: str | None = typer.Option(
        None,
        "--max-age",
        metavar="DURATION",
        help="A series whose newest sample is older is stale (exit 1); 'off' (or 0) disables. "
        "Default: the larger of 3 steps of its data and the longest for: checked on it.",
        show_default=False,
    ),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    timeline: bool = typer.Option(False, "--timeline", help="Also show the alert timeline."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    notify: list[str] | None = typer.Option(
        None,
        "--notify",
        metavar="URL",
        help="When the status is not ok, send the thresholds not ok to this " + URL_HELP,
    ),
    notify_config: list[Path] | None = typer.Option(
        None, "--notify-config", metavar="FILE", help=SEND_CONFIG_HELP
    ),
    link: str | None = typer.Option(
        None, "--link", metavar="URL", envvar="CAPPLAN_LINK", help=LINK_HELP
    ),
    prometheus: str | None = prom.url_option(
        "Pull the plan metrics' queries from this Prometheus (not with files or --store)."
    ),
    probes: bool = typer.Option(
        False,
        "--probes",
        help="Also make the plan's HTTP probes (probes:): ok, slow or failing, with latency.",
    ),
    probes_only: bool = typer.Option(
        False,
        "--probes-only",
        help="Make only the plan's HTTP probes; read no metric history.",
    ),
    *,
    connection: PrometheusOptions,
) -> None:
    """Check the plan's thresholds on metric history: the status of each observed metric.

    Levels follow Prometheus alerting: pending, then firing once the condition has held for
    the level's duration. A series whose newest sample is older than --max-age is stale. The
    plan's SLOs are measured on the same history (bad share, burn rate, budget used);
    --probes also makes its HTTP probes, --probes-only makes only them.
    Exit code: 0 ok, 1 warning, stale or no data, 2 critical, 3 error.

    Example: `capplan check plan.yaml --store capplan.duckdb --since 7d`
    """
    if prom.ambient(ctx) and (files or store is not None):
        prometheus = None  # another source given: the URL from the environment is not asked for
    try:
        options = connection
        targets = load_targets(notify or [], notify_config or [])
        code = _run(
            plan_file,
            files,
            store,
            since,
            sets,
            fmt,
            timeline,
            output,
            prometheus,
            options,
            now_text,
            max_age,
            targets,
            link,
            "only" if probes_only else "too" if probes else "no",
        )
    except CapplanError as exc:
        report(exc)
        raise typer.Exit(EXIT_CHECK_ERROR) from None
    raise typer.Exit(code)
