"""Step-by-step reference simulators: one Python iteration per decision, written to be read.

They define the semantics; the event-driven engines in :mod:`capplan.policy.sim_fast` must
produce exactly the same :class:`~capplan.policy.sim_common.EventLog` (the tests check it on
random traces, the benchmark measures the speed-up against them).
"""

from __future__ import annotations

import numpy as np

from capplan._types import Array, BoolArray
from capplan.policy.sim_common import (
    END,
    NEVER,
    EventLog,
    HpaParams,
    Pods,
    StepParams,
    hpa_decide,
    hpa_raw_desired,
    hpa_recommend,
    record_event,
    step_change,
)

__all__ = ["reference_hpa", "reference_step"]


def reference_step(
    demand: Array, params: StepParams, replicas: int, gate: BoolArray | None = None
) -> EventLog:
    """Simulate a step policy decision by decision; ``demand`` is sampled at decisions.
    ``gate`` (one per decision) is where the scale-down's other conditions hold."""
    log = EventLog()
    pods = Pods(replicas, params.startup_steps, log)
    up_run: int | None = None
    down_run: int | None = None
    last = NEVER
    for j in range(len(demand)):
        step = j * params.k
        pods.advance(step)
        d, r, now = float(demand[j]), pods.ready, pods.requested
        # the start of the current run of evaluations above (below) the threshold, if any
        up = d > params.up_factor * r
        down = (
            params.down_factor is not None
            and d < params.down_factor * r
            and (gate is None or bool(gate[j]))
        )
        up_run = (j if up_run is None else up_run) if up else None
        down_run = (j if down_run is None else down_run) if down else None
        if (
            up_run is not None
            and j - up_run >= params.up_for
            and j - last >= params.up_cooldown
            and now < params.max_r
        ):
            pods.scale(j, step, step_change(params, True, now))
            last = j
        elif (
            down_run is not None
            and j - down_run >= params.down_for
            and j - last >= params.down_cooldown
            and now > params.min_r
        ):
            pods.scale(j, step, step_change(params, False, now))
            last = j
    pods.advance(END)  # pods still starting at the end: logged, cut off by the caller
    return log


def reference_hpa(demand: Array, params: HpaParams, replicas: int) -> EventLog:
    """Simulate an HPA (and a KEDA scaler's scaling to and from zero) sync by sync;
    ``demand`` is sampled at decisions, one row per channel (or a 1-D array for one)."""
    dem = np.atleast_2d(demand)
    log = EventLog()
    pods = Pods(replicas, params.startup_steps, log)
    raws = [hpa_raw_desired(dem[c], params, c) for c in range(len(params.channels))]
    pad = max(params.up_window, params.down_window) - 1
    history: list[int] = [replicas] * pad
    up_ev: list[tuple[int, int]] = []
    down_ev: list[tuple[int, int]] = []
    zero = params.zero
    last_active = NEVER
    for j in range(dem.shape[1]):
        step = j * params.k
        pods.advance(step)
        r, now = pods.ready, pods.requested
        history.append(hpa_recommend(params, dem, raws, j, r, now))
        if zero is not None and j % zero.poll == 0:
            active = float(dem[0, j]) > zero.activation
            if active:
                last_active = j
            if now == 0 and active:
                pods.scale(j, step, params.min_r)
                continue
            if now > 0 and not active and j - last_active >= zero.cooldown:
                pods.scale(j, step, 0)
                continue
        i = pad + j
        up_rec = min(history[i - params.up_window + 1 : i + 1])
        down_rec = max(history[i - params.down_window + 1 : i + 1])
        rec = max(now, up_rec)
        rec = min(rec, down_rec)
        if now == 0 or rec == now:
            continue
        new = hpa_decide(rec, now, j, params, up_ev, down_ev)
        if new != now:
            record_event(new, now, j, params, up_ev, down_ev)
            pods.scale(j, step, new)
    pods.advance(END)  # pods still starting at the end: logged, cut off by the caller
    return log
