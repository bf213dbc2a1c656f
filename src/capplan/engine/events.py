"""Scaling events, capacity alerts and recommendations found in a deterministic run, and the
probability of each event by each period across Monte Carlo paths."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from capplan.cost import reserved_savings, spot_savings
from capplan.engine.evaluate import Evaluation
from capplan.engine.hits import (
    SECONDS_PER_MONTH,
    change_periods,
    crossed,
    threshold_series,
)
from capplan.formatting import fmt_money, fmt_number
from capplan.plan.components import PoolComponent, QueueComponent, ReplicasComponent
from capplan.plan.models import (
    HorizontalComponent,
    Plan,
    Threshold,
    TierComponent,
    VerticalComponent,
)
from capplan.timeline import MONTHS_PER_PERIOD, Timeline
from capplan.units import duration_seconds

__all__ = [
    "Event",
    "EventProbability",
    "act_by",
    "find_events",
    "recommend",
]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Event:
    """Something that happens in a period, and the date by which to act on it."""

    period: int
    date: dt.date
    kind: str
    severity: str
    message: str
    component: str | None = None
    act_by: dt.date | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def overdue(self) -> bool:
        """True when the action date has already passed on the projection's today."""
        today = self.detail.get("today")
        return self.act_by is not None and today is not None and self.act_by < today

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["date"] = self.date.isoformat()
        out["act_by"] = self.act_by.isoformat() if self.act_by else None
        out["detail"] = {k: v for k, v in self.detail.items() if k != "today"}
        out["overdue"] = self.overdue
        return out


@dataclass(frozen=True)
class EventProbability:
    """The share of Monte Carlo paths on which an event has happened by each period."""

    key: str
    description: str
    by_period: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Dates, labels and lead times repeat across events and runs: computed once each.
@lru_cache(maxsize=4096)
def _date(tl: Timeline, period: int) -> dt.date:
    return tl.date(period)


@lru_cache(maxsize=4096)
def _label(tl: Timeline, period: int) -> str:
    return tl.label(period)


_seconds = lru_cache(maxsize=256)(duration_seconds)


def act_by(when: dt.date, lead_time: str | None) -> dt.date | None:
    if lead_time is None:
        return None
    seconds = _seconds(lead_time)
    moment = dt.datetime.combine(when, dt.time()) - dt.timedelta(seconds=seconds)
    return moment.date()


def _lead_time(comp: object, level: int) -> str | None:
    """The lead time of moving up to ``level``: the tier's or rung's own, else the component's."""
    own = None
    if isinstance(comp, TierComponent):
        own = comp.tiers[level].lead_time
    elif isinstance(comp, VerticalComponent):
        own = comp.rungs[level].lead_time
    return own or getattr(comp, "lead_time", None)


def _level_name_kind(comp: object) -> tuple[str, str]:
    return ("tier", "tier_change") if isinstance(comp, TierComponent) else ("rung", "rung_change")


def _level_events(plan: Plan, ev: Evaluation, tl: Timeline, name: str) -> list[Event]:
    """A component's changes of tier or rung (or of instance count), and the first period
    its largest option no longer holds the demand."""
    if ev.sized[name].level is not None:
        events = _level_changes(plan, ev, tl, name)
    else:
        events = _scalings(plan, ev, tl, name)
    exceeded = _exceeded(plan, ev, tl, name)
    return events if exceeded is None else [*events, exceeded]


def _level_changes(plan: Plan, ev: Evaluation, tl: Timeline, name: str) -> list[Event]:
    comp, s = plan.components[name], ev.sized[name]
    assert s.level is not None
    word, kind = _level_name_kind(comp)
    level = s.level[0]
    events = []
    for t in range(1, tl.periods + 1):
        if level[t] == level[t - 1]:
            continue
        old, new = s.level_names[level[t - 1]], s.level_names[level[t]]
        up = level[t] > level[t - 1]
        reason = _level_reason(comp, ev, name, t, old) if up else ""
        verb = "moves up" if up else "can move down"
        lead = _lead_time(comp, int(level[t]))
        events.append(
            Event(
                t,
                _date(tl, t),
                kind,
                "info",
                f"{name} {verb} from {word} {old} to {new} in {_label(tl, t)} (period {t}){reason}",
                component=name,
                act_by=act_by(_date(tl, t), lead) if up else None,
                detail={
                    "from": old,
                    "to": new,
                    "direction": "up" if up else "down",
                    "lead_time": lead,
                    "today": tl.today,
                },
            )
        )
    return events


