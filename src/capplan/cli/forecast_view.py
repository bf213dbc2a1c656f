"""How a forecast run is shown: the summary and runway tables, the warnings, the written
formats and the HTML chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from capplan.cli.output import emit, err_console, write_text
from capplan.forecast.run import ForecastRun
from capplan.formatting import fmt_age, fmt_number
from capplan.policy.freshness import default_max_age
from capplan.report.formats import csv_text
from capplan.report.plots import MAX_PLOTTED_SERIES, SeriesPlot, forecast_html

__all__ = ["short_label", "show_forecast", "stale_warning"]


def short_label(label: str) -> str:
    """A model label without parameters: ``mix(arima, seasonal_trend(window=504))`` →
    ``arima + seasonal_trend``; the part after ``; then`` likewise."""
    parts = []
    for part in label.split("; then "):
        inner = part[4:-1] if part.startswith("mix(") and part.endswith(")") else part
        names, depth, current = [], 0, ""
        for ch in inner:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                names.append(current.strip())
                current = ""
            elif depth == 0:
                current += ch
        names.append(current.strip())
        parts.append(" + ".join(dict.fromkeys(n for n in names if n)))
    return " → ".join(parts)


def _age(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return "in the future" if seconds < 0 else f"{fmt_age(seconds)} ago"


def stale_warning(run: ForecastRun) -> str | None:
    """A warning naming the series whose last sample is older than three steps: their
    forecast starts back then, not now."""
    limit = default_max_age(run.panel.step_seconds)
    old = [r for r in run.last_samples() if (r["age_seconds"] or 0) > limit]
    if not old:
        return None
    names = ", ".join(f"{r['series']} ({fmt_age(r['age_seconds'])})" for r in old[:5])
    more = f" and {len(old) - 5} more" if len(old) > 5 else ""
    return (
        f"the last sample of {names}{more} is older than {fmt_age(limit)}: "
        "their forecast starts at that sample, not now"
    )


def _summary(run: ForecastRun) -> RenderableType:
    fc, levels = run.result, run.levels
    widest = max(levels)
    table = Table(
        title=f"Forecast, {run.h} steps of {run.panel.step_seconds}s ahead",
        title_justify="left",
        header_style="bold",
    )
    heads = ("series", "model", "last sample", "last value", "forecast at end")
    for heading in (*heads, f"{widest}% interval"):
        table.add_column(heading, justify="left" if heading in heads[:3] else "right")
    for i, (name, last) in enumerate(zip(run.panel.ids, run.last_samples(), strict=True)):
        stamp = str(last["last_sample"])[:16].replace("T", " ")
        age = _age(last["age_seconds"])
        table.add_row(
            name,
            short_label(fc.model[i]),
            f"{stamp} ({age})" if age else stamp,
            fmt_number(float(run.panel.values[i, -1])),
            fmt_number(float(fc.mean[i, -1])),
            f"{fmt_number(float(fc.lower[widest][i, -1]))} – "
            f"{fmt_number(float(fc.upper[widest][i, -1]))}",
        )
    parts: list[RenderableType] = [table]
    if run.runways:
        parts.append(_runway_table(run))
    return Group(*parts)


def _when(r: dict[str, Any], prefix: str = "") -> str:
    """``2027-01-08 (2026-12-20 – 2027-01-30)``: the p50 date and the p10 – p90 range."""
    p50, p10, p90 = (r.get(f"{prefix}{q}") for q in ("p50", "p10", "p90"))
    if p50 is None and p10 is None:
        return "-"
    mid = str(p50)[:10] if p50 else "unlikely"
    low = str(p10)[:10] if p10 else "?"
    high = str(p90)[:10] if p90 else "later"
    return f"{mid} ({low} – {high})"


def _first(r: dict[str, Any]) -> Text:
    """The first-crossing cell: the dates, or how long the level has been passed."""
    if r.get("crossed_since"):
        return Text(str(r["message"]), style="bold red")
    if r.get("p50") is None and r.get("p10") is None:
        return Text("not within the horizon", style="green")
    return Text(_when(r), style="red" if r.get("p50") else "yellow")


def _urgency(r: dict[str, Any]) -> str:
    if r.get("crossed_since"):
        return "bold red"
    return "red" if r.get("p10") or r.get("trend_p10") else "green"


def _runway_table(run: ForecastRun) -> Table:
    thr = run.threshold
    assert thr is not None
    title = f"Runway to {thr.value:g}{thr.unit} ({thr.direction}), soonest first"
    table = Table(title=title, title_justify="left", header_style="bold")
    for heading in ("series", "first crossing, p50 (p10 – p90)", "trend crosses", ""):
        table.add_column(heading)
    rows = sorted(
        run.runway_rows(), key=lambda r: r["crossed_since"] or r["p10"] or r["p50"] or "9999"
    )
    for r in rows:
        crossed = bool(r.get("crossed_since"))
        table.add_row(
            r["series"],
            _first(r),
            _when(r, "trend_") if run.smooth > 1 and not crossed else "",
            "" if crossed else Text(r["message"], style=_urgency(r)),
        )
    return table


def _plan_runway_table(rows: list[dict[str, Any]], trend: bool) -> Table:
    table = Table(
        title="Runway to the plan's thresholds, soonest first",
        title_justify="left",
        header_style="bold",
    )
    heads = ["series", "threshold", "level", "first crossing, p50 (p10 – p90)"]
    if trend:
        heads.append("trend crosses")
    for heading in heads:
        table.add_column(heading)
    for r in rows:
        cells: list[str | Text] = [
            str(r["series"]),
            f"{r['threshold']} {'>' if r['direction'] == 'above' else '<'} {r['value']:g}",
            str(r["level"]),
            _first(r),
        ]
        if trend:
            cells.append("" if r.get("crossed_since") else _when(r, "trend_"))
        table.add_row(*cells)
    return table


def _plot(run: ForecastRun, path: Path) -> None:
    plots = []
    thr = run.threshold
    for i, name in enumerate(run.panel.ids[:MAX_PLOTTED_SERIES]):
        row = run.panel.values[i]
        keep = ~np.isnan(row)
        model = run.result.model[i]
        plots.append(
            SeriesPlot(
                name=name,
                history_t=run.panel.timestamps(i)[keep],
                history_y=row[keep],
                future_t=run.future[i],
                mean=run.result.mean[i],
                bands={lv: (run.result.lower[lv][i], run.result.upper[lv][i]) for lv in run.levels},
                threshold=thr.value if thr else None,
                note=f"{model}; {run.runways[i].message}" if run.runways else model,
            )
        )
    write_text(path, forecast_html(plots, "capplan forecast"))
    if len(run.panel.ids) > MAX_PLOTTED_SERIES:
        err_console.print(
            f"[yellow]note:[/yellow] the plot shows the first {MAX_PLOTTED_SERIES} of "
            f"{len(run.panel.ids)} series; narrow them with --series",
            soft_wrap=True,
        )
    err_console.print(f"Wrote {path}")


def show_forecast(run: ForecastRun, fmt: str, output: Path | None, plot: Path | None) -> None:
    """The run's warnings on stderr, the run as ``fmt`` (table, csv or json) to ``output``
    (default: stdout) and, with ``plot``, its chart written there."""
    stale = stale_warning(run)
    for warning in [*run.result.warnings, *([stale] if stale else [])]:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    if fmt == "json":
        emit(json.dumps(run.to_dict(), indent=2, allow_nan=False) + "\n", output)
    elif fmt == "csv":
        emit(csv_text(run.rows()), output)
        if run.runways or run.plan_runway:
            text = csv_text(run.plan_runway or run.runway_rows())
            if output is not None:
                write_text(output.with_suffix(".runway.csv"), text)
            else:
                err_console.print(text, end="", soft_wrap=True, markup=False)
    else:
        parts: list[RenderableType] = [_summary(run)]
        if run.plan_runway:
            parts.append(_plan_runway_table(run.plan_runway, run.smooth > 1))
        lines = [*run.recommendations(), *run.advice]
        if lines:
            parts.append(Text("\n".join(f"• {r}" for r in lines)))
        emit(Group(*parts), output)
    if plot is not None:
        _plot(run, plot)
