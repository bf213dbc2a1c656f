"""``capplan forecast`` and ``capplan backtest``: forecasts with intervals and runway."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Group
from rich.table import Table

from capplan.cli import fleet
from capplan.cli import source_options as prom
from capplan.cli.app import app
from capplan.cli.errors import handle_errors
from capplan.cli.forecast_flags import (
    check_windows,
    history_panel,
    horizon_steps,
    parse_bounds,
    parse_horizon,
    parse_levels,
    parse_threshold,
)
from capplan.cli.forecast_view import show_forecast
from capplan.cli.output import emit, forecast_progress
from capplan.cli.stdin_files import stdin_as_file
from capplan.data import AGGREGATIONS, DEFAULT_STORE, MetricFrame, Store, concat, read_file
from capplan.data.prometheus import PrometheusOptions, pull_plan_metrics
from capplan.errors import UsageError
from capplan.forecast import MODELS, BlockRunner
from capplan.forecast.options import RunwayLevel
from capplan.forecast.run import ForecastOptions, ForecastRun, run_backtest, run_on_panel
from capplan.plan import load_plan
from capplan.plan.models import Plan
from capplan.policy.freshness import parse_instant, wall_clock
from capplan.report.formats import csv_text
from capplan.units import duration_seconds

INPUT_HELP = "CSV, Parquet or Prometheus text files (or use --store)."


def load_history(
    files: list[Path] | None,
    store: Path | None,
    glob: str | None,
    since: str | None,
    now: np.datetime64 | None = None,
) -> MetricFrame:
    """Points from files, or from the store, limited to ``glob`` and to the ``since`` before
    ``now`` (default: the current time)."""
    if files and store is not None:
        raise UsageError("give metric files or --store, not both")
    if files:
        with stdin_as_file(files) as paths:
            frame = concat([read_file(f) for f in paths or []])
        frame = frame.select(glob) if glob else frame
    else:
        path = store or Path(DEFAULT_STORE)
        if not path.exists():
            raise UsageError(f"store {path} does not exist; give metric files or ingest them first")
        with Store(path, read_only=True) as db:
            frame = db.load(glob)
    if since is not None and frame.values.size:
        try:
            seconds = duration_seconds(since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
        end = wall_clock() if now is None else now
        cutoff = end - np.timedelta64(int(seconds), "s")
        newest = frame.timestamps.max()
        frame = frame.take(frame.timestamps >= cutoff)
        if frame.values.size == 0:
            stamp = np.datetime_as_string(newest.astype("datetime64[s]"), unit="m")
            raise UsageError(
                f"no samples in the last {since} before {np.datetime_as_string(end, unit='m')}: "
                f"the newest is from {stamp}; give --now to look at an old export as of then"
            )
    if glob and frame.values.size == 0:
        raise UsageError(f"no series matches --series '{glob}'")
    return frame


_MODEL_NAMES = "auto (the best per series and lead time), " + ", ".join(
    name for name in MODELS.names() if name != "auto"
)
_AGGS = ", ".join(AGGREGATIONS).replace("pNN", "pNN (p95, p99...)")


@app.command("forecast")
@handle_errors
@prom.with_connection_options
def forecast_command(
    ctx: typer.Context,
    files: list[Path] | None = typer.Argument(None, help=INPUT_HELP),
    store: Path | None = typer.Option(None, "--store", help="DuckDB store to read from."),
    glob: str | None = typer.Option(None, "--series", help="Only series matching this glob."),
    horizon: str = typer.Option(..., "--horizon", help="How far ahead: 14d, 48h, or steps."),
    step: str | None = typer.Option(None, "--step", help="Regular step (default: the data's)."),
    agg: str = typer.Option("mean", "--agg", help=f"Aggregation onto the step: {_AGGS}."),
    since: str | None = typer.Option(None, "--since", help="Use only the last 30d of history."),
    model: str = typer.Option("auto", "--model", help=f"Forecast model: {_MODEL_NAMES}."),
    levels: str = typer.Option("80,95", "--levels", help="Interval levels in percent."),
    threshold: str | None = typer.Option(None, "--threshold", help="80, or 90% of --capacity."),
    capacity: float | None = typer.Option(None, "--capacity", help="Capacity for a % threshold."),
    direction: str = typer.Option("above", "--direction", help="Crossing above or below."),
    bounds: str | None = typer.Option(
        None,
        "--bounds",
        help="LOWER,UPPER the metric can take (0,100 for a percentage; either may be empty): "
        "forecasts and intervals are clipped to it. Default: from the plan's metric units.",
    ),
    now: str | None = typer.Option(
        None,
        "--now",
        help="Forecast as of this time (default: now): --since counts back from it and the "
        "age of each series' last sample is counted to it.",
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    plot: Path | None = typer.Option(None, "--plot", help="Write an HTML chart (offline)."),
    plan_file: Path | None = typer.Option(
        None, "--plan", help="Runway to every level of this plan's thresholds."
    ),
    prometheus: str | None = prom.url_option(
        "With --plan: pull the plan metrics' queries from here (not with files or --store)."
    ),
    cluster: str | None = fleet.cluster_option(),
    *,
    connection: PrometheusOptions,
) -> None:
    """Forecast metric history with intervals, and the runway to a threshold.

    With `--plan`, the runway is computed to each warning, critical and emergency level of
    the plan's thresholds on observed metrics; with `--prometheus` too, fresh history is
    pulled for every metric of the plan that names a `query` (over `--since`, default 30d).

    CSV output is long format: series,timestamp,mean,lo80,hi80,lo95,hi95; with a threshold
    the runway table goes to stderr (or, with --output, to FILE.runway.csv).

    Example: `capplan forecast cpu.csv --horizon 14d --threshold 80 --plot cpu.html`
    """
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: csv, json, table")
    thr = parse_threshold(threshold, capacity, direction) if threshold is not None else None
    if thr is None and capacity is not None:
        raise UsageError("--capacity needs --threshold, e.g. --threshold 90% --capacity 500")
    plan = load_plan(plan_file) if plan_file is not None else None
    instant = parse_instant(now) if now is not None else wall_clock()
    if prom.ambient(ctx) and (files or store is not None or plan is None):
        prometheus = None  # another source given: the URL from the environment is not asked for
    if prometheus is not None:
        if plan is None:
            raise UsageError("--prometheus needs --plan (whose metrics name the queries)")
        options = connection
        frame = _pull_plan_metrics(plan, prometheus, options, since, step, instant)
    else:
        frame = load_history(files, store, glob, since, instant)
    with fleet.cluster_runner(cluster) as runner:
        run = _forecast(
            frame, plan, thr, instant, step, agg, model, horizon, levels, bounds, runner
        )
    if output is not None and output.suffix == ".parquet":
        fleet.write_parquet(run.rows(), output)  # the CSV rows, as Parquet
        return
    show_forecast(run, fmt, output, plot)


def _pull_plan_metrics(
    plan: Plan,
    prometheus: str,
    options: PrometheusOptions,
    since: str | None,
    step: str | None,
    instant: np.datetime64,
) -> MetricFrame:
    """The history of the plan's metrics that name a query, pulled as of ``instant``."""
    at = float(instant.astype("datetime64[s]").astype(np.int64))
    with options.client(prometheus) as client:
        return pull_plan_metrics(plan, client, since or "30d", step, now=at, limits=options.limits)


