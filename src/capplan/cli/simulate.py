"""``capplan simulate``: replay a load trace through the plan's scaling policies, side by side."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import typer
from plotly.subplots import make_subplots
from rich.table import Table

from capplan._types import AnyArray, Array
from capplan.cli.app import SET_HELP, _load, app
from capplan.cli.errors import handle_errors
from capplan.cli.forecasting import load_history
from capplan.cli.output import emit, err_console, write_text
from capplan.data import MetricFrame, to_panel
from capplan.errors import DataError, UsageError
from capplan.formatting import fmt_number
from capplan.policy.autoscale import SimulationResult, simulate_plan

__all__ = ["MAX_PLOT_POINTS", "load_trace", "simulate_command", "simulation_html"]

MAX_PLOT_POINTS = 5000
_VALUE_COLUMNS = ("value", "y", "val")
_SERIES_COLUMNS = ("series", "series_id", "unique_id", "id", "name", "metric", "metric_name")
_ROWS: tuple[tuple[str, str], ...] = (
    ("kind", "kind"),
    ("critical level (%)", "critical"),
    ("time above critical", "seconds_above_critical"),
    ("share above critical (%)", "share_above_critical"),
    ("instance-hours", "instance_hours"),
    ("cost", "cost"),
    ("scale-ups", "scale_ups"),
    ("scale-downs", "scale_downs"),
    ("oscillations", "oscillations"),
    ("max replicas", "max_replicas"),
    ("mean replicas", "mean_replicas"),
    ("mean utilization (%)", "mean_utilization"),
    ("p95 utilization (%)", "p95_utilization"),
)


def _negative_cell(path: Path, series: str) -> tuple[int | None, str | None]:
    """Line and column of the first negative value of ``series`` in a CSV file (best effort:
    the metric readers keep no line numbers once a file is read)."""
    if not path.name.lower().endswith((".csv", ".tsv")):
        return None, None
    base = series.split("{", 1)[0]
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        sample = fh.readline()
        fh.seek(0)
        delimiter = max(",;\t|", key=sample.count)
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        lower = [h.lower() for h in header]
        if base in header:
            col, key = header.index(base), None
        else:
            col = next((lower.index(v) for v in _VALUE_COLUMNS if v in lower), -1)
            key = next((lower.index(s) for s in _SERIES_COLUMNS if s in lower), None)
        if col < 0:
            return None, None
        for row in reader:
            if len(row) <= col or (key is not None and row[key].strip() != base):
                continue
            try:
                value = float(row[col])
            except ValueError:
                continue
            if value < 0:
                return reader.line_num, header[col]
    return None, None


def load_trace(
    path: Path | None,
    series: str | None,
    step: str,
    agg: str,
    fill: str | None,
    store: Path | None = None,
) -> tuple[Array, int, np.datetime64, str]:
    """Demand per step from a metric file: (values, step seconds, first time, series id).

    The trace is read from ``path``, else from the metric ``store`` (``--series`` picks the
    series). Errors name the file: several series without ``--series``, a negative value
    (with its line and column in a CSV file, and its time), a gap (its time range) unless
    ``fill`` is ``hold`` (carry the last value over the gap).
    """
    if fill not in (None, "hold"):
        raise UsageError(f"unknown --fill '{fill}'; available: hold")
    if (path is None) == (store is None):
        raise UsageError("give the load trace with --trace FILE or --store STORE (not both)")
    frame: MetricFrame = load_history([path] if path else None, store, series, None)
    source = str(path or store)
    if frame.n_series == 0:
        raise UsageError(f"{source} holds no series")
    if frame.n_series != 1:
        shown = ", ".join(frame.names[:10]) + (", ..." if frame.n_series > 10 else "")
        raise UsageError(
            f"{source} holds {frame.n_series} series ({shown}); choose one with --series"
        )
    name = frame.names[0]
    negative = frame.values < 0
    if negative.any():
        i = int(np.argmax(negative))
        line, column = _negative_cell(path, name) if path else (None, None)
        raise DataError(
            f"demand must be >= 0, got {frame.values[i]:g} at {frame.timestamps[i]}Z",
            file=source,
            row=line,
            column=column,
            series=name,
        )
    panel = to_panel(frame, step, agg, counters="rate")
    values = panel.values[0].copy()
    stamps = panel.timestamps(0)
    empty = panel.counts[0] == 0
    if empty.any():
        if fill is None:
            first = int(np.argmax(empty))
            after = np.flatnonzero(~empty[first:])
            last = first + (int(after[0]) if after.size else len(empty) - first) - 1
            raise DataError(
                f"the trace has a gap: no data from {stamps[first]}Z to "
                f"{stamps[last] + np.timedelta64(panel.step_seconds, 's')}Z "
                f"({last - first + 1} steps of {panel.step_seconds}s; {int(empty.sum())} empty "
                "steps in all); fill gaps with --fill hold or use a longer --step",
                file=source,
                series=name,
            )
        idx = np.where(empty, 0, np.arange(len(values)))
        np.maximum.accumulate(idx, out=idx)
        values = values[idx]
    return values, panel.step_seconds, stamps[0], name


def _cell(key: str, value: Any, result: SimulationResult, currency: str) -> str:
    if key == "kind":
        return str(value)
    if key == "seconds_above_critical":
        return _duration_text(float(value))
    if key == "share_above_critical":
        return f"{100 * float(value):.2f}"
    if key == "cost":
        return f"{fmt_number(float(value))} {currency}"
    if value is None:
        return "inf"
    if isinstance(value, int):
        return f"{value:,}"
    return fmt_number(float(value))


def _duration_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _table(results: list[SimulationResult], title: str, currency: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("")
    for r in results:
        table.add_column(r.policy, justify="right")
    for label, key in _ROWS:
        cells = []
        for r in results:
            value = r.kind if key == "kind" else r.summary.to_dict()[key]
            cells.append(_cell(key, value, r, currency))
        table.add_row(label, *cells)
    return table


def _json(results: list[SimulationResult], trace: dict[str, Any]) -> str:
    doc = {
        "trace": trace,
        "policies": {r.policy: {"kind": r.kind, **r.summary.to_dict()} for r in results},
    }
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _csv(results: list[SimulationResult]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["figure", *[r.policy for r in results]])
    writer.writerow(["kind", *[r.kind for r in results]])
    dicts = [r.summary.to_dict() for r in results]
    for key in dicts[0]:
        writer.writerow([key, *["" if d[key] is None else d[key] for d in dicts]])
    return buf.getvalue()


def _thin(values: AnyArray, bucket: int) -> AnyArray:
    """The maximum of each bucket of ``bucket`` points (peaks stay visible)."""
    if bucket <= 1:
        return values
    n = len(values) // bucket * bucket
    head = values[:n].reshape(-1, bucket).max(axis=1)
    return np.concatenate([head, values[n:].max(keepdims=True)]) if n < len(values) else head


def simulation_html(results: list[SimulationResult], title: str) -> str:
    """A self-contained chart: demand; requested and ready replicas per policy; utilization
    per policy with the critical level. Long traces are shown as per-bucket maxima."""
    first = results[0]
    bucket = max(1, -(-len(first.times) // MAX_PLOT_POINTS))
    times = [str(t) for t in first.times[::bucket]]
    note = f" (maximum of every {bucket} steps)" if bucket > 1 else ""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        subplot_titles=["Demand" + note, "Replicas (solid: requested, dotted: ready)",
                        "Utilization (%)"],
        vertical_spacing=0.07,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=times, y=_thin(first.demand, bucket).tolist(), name="demand",
                   line={"color": "#444", "width": 1}),
        row=1, col=1,
    )  # fmt: skip
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    for i, r in enumerate(results):
        colour = palette[i % len(palette)]
        fig.add_trace(
            go.Scatter(x=times, y=_thin(r.replicas, bucket).tolist(), name=f"{r.policy} replicas",
                       line={"color": colour, "shape": "hv"}, legendgroup=r.policy),
            row=2, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=times, y=_thin(r.ready, bucket).tolist(), name=f"{r.policy} ready",
                       line={"color": colour, "dash": "dot", "shape": "hv"},
                       legendgroup=r.policy, showlegend=False),
            row=2, col=1,
        )  # fmt: skip
        util = np.minimum(r.utilization, 1000.0)  # no infinities in a chart
        fig.add_trace(
            go.Scatter(x=times, y=_thin(util, bucket).tolist(), name=f"{r.policy} utilization",
                       line={"color": colour, "width": 1}, legendgroup=r.policy),
            row=3, col=1,
        )  # fmt: skip
    for level in sorted({r.summary.critical for r in results}):
        fig.add_hline(y=level, line={"color": "red", "dash": "dash"}, row=3, col=1,
                      annotation_text=f"critical {level:g}%")  # fmt: skip
    fig.update_layout(title=title, height=900, hovermode="x unified")
    return str(fig.to_html(full_html=True, include_plotlyjs=True))


@app.command("simulate")
@handle_errors
def simulate_command(
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    trace: Path | None = typer.Option(
        None,
        "--trace",
        help="Load trace (CSV, Parquet or Prometheus text), in the unit of the "
        "component's capacity_per_instance (RPS, cores...).",
    ),
    store: Path | None = typer.Option(None, "--store", help="Read the trace from this store."),
    series: str | None = typer.Option(None, "--series", help="Series of the trace to use."),
    policies: list[str] | None = typer.Option(
        None, "--policy", help="Policy to simulate (repeatable; default: every step/hpa policy)."
    ),
    step: str = typer.Option("15s", "--step", help="Simulation step the trace is regularized to."),
    agg: str = typer.Option("mean", "--agg", help="Aggregation onto the step: mean, max, p95..."),
    fill: str | None = typer.Option(None, "--fill", help="hold: carry the last value over gaps."),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    plot: Path | None = typer.Option(None, "--plot", help="Write an HTML chart (offline)."),
) -> None:
    """Simulate the plan's autoscaling policies on a load trace and compare them side by side:
    time above the critical level, instance-hours, cost, scaling actions, oscillations.

    Example: `capplan simulate examples/apm.yaml --trace cpu.csv --plot sim.html`
    """
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: csv, json, table")
    loaded = _load(plan_file, sets)
    demand, step_s, start, name = load_trace(trace, series, step, agg, fill, store)
    results = simulate_plan(loaded, demand, step_seconds=step_s, start=start, policies=policies)
    info = {
        "file": str(trace or store),
        "series": name,
        "start": f"{start}Z",
        "steps": len(demand),
        "step_seconds": step_s,
    }
    if fmt == "json":
        emit(_json(results, info), output)
    elif fmt == "csv":
        emit(_csv(results), output)
    else:
        title = f"{loaded.system}: {len(demand):,} steps of {step_s}s from {start}Z ({name})"
        emit(_table(results, title, loaded.currency), output)
    if plot is not None:
        write_text(plot, simulation_html(results, f"capplan simulate — {loaded.system}"))
        err_console.print(f"Wrote {plot}")
