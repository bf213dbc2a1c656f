"""Plan vs actual (``capplan compare``) as Markdown, CSV and JSON text."""

from __future__ import annotations

import json
from typing import Any

from capplan.compare.review import FigureReview, PlanReview
from capplan.formatting import fmt_number
from capplan.report.formats import csv_text

__all__ = [
    "fit_sentence",
    "review_csv",
    "review_json",
    "review_markdown",
    "review_notes",
    "review_rows",
    "title",
]


def title(review: PlanReview) -> str:
    p = review.projection
    return (
        f"{review.plan.system} — plan vs actual, scenario {p.scenario}, as of "
        f"{review.today.isoformat()} (tolerance {100 * review.tolerance:g}%)"
    )


def _rate(value: float, what: str) -> str:
    return fmt_number(value, 1) if what == "per month" else f"{100 * value:.1f}%"


def fit_sentence(fig: FigureReview) -> str | None:
    """``users: actuals imply a monthly rate of 12.0% (80% interval 11.4% to 12.6%, 8
    periods); the plan assumes 17.0%``."""
    f = fig.fit
    if f is None:
        return None
    text = f"{fig.name}: actuals imply a {f.model} {f.what} of {_rate(f.rate, f.what)}"
    if f.low is not None and f.high is not None:
        text += (
            f" ({100 * f.level:g}% interval {_rate(f.low, f.what)} to {_rate(f.high, f.what)},"
            f" {f.periods} periods)"
        )
    else:
        text += f" ({f.periods} periods: too few for an interval)"
    if fig.assumed is not None:
        text += f"; the plan {'assumes' if fig.kind == 'driver' else 'implies'} "
        text += _rate(fig.assumed, f.what)
    return text


def _cell(value: float | None) -> str:
    return "" if value is None else fmt_number(value)


def _deviation(value: float | None) -> str:
    return "" if value is None else f"{100 * value:+.1f}%"


def review_rows(review: PlanReview) -> list[dict[str, Any]]:
    """One row per figure and period (long format)."""
    out = []
    for fig in review.figures:
        for r in fig.rows:
            row = {"figure": fig.name, "kind": fig.kind, "unit": fig.unit, "agg": fig.agg}
            row.update(r.to_dict())
            out.append(row)
    return out


def review_csv(review: PlanReview) -> str:
    """Long CSV: figure, period, projected, P10, P90, actual, deviation, band, flag."""
    return csv_text(review_rows(review))


def review_json(review: PlanReview) -> str:
    return json.dumps(review.to_dict(), indent=2, allow_nan=False) + "\n"


def review_markdown(review: PlanReview) -> str:
    lines = [f"# {title(review)}", ""]
    banded = bool(review.projection.quantiles)
    for fig in review.figures:
        unit = f" ({fig.unit})" if fig.unit else ""
        lines += [f"## {fig.name}{unit}, {fig.agg} per {review.projection.timeline.step}", ""]
        lines += [f"{fig.summary}.", ""]
        head = ["period", "projected"]
        head += ["P10", "P90"] if banded else []
        head += ["actual", "deviation", "band"] if banded else ["actual", "deviation"]
        head += ["flag"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in fig.rows:
            cells = [r.label + (" (partial)" if r.partial else ""), _cell(r.projected)]
            cells += [_cell(r.p10), _cell(r.p90)] if banded else []
            cells += [_cell(r.actual), _deviation(r.deviation)]
            cells += [r.band or ""] if banded else []
            cells += ["outside" if r.flagged else ""]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        sentence = fit_sentence(fig)
        if sentence:
            lines += [sentence + ".", ""]
    ra = review.reanchor
    if ra is not None:
        lines += [f"## Re-anchored from {ra.anchor_date.strftime('%Y-%m')}", ""]
        lines += [f"- {m}" for m in ra.moved] or ["- nothing moved"]
        lines += ["", "Changes: " + ", ".join(f"`{k}: {v}`" for k, v in ra.changes.items()), ""]
    notes = _notes(review)
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def _notes(review: PlanReview) -> list[str]:
    notes = list(review.notes)
    for fig in review.figures:
        notes += fig.notes
    if review.reanchor is not None:
        notes += review.reanchor.notes
    unnamed = [n for n, why in review.not_compared.items() if why.startswith(f"no series '{n}'")]
    if unnamed:
        notes.append(
            f"not compared, no series of that name in the actuals: {', '.join(unnamed)} "
            "(name the series with actual: {series: ...})"
        )
    notes += [
        f"{name} not compared: {why}"
        for name, why in review.not_compared.items()
        if name not in unnamed
    ]
    return notes


def review_notes(review: PlanReview) -> list[str]:
    """Every note and assumption, then what was not compared and why."""
    return _notes(review)
