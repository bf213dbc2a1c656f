"""``capplan loadtest``: per-instance capacity and the USL from load-test results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from capplan.cli.app import app
from capplan.cli.errors import handle_errors
from capplan.cli.output import emit, write_text
from capplan.errors import UsageError
from capplan.loadtest import (
    Analysis,
    Limits,
    analyse,
    analysis_data,
    analysis_markdown,
    read_runs,
)
from capplan.units import duration_seconds

__all__ = ["loadtest_command", "loadtest_html", "parse_error_limit", "parse_latency_limit"]

_FORMATS = ("table", "json", "markdown")


def parse_latency_limit(text: str) -> float:
    """``500ms`` or ``1s`` → milliseconds."""
    try:
        return duration_seconds(text) * 1000
    except ValueError as exc:
        raise UsageError(f"--latency-limit: {exc}") from None


def parse_error_limit(text: str) -> float:
    """``1%`` or ``0.01`` → 0.01."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(
            f"--error-limit: expected a share (0.01) or a percentage (1%), got '{text}'"
        ) from None
    if not 0 <= value <= 1 or math.isnan(value):
        raise UsageError(f"--error-limit must be between 0 and 1 (0% and 100%), got '{text}'")
    return value


def _table(a: Analysis) -> RenderableType:
    table = Table(
        title=f"Load-test runs (limits: p95 ≤ {a.limits.latency_ms:g} ms, "
        f"errors ≤ {a.limits.error_rate:.2%})"
    )
    for heading in ("level", "req/s", "USL fit", "p95 ms", "errors", "run"):
        table.add_column(heading, justify="left" if heading == "run" else "right")
    for r in a.runs:
        fitted = f"{float(a.fit.throughput(r.level)):.1f}" if a.fit else "–"
        table.add_row(
            f"{r.level:g}",
            f"{r.throughput:.1f}",
            fitted,
            f"{r.p95_ms:.0f}",
            f"{r.error_rate:.2%}",
            r.source,
        )
    parts: list[RenderableType] = [table]
    if a.fit is not None:
        f = a.fit
        peak = (
            "never (κ = 0)"
            if math.isinf(f.peak_level)
            else (f"{f.peak_throughput:.1f} req/s at level {f.peak_level:.1f}")
        )
        parts.append(
            Text(
                f"USL: λ {f.lam:.4g}  σ {f.sigma:.4g}  κ {f.kappa:.4g}  "
                f"R² {f.r_squared:.4f}  peak {peak}"
            )
        )
    if a.capacity is not None:
        c = a.capacity
        parts.append(
            Text(
                f"Capacity per instance: {c.throughput:.1f} req/s at level "
                f"{c.level:.3g} — {c.reason}; bounded by {c.bound_by}",
                style="bold",
            )
        )
    else:
        parts.append(
            Text("Capacity per instance: none — every run breaks the limits", style="bold red")
        )
    parts += [Text(f"warning: {w}", style="yellow") for w in a.warnings]
    return Group(*parts)


def loadtest_html(a: Analysis) -> str:
    """A self-contained chart: the measured throughput by level and the fitted USL curve."""
    import numpy as np
    import plotly.graph_objects as go

    fig = go.Figure()
    levels = [r.level for r in a.runs]
    fig.add_trace(
        go.Scatter(
            x=levels,
            y=[r.throughput for r in a.runs],
            mode="markers",
            name="measured",
            text=[r.source for r in a.runs],
        )
    )
    if a.fit is not None:
        top = max(levels) * 1.2
        if math.isfinite(a.fit.peak_level):
            top = max(top, min(a.fit.peak_level * 1.2, max(levels) * 3))
        grid = np.linspace(min([*levels, 1.0]), top, 200)
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=a.fit.throughput(grid),
                mode="lines",
                name=f"USL σ={a.fit.sigma:.3g} κ={a.fit.kappa:.3g}",
            )
        )
    if a.capacity is not None:
        fig.add_hline(
            y=a.capacity.throughput,
            line_dash="dot",
            annotation_text=f"capacity {a.capacity.throughput:.1f} req/s",
        )
    fig.update_layout(
        title="capplan loadtest",
        xaxis_title="concurrency (VUs, users)",
        yaxis_title="throughput (req/s)",
        template="plotly_white",
    )
    return str(fig.to_html(full_html=True, include_plotlyjs=True))


@app.command("loadtest")
@handle_errors
def loadtest_command(
    files: list[Path] = typer.Argument(
        ...,
        help="Result files or directories: k6 --summary-export JSON, Locust *_stats.csv "
        "(with its *_stats_history.csv), FreeAgentics-format YAML or JSON; one run per "
        "concurrency level.",
    ),
    latency_limit: str = typer.Option(
        "500ms",
        "--latency-limit",
        help="Highest p95 latency a run may have (500ms, 1s).",
        metavar="DURATION",
    ),
    error_limit: str = typer.Option(
        "1%",
        "--error-limit",
        help="Highest error rate a run may have (1% or 0.01).",
        metavar="SHARE",
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or markdown."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write an HTML chart of the runs and the fitted USL (offline)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Fit the Universal Scalability Law to load-test runs and find the capacity of one
    instance: the largest throughput whose p95 latency and error rate stay within limits.

    Example: `capplan loadtest examples/loadtests/k6 --latency-limit 500ms`
    """
    if fmt not in _FORMATS:
        raise UsageError(f"unknown --format '{fmt}'; available: {', '.join(_FORMATS)}")
    limits = Limits(parse_latency_limit(latency_limit), parse_error_limit(error_limit))
    analysis = analyse(read_runs(files), limits)
    if plot is not None:
        write_text(plot, loadtest_html(analysis))
    if fmt == "json":
        emit(json.dumps(analysis_data(analysis), indent=2) + "\n", output)
    elif fmt == "markdown":
        emit(analysis_markdown(analysis), output)
    else:
        emit(_table(analysis), output)