def _scalings(plan: Plan, ev: Evaluation, tl: Timeline, name: str) -> list[Event]:
    comp, instances = plan.components[name], ev.sized[name].instances[0]
    events = []
    for t in range(1, tl.periods + 1):
        if instances[t] == instances[t - 1]:
            continue
        up = instances[t] > instances[t - 1]
        events.append(
            Event(
                t,
                _date(tl, t),
                "scale",
                "info",
                f"{name} scales {'up' if up else 'down'} from "
                f"{fmt_number(instances[t - 1])} to {fmt_number(instances[t])} instances "
                f"in {_label(tl, t)} (period {t})",
                component=name,
                act_by=act_by(_date(tl, t), comp.lead_time) if up else None,
                detail={
                    "from": float(instances[t - 1]),
                    "to": float(instances[t]),
                    "direction": "up" if up else "down",
                    "today": tl.today,
                },
            )
        )
    return events


def _exceeded(plan: Plan, ev: Evaluation, tl: Timeline, name: str) -> Event | None:
    comp, s = plan.components[name], ev.sized[name]
    exceeded = s.exceeded[0]
    if not exceeded.any():
        return None
    t = int(np.argmax(exceeded))
    if isinstance(comp, TierComponent):
        what = f"exceeds largest tier {s.level_names[-1]}"
        need = (
            f"demand {fmt_number(ev.values[f'{name}.demand'][0, t])} is above "
            f"{comp.trigger:.0%} of {fmt_number(comp.tiers[-1].capacity)}"
        )
    elif isinstance(comp, VerticalComponent):
        what = f"exceeds largest rung {s.level_names[-1]}"
        need = "its demand does not fit any rung with the required headroom"
    elif isinstance(comp, HorizontalComponent):
        what = f"exceeds max_instances {comp.max_instances}"
        needed = ev.values[f"{name}.instances_needed"][0, t]
        unserved = float(ev.values[f"{name}.unserved"][0, t])
        need = f"it needs {fmt_number(needed)} instances" + (
            f"; {fmt_number(unserved)} of its demand is beyond what {comp.max_instances} serve"
            if unserved > 0
            else f"; {comp.max_instances} run above the target utilization"
        )
    elif isinstance(comp, PoolComponent):
        what = "pools exceed max_connections"
        need = (
            f"they may open {fmt_number(ev.values[f'{name}.pool_size'][0, t])} connections, "
            f"above max_connections {fmt_number(ev.values[f'{name}.max_connections'][0, t])}"
        )
    elif isinstance(comp, ReplicasComponent):
        what = f"exceeds max_replicas {comp.max_replicas}"
        need = f"it needs {fmt_number(ev.values[f'{name}.replicas_needed'][0, t])} replicas"
    elif isinstance(comp, QueueComponent):
        what = f"exceeds max_servers {comp.max_servers}"
        need = (
            f"it needs {fmt_number(ev.values[f'{name}.servers_needed'][0, t])} servers to "
            "meet its waiting target"
        )
    else:
        what = "exceeds its provisioned capacity"
        need = f"utilization reaches {s.utilization[0, t]:.0%}"
    return Event(
        t,
        _date(tl, t),
        "capacity_exceeded",
        "critical",
        f"{name} {what} in {_label(tl, t)} (period {t}): {need}",
        component=name,
        act_by=act_by(_date(tl, t), comp.lead_time),
        detail={"what": what, "today": tl.today},
    )


