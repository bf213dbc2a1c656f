"""The result of one plan run: a row per period, events, alerts, recommendations and, after a
Monte Carlo run, P10/P50/P90 of every figure and event probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capplan.engine.events import Event, EventProbability
from capplan.formatting import json_float
from capplan.plan.models import Plan, TierComponent
from capplan.sizing.result import Array
from capplan.sizing.tiers import tier_summary
from capplan.timeline import Timeline

__all__ = ["Projection"]

_COMPONENT_FIELDS = ("instances", "vcpu", "memory_gb", "storage_gb", "utilization", "cost")


@dataclass
class Projection:
    """One scenario of a plan projected over its horizon (period 0 is today)."""

    plan: Plan
    scenario: str
    timeline: Timeline
    values: dict[str, Array]
    levels: dict[str, list[str]]
    #: per component and period, whether its demand is beyond its largest tier or rung, or
    #: needs more than ``max_instances``: the figures shown are then the capped ones
    over_capacity: dict[str, list[bool]]
    events: list[Event]
    recommendations: list[str]
    simulations: int = 0
    quantiles: dict[str, Array] = field(default_factory=dict)
    probabilities: list[EventProbability] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a reader of the figures should know

    @property
    def alerts(self) -> list[Event]:
        """Events of warning or critical severity."""
        return [e for e in self.events if e.severity != "info"]

    @property
    def total_cost(self) -> float:
        """Cost summed over periods 1..horizon."""
        return float(self.values["total.cumulative_cost"][-1])

    def over_capacity_from(self, component: str) -> int | None:
        """The first period the component is over capacity, or None."""
        flags = self.over_capacity.get(component, [])
        return flags.index(True) if True in flags else None

    @property
    def over_capacity_components(self) -> dict[str, int]:
        """The components over capacity within the horizon, with the first period each is."""
        firsts = {name: self.over_capacity_from(name) for name in self.over_capacity}
        return {name: t for name, t in firsts.items() if t is not None}

    @property
    def cost_unit(self) -> str:
        """The driver or metric that cost per unit is divided by."""
        return self.plan.budget.per or next(iter(self.plan.drivers))

    def columns(self) -> list[str]:
        """Numeric and level columns in reading order: drivers, metrics, components, totals."""
        plan = self.plan
        cols = list(plan.drivers)
        cols += [m for m in plan.metrics if m in self.values]
        for name in plan.components:
            if name in self.levels:
                cols.append(f"{name}.level")
            cols += [f"{name}.{f}" for f in _COMPONENT_FIELDS]
            prefix = f"{name}."
            cols += sorted(
                k
                for k in self.values
                if k.startswith(prefix) and k[len(prefix) :] not in _COMPONENT_FIELDS
            )
        for host in plan.hosts:
            prefix = f"{host}."
            cols += [k for k in self.values if k.startswith(prefix)]
        cols += [k for k in self.values if k.startswith("total.")]
        return cols

    def rows(self) -> list[dict[str, Any]]:
        """One dict per period: ``period``, ``date`` and every column."""
        cols = self.columns()
        over = list(self.over_capacity_components)  # a flag column only where it is ever set
        out = []
        for t in range(self.timeline.periods + 1):
            row: dict[str, Any] = {"period": t, "date": self.timeline.date(t).isoformat()}
            for col in cols:
                if col.endswith(".level"):
                    row[col] = self.levels[col[: -len(".level")]][t]
                else:
                    row[col] = json_float(float(self.values[col][t]))
            for name in over:
                row[f"{name}.over_capacity"] = self.over_capacity[name][t]
            out.append(row)
        return out

    def quantile_rows(self) -> list[dict[str, Any]]:
        """After a Monte Carlo run: per period, ``<column>_p10/_p50/_p90`` of every column."""
        if not self.quantiles:
            return []
        out = []
        for t in range(self.timeline.periods + 1):
            row: dict[str, Any] = {"period": t, "date": self.timeline.date(t).isoformat()}
            for col in self.columns():
                q = self.quantiles.get(col)
                if q is None:
                    continue
                for i, label in enumerate(("p10", "p50", "p90")):
                    row[f"{col}_{label}"] = json_float(float(q[i, t]))
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data."""
        tl = self.timeline
        out: dict[str, Any] = {
            "system": self.plan.system,
            "scenario": self.scenario,
            "start": tl.start.isoformat(),
            "step": tl.step,
            "horizon": tl.periods,
            "currency": self.plan.currency,
            "cost_per_unit_of": self.cost_unit,
            "total_cost": json_float(self.total_cost),
            "rows": self.rows(),
            "events": [e.to_dict() for e in self.events],
            "alerts": [e.to_dict() for e in self.alerts],
            "recommendations": list(self.recommendations),
            "over_capacity": {
                name: {"from_period": t, "from": tl.date(t).isoformat()}
                for name, t in self.over_capacity_components.items()
            },
        }
        served = self.tier_summaries()
        if served:
            out["tiers"] = served
        if self.notes:
            out["notes"] = list(self.notes)
        if self.simulations:
            out["simulations"] = self.simulations
            out["quantiles"] = self.quantile_rows()
            out["event_probabilities"] = [p.to_dict() for p in self.probabilities]
        return out

    def tier_summaries(self) -> dict[str, list[dict[str, Any]]]:
        """Per tiers component with ``serves``, each tier and what it serves."""
        return {
            name: tier_summary(comp)
            for name, comp in self.plan.components.items()
            if isinstance(comp, TierComponent) and comp.serves
        }

    def series(self, column: str) -> list[float | None]:
        """One column over all periods."""
        return [json_float(float(v)) for v in np.asarray(self.values[column])]
