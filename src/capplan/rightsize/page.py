"""Recommendations as HTML: one self-contained page (``rightsize --format html``) and the
display cells the service's right-sizing page shows.

The page has its style inline and no script, image or font from anywhere: it opens offline
and makes no request. Jinja2 renders it, autoescaping every label value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import jinja2

from capplan.rightsize.report import (
    SEVERITIES,
    Prices,
    Recommendation,
    cpu_quantity,
    memory_quantity,
)

__all__ = ["SEVERITY_COLOURS", "display_rows", "money", "rightsize_html", "summary"]

#: Background colours of the severity badges (the service's page uses the same).
SEVERITY_COLOURS = {
    "critical": "#c62828",
    "warning": "#ef6c00",
    "over": "#1565c0",
    "ok": "#2e7d32",
}


def money(value: float, currency: str) -> str:
    """``+12.50 USD`` (a cost), ``-3.00 USD`` (a saving), ``0.00 USD``."""
    sign = "+" if value > 0.005 else "-" if value < -0.005 else ""
    return f"{sign}{abs(value):,.2f} {currency}"


def _now(quantity: str, request: bool) -> str:
    return "not set" if quantity == "-" and request else quantity


def display_rows(recs: Sequence[Recommendation], prices: Prices) -> list[dict[str, Any]]:
    """One dict of display strings per recommendation: labels, ``now`` / ``recommended``
    quantities of each setting, the monthly change, severity and flags."""
    priced = bool(prices.per_vcpu or prices.per_gb)
    out = []
    for r in recs:
        u, s = r.usage, r.sizing
        settings = [
            ("CPU request", _now(cpu_quantity(u.cpu_request), True), cpu_quantity(s.cpu_request)),
            ("CPU limit", cpu_quantity(u.cpu_limit), cpu_quantity(s.cpu_limit)),
            (
                "memory request",
                _now(memory_quantity(u.memory_request), True),
                memory_quantity(s.memory_request),
            ),
            ("memory limit", memory_quantity(u.memory_limit), memory_quantity(s.memory_limit)),
        ]
        out.append(
            {
                "namespace": u.workload.namespace,
                "kind": u.workload.kind,
                "workload": u.workload.name,
                "container": u.container,
                "pods": u.last_pods,
                "severity": r.severity,
                "settings": [
                    {"name": n, "now": now, "recommended": rec, "changed": now != rec}
                    for n, now, rec in settings
                ],
                "monthly_change": money(r.monthly_change, prices.currency) if priced else "-",
                "saving": r.monthly_change < -0.005,
                "flags": list(r.flags),
            }
        )
    return out


def summary(recs: Sequence[Recommendation], prices: Prices) -> dict[str, Any]:
    """Counts per severity and the total monthly change (None when nothing is priced)."""
    counts = Counter(r.severity for r in recs)
    priced = bool(prices.per_vcpu or prices.per_gb)
    total = sum(r.monthly_change for r in recs)
    return {
        "containers": len(recs),
        "severities": [(name, counts.get(name, 0)) for name in SEVERITIES],
        "total": money(total, prices.currency) if priced else None,
        "saving": total < -0.005,
    }


_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{ title }}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       margin: 24px; font-size: 14px; }
h1 { font-size: 22px; margin-bottom: 4px; }
.meta { color: #555; margin: 2px 0 12px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; white-space: nowrap; }
.badge { color: #fff; border-radius: 3px; padding: 1px 6px; font-weight: bold; }
{% for name, colour in colours.items() %}.severity-{{ name }} { background: {{ colour }}; }
{% endfor %}.changed { font-weight: bold; } .saving { color: #2e7d32; } .cost { color: #c62828; }
.flags { color: #555; min-width: 16em; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">Strategy: <b>{{ strategy }}</b>. {{ totals.containers }}
container{{ "" if totals.containers == 1 else "s" }}:
{% for name, count in totals.severities %}<span class="badge severity-{{ name }}">{{ name }}</span>
{{ count }}{% if not loop.last %}, {% endif %}{% endfor %}.
{% if totals.total %}Change per month:
<b id="total" class="{{ 'saving' if totals.saving else 'cost' }}">{{ totals.total }}</b>.{% endif %}
</p>
<table id="recommendations">
<thead><tr><th>severity</th><th>namespace</th><th>workload</th><th>kind</th><th>container</th>
<th>pods</th>{% for name in headings %}<th>{{ name }} now</th><th>{{ name }} recommended</th>
{% endfor %}<th>per month</th><th>flags</th></tr></thead>
<tbody>
{% for row in rows %}<tr data-severity="{{ row.severity }}"
 data-key="{{ row.namespace }}/{{ row.workload }}/{{ row.container }}">
<td><span class="badge severity-{{ row.severity }}">{{ row.severity }}</span></td>
<td>{{ row.namespace }}</td><td>{{ row.workload }}</td><td>{{ row.kind }}</td>
<td>{{ row.container }}</td><td class="num">{{ row.pods }}</td>
{% for s in row.settings %}<td class="num">{{ s.now }}</td>
<td class="num{{ ' changed' if s.changed }}">{{ s.recommended }}</td>
{% endfor %}<td class="num {{ 'saving' if row.saving else '' }}">{{ row.monthly_change }}</td>
<td class="flags">{{ row.flags | join("; ") }}</td></tr>
{% endfor %}</tbody>
</table>
</body>
</html>
"""
)


def rightsize_html(
    recs: Sequence[Recommendation], strategy: str, prices: Prices, title: str = "Right-sizing"
) -> str:
    """The self-contained page: summary, then one row per container."""
    rows = display_rows(recs, prices)
    return _PAGE.render(
        title=title,
        strategy=strategy,
        totals=summary(recs, prices),
        rows=rows,
        headings=["CPU request", "CPU limit", "memory request", "memory limit"],
        colours=SEVERITY_COLOURS,
    )
