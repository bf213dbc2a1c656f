"""Scheduled provisioning held against the plan's need: what is in place period by period
(today's amount plus the additions landed), the shortfall, and the events that say when the
schedule falls behind."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from capplan.engine.events import Event, act_by
from capplan.formatting import fmt_number
from capplan.growth.models import resolve_period
from capplan.plan.models import Plan
from capplan.plan.provisioning import Provisioned
from capplan.sizing.result import Array
from capplan.timeline import Timeline

__all__ = ["provisioning_events", "provisioning_values"]

_UNITS = {"instances": "instances", "vcpu": "vCPU", "memory_gb": "GB memory", "storage_gb": "GB"}


def _landing(ref: object, tl: Timeline) -> int:
    """The first period an addition is in place: a date inside a period lands in the next."""
    return max(0, math.ceil(resolve_period(ref, tl) - 1e-9))


def _schedule(provisioned: Provisioned, resource: str, tl: Timeline) -> Array:
    amounts = np.full(tl.periods + 1, provisioned.amounts()[resource], dtype=np.float64)
    for addition in provisioned.add:
        amount = addition.amounts().get(resource)
        if amount is None:
            continue
        for ref in addition.at:
            t = _landing(ref, tl)
            if t <= tl.periods:
                amounts[t:] += amount
    return amounts


def provisioning_values(plan: Plan, values: Mapping[str, Array], tl: Timeline) -> dict[str, Array]:
    """Per scheduled component and resource: ``<c>.provisioned_<r>`` (in place in each
    period) and ``<c>.<r>_shortfall`` (what the need exceeds it by, else 0)."""
    out: dict[str, Array] = {}
    for name, comp in plan.components.items():
        if comp.provisioned is None:
            continue
        for resource in comp.provisioned.amounts():
            have = _schedule(comp.provisioned, resource, tl)
            need = values[f"{name}.{resource}"]
            out[f"{name}.provisioned_{resource}"] = have
            # float dust (12.000000000000002 vCPU against 12) is not a shortfall
            out[f"{name}.{resource}_shortfall"] = np.where(need > have + 1e-9, need - have, 0.0)
    return out


def _next_addition(provisioned: Provisioned, resource: str, t: int, tl: Timeline) -> int | None:
    later = [
        p
        for a in provisioned.add
        if resource in a.amounts()
        for ref in a.at
        if (p := _landing(ref, tl)) > t
    ]
    return min(later) if later else None


def provisioning_events(plan: Plan, values: Mapping[str, Array], tl: Timeline) -> list[Event]:
    """An info event for each addition landing within the horizon and a warning at the first
    period the need exceeds what the schedule has in place, per resource."""
    events = []
    for name, comp in plan.components.items():
        scheduled = comp.provisioned
        if scheduled is None:
            continue
        for addition in scheduled.add:
            for ref in addition.at:
                t = _landing(ref, tl)
                if t > tl.periods:
                    continue
                what = " and ".join(
                    f"+{fmt_number(v)} {_UNITS[r]}" for r, v in addition.amounts().items()
                )
                note = f" ({addition.note})" if addition.note else ""
                events.append(
                    Event(
                        t,
                        tl.date(t),
                        "addition",
                        "info",
                        f"{name}: {what} scheduled in {tl.label(t)} (period {t}){note}",
                        component=name,
                        detail={"today": tl.today},
                    )
                )
        for resource in scheduled.amounts():
            short = values[f"{name}.{resource}_shortfall"]
            if not (short > 0).any():
                continue
            t = int(np.argmax(short > 0))
            need = float(values[f"{name}.{resource}"][t])
            have = float(values[f"{name}.provisioned_{resource}"][t])
            unit = _UNITS[resource]
            nxt = _next_addition(scheduled, resource, t, tl)
            advice = (
                f"bring the period-{nxt} addition forward or add {fmt_number(need - have)} more"
                if nxt is not None
                else f"schedule {fmt_number(need - have)} more"
            )
            when = tl.date(t)
            events.append(
                Event(
                    t,
                    when,
                    "schedule_short",
                    "warning",
                    f"{name} needs {fmt_number(need)} {unit} in {tl.label(t)} (period {t}) but "
                    f"the schedule has {fmt_number(have)} in place: {advice}",
                    component=name,
                    act_by=act_by(when, comp.lead_time),
                    detail={
                        "resource": resource,
                        "need": need,
                        "provisioned": have,
                        "today": tl.today,
                    },
                )
            )
    return events
