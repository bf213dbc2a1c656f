"""The figure-by-figure audit of each capacity document against its example plan.

Each ``<system>.yaml`` beside this module lists the document's figures, formulas, thresholds
and rules, each with a ``status``:

* ``reproduced`` — capplan's figure (``plan``, ``total``, ``event``, ``tier`` or ``command``
  below) equals the document's within ``tolerance``;
* ``inconsistent`` — the document contradicts itself (a table that drifts from its own
  formula, totals no rate gives): ``arithmetic`` shows why, ``capplan`` pins capplan's figure
  and the test checks both figures;
* ``out_of_scope`` — an operational procedure capplan does not carry out (``reason``);
* ``absent`` — not possible in capplan yet (``reason``).

What capplan computes, by key:

* ``plan: {scenario, months, period, value}`` — ``value`` is a projection column
  (``users``, ``platform.backend.instances``, ``total.cost``) in ``period``; an optional
  ``set: {drivers.rps.initial: 300}`` overrides plan fields first, as ``--set`` does (a
  document's worked example on other inputs than the plan's);
* ``total: {scenario, months}`` — the cost over the horizon (periods 1..months);
* ``event: {scenario, months, kind, component}`` — the first period of such an event;
* ``tier: {component, tier, field}`` — a tier's ``capacity``, ``price``, ``next_tier_at``
  or a unit it ``serves``;
* ``field: path`` — a figure the plan file itself holds (``hosts.compose_host.vcpu``,
  ``policies.backend_step.max_replicas``), read from the validated plan: for a document's
  configured figures (allocations, limits) that no projection column shows as such;
* ``command: [args]`` with ``contains: [texts]`` — a capplan command (``{example}`` is the
  plan file, ``{tmp}`` a scratch folder) exits 0 and prints, or writes into ``{tmp}``, each
  text (for rules and exports); no number is compared. ``exit: N`` expects that exit code
  instead (``check``'s 1 for warning, 2 for critical); ``server: {status, delay}`` starts a
  local HTTP server answering every request with that status after ``delay`` seconds, its
  URL ``{server}`` in the command (for probes).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from capplan import Projection, load_plan, run_plan

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATUSES = ("reproduced", "inconsistent", "out_of_scope", "absent")
KINDS = ("figure", "formula", "threshold", "rule", "procedure")
#: every plan run is pinned to this day, so "now" and overdue flags never move the figures
TODAY = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class Audit:
    """One document's audit file."""

    path: Path
    document: str
    example: Path
    counts: dict[str, int]
    items: list[dict[str, Any]]

    def tally(self) -> dict[str, int]:
        found = Counter(str(item["status"]) for item in self.items)
        return {status: found.get(status, 0) for status in STATUSES}


def audits() -> list[Audit]:
    """Every audit file, by name."""
    out = []
    for path in sorted(HERE.glob("*.yaml")):
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        out.append(
            Audit(
                path,
                str(data["document"]),
                ROOT / str(data["example"]),
                {str(k): int(v) for k, v in data["counts"].items()},
                list(data["items"]),
            )
        )
    return out


@cache
def _projection(
    example: Path,
    scenario: str | None,
    months: int | None,
    sets: tuple[tuple[str, Any], ...] = (),
) -> Projection:
    plan = load_plan(example, dict(sets) if sets else None)
    return run_plan(plan, scenario, months=months, today=TODAY)


@cache
def _field(example: Path, path: str) -> float:
    node: Any = load_plan(example)
    for part in path.split("."):
        if isinstance(node, (list, tuple)):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return float(node)


def figure(audit: Audit, item: dict[str, Any]) -> float:
    """capplan's figure for an item with ``plan``, ``total``, ``event``, ``tier`` or ``field``."""
    if "plan" in item:
        q = item["plan"]
        sets = tuple(sorted((str(k), v) for k, v in (q.get("set") or {}).items()))
        p = _projection(audit.example, q.get("scenario"), q.get("months"), sets)
        return float(p.values[str(q["value"])][int(q["period"])])
    if "total" in item:
        q = item["total"]
        return _projection(audit.example, q.get("scenario"), q.get("months")).total_cost
    if "event" in item:
        q = item["event"]
        p = _projection(audit.example, q.get("scenario"), q.get("months"))
        periods = [
            e.period
            for e in p.events
            if e.kind == q["kind"] and ("component" not in q or e.component == q["component"])
        ]
        return float(min(periods)) if periods else math.nan
    if "tier" in item:
        q = item["tier"]
        p = _projection(audit.example, None, None)
        [tier] = [t for t in p.tier_summaries()[q["component"]] if t["name"] == q["tier"]]
        field = str(q["field"])
        return float(tier["serves"][field] if field in tier["serves"] else tier[field])
    if "field" in item:
        return _field(audit.example, str(item["field"]))
    raise KeyError(f"{item['id']}: no plan, total, event, tier or field query")


def close(a: float, b: float, tolerance: dict[str, float] | None) -> bool:
    """Whether two figures agree: within ``abs`` or ``rel`` (default: exactly, to 1e-9)."""
    tol = tolerance or {}
    return math.isclose(a, b, rel_tol=tol.get("rel", 1e-9), abs_tol=tol.get("abs", 1e-9))
