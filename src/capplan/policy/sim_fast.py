"""Event-driven autoscaler simulators: Python iterations per scaling action, not per step.

Between two actions the requested replicas are constant and the ready replicas change only
when starting pods become ready (known in advance), so every decision until the next action
can be evaluated at once with NumPy. Each iteration takes a chunk of upcoming decisions,
computes the controller's view of all of them vectorized, finds the first decision that acts,
applies it in Python and starts again after it. Chunks gallop: 128 decisions after an action,
four times more after each chunk without one (a quiet night costs a few NumPy calls, a busy
ramp a few per action). The result is exactly that of the step-by-step reference loops in
:mod:`capplan.policy.sim_reference` (same event log), which the tests check on random traces.

* Step policies: "above the threshold for ``for``" is a run length. Within a chunk the start of
  the current run at every decision is a running maximum of ``index + 1`` over the decisions
  where the condition is false, seeded with the run carried in from before the chunk.
* HPA: the recommendation at every decision is ``current`` inside the tolerance band and the
  precomputed ``ceil(demand / (capacity × target))`` outside it; it is written to the
  recommendation history. The stabilized recommendation differs from ``current`` exactly
  when no recommendation in the scale-down window is ``>= current`` (max < current) or none in
  the scale-up window is ``<= current`` (min > current): the first such decision is found from
  the gaps between the marked decisions. At that candidate the exact stabilized value and the
  rate limits (from the kept scale events) are computed in Python; a candidate blocked by the
  rate limits is skipped and the search resumes at the next decision. Several metrics are
  several channels: the recommendation is the largest of theirs, computed for the chunk at
  once. KEDA's scaling to and from zero is searched the same way: the first poll that finds
  the queue active at zero replicas, or idle for the cooldown with replicas.
* Dense stretches: when actions come on (nearly) consecutive decisions (a step policy's rules a
  few decisions apart, an HPA's scale-down cascade as a falling metric leaves the
  stabilization window), a chunk per action costs more than the decisions themselves, so the
  engines scan decision by decision, as the reference does, until 32 decisions pass without
  an action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capplan._types import Array, BoolArray, IntArray
from capplan.policy.sim_common import (
    END,
    EPS,
    NEVER,
    EventLog,
    HpaParams,
    Pods,
    StepParams,
    ZeroScaling,
    hpa_decide,
    hpa_raw_desired,
    hpa_recommend,
    record_event,
    step_change,
)

__all__ = ["fast_hpa", "fast_step"]

_FIRST_CHUNK = 128
_GROWTH = 4
_MAX_CHUNK = 1 << 18
_DENSE_GAP = 32  # step policies: actions closer than this switch to a per-decision scan
_SCAN = 32  # ... which lasts until this many decisions pass without an action
_HPA_DENSE_GAP = 2  # HPAs: actions this close (a scale-down cascade) switch to the scan
_HPA_SCAN = 32  # ... until this many decisions pass without an action


def _ready(pods: Pods, m: int, end: int, k: int) -> IntArray | int:
    """Ready pods at decisions ``m..end-1`` (a scalar when none is starting)."""
    if not pods.pending:
        return pods.ready
    r = np.full(end - m, pods.ready, dtype=np.int64)
    for at, count in pods.pending:
        first = -(-at // k) - m  # first decision at or after the pod's ready step
        if first < end - m:
            r[max(first, 0) :] += count
    return r


def _first_fire(
    cond: BoolArray, pos: IntArray, carry: int, need: int, offset: int
) -> tuple[int, IntArray | None]:
    """First position (from ``offset``) where ``cond`` has held for ``need`` decisions, or -1,
    and the run starts (None when ``need`` is 0: runs do not matter then)."""
    if need == 0:
        starts = None
        ok = cond
    else:
        starts = np.maximum(np.maximum.accumulate(np.where(cond, -1, pos + 1)), carry)
        ok = cond & (pos - starts >= need)
    if offset >= len(ok):
        return -1, starts
    hit = int(np.argmax(ok[offset:])) + offset
    return (hit if ok[hit] else -1), starts


def _carry(cond: BoolArray, starts: IntArray | None, at: int, m: int) -> int:
    """The run start carried to the decision after position ``at``."""
    if starts is not None:
        return int(starts[at])
    return m + at + 1 if not cond[at] else m + at  # any value <= the run start works


def _scan_step(
    demand: Array,
    params: StepParams,
    pods: Pods,
    m: int,
    up_start: int,
    down_start: int,
    last: int,
    gate: BoolArray | None = None,
) -> tuple[int, int, int, int]:
    """Decision-by-decision scan from ``m`` (the reference loop) while actions come closer
    than ``_SCAN`` decisions apart; returns the next decision, run carries and last action."""
    n, k = len(demand), params.k
    fu, fd = params.up_factor, params.down_factor
    up_run = up_start if up_start < m else None
    down_run = down_start if down_start < m else None
    stop = min(n, m + _SCAN)
    j = m
    while j < stop:
        step = j * k
        if pods.pending and pods.pending[0][0] <= step:
            pods.advance(step)
        d, r, now = float(demand[j]), pods.ready, pods.requested
        up_run = (j if up_run is None else up_run) if d > fu * r else None
        down = fd is not None and d < fd * r and (gate is None or bool(gate[j]))
        down_run = (j if down_run is None else down_run) if down else None
        if (
            up_run is not None
            and j - up_run >= params.up_for
            and j - last >= params.up_cooldown
            and now < params.max_r
        ):
            pods.scale(j, step, step_change(params, True, now))
            last, stop = j, min(n, j + 1 + _SCAN)
        elif (
            down_run is not None
            and j - down_run >= params.down_for
            and j - last >= params.down_cooldown
            and now > params.min_r
        ):
            pods.scale(j, step, step_change(params, False, now))
            last, stop = j, min(n, j + 1 + _SCAN)
        j += 1
    return j, (j if up_run is None else up_run), (j if down_run is None else down_run), last


def fast_step(
    demand: Array, params: StepParams, replicas: int, gate: BoolArray | None = None
) -> EventLog:
    """Event-driven twin of :func:`~capplan.policy.sim_reference.reference_step`."""
    log = EventLog()
    pods = Pods(replicas, params.startup_steps, log)
    n, k = len(demand), params.k
    up_start, down_start, last = 0, 0, NEVER
    m, size = 0, _FIRST_CHUNK
    index = np.arange(n, dtype=np.int64)
    fd = params.down_factor
    dense = False
    while m < n:
        if dense:
            m, up_start, down_start, last = _scan_step(
                demand, params, pods, m, up_start, down_start, last, gate
            )
            dense, size = False, _FIRST_CHUNK
            continue
        pods.advance(m * k)
        now = pods.requested
        end = min(n, m + size)
        pos = index[m:end]
        r = _ready(pods, m, end, k)
        d = demand[m:end]
        cu = d > params.up_factor * r
        hit_u, start_u = _first_fire(
            cu, pos, up_start, params.up_for, max(0, last + params.up_cooldown - m)
        )
        if now >= params.max_r:
            hit_u = -1
        hit_d, cd, start_d = -1, None, None
        if fd is not None:
            cd = d < fd * r
            if gate is not None:
                cd &= gate[m:end]
            hit_d, start_d = _first_fire(
                cd, pos, down_start, params.down_for, max(0, last + params.down_cooldown - m)
            )
            if now <= params.min_r:
                hit_d = -1
        if hit_u < 0 and hit_d < 0:
            up_start = _carry(cu, start_u, end - m - 1, m)
            down_start = end if cd is None else _carry(cd, start_d, end - m - 1, m)
            m, size = end, min(size * _GROWTH, _MAX_CHUNK)
            continue
        up = hit_d < 0 or (0 <= hit_u < hit_d)
        hit = hit_u if up else hit_d
        j = m + hit
        pods.advance(j * k)
        pods.scale(j, j * k, step_change(params, up, now))
        dense = j - last <= _DENSE_GAP
        last = j
        up_start = _carry(cu, start_u, hit, m)
        down_start = j + 1 if cd is None else _carry(cd, start_d, hit, m)
        m, size = j + 1, _FIRST_CHUNK
    pods.advance(END)  # pods still starting at the end: logged, cut off by the caller
    return log


def _first_window_none(hit: BoolArray, window: int) -> int:
    """The first position p (0-based, from ``window - 1`` on) such that no element of
    ``hit[p - window + 1 : p + 1]`` is set, minus ``window - 1``; -1 when there is none."""
    marks = np.flatnonzero(hit)
    if marks.size == 0:
        return 0 if len(hit) >= window else -1
    if marks[0] >= window:
        return 0
    # after a mark at a, the first clear window ends at a + window (relative: a + 1)
    if marks.size > 1:
        wide = (marks[1:] - marks[:-1]) > window
        g = int(np.argmax(wide))
        if wide[g]:
            return int(marks[g]) + 1
    last = int(marks[-1])
    return last + 1 if len(hit) - last > window else -1


def _recommend_chunk(
    dem: Array,
    raws: list[IntArray | None],
    params: HpaParams,
    m: int,
    end: int,
    r: IntArray | int,
    now: int,
    out: IntArray,
) -> None:
    """Write the recommendations of decisions ``m..end-1`` into ``out`` (the vectorized
    :func:`~capplan.policy.sim_common.hpa_recommend`)."""
    tol = params.tolerance
    for c, ch in enumerate(params.channels):
        d = dem[c, m:end]
        raw = raws[c]
        if raw is None:  # total
            keep = np.abs(d - ch.per) <= tol * ch.per
            want = np.clip(np.ceil(r * d / ch.per - EPS), params.min_r, params.max_r)
            want = want.astype(np.int64)
        else:
            cap = (r if ch.kind == "ready" else now) * ch.per
            keep = np.abs(d - cap) <= tol * cap
            want = raw[m:end]
        if c == 0:
            np.copyto(out, want)
            out[keep] = now
        else:
            np.maximum(out, np.where(keep, now, want), out=out)
    if isinstance(r, np.ndarray):
        out[r == 0] = now
    elif r == 0:
        out[:] = now


def _zero_event(
    dem: Array, zero: ZeroScaling, m: int, end: int, now: int, last_active: int
) -> tuple[int, BoolArray, IntArray]:
    """The first decision (relative to ``m``; ``end - m`` when none) where KEDA scales to or
    from zero, the active checks of the chunk and their positions."""
    pos = np.arange(m, end, dtype=np.int64)
    active = (pos % zero.poll == 0) & (dem[0, m:end] > zero.activation)
    if now == 0:
        cand = active
    else:
        seen = np.maximum.accumulate(np.where(active, pos, NEVER))
        cand = (pos % zero.poll == 0) & ~active
        cand &= pos - np.maximum(seen, last_active) >= zero.cooldown
    hit = int(np.argmax(cand)) if cand.size else 0
    return (hit if cand.size and cand[hit] else end - m), active, pos


def _last_active(active: BoolArray | None, pos: IntArray | None, upto: int, carry: int) -> int:
    """The last active check at or before relative position ``upto``, else ``carry``."""
    if active is None or pos is None:
        return carry
    seen = np.flatnonzero(active[: upto + 1])
    return int(pos[seen[-1]]) if seen.size else carry


@dataclass
class _HpaRun:
    """What the HPA engine carries between its chunks and scans."""

    dem: Array
    raws: list[IntArray | None]
    params: HpaParams
    pods: Pods
    hist: IntArray
    pad: int
    up_ev: list[tuple[int, int]] = field(default_factory=list)
    down_ev: list[tuple[int, int]] = field(default_factory=list)
    last_active: int = NEVER


def _scan_hpa(run: _HpaRun, m: int) -> tuple[int, int]:
    """Decision-by-decision scan from ``m`` (the reference loop, with the window of recent
    recommendations kept in a Python list) while actions come closer than ``_SCAN`` decisions
    apart; returns the next decision and the last action's (``NEVER`` if none)."""
    params, pods, hist, pad, dem, raws = run.params, run.pods, run.hist, run.pad, run.dem, run.raws
    n, k = dem.shape[1], params.k
    wu, wd = params.up_window, params.down_window
    width = max(wu, wd)
    zero = params.zero
    window: list[int] = hist[pad + m - width + 1 : pad + m].tolist()
    stop, last, j = min(n, m + _HPA_SCAN), NEVER, m
    while j < stop:
        step = j * k
        if pods.pending and pods.pending[0][0] <= step:
            pods.advance(step)
        r, now = pods.ready, pods.requested
        rec = hpa_recommend(params, dem, raws, j, r, now)
        hist[pad + j] = rec
        window.append(rec)
        if len(window) > width:
            del window[0]
        new = now
        if zero is not None and j % zero.poll == 0:
            active = float(dem[0, j]) > zero.activation
            if active:
                run.last_active = j
            if now == 0 and active:
                new = params.min_r
            elif now > 0 and not active and j - run.last_active >= zero.cooldown:
                new = 0
            if new != now:
                pods.scale(j, step, new)
                last, stop = j, min(n, j + 1 + _HPA_SCAN)
                j += 1
                continue
        if now > 0:
            up_rec = rec if wu == 1 else min(window[-wu:])
            down_rec = rec if wd == 1 else max(window[-wd:])
            wanted = min(max(now, up_rec), down_rec)
            if wanted != now:
                new = hpa_decide(wanted, now, j, params, run.up_ev, run.down_ev)
            if new != now:
                record_event(new, now, j, params, run.up_ev, run.down_ev)
                pods.scale(j, step, new)
                last, stop = j, min(n, j + 1 + _HPA_SCAN)
        j += 1
    return j, last