def _level_reason(comp: object, ev: Evaluation, name: str, t: int, outgrown: str) -> str:
    """Why the ``outgrown`` tier or rung no longer holds the demand in period ``t``."""
    if isinstance(comp, TierComponent):
        demand = ev.values[f"{name}.demand"][0, t]
        tier = next(x for x in comp.tiers if x.name == outgrown)
        return (
            f": demand {fmt_number(demand)} is above {comp.trigger:.0%} of {outgrown}'s "
            f"{fmt_number(tier.capacity)}"
        )
    if isinstance(comp, VerticalComponent):
        rung = next(r for r in comp.rungs if r.name == outgrown)
        usable = 1.0 - comp.headroom
        parts = []
        for res in comp.demand:
            demand = ev.values[f"{name}.{res}_demand"][0, t]
            limit = rung.limits[res]
            if limit is not None and demand > limit * usable:
                parts.append(
                    f"{res} {fmt_number(demand)} is above {usable:.0%} of {outgrown}'s "
                    f"{fmt_number(limit)}"
                )
        return f": {', '.join(parts)}" if parts else ""
    return ""


def _change_message(
    thr: Threshold, level_name: str, limit: float, when: str, size: float, tl: Timeline
) -> str:
    """``users grows past its warning level of +20% over 7d in 2026-03 (period 2): +24% over
    1 month`` — a window shorter than a period is measured over one, and says so."""
    assert thr.change is not None
    over = thr.change.over
    sign = "+" if thr.direction == "above" else "-"
    verb = "grows" if thr.direction == "above" else "falls"
    periods = change_periods(duration_seconds(over), tl.step)
    unit = tl.step if periods == 1 else f"{tl.step}s"
    text = (
        f"{thr.metric} {verb} past its {level_name} level of {sign}{fmt_number(limit)}% over "
        f"{over} {when}: {sign}{fmt_number(size)}% over {periods} {unit}"
    )
    if duration_seconds(over) < MONTHS_PER_PERIOD[tl.step] * SECONDS_PER_MONTH:
        text += f" (the plan's periods are longer than {over}: measured over one {tl.step})"
    return text


def _change_detail(thr: Threshold, tl: Timeline) -> dict[str, Any]:
    """A change threshold's window in the event's detail: as given, and in periods."""
    if thr.change is None:
        return {}
    periods = change_periods(duration_seconds(thr.change.over), tl.step)
    return {"change_over": thr.change.over, "change_periods": periods}


def _threshold_events(plan: Plan, ev: Evaluation, tl: Timeline) -> list[Event]:
    events: list[Event] = []
    for tname, thr in plan.thresholds.items():
        if thr.metric not in ev.values:
            continue  # an observed metric: checked against monitoring history, not the plan
        values, direction = threshold_series(thr, ev.values[thr.metric][0], tl.step)
        for level_name, level in thr.levels():
            with np.errstate(invalid="ignore"):
                beyond = crossed(values, level.value, direction)
            if not beyond.any():
                continue
            t = int(np.argmax(beyond))
            severity = {"target": "info", "warning": "warning"}.get(level_name, "critical")
            when = "now" if t == tl.now_period else f"in {_label(tl, t)} (period {t})"
            owner = plan.components.get(thr.metric.split(".")[0]) if "." in thr.metric else None
            lead = owner.lead_time if owner is not None and severity != "info" else None
            message = (
                f"{thr.metric} is {thr.direction} its {level_name} level "
                f"{fmt_number(level.value)}{thr.unit} {when}: "
                f"{fmt_number(values[t])}{thr.unit}"
            )
            if thr.change is not None:
                message = _change_message(thr, level_name, level.value, when, values[t], tl)
            events.append(
                Event(
                    t,
                    _date(tl, t),
                    "threshold",
                    severity,
                    message,
                    component=thr.metric.split(".")[0] if "." in thr.metric else None,
                    act_by=act_by(_date(tl, t), lead) if lead else None,
                    detail={
                        "threshold": tname,
                        "level": level_name,
                        "value": float(values[t]),
                        "limit": level.value,
                        "today": tl.today,
                        **_change_detail(thr, tl),
                    },
                )
            )
    return events


