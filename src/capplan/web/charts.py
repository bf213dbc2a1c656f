"""Plotly charts of the dashboard, rendered to ``<div>``s (plotly.js is served once, locally).

No inline script: each chart is an empty ``<div data-figure=ID>`` and its figure a JSON data
block (``<script type="application/json" id=ID>``, which no browser runs); the page's
``/static/charts.js`` draws them. So the Content-Security-Policy allows only scripts
served by the service itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from capplan.compare.review import PlanReview
from capplan.engine.projection import Projection
from capplan.forecast.run import ForecastRun
from capplan.formatting import money_affixes
from capplan.report.plots import SeriesPlot, forecast_traces
from capplan.web.snapshot import RunwayRow

__all__ = [
    "cost_chart",
    "events_chart",
    "forecast_chart",
    "money_axis",
    "plan_actual_chart",
    "scenario_chart",
]

_SEVERITY_COLOURS = {"info": "#1f77b4", "warning": "#ff7f0e", "critical": "#d62728"}


# what could end a <script> data block or start markup is written as a JSON escape
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


# Legends go in one row under the plot, so they never cover the title or the right axis.
_LEGEND = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": -0.12,
    "yanchor": "top",
    "traceorder": "normal",  # left to right as drawn, stacked bars too
}


# Trace colours without red, which the dashboard keeps for critical and over capacity.
_COLOURS = [
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#7f7f7f",
]


def _div(fig: go.Figure, height: int = 380) -> str:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"t": 50, "b": 30},
        legend=_LEGEND,
        colorway=_COLOURS,
    )
    figure = str(pio.to_json(fig, validate=False)).translate(_JSON_ESCAPES)
    chart = f"chart-{uuid.uuid4().hex}"
    return (
        f'<div id="{chart}" class="plotly-graph-div" data-figure="{chart}-figure"></div>'
        f'<script type="application/json" id="{chart}-figure">{figure}</script>'
    )


def money_axis(currency: str, **axis: object) -> dict[str, object]:
    """A y axis of amounts in ``currency``: ticks and hover labels carry its symbol (``$25k``)
    or its code (``25k CHF``), and billions are ``B``, not ``G``."""
    prefix, suffix = money_affixes(currency)
    return {
        "tickprefix": prefix,
        "ticksuffix": suffix,
        "exponentformat": "B",
        "separatethousands": True,
        "rangemode": "tozero",
        **axis,
    }


def _period_edges(p: Projection, first: int, last: int) -> tuple[str, str]:
    """Where the bars of periods ``first`` to ``last`` begin and end on a date axis: half way
    to the neighbouring periods' dates (bars are centred on their dates)."""
    tl = p.timeline
    when = [np.datetime64(tl.date(t), "s") for t in range(tl.periods + 1)]
    step = when[1] - when[0] if len(when) > 1 else np.timedelta64(30 * 86400, "s")
    before = when[first - 1] if first > 0 else when[first] - step
    after = when[last + 1] if last < tl.periods else when[last] + step
    start = when[first] - (when[first] - before) // 2
    end = when[last] + (after - when[last]) // 2
    return str(start), str(end)


def cost_chart(p: Projection) -> str:
    """Monthly cost per component, stacked, and the cumulative cost; the periods from the
    first over capacity on are shaded. Empty when the plan costs nothing (no prices)."""
    if not np.any(np.asarray(p.values["total.cost"])):
        return ""
    dates = [p.timeline.date(t).isoformat() for t in range(p.timeline.periods + 1)]
    fig = go.Figure()
    for name in p.plan.components:
        col = p.values.get(f"{name}.cost")
        if col is not None:
            fig.add_trace(go.Bar(x=dates, y=np.asarray(col).tolist(), name=name))
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=np.asarray(p.values["total.cumulative_cost"]).tolist(),
            name="cumulative",
            yaxis="y2",
            line={"color": "#444", "dash": "dot"},
        )
    )
    over = p.over_capacity_components
    if over:  # the periods from the first over capacity on, shaded and named
        x0, x1 = _period_edges(p, min(over.values()), p.timeline.periods)
        fig.add_vrect(
            x0=x0,
            x1=x1,
            fillcolor="#d62728",
            opacity=0.08,
            line_width=0,
            layer="below",
            annotation_text="over capacity: " + ", ".join(over),
            annotation_position="outside top left",
            annotation_xanchor="left",
            annotation_font={"color": "#c00"},
        )
    fig.update_layout(
        barmode="stack",
        title=f"Cost per period ({p.plan.currency})",
        yaxis=money_axis(p.plan.currency),
        yaxis2=money_axis(
            p.plan.currency,
            overlaying="y",
            side="right",
            title="cumulative",
            tickmode="auto",
            showgrid=False,
        ),
    )
    return _div(fig)