def fast_hpa(demand: Array, params: HpaParams, replicas: int) -> EventLog:
    """Event-driven twin of :func:`~capplan.policy.sim_reference.reference_hpa`."""
    dem = np.atleast_2d(demand)
    log = EventLog()
    pods = Pods(replicas, params.startup_steps, log)
    raws = [hpa_raw_desired(dem[c], params, c) for c in range(len(params.channels))]
    n, k = dem.shape[1], params.k
    wu, wd = params.up_window, params.down_window
    pad = max(wu, wd) - 1
    hist = np.empty(pad + n, dtype=np.int64)
    hist[:pad] = replicas
    run = _HpaRun(dem, raws, params, pods, hist, pad)
    up_ev, down_ev = run.up_ev, run.down_ev
    can_up = params.up_select != "Disabled"
    can_down = params.down_select != "Disabled"
    zero = params.zero
    m, size = 0, _FIRST_CHUNK
    last_action, dense = NEVER, False
    while m < n:
        if dense:
            m, last = _scan_hpa(run, m)
            last_action = max(last_action, last)
            dense, size = False, _FIRST_CHUNK
            continue
        last_active = run.last_active
        pods.advance(m * k)
        now = pods.requested
        end = min(n, m + size)
        r = _ready(pods, m, end, k)
        rec = hist[pad + m : pad + end]
        _recommend_chunk(dem, raws, params, m, end, r, now, rec)
        zfirst, active, pos = end - m, None, None
        if zero is not None:
            zfirst, active, pos = _zero_event(dem, zero, m, end, now, last_active)
        first = end - m  # first candidate decision (relative), end - m when none
        if now > 0 and (can_up or can_down):
            if can_up:
                if wu == 1:
                    above = rec > now
                    u = int(np.argmax(above))
                    first = u if above[u] else first
                else:
                    u = _first_window_none(hist[pad + m - wu + 1 : pad + end] <= now, wu)
                    first = u if u >= 0 else first
            if can_down and first > 0:
                if wd == 1:
                    below = rec[:first] < now
                    v = int(np.argmax(below))
                    first = v if below[v] else first
                elif (rec[:first] < now).any():  # the window includes the decision itself
                    v = _first_window_none(hist[pad + m - wd + 1 : pad + m + first] >= now, wd)
                    first = v if v >= 0 else first
        if zfirst < end - m and zfirst <= first:  # KEDA's check comes first
            j = m + zfirst
            run.last_active = _last_active(active, pos, zfirst, last_active)
            pods.advance(j * k)
            pods.scale(j, j * k, params.min_r if now == 0 else 0)
            dense, last_action = j - last_action <= _HPA_DENSE_GAP, j
            m, size = j + 1, _FIRST_CHUNK
            continue
        if first == end - m:
            run.last_active = _last_active(active, pos, end - m - 1, last_active)
            m, size = end, min(size * _GROWTH, _MAX_CHUNK)
            continue
        j = m + first
        run.last_active = _last_active(active, pos, first, last_active)
        i = pad + j
        up_rec = int(hist[i]) if wu == 1 else int(hist[i - wu + 1 : i + 1].min())
        down_rec = int(hist[i - wd + 1 : i + 1].max())
        new = hpa_decide(min(max(now, up_rec), down_rec), now, j, params, up_ev, down_ev)
        if new != now:
            record_event(new, now, j, params, up_ev, down_ev)
            pods.advance(j * k)
            pods.scale(j, j * k, new)
            dense, last_action = j - last_action <= _HPA_DENSE_GAP, j
            size = _FIRST_CHUNK
        # else: blocked by the rate limits; look again from the next decision
        m = j + 1
    pods.advance(END)  # pods still starting at the end: logged, cut off by the caller
    return log