def _budget_events(plan: Plan, ev: Evaluation, tl: Timeline) -> list[Event]:
    events: list[Event] = []
    cost = ev.values["total.cost"][0]
    cur = plan.currency
    budget = plan.budget
    if budget.monthly_limit is not None and budget.warn_at is not None:
        near = (cost >= budget.warn_at * budget.monthly_limit) & (cost <= budget.monthly_limit)
        if near.any():
            t = int(np.argmax(near))
            events.append(
                Event(
                    t,
                    _date(tl, t),
                    "budget_warning",
                    "info",
                    f"monthly cost {fmt_money(cost[t], cur)} reaches "
                    f"{cost[t] / budget.monthly_limit:.0%} of the budget of "
                    f"{fmt_money(budget.monthly_limit, cur)} in {_label(tl, t)} (period {t})",
                    detail={"limit": budget.monthly_limit, "value": float(cost[t])},
                )
            )
    if budget.monthly_limit is not None:
        over = cost > budget.monthly_limit
        if over.any():
            t = int(np.argmax(over))
            events.append(
                Event(
                    t,
                    _date(tl, t),
                    "budget",
                    "warning",
                    f"monthly cost {fmt_money(cost[t], cur)} exceeds the budget of "
                    f"{fmt_money(budget.monthly_limit, cur)} in {_label(tl, t)} (period {t})",
                    detail={"limit": budget.monthly_limit, "value": float(cost[t])},
                )
            )
    if budget.max_cost_per_unit is not None:
        per_unit = ev.values["total.cost_per_unit"][0]
        over = np.nan_to_num(per_unit, nan=0.0) > budget.max_cost_per_unit
        if over.any():
            t = int(np.argmax(over))
            unit = budget.per or next(iter(plan.drivers))
            events.append(
                Event(
                    t,
                    _date(tl, t),
                    "kpi",
                    "warning",
                    f"cost per unit of {unit} {fmt_money(per_unit[t], cur)} is above the target of "
                    f"{fmt_money(budget.max_cost_per_unit, cur)} in {_label(tl, t)} (period {t})",
                    detail={"limit": budget.max_cost_per_unit, "value": float(per_unit[t])},
                )
            )
    return events + _spike_events(plan, cost, tl)


def _spike_events(plan: Plan, cost: np.ndarray, tl: Timeline) -> list[Event]:
    """A month whose cost exceeds the previous month's (or the trailing average of the
    window before it) by the spike ratio."""
    budget, cur = plan.budget, plan.currency
    average = budget.spike_against == "average"
    events = []
    for t in range(1, tl.periods + 1):
        before = cost[max(0, t - budget.spike_window) : t] if average else cost[t - 1 : t]
        basis = float(before.mean())
        if basis > 0 and cost[t] > budget.spike_ratio * basis:
            against = (
                f"the {len(before)}-month average of {fmt_money(basis, cur)}"
                if average
                else fmt_money(basis, cur)
            )
            events.append(
                Event(
                    t,
                    _date(tl, t),
                    "cost_spike",
                    "warning",
                    f"monthly cost jumps from {against} to {fmt_money(cost[t], cur)} "
                    f"(x{cost[t] / basis:.2f}) in {_label(tl, t)}",
                    detail={"from": basis, "to": float(cost[t]), "against": budget.spike_against},
                )
            )
    return events


def find_events(plan: Plan, ev: Evaluation, tl: Timeline) -> list[Event]:
    """Every event of a deterministic run, in period order (most severe first within one)."""
    events: list[Event] = []
    for name in plan.components:
        events += _level_events(plan, ev, tl, name)
    events += _threshold_events(plan, ev, tl)
    events += _budget_events(plan, ev, tl)
    events.sort(key=lambda e: (e.period, -SEVERITY_RANK[e.severity]))
    return events


#: What to do about the events of connection pools and rate limits (engine/service_events).
_SERVICE_ADVICE = {
    "pool_queueing": ("Connections", "raise the pool size (within max_connections) before then"),
    "pool_refused": ("Connections", "raise max_clients or spread clients over poolers"),
    "rate_limited": ("Rate limits", "raise the tiers' limits or the capacity behind them"),
}


