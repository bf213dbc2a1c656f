"""A :class:`~capplan.report.periodic.PeriodicReport` as one self-contained HTML file: the
sections of :func:`~capplan.report.periodic_text.report_sections`, with Plotly charts whose
plotly.js is inlined, so the file opens offline (and prints to PDF) with no request at all.

Charts: each series over the period, the previous period dotted beside it, with the levels of
the thresholds on it; monthly, the plan's cost per month against ``budget.monthly_limit``.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from capplan.report.periodic import MetricSummary, PeriodicReport
from capplan.report.periodic_text import Block, report_head, report_sections

__all__ = ["periodic_html"]

_LEVEL_COLOURS = {"warning": "#ff7f0e", "critical": "#d62728", "emergency": "#7f0000"}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 980px; margin: 24px auto; padding: 0 16px; font-size: 14px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 3px; }
table { border-collapse: collapse; margin: 8px 0; width: 100%; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; white-space: nowrap; }
.status-ok { color: #2a7a2a; } .status-warning, .status-stale { color: #b36b00; }
.status-critical { color: #c00; } .warning { color: #b00; font-weight: bold; }
.chart { width: 100%; break-inside: avoid; page-break-inside: avoid; }
.meta { color: #555; margin: 2px 0; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}$")
_NUMERIC = {"samples", "average", "peak", "p95", "previous", "firings", "time firing", "amount"}


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    # a "</script>" inside the library would end the element early
    return str(get_plotlyjs()).replace("</script>", "<\\/script>")


def _figure_html(fig: go.Figure, chart_id: str) -> str:
    fig.update_layout(
        template="plotly_white",
        height=300,
        margin={"t": 40, "b": 30, "l": 50, "r": 20},
        legend={"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
    )
    return (
        '<div class="chart">'
        + str(
            pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs=False,
                div_id=chart_id,
                default_height="300px",
                default_width="100%",
                config={"displaylogo": False, "responsive": True, "staticPlot": False},
            )
        )
        + "</div>"
    )


def _metric_chart(rep: PeriodicReport, m: MetricSummary, chart_id: str) -> str:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.datetime_as_string(m.times, unit="m").tolist(),
            y=m.values.tolist(),
            name=f"{m.series} ({rep.kind} period)",
            line={"color": "#1f77b4", "width": 1.5},
        )
    )
    if m.average is not None:
        fig.add_hline(
            y=m.average,
            line={"color": "#2ca02c", "dash": "dash", "width": 1},
            annotation_text=f"average {m.average:.4g}",
            annotation_position="bottom left",
        )
    for f in rep.firings:
        if f.series == m.series:
            fig.add_hline(
                y=f.value,
                line={"color": _LEVEL_COLOURS.get(f.level, "#d62728"), "dash": "dot", "width": 1},
                annotation_text=f"{f.threshold} {f.level} {f.value:g}",
                annotation_position="top left",
            )
    unit = f" ({m.unit})" if m.unit else ""
    fig.update_layout(title=f"{m.series}{unit}", showlegend=False)
    return _figure_html(fig, chart_id)


def _cost_chart(rep: PeriodicReport, chart_id: str) -> str:
    p = rep.projection
    if p is None:
        return ""
    dates = [p.timeline.date(t).isoformat() for t in range(p.timeline.periods + 1)]
    cost = np.asarray(p.values["total.cost"], dtype=np.float64).tolist()
    month = rep.today.replace(day=1).isoformat()
    colours = ["#ff7f0e" if d[:7] == month[:7] else "#1f77b4" for d in dates]
    fig = go.Figure(go.Bar(x=dates, y=cost, marker={"color": colours}, name="planned cost"))
    limit = rep.budget.limit if rep.budget else None
    if limit:
        fig.add_hline(
            y=limit,
            line={"color": "#d62728", "dash": "dash"},
            annotation_text=f"monthly limit {limit:,.0f}",
            annotation_position="top left",
        )
        fig.add_hline(
            y=0.8 * limit,
            line={"color": "#ff7f0e", "dash": "dot"},
            annotation_text="80% of the limit",
            annotation_position="bottom left",
        )
    fig.update_layout(
        title=f"Planned cost per period ({p.plan.currency}); this month in orange", showlegend=False
    )
    return _figure_html(fig, chart_id)


def _cell(value: str, heading: str) -> str:
    cls = ' class="num"' if heading in _NUMERIC or _DAY.match(value) else ""
    if heading == "now" and value in ("ok", "warning", "critical", "stale"):
        return f'<td class="status-{value}">{html.escape(value)}</td>'
    return f"<td{cls}>{html.escape(value)}</td>"


def _block(rep: PeriodicReport, b: Block, n: int) -> str:
    if b.chart:
        chart_id = f"chart-{n}"
        if b.chart == "cost":
            return _cost_chart(rep, chart_id)
        series = b.chart.removeprefix("metric:")
        m = next((m for m in rep.metrics if m.series == series), None)
        return "" if m is None or not m.samples else _metric_chart(rep, m, chart_id)
    if b.headings:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headings)
        rows = "".join(
            "<tr>" + "".join(_cell(v, h) for v, h in zip(r, b.headings, strict=False)) + "</tr>"
            for r in b.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if b.items:
        return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b.items) + "</ul>"
    cls = ' class="warning"' if b.strong else ""
    return f"<p{cls}>{html.escape(b.text)}</p>"


def periodic_html(rep: PeriodicReport, link: str | None = None) -> str:
    """The report as one HTML page that needs nothing else (plotly.js is inside)."""
    parts = [f"<h1>{html.escape(rep.title)}</h1>"]
    parts.append(f'<p class="meta">{html.escape(report_head(rep)[0])}</p>')
    parts.append(
        '<p class="meta">Status of the thresholds at the end of the period: '
        f'<b class="status-{rep.status}">{rep.status}</b></p>'
    )
    if link:
        url = html.escape(link, quote=True)
        parts.append(f'<p class="meta">Online: <a href="{url}">{url}</a></p>')
    n = 0
    for heading, blocks in report_sections(rep):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for b in blocks:
            n += 1
            parts.append(_block(rep, b, n))
    body = "\n".join(p for p in parts if p)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(rep.title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<style>{_CSS}</style>"
        f"<script>{_plotly_js()}</script></head>\n<body>\n{body}\n</body></html>\n"
    )
