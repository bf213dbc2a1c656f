"""A :class:`~capplan.report.periodic.PeriodicReport` as Markdown, the runbook's report
files (``capacity-weekly-DATE.md``, ``capacity-monthly-MONTH.md``; also daily summaries and
quarterly reviews), and as the short text a notification carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from capplan.formatting import fmt_money, fmt_number
from capplan.report.periodic import REVIEW_KINDS, PeriodicReport, span

__all__ = [
    "Block",
    "cell",
    "notification_body",
    "periodic_markdown",
    "report_head",
    "report_sections",
    "runway_text",
]


def cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headings: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    right = {"average", "peak", "p95", "previous", "firings", "time firing", "samples"}
    lines = ["| " + " | ".join(headings) + " |"]
    lines.append("|" + "|".join("---:" if h in right else "---" for h in headings) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = fmt_number(value)
    return f"{text}%" if unit.strip() == "%" else f"{text} {unit}".rstrip()


def runway_text(row: dict[str, Any]) -> tuple[str, str]:
    """The first crossing (p50 with the p10 - p90 range, or since when it has been past)
    and when the trend crosses."""

    def day(key: str) -> str:
        value = row.get(key)
        return str(value)[:10] if value else "later"

    if row.get("crossed_since"):
        first = f"past it since {str(row['crossed_since'])[:16].replace('T', ' ')}"
    elif row.get("p50"):
        first = f"{day('p50')} ({day('p10')} - {day('p90')})"
    else:
        first = "not within the horizon"
    trend = f"{day('trend_p50')} ({day('trend_p10')} - {day('trend_p90')})"
    return first, trend if row.get("trend_p50") else "-"


def _metrics(rep: PeriodicReport) -> Block:
    if not rep.metrics:
        return Block(text="No metric history in the period.")
    rows = [
        (
            m.series,
            m.samples,
            _value(m.average, m.unit),
            _value(m.peak, m.unit),
            _minute(m.peak_at),
            _value(m.p95, m.unit),
            _value(m.previous_average, m.unit),
            m.trend,
        )
        for m in rep.metrics
    ]
    head = ("series", "samples", "average", "peak", "peak at", "p95", "previous", "trend")
    return _tab(head, rows)


def _minute(t: object) -> str:
    return "-" if t is None else str(t)[:16].replace("T", " ")


def _firings(rep: PeriodicReport) -> Block:
    if not rep.firings:
        return Block(text="No threshold of the plans is on a metric of the history.")
    rows = [
        (
            f.threshold,
            f.series,
            f"{f.level} ({f.sign} {_value(f.value, f.unit)})",
            f.firings,
            span(f.seconds_firing) if f.seconds_firing else "-",
            f.status,
        )
        for f in rep.firings
    ]
    return _tab(("threshold", "series", "level", "firings", "time firing", "now"), rows)


def _runways(rep: PeriodicReport) -> Block:
    if not rep.runways:
        return Block(text="No runway: no threshold on an observed metric with history.")
    rows = []
    for r in rep.runways:
        first, trend = runway_text(r)
        sign = ">" if r.get("direction", "above") == "above" else "<"
        rows.append(
            (r["series"], f"{r['threshold']} {sign} {r['value']:g}", r["level"], first, trend)
        )
    return _tab(
        ("series", "threshold", "level", "first crossing p50 (p10 - p90)", "trend crosses"), rows
    )


@dataclass(frozen=True)
class Block:
    """One block of a report section: a paragraph (``text``; ``strong`` for a warning), a
    bullet list (``items``), a table (``headings`` and ``rows``) or a chart (``chart``: its
    key, drawn by the HTML form only)."""

    text: str = ""
    strong: bool = False
    items: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    chart: str = ""


def _tab(headings: Sequence[str], rows: Sequence[Sequence[object]]) -> Block:
    return Block(headings=tuple(headings), rows=tuple(tuple(str(v) for v in row) for row in rows))


def _summary(rep: PeriodicReport) -> list[Block]:
    items = []
    peaks = [m for m in rep.metrics if m.peak is not None]
    if peaks:
        items.append(
            "Peak resource usage: "
            + "; ".join(f"{m.series} {_value(m.peak, m.unit)}" for m in peaks)
        )
    items.append(f"Scaling events planned in {rep.review_period}: {rep.scaling_events}")
    trends = [f"{m.series} {m.trend}" for m in rep.metrics if m.change_pct is not None]
    if trends:
        items.append("Performance trends (average vs the previous period): " + "; ".join(trends))
    if rep.budget is not None:
        b = rep.budget
        text = f"Budget impact: {fmt_money(b.cost_to_date, b.currency)} to date of "
        text += f"{fmt_money(b.month_cost, b.currency)} planned for {b.month}"
        if b.limit:
            text += f", limit {fmt_money(b.limit, b.currency)}"
        items.append(text)
    return [Block(items=tuple(items))]


def _budget(rep: PeriodicReport) -> list[Block]:
    b = rep.budget
    assert b is not None
    rows: list[tuple[str, str]] = [
        ("planned cost of the month", fmt_money(b.month_cost, b.currency)),
        ("cost to date", fmt_money(b.cost_to_date, b.currency)),
        ("cost since the plan's start", fmt_money(b.cumulative_to_date, b.currency)),
        ("monthly limit", fmt_money(b.limit, b.currency) if b.limit else "not set"),
    ]
    if b.limit:
        rows.append(("share of the limit to date", f"{b.share_to_date:.0%}"))
        rows.append(("share of the limit, whole month", f"{b.share_of_month:.0%}"))
    out = [_tab((b.month, "amount"), rows), Block(chart="cost")]
    if b.warning:
        out.append(Block(text=f"Warning: {b.warning}.", strong=True))
    elif not b.limit:
        out.append(Block(text="Set budget.monthly_limit in the plan to be warned at 80% of it."))
    return out


def _slos(rep: PeriodicReport) -> Block:
    """Each SLO's error budget and what the period's samples spent of it."""
    rows = []
    for o in rep.slos:
        burn, used = o.burn_rate, o.budget_used
        rows.append(
            (
                o.name,
                f"{o.objective:g}% over {o.window}",
                f"{o.budget_seconds / 60:.4g} min",
                "-" if o.bad_share is None else f"{o.bad_share:.3%}",
                "-" if burn is None else f"{burn:.2f}x",
                "-" if used is None else f"{used:.0%}",
                o.status if o.status in ("ok", "warning", "critical") else o.message,
            )
        )
    headings = ("SLO", "objective", "error budget", "bad", "burn rate", "budget used", "status")
    return _tab(headings, rows)


def report_sections(rep: PeriodicReport) -> list[tuple[str, list[Block]]]:
    """The report's sections in reading order: (heading, blocks)."""
    out: list[tuple[str, list[Block]]] = []
    if rep.kind in REVIEW_KINDS:
        out.append(("Executive Summary", _summary(rep)))
    metrics = [_metrics(rep)] + [Block(chart=f"metric:{m.series}") for m in rep.metrics]
    out.append(("Resource Utilization Summary", metrics))
    out.append(("Threshold Firings", [_firings(rep)]))
    runway = [_runways(rep)]
    if rep.forecast_advice:
        runway.append(Block(items=tuple(rep.forecast_advice)))
    out.append(("Runway", runway))
    if rep.events:
        rows = [
            (iso_day_of(e.date), e.severity, e.component or "-", e.message, e.act_by or "-")
            for e in rep.events
        ]
        events = [_tab(("date", "severity", "component", "event", "act by"), rows)]
    else:
        events = [
            Block(text="No scaling event or plan alert from the period's month to 3 months ahead.")
        ]
    out.append(("Scaling Activities", events))
    if rep.slos:
        out.append(("SLOs", [_slos(rep)]))
    if rep.budget is not None:
        out.append(("Budget", _budget(rep)))
    if rep.kind in REVIEW_KINDS:
        if rep.review:
            heads = list(rep.review[0])
            review = [_tab(heads, [[r.get(h, "") for h in heads] for r in rep.review])]
        else:
            review = [Block(text=rep.review_note or "No comparison.")]
        out.append(("Plan vs Actual", review))
    recs = rep.recommendations or ["No recommendation from the plan."]
    out.append(("Recommendations", [Block(items=tuple(recs))]))
    if rep.notes:
        out.append(("Notes", [Block(items=tuple(rep.notes))]))
    return out


def report_head(rep: PeriodicReport, link: str | None = None) -> list[str]:
    """The lines under the title: the period, the status and the link."""
    out = [f"Period: {rep.period_text} (previous: from {_minute(rep.previous_start)})."]
    out.append(f"Status of the thresholds at the end of the period: {rep.status}.")
    if link:
        out.append(f"Online: {link}")
    return out


def periodic_markdown(rep: PeriodicReport, link: str | None = None) -> str:
    """The report as Markdown."""
    out = [f"# {rep.title}", "", *report_head(rep, link), ""]
    for heading, blocks in report_sections(rep):
        out += [f"## {heading}", ""]
        for b in blocks:
            if b.chart:
                continue
            if b.headings:
                out += _table(b.headings, b.rows)
            elif b.items:
                out += [f"- {i}" for i in b.items]
            else:
                out.append(f"**{b.text}**" if b.strong else b.text)
            out.append("")
    return "\n".join(out)


def iso_day_of(day: object) -> str:
    return str(day)[:10]


def notification_body(rep: PeriodicReport, link: str | None = None) -> str:
    """The short text a notification of the report carries."""
    lines = rep.summary()
    if link:
        lines.append(f"Report: {link}")
    return "\n".join(lines)