def _forecast(
    frame: MetricFrame,
    plan: Plan | None,
    thr: RunwayLevel | None,
    instant: np.datetime64,
    step: str | None,
    agg: str,
    model: str,
    horizon: str,
    levels: str,
    bounds: str | None,
    runner: BlockRunner | None = None,
) -> ForecastRun:
    """The forecast run the flags ask for (``step`` to ``bounds`` as typed), shown as it runs."""
    with forecast_progress(frame.compact().n_series) as progress:
        wanted = parse_levels(levels)
        limits = parse_bounds(bounds) if bounds is not None else None
        MODELS.get(model)  # unknown names fail before the data is regularized
        panel = history_panel(frame, step, agg)
        asked = ForecastOptions(
            horizon_steps(parse_horizon(horizon), panel.step_seconds),
            model=model,
            levels=wanted,
            threshold=thr,
            bounds=limits,
            plans=(plan,) if plan is not None else (),
            now=instant,
        )
        return run_on_panel(panel, asked, progress=progress, runner=runner)


@app.command("backtest")
@handle_errors
def backtest_command(
    files: list[Path] | None = typer.Argument(None, help=INPUT_HELP),
    store: Path | None = typer.Option(None, "--store", help="DuckDB store to read from."),
    glob: str | None = typer.Option(None, "--series", help="Only series matching this glob."),
    horizon: str = typer.Option(..., "--horizon", help="Forecast length: 24h, 7d, or steps."),
    windows: int = typer.Option(3, "--windows", help="Rolling-origin test windows."),
    models: list[str] | None = typer.Option(
        None, "--model", help=f"Models to score, repeatable (default: all): {_MODEL_NAMES}."
    ),
    step: str | None = typer.Option(None, "--step", help="Regular step (default: the data's)."),
    agg: str = typer.Option("mean", "--agg", help=f"Aggregation onto the step: {_AGGS}."),
    levels: str = typer.Option("80,95", "--levels", help="Interval levels in percent."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Score forecast models on the last windows of history: MASE, sMAPE, interval coverage.

    Example: `capplan backtest nab/*.csv --step 1h --horizon 24h --windows 3`
    """
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: csv, json, table")
    frame = load_history(files, store, glob, None)
    wanted = parse_levels(levels)
    for name in models or ():
        MODELS.get(name)  # unknown names fail before the data is regularized
    check_windows(windows)
    panel = history_panel(frame, step, agg)
    h = horizon_steps(parse_horizon(horizon), panel.step_seconds)
    result = run_backtest(panel, h, models=models or (), windows=windows, levels=wanted)
    per_series = []
    for m, name in enumerate(result.models):
        for s, series_name in enumerate(panel.ids):
            row: dict[str, object] = {
                "model": name,
                "series": series_name,
                "mase": _num(result.mase[m, s]),
                "smape": _num(result.smape[m, s]),
            }
            row.update({f"coverage{lv}": _num(c[m, s]) for lv, c in result.coverage.items()})
            per_series.append(row)
    summary = result.summary()
    if fmt == "json":
        data = {"windows": windows, "summary": summary, "per_series": per_series}
        emit(json.dumps(data, indent=2, default=_num) + "\n", output)
    elif fmt == "csv":
        emit(csv_text(per_series), output)
    else:
        emit(_backtest_tables(summary, per_series), output)


def _num(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if not np.isfinite(number) else round(number, 6)


def _backtest_tables(
    summary: list[dict[str, object]], per_series: list[dict[str, object]]
) -> Group:
    keys = [k for k in per_series[0] if k not in ("model", "series")] if per_series else []
    detail = Table(title="Per model and series", title_justify="left", header_style="bold")
    detail.add_column("model")
    detail.add_column("series")
    for k in keys:
        detail.add_column(k, justify="right")
    for row in per_series:
        detail.add_row(
            str(row["model"]),
            str(row["series"]),
            *[_fmt(row[k], k) for k in keys],
        )
    totals = Table(title="Mean and median over series", title_justify="left", header_style="bold")
    totals.add_column("model")
    cols = [k for k in summary[0] if k != "model"] if summary else []
    for k in cols:
        totals.add_column(k.replace("_", " "), justify="right")
    for row in summary:
        totals.add_row(str(row["model"]), *[_fmt(row[k], k) for k in cols])
    return Group(detail, totals)


def _fmt(value: object, key: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    number = float(value)  # type: ignore[arg-type]
    if key.startswith("coverage"):
        return f"{number:.0%}"
    return f"{number:.3f}" if key != "seconds" else f"{number:.2f}s"
