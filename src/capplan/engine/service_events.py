"""Events of the service components beyond their capacity flag: clients queueing for a
pool's connections or refused by the pooler, and requests rejected by rate limits."""

from __future__ import annotations

import numpy as np

from capplan.engine.evaluate import Evaluation
from capplan.engine.events import Event
from capplan.formatting import fmt_number
from capplan.plan.components import PoolComponent, RateLimitComponent
from capplan.plan.models import Plan
from capplan.timeline import Timeline

__all__ = ["service_events"]


def _first(flags: np.ndarray) -> int | None:
    return int(np.argmax(flags)) if flags.any() else None


def _event(
    tl: Timeline, t: int, kind: str, severity: str, name: str, text: str, **detail: object
) -> Event:
    when = "now" if t == tl.now_period else f"in {tl.label(t)} (period {t})"
    return Event(
        t,
        tl.date(t),
        kind,
        severity,
        f"{name} {text} {when}",
        component=name,
        detail={**detail, "today": tl.today},
    )


def _pool_events(name: str, comp: PoolComponent, ev: Evaluation, tl: Timeline) -> list[Event]:
    values = ev.values
    clients = values[f"{name}.clients"][0]
    size = values[f"{name}.pool_size"][0]
    events = []
    t = _first(values[f"{name}.waiting"][0] > 1e-9)
    if t is not None:
        events.append(
            _event(
                tl,
                t,
                "pool_queueing",
                "warning",
                name,
                f"has {fmt_number(clients[t])} clients for {fmt_number(size[t])} pool "
                "connections: clients queue for a connection",
                clients=float(clients[t]),
                pool_size=float(size[t]),
            )
        )
    if comp.max_clients is not None:
        t = _first(clients > comp.max_clients + 1e-9)
        if t is not None:
            events.append(
                _event(
                    tl,
                    t,
                    "pool_refused",
                    "critical",
                    name,
                    f"has {fmt_number(clients[t])} clients, above max_clients "
                    f"{fmt_number(comp.max_clients)}: the pooler refuses the rest",
                    clients=float(clients[t]),
                    max_clients=comp.max_clients,
                )
            )
    return events


def _rate_limit_events(
    name: str, comp: RateLimitComponent, ev: Evaluation, tl: Timeline
) -> list[Event]:
    if comp.max_rejected_share is None:
        return []
    share = ev.values[f"{name}.rejected_share"][0]
    t = _first(share > comp.max_rejected_share + 1e-12)
    if t is None:
        return []
    factor = ev.values[f"{name}.limit_factor"][0, t]
    reduced = f" (limits × {fmt_number(factor)} under load)" if factor < 1 else ""
    return [
        _event(
            tl,
            t,
            "rate_limited",
            "warning",
            name,
            f"rejects {share[t]:.1%} of requests{reduced}, above {comp.max_rejected_share:.1%}",
            value=float(share[t]),
            limit=comp.max_rejected_share,
        )
    ]


def service_events(plan: Plan, ev: Evaluation, tl: Timeline) -> list[Event]:
    """The queueing, refusal and rate-limit events of a deterministic run."""
    events: list[Event] = []
    for name, comp in plan.components.items():
        if isinstance(comp, PoolComponent):
            events += _pool_events(name, comp, ev, tl)
        elif isinstance(comp, RateLimitComponent):
            events += _rate_limit_events(name, comp, ev, tl)
    return events