def events_chart(p: Projection) -> str:
    """Scaling events and alerts over time, one row per component, coloured by severity;
    empty when there is none."""
    if not p.events:
        return ""
    fig = go.Figure()
    for severity, colour in _SEVERITY_COLOURS.items():
        events = [e for e in p.events if e.severity == severity]
        if not events:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p.timeline.date(e.period).isoformat() for e in events],
                y=[e.component or "plan" for e in events],
                mode="markers",
                marker={"size": 12, "color": colour},
                name=severity,
                text=[e.message for e in events],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    fig.update_layout(title="Scaling events and alerts")
    return _div(fig, 320)


def scenario_chart(projections: Mapping[str, Projection]) -> str:
    """Monthly cost of every scenario over the horizon; empty when the plan costs nothing."""
    if not any(np.any(np.asarray(p.values["total.cost"])) for p in projections.values()):
        return ""
    fig = go.Figure()
    for name, p in projections.items():
        dates = [p.timeline.date(t).isoformat() for t in range(p.timeline.periods + 1)]
        fig.add_trace(
            go.Scatter(
                x=dates, y=np.asarray(p.values["total.cost"]).tolist(), name=name, showlegend=True
            )
        )
    currency = next(iter(projections.values())).plan.currency
    fig.update_layout(title=f"Cost per period by scenario ({currency})", yaxis=money_axis(currency))
    return _div(fig)


def forecast_chart(
    run: ForecastRun, series: str, history: tuple[object, object], runways: list[RunwayRow]
) -> str:
    """History, forecast mean, interval bands (widest first) and the threshold levels."""
    i = run.panel.index(series)
    ts, ys = history
    plot = SeriesPlot(
        name=series,
        history_t=np.asarray(ts).astype("datetime64[s]"),
        history_y=np.asarray(ys, dtype=np.float64),
        future_t=run.future[i],
        mean=run.result.mean[i],
        bands={lv: (run.result.lower[lv][i], run.result.upper[lv][i]) for lv in run.levels},
    )
    fig = go.Figure(forecast_traces(plot))
    for row in {(r.level, r.value) for r in runways}:
        colour = "#ff7f0e" if row[0] == "warning" else "#d62728"
        fig.add_hline(
            y=row[1], line={"color": colour, "dash": "dot"}, annotation_text=f"{row[0]} {row[1]:g}"
        )
    fig.update_layout(title=series, hovermode="x unified")
    return _div(fig, 460)


def plan_actual_chart(review: PlanReview, figure: str) -> str:
    """One figure of a plan-vs-actual review: the projected line and its P10-P90 band over
    the whole horizon, the actuals, and the projection re-anchored on the last actual."""
    fig_review = next(f for f in review.figures if f.name == figure)
    p = review.projection
    tl = p.timeline
    dates = [tl.date(t).isoformat() for t in range(tl.periods + 1)]
    fig = go.Figure()
    q = p.quantiles.get(figure)
    if q is not None:
        fig.add_trace(
            go.Scatter(x=dates, y=np.asarray(q[2]).tolist(), name="P90", line={"width": 0})
        )
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=np.asarray(q[0]).tolist(),
                name="P10-P90",
                fill="tonexty",
                line={"width": 0},
                fillcolor="rgba(31,119,180,0.15)",
            )
        )
    fig.add_trace(go.Scatter(x=dates, y=np.asarray(p.values[figure]).tolist(), name="projected"))
    seen = [r for r in fig_review.rows if r.actual is not None]
    fig.add_trace(
        go.Scatter(
            x=[tl.date(r.period).isoformat() for r in seen],
            y=[r.actual for r in seen],
            name="actual",
            mode="lines+markers",
            line={"color": "#d62728"},
        )
    )
    ra = review.reanchor
    if ra is not None and figure in ra.projection.values:
        rtl = ra.projection.timeline
        last = tl.date(tl.periods)
        shown = [t for t in range(rtl.periods + 1) if rtl.date(t) <= last]
        fig.add_trace(
            go.Scatter(
                x=[rtl.date(t).isoformat() for t in shown],
                y=[float(ra.projection.values[figure][t]) for t in shown],
                name="re-anchored",
                line={"dash": "dash", "color": "#2ca02c"},
            )
        )
    unit = f" ({fig_review.unit})" if fig_review.unit else ""
    fig.update_layout(title=f"{figure}{unit}: plan vs actual")
    return _div(fig)
