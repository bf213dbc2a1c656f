"""Commands over metric history: ``ingest`` files into the store and list stored ``series``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from capplan.cli import source_options as prom
from capplan.cli.app import app
from capplan.cli.errors import handle_errors
from capplan.cli.output import emit, err_console
from capplan.cli.stdin_files import stdin_as_file
from capplan.data import DEFAULT_STORE, IngestResult, SeriesInfo, Store, ingest_files, ingest_frame
from capplan.data.prometheus import PrometheusOptions, pull_history, split_credentials
from capplan.errors import UsageError
from capplan.formatting import fmt_number
from capplan.report.formats import csv_text
from capplan.units import format_duration

STORE_HELP = "DuckDB store file."
LAYOUT_HELP = "CSV layout: auto, long (series,timestamp,value) or wide (timestamp,colA,colB)."


@app.command()
@handle_errors
@prom.with_connection_options
def ingest(
    ctx: typer.Context,
    files: list[Path] | None = typer.Argument(None, help="CSV, Parquet or Prometheus text files."),
    store: Path = typer.Option(Path(DEFAULT_STORE), "--store", help=STORE_HELP),
    prometheus: str | None = prom.url_option("Prometheus base URL."),
    queries: list[str] | None = typer.Option(None, "--query", help="PromQL (repeatable)."),
    since: str = typer.Option("30d", "--since", help="How much history to pull."),
    step: str | None = typer.Option(None, "--step", help="Query step (default: automatic)."),
    name: str | None = typer.Option(None, "--name", help="Metric name for the query's series."),
    *,
    connection: PrometheusOptions,
    layout: str = typer.Option("auto", "--layout", help=LAYOUT_HELP),
    timestamp_column: str | None = typer.Option(
        None,
        "--timestamp-column",
        help="CSV/Parquet column of the times (default: the first named timestamp, time, "
        "datetime, date, ts or ds).",
        metavar="NAME",
    ),
    series_column: str | None = typer.Option(
        None,
        "--series-column",
        help="Column naming the series in a long table (default: series, series_id, "
        "unique_id, id, name or metric; none: one series per value column).",
        metavar="NAME",
    ),
    value_column: str | None = typer.Option(
        None,
        "--value-column",
        help="Column of the values in a long table (default: value, y or val).",
        metavar="NAME",
    ),
    tz: str | None = typer.Option(None, "--tz", help="Time zone of naive timestamps (UTC)."),
) -> None:
    """Load metric history into the store; ingesting the same file twice adds nothing.

    All files are read before anything is written, and written in one transaction: a bad
    file leaves the store as it was.

    Example: `capplan ingest metrics/*.csv --store capplan.duckdb`, or from Prometheus:
    `capplan ingest --prometheus http://prometheus:9090 --query 'up' --since 7d --step 5m`
    """
    if files and prom.ambient(ctx):
        prometheus = None  # files given: the URL from the environment is not asked for
    if prometheus is not None or queries:
        if files:
            raise UsageError("give metric files or --prometheus, not both")
        if prometheus is None or not queries:
            raise UsageError("--prometheus URL and at least one --query are needed together")
        options = connection
        _ingest_queries(store, prometheus, options, queries, since, step, name)
        return
    if not files:
        raise UsageError("give metric files, or --prometheus URL --query PROMQL")
    if layout not in ("auto", "long", "wide"):
        raise UsageError(f"unknown --layout '{layout}'; available: auto, long, wide")
    with stdin_as_file(files) as paths, Store(store) as db:
        results = ingest_files(
            db,
            paths or [],
            layout=layout,  # type: ignore[arg-type]
            timestamp_column=timestamp_column,
            series_column=series_column,
            value_column=value_column,
            tz=tz,
        )
    emit(_ingest_table(results, store), None)
    for result in results:
        for warning in result.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)


def _ingest_queries(
    store: Path,
    prometheus: str,
    options: PrometheusOptions,
    queries: list[str],
    since: str,
    step: str | None,
    name: str | None,
) -> None:
    """Pull ``queries`` from Prometheus into the store, as one source."""
    shown = split_credentials(prometheus)[0]  # the store keeps no credentials
    with options.client(prometheus) as client:
        frame = pull_history(
            client, queries, since=since, step=step, name=name, limits=options.limits
        )
    with Store(store) as db:
        result = ingest_frame(db, frame, f"{shown} {' | '.join(queries)}")
    emit(_ingest_table([result], store), None)
    for warning in frame.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning.message}", soft_wrap=True)


def _ingest_table(results: list[IngestResult], store: Path) -> Table:
    table = Table(title=f"Ingested into {store}", title_justify="left", header_style="bold")
    for heading in ("file", "series added", "points added", "already stored", "note"):
        table.add_column(heading, justify="left" if heading in ("file", "note") else "right")
    for r in results:
        note = "same file ingested before: nothing added" if r.skipped_duplicate_file else ""
        table.add_row(
            r.source,
            fmt_number(r.series_added),
            fmt_number(r.points_added),
            fmt_number(r.points_already_stored),
            note,
        )
    return table


def _series_rows(infos: list[SeriesInfo]) -> list[dict[str, object]]:
    return [
        {
            "series": i.name,
            "kind": i.kind,
            "points": i.points,
            "first": str(i.first),
            "last": str(i.last),
            "step": format_duration(i.step_seconds) if i.step_seconds else "",
            "gaps": i.gaps,
        }
        for i in infos
    ]


@app.command()
@handle_errors
def series(
    store: Path = typer.Option(Path(DEFAULT_STORE), "--store", help=STORE_HELP),
    glob: str | None = typer.Option(None, "--series", help="Only series matching this glob."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List stored series with point counts, time ranges, step and gaps.

    Example: `capplan series --store capplan.duckdb --series 'ec2_*'`
    """
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: csv, json, table")
    if not store.exists():
        raise UsageError(f"store {store} does not exist; create it with `capplan ingest FILE`")
    with Store(store, read_only=True) as db:
        rows = _series_rows(db.list_series(glob))
    if fmt == "json":
        emit(json.dumps(rows, indent=2) + "\n", None)
        return
    if fmt == "csv":
        emit(csv_text(rows), None)
        return
    table = Table(title=f"{len(rows)} series in {store}", title_justify="left", header_style="bold")
    for heading in ("series", "kind", "points", "first", "last", "step", "gaps"):
        table.add_column(heading, justify="right" if heading in ("points", "gaps") else "left")
    for r in rows:
        table.add_row(*[fmt_number(v) if isinstance(v, int) else str(v) for v in r.values()])
    emit(table, None)
