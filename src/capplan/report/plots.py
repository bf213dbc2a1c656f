"""Self-contained HTML charts (Plotly, JavaScript inlined so they open offline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capplan._types import Array

__all__ = ["MAX_PLOTTED_SERIES", "SeriesPlot", "forecast_html", "forecast_traces"]

MAX_PLOTTED_SERIES = 12
_BAND_COLOURS = {80: "rgba(31, 119, 180, 0.30)", 95: "rgba(31, 119, 180, 0.15)"}


@dataclass
class SeriesPlot:
    """History, forecast and intervals of one series, and the threshold to draw."""

    name: str
    history_t: npt.NDArray[np.datetime64]
    history_y: Array
    future_t: npt.NDArray[np.datetime64]
    mean: Array
    bands: dict[int, tuple[Array, Array]] = field(default_factory=dict)
    threshold: float | None = None
    note: str = ""


def _times(values: npt.NDArray[np.datetime64]) -> list[str]:
    return [str(t) for t in values.astype("datetime64[s]")]


def forecast_traces(s: SeriesPlot, *, legend: bool = True) -> list[go.Scatter]:
    """The interval bands (widest first), the history line and the dashed forecast mean of
    one series: the traces every forecast chart draws."""
    future = _times(s.future_t)
    traces = [
        go.Scatter(
            x=future + future[::-1],
            y=np.concatenate([hi, lo[::-1]]).tolist(),
            fill="toself",
            fillcolor=_BAND_COLOURS.get(level, "rgba(31, 119, 180, 0.2)"),
            line={"width": 0},
            name=f"{level}% interval",
            legendgroup=f"band{level}",
            showlegend=legend,
            hoverinfo="skip",
        )
        for level, (lo, hi) in sorted(s.bands.items(), reverse=True)
    ]
    traces.append(
        go.Scatter(
            x=_times(s.history_t),
            y=s.history_y.tolist(),
            mode="lines",
            name="history",
            line={"color": "#444", "width": 1},
            legendgroup="history",
            showlegend=legend,
        )
    )
    traces.append(
        go.Scatter(
            x=future,
            y=s.mean.tolist(),
            mode="lines",
            name="forecast",
            line={"color": "#1f77b4", "dash": "dash"},
            legendgroup="forecast",
            showlegend=legend,
        )
    )
    return traces


def forecast_html(series: Sequence[SeriesPlot], title: str) -> str:
    """One stacked panel per series (at most ``MAX_PLOTTED_SERIES``): history as a line, the
    forecast mean dashed, intervals as shaded bands (widest first), the threshold as a red
    horizontal line."""
    shown = list(series)[:MAX_PLOTTED_SERIES]
    rows = max(1, len(shown))
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=False,
        subplot_titles=[s.name + (f" — {s.note}" if s.note else "") for s in shown] or [title],
        vertical_spacing=min(0.08, 0.5 / rows),
    )
    for row, s in enumerate(shown, start=1):
        for trace in forecast_traces(s, legend=row == 1):
            fig.add_trace(trace, row=row, col=1)
        if s.threshold is not None:
            fig.add_hline(
                y=s.threshold,
                line={"color": "#d62728", "dash": "dot"},
                annotation_text=f"threshold {s.threshold:g}",
                row=row,
                col=1,
            )
    fig.update_layout(
        title=title,
        height=max(420, 300 * rows),
        template="plotly_white",
        hovermode="x unified",
    )
    return str(fig.to_html(full_html=True, include_plotlyjs=True))
