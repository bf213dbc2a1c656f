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

from capplan._types import AnyArray
from capplan.cli.app import SET_HELP, _load, app
from capplan.cli.errors import handle_errors
from capplan.cli.output import emit, err_console, write_text
from capplan.cli.trace_files import load_trace, load_traces
from capplan.errors import UsageError
from capplan.formatting import fmt_number
from capplan.policy.autoscale import SimulationResult
from capplan.policy.plan_sim import scaling_policies, simulate_plan
from capplan.policy.traces import trace_keys

__all__ = ["MAX_PLOT_POINTS", "load_trace", "simulate_command", "simulation_html"]

MAX_PLOT_POINTS = 5000
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
    for key in _metric_keys(results):
        for label, figure in (("p95 utilization (%)", "p95_utilization"),
                              ("time above critical", "seconds_above_critical")):  # fmt: skip
            cells = []
            for r in results:
                value = r.summary.metrics.get(key, {}).get(figure)
                cells.append("" if value is None else _cell(figure, _finite(value), r, currency))
            table.add_row(f"{key}: {label}", *cells)
    return table


def _metric_keys(results: list[SimulationResult]) -> list[str]:
    """The metrics of the results that have several (cpu, memory...), in order."""
    keys = [k for r in results if len(r.summary.metrics) > 1 for k in r.summary.metrics]
    return list(dict.fromkeys(keys))


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


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
        if key != "metrics":
            writer.writerow([key, *["" if d[key] is None else d[key] for d in dicts]])
    for key in _metric_keys(results):
        for figure in ("critical", "seconds_above_critical", "mean_utilization", "p95_utilization"):
            cells = [d["metrics"].get(key, {}).get(figure) for d in dicts]
            writer.writerow([f"{key}.{figure}", *["" if c is None else c for c in cells]])
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
        "component's capacity_per_instance (RPS, cores...); series named cpu, memory or "
        "after a policy's metric are that metric's traces.",
    ),
    store: Path | None = typer.Option(None, "--store", help="Read the trace from this store."),
    series: str | None = typer.Option(
        None, "--series", help="The load series, when the trace holds several."
    ),
    policies: list[str] | None = typer.Option(
        None,
        "--policy",
        help="Policy to simulate (repeatable; default: every step policy and HPA on CPU or "
        "memory, and the pods, external and queue policies whose metrics have a series).",
    ),
    step: str = typer.Option("15s", "--step", help="Simulation step the trace is regularized to."),
    agg: str = typer.Option("mean", "--agg", help="Aggregation onto the step: mean, max, p95..."),
    fill: str | None = typer.Option(None, "--fill", help="hold: carry the last value over gaps."),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    plot: Path | None = typer.Option(None, "--plot", help="Write an HTML chart (offline)."),
) -> None:
    """Simulate the plan's autoscaling policies (step rules, HPAs on one or several metrics,
    KEDA queue scalers) on a load trace and compare them side by side: time above the
    critical level, instance-hours, cost, scaling actions, oscillations.

    Example: `capplan simulate examples/apm.yaml --trace cpu.csv --plot sim.html`
    """
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"unknown --format '{fmt}'; available: csv, json, table")
    loaded = _load(plan_file, sets)
    available = scaling_policies(loaded)
    keys = [k for n, p in available.items() if not policies or n in policies for k in trace_keys(p)]
    traces = load_traces(trace, series, step, agg, fill, store, keys)
    results = simulate_plan(
        loaded,
        traces.load,
        series=traces.series,
        step_seconds=traces.step_seconds,
        start=traces.start,
        policies=policies,
    )
    steps = len(results[0].demand)
    start = traces.start
    name = ", ".join(traces.names.values())
    info = {
        "file": str(trace or store),
        "series": traces.names.get("load"),
        "metrics": {k: v for k, v in traces.names.items() if k != "load"},
        "start": f"{start}Z",
        "steps": steps,
        "step_seconds": traces.step_seconds,
    }
    if fmt == "json":
        emit(_json(results, info), output)
    elif fmt == "csv":
        emit(_csv(results), output)
    else:
        title = f"{loaded.system}: {steps:,} steps of {traces.step_seconds}s from {start}Z ({name})"
        emit(_table(results, title, loaded.currency), output)
    if plot is not None:
        write_text(plot, simulation_html(results, f"capplan simulate — {loaded.system}"))
        err_console.print(f"Wrote {plot}")