def recommend(plan: Plan, ev: Evaluation, tl: Timeline, events: list[Event]) -> list[str]:
    """Actions in plain language, earliest first."""
    recs: list[str] = []
    for e in events:
        if e.kind in {"tier_change", "rung_change"} and e.detail.get("direction") == "up":
            lead = e.detail.get("lead_time")
            when = (
                f"start by {e.act_by.isoformat()} ({lead} lead time)"
                if e.act_by
                else f"by {e.date.isoformat()}"
            )
            late = " — that date has passed: start now" if e.overdue else ""
            recs.append(
                f"Move {e.component} from {e.detail['from']} to {e.detail['to']}: needed in "
                f"{_label(tl, e.period)} (period {e.period}); {when}{late}."
            )
        elif e.kind == "capacity_exceeded":
            recs.append(
                f"Capacity: {e.message}. Add a larger option to the plan, shard or reduce demand "
                "before then."
            )
        elif e.kind == "threshold" and e.severity != "info":
            d = e.detail
            thr = plan.thresholds[d["threshold"]]
            if e.period == tl.now_period:
                when = "now"
            elif tl.is_past(e.period):
                when = f"now: it was due in {_label(tl, e.period)} (period {e.period})"
            else:
                when = f"before {_label(tl, e.period)} (period {e.period})"
            if thr.change is not None:
                sign = "+" if thr.direction == "above" else "-"
                recs.append(
                    f"Act {when}: {thr.metric} changes {sign}{fmt_number(d['value'])}% in "
                    f"{d['change_periods']} {tl.step}(s), past its {d['level']} level of "
                    f"{sign}{fmt_number(d['limit'])}% over {thr.change.over}."
                )
            else:
                recs.append(
                    f"Act {when}: {thr.metric} reaches {fmt_number(d['value'])}{thr.unit}, "
                    f"{thr.direction} its {d['level']} level {fmt_number(d['limit'])}{thr.unit}."
                )
        elif e.kind == "overcommit":
            recs.append(
                f"Hosts: {e.message}. Add machines to {e.component} (or give it larger ones), "
                "or move components off it, before then."
            )
        elif e.kind in {"budget", "budget_warning", "kpi"}:
            recs.append(f"Review costs: {e.message}.")
        elif e.kind in _SERVICE_ADVICE:
            topic, advice = _SERVICE_ADVICE[e.kind]
            recs.append(f"{topic}: {e.message}; {advice}.")
    for name, comp in plan.components.items():
        s = ev.sized[name]
        if s.level is not None:
            continue
        inst = s.instances[0]
        if inst[-1] > inst[0]:
            first = int(np.argmax(inst > inst[0]))
            peak_t = int(np.argmax(inst))
            text = (
                f"Scale {name} from {fmt_number(inst[0])} to {fmt_number(inst[first])} instances "
                f"in {_label(tl, first)} (period {first})"
            )
            if peak_t != first:
                text += (
                    f", and to {fmt_number(inst[peak_t])} by {_label(tl, peak_t)} (period {peak_t})"
                )
            recs.append(text + ".")
        cost = ev.values[f"{name}.cost"][0]
        saving = reserved_savings(comp.price, cost, tl.months_per_period)
        if saving > 0:
            recs.append(
                f"Reserve {name}'s baseline capacity: at a {comp.price.reserved_discount:.0%} "
                f"discount it saves {fmt_money(saving, plan.currency)} over the horizon."
            )
        spot = spot_savings(comp.price, cost, tl.months_per_period)
        if spot > 0:
            part = "above its reserved baseline " if comp.price.reserved_discount else ""
            recs.append(
                f"Spot capacity: running {name}'s capacity {part}on spot instances at a "
                f"{comp.price.spot_discount:.0%} discount would save "
                f"{fmt_money(spot, plan.currency)} over the horizon; spot instances can be "
                "reclaimed at short notice, so only for work that tolerates interruption."
            )
    if not recs:
        recs.append("No capacity action is needed within the horizon.")
    return recs
