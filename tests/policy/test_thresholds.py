"""Threshold evaluation with Prometheus ``for:`` semantics, and checking a plan's thresholds."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.data import MetricFrame
from capplan.plan.loader import validate_plan_data
from capplan.plan.models import Threshold
from capplan.policy import check_plan, evaluate_threshold

T0 = np.datetime64("2026-01-01T10:00:00", "s")


def minutes(n: int, step: int = 1) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    return T0 + (np.arange(n) * step * 60).astype("timedelta64[s]")


def at(hhmm: str) -> np.datetime64:
    return np.datetime64(f"2026-01-01T{hhmm}:00", "s")


def thr(**kwargs: Any) -> Threshold:
    if "for_" in kwargs:
        kwargs["for"] = kwargs.pop("for_")
    kwargs.setdefault("metric", "cpu")
    return Threshold.model_validate(kwargs)


def test_pending_then_firing_then_resolved_at_exact_times() -> None:
    # 1-minute samples; above 80 from 10:00 to 10:11; for: 5m → firing at 10:05, resolved 10:12.
    values = np.zeros(20)
    values[:12] = 90
    ev = evaluate_threshold(minutes(20), values, thr(warning={"value": 80, "for": "5m"}))
    lv = ev.level("warning")
    pending, firing = lv.intervals
    assert (pending.state, pending.start, pending.end) == ("pending", at("10:00"), at("10:05"))
    assert (firing.state, firing.start, firing.end) == ("firing", at("10:05"), at("10:12"))
    assert not firing.ongoing
    assert lv.seconds_pending == 300
    assert lv.seconds_firing == 420
    assert (lv.firings, lv.resolutions, lv.flaps, lv.flapping) == (1, 1, 0, False)
    assert lv.state == "inactive"
    assert lv.state_since is None
    assert ev.last_value == 0
    assert ev.last_time == at("10:19")


def test_condition_shorter_than_for_only_pends() -> None:
    values = np.zeros(10)
    values[2:5] = 90  # 10:02..10:04, false at 10:05
    lv = evaluate_threshold(minutes(10), values, thr(warning=80, for_="5m")).level("warning")
    (pending,) = lv.intervals
    assert (pending.state, pending.start, pending.end) == ("pending", at("10:02"), at("10:05"))
    assert lv.firings == 0
    assert lv.seconds_firing == 0


def test_for_zero_fires_immediately_without_pending() -> None:
    values = np.array([0, 90, 90, 0, 90], dtype=float)
    lv = evaluate_threshold(minutes(5), values, thr(critical=80)).level("critical")
    assert [(iv.state, iv.start, iv.end, iv.ongoing) for iv in lv.intervals] == [
        ("firing", at("10:01"), at("10:03"), False),
        ("firing", at("10:04"), at("10:04"), True),
    ]
    assert lv.seconds_pending == 0
    assert (lv.firings, lv.resolutions) == (2, 1)
    assert lv.state == "firing"
    assert lv.state_since == at("10:04")


def test_level_for_overrides_the_threshold_default() -> None:
    values = np.full(10, 99.0)
    ev = evaluate_threshold(
        minutes(10), values, thr(for_="5m", warning=80, critical={"value": 90, "for": "2m"})
    )
    assert ev.level("warning").state_since == at("10:05")
    assert ev.level("critical").state_since == at("10:02")
    assert ev.level("warning").intervals[-1].ongoing


def test_below_direction() -> None:
    # free memory below 10 (warning) and 5 (critical)
    values = np.array([20, 8, 8, 8, 4, 4, 4, 12], dtype=float)
    ev = evaluate_threshold(
        minutes(8), values, thr(direction="below", for_="2m", warning=10, critical=5)
    )
    warning, critical = ev.level("warning"), ev.level("critical")
    assert [(iv.state, iv.start, iv.end) for iv in warning.intervals] == [
        ("pending", at("10:01"), at("10:03")),
        ("firing", at("10:03"), at("10:07")),
    ]
    assert [(iv.state, iv.start, iv.end) for iv in critical.intervals] == [
        ("pending", at("10:04"), at("10:06")),
        ("firing", at("10:06"), at("10:07")),
    ]


def test_gap_longer_than_two_steps_resets_pending() -> None:
    # 1-minute samples, all above; a 10-minute hole after 10:03 → the run restarts at 10:13.
    stamps = np.concatenate([minutes(4), minutes(10)[:] + np.timedelta64(13, "m")])
    values = np.full(len(stamps), 90.0)
    lv = evaluate_threshold(stamps, values, thr(warning=80, for_="5m")).level("warning")
    assert [(iv.state, iv.start, iv.end, iv.ongoing) for iv in lv.intervals] == [
        ("pending", at("10:00"), at("10:04"), False),  # ends one step after the last sample
        ("pending", at("10:13"), at("10:18"), False),
        ("firing", at("10:18"), at("10:22"), True),
    ]
    assert lv.firings == 1


def test_gap_of_two_steps_is_tolerated() -> None:
    stamps = np.concatenate([minutes(3), minutes(6) + np.timedelta64(4, "m")])  # 10:02 → 10:04
    values = np.full(len(stamps), 90.0)
    lv = evaluate_threshold(stamps, values, thr(warning=80, for_="5m")).level("warning")
    assert [(iv.state, iv.start) for iv in lv.intervals] == [
        ("pending", at("10:00")),
        ("firing", at("10:05")),
    ]


def test_nan_counts_as_condition_false() -> None:
    values = np.array([90, 90, np.nan, 90, 90, 90], dtype=float)
    lv = evaluate_threshold(minutes(6), values, thr(warning=80, for_="2m")).level("warning")
    assert [(iv.state, iv.start, iv.end) for iv in lv.intervals] == [
        ("pending", at("10:00"), at("10:02")),
        ("pending", at("10:03"), at("10:05")),
        ("firing", at("10:05"), at("10:05")),
    ]


def test_multiple_levels_and_status_helpers() -> None:
    values = np.array([50, 85, 85, 95, 95, 95, 97], dtype=float)
    ev = evaluate_threshold(
        minutes(7), values, thr(for_="1m", target=40, warning=80, critical=90, emergency=99)
    )
    assert [lv.level for lv in ev.levels] == ["target", "warning", "critical", "emergency"]
    assert ev.level("emergency").intervals == ()
    highest = ev.highest("firing")
    assert highest is not None
    assert highest.level == "critical"  # target never counts
    assert ev.level("target").state == "firing"
    kinds = [(iv.level, iv.state) for iv in ev.timeline]
    assert kinds[:2] == [("target", "pending"), ("target", "firing")]
    assert ("critical", "firing") in kinds


def test_flapping_counts_quick_refirings() -> None:
    # for: 0s; fires for 1 min every 3 min (2 min quiet) → each re-firing is a flap
    values = np.tile([90.0, 0.0, 0.0], 10)
    lv = evaluate_threshold(minutes(30), values, thr(warning=80)).level("warning")
    assert lv.firings == 10
    assert lv.flaps == 9
    assert lv.flapping
    # a 1-minute window: 2 minutes of quiet is long enough, so no flaps
    calm = evaluate_threshold(minutes(30), values, thr(warning=80), flap_window_seconds=60)
    assert calm.level("warning").flaps == 0
    assert not calm.level("warning").flapping


def test_eval_interval_uses_latest_fresh_sample() -> None:
    # samples every 5 minutes, evaluated every minute (lookback 5 min): a continuous run.
    values = np.full(5, 90.0)
    ev = evaluate_threshold(
        minutes(5, step=5), values, thr(warning=80, for_="7m"), eval_interval_seconds=60
    )
    lv = ev.level("warning")
    assert ev.samples == 21
    assert ev.step_seconds == 60
    assert lv.state == "firing"
    assert lv.state_since == at("10:07")


def test_unsorted_input_and_empty_series() -> None:
    values = np.array([0, 90, 90, 90], dtype=float)
    stamps = minutes(4)
    order = np.array([3, 1, 0, 2])
    ev = evaluate_threshold(stamps[order], values[order], thr(warning=80, for_="1m"))
    assert ev.level("warning").state_since == at("10:02")
    empty = evaluate_threshold(np.array([], "datetime64[s]"), np.array([]), thr(warning=80))
    assert empty.level("warning").state == "inactive"
    assert empty.last_time is None
    assert empty.to_dict()["last_value"] is None


def test_to_dict_is_json_ready() -> None:
    values = np.zeros(20)
    values[:12] = 90
    ev = evaluate_threshold(minutes(20), values, thr(warning={"value": 80, "for": "5m"}))
    data = ev.to_dict(timeline=True)
    assert data["timeline"] == [
        {
            "level": "warning",
            "state": "pending",
            "start": "2026-01-01T10:00:00Z",
            "end": "2026-01-01T10:05:00Z",
            "seconds": 300.0,
            "ongoing": False,
        },
        {
            "level": "warning",
            "state": "firing",
            "start": "2026-01-01T10:05:00Z",
            "end": "2026-01-01T10:12:00Z",
            "seconds": 420.0,
            "ongoing": False,
        },
    ]


@settings(max_examples=200, deadline=None)
@given(
    cond=st.lists(st.booleans(), min_size=1, max_size=60),
    steps=st.lists(st.sampled_from([60, 60, 60, 120, 300]), min_size=60, max_size=60),
    for_minutes=st.integers(min_value=0, max_value=6),
)
def test_firing_never_exceeds_condition_and_needs_for(
    cond: list[bool], steps: list[int], for_minutes: int
) -> None:
    n = len(cond)
    seconds = np.cumsum([0, *steps[: n - 1]])
    stamps = T0 + seconds.astype("timedelta64[s]")
    values = np.where(cond, 90.0, 0.0)
    ev = evaluate_threshold(stamps, values, thr(warning={"value": 80, "for": f"{for_minutes}m"}))
    lv = ev.level("warning")
    # Condition-true time, computed independently: each true sample holds until the next
    # sample, or for one step when the series is absent (a gap > 2 steps) after it.
    diffs = np.diff(seconds).astype(float)
    step = float(np.median(diffs)) if n > 1 else 0.0
    held = sum((step if diffs[i] > 2 * step else diffs[i]) for i in range(n - 1) if cond[i])
    assert ev.step_seconds == step
    assert lv.seconds_firing <= held
    assert lv.seconds_firing + lv.seconds_pending == pytest.approx(held)
    for iv in lv.intervals:
        assert iv.end >= iv.start
        if iv.state == "firing":
            # firing starts at a sample, and every sample from `for` before it was true
            assert (stamps == iv.start).any()
            inside = (stamps >= iv.start - np.timedelta64(for_minutes * 60, "s")) & (
                stamps <= iv.start
            )
            assert values[inside].min() > 80
            run_start = [p for p in lv.intervals if p.state == "pending" and p.end == iv.start]
            if for_minutes:
                assert run_start
                assert iv.start - run_start[-1].start >= np.timedelta64(for_minutes * 60, "s")
        if iv.state == "pending" or for_minutes == 0:
            (idx,) = np.flatnonzero(stamps == iv.start)
            assert cond[int(idx)]  # no interval starts at a false sample
    assert lv.resolutions <= lv.firings <= lv.resolutions + 1


def test_a_week_of_15s_samples_is_fast() -> None:
    n = 7 * 86400 // 15
    stamps = np.datetime64("2026-01-01T00:00:00") + (np.arange(n) * 15).astype("timedelta64[s]")
    values = 70 + 15 * np.random.default_rng(0).standard_normal(n)
    threshold = thr(for_="1m", target=60, warning=80, critical=90, emergency=95)
    evaluate_threshold(stamps, values, threshold)
    start = time.perf_counter()
    ev = evaluate_threshold(stamps, values, threshold)
    elapsed = time.perf_counter() - start
    assert ev.samples == 40320
    assert ev.level("target").firings > 1000
    assert elapsed < 1.0  # about 5 ms here; generous for slow CI machines


# --- check_plan ----------------------------------------------------------------------------

PLAN: dict[str, Any] = {
    "system": "demo",
    "drivers": {"users": {"initial": 100}},
    "metrics": {
        "cpu": {"unit": "%", "series": "cpu{*"},
        "mem": {"unit": "%"},
        "load": {"expr": "users * 2"},
    },
    "thresholds": {
        "cpu_hot": {"metric": "cpu", "for": "2m", "warning": 80, "critical": 90},
        "mem_full": {"metric": "mem", "warning": 90},
        "load_high": {"metric": "load", "warning": 500},
        "users_many": {"metric": "users", "warning": 1000},
    },
}


NOW = at("10:04")  # a minute after the last sample of the short frames below


def frame(**series: list[float]) -> MetricFrame:
    return MetricFrame.from_series(
        {name.replace("_", '{host="') + '"}': (minutes(len(v)), v) for name, v in series.items()}
    )


def test_check_plan_statuses_per_series() -> None:
    plan = validate_plan_data(PLAN, "plan.yaml", {})
    data = frame(cpu_a=[95, 95, 95, 95], cpu_b=[85, 85, 85, 85], cpu_c=[50, 50, 50, 95])
    rep = check_plan(plan, data, now=NOW)
    by = {(r.threshold, r.series): r for r in rep.results}
    a = by["cpu_hot", 'cpu{host="a"}']
    assert (a.status, a.level, a.since) == ("critical", "critical", at("10:02"))
    b = by["cpu_hot", 'cpu{host="b"}']
    assert (b.status, b.level) == ("warning", "warning")
    c = by["cpu_hot", 'cpu{host="c"}']
    assert (c.status, c.level, c.pending) == ("ok", None, "critical")
    assert by["mem_full", None].status == "no data"
    assert by["load_high", None].status == "not observed"
    assert by["users_many", None].status == "not observed"
    assert rep.status == "critical"
    assert rep.exit_code == 2
    assert rep.to_dict()["exit_code"] == 2


def test_check_plan_exit_codes() -> None:
    plan = validate_plan_data(
        {**PLAN, "thresholds": {"cpu_hot": PLAN["thresholds"]["cpu_hot"]}}, "plan.yaml", {}
    )
    assert check_plan(plan, frame(cpu_a=[50, 50, 50]), now=NOW).exit_code == 0
    assert check_plan(plan, frame(cpu_a=[85, 85, 85]), now=NOW).exit_code == 1
    assert check_plan(plan, frame(cpu_a=[95, 95, 95]), now=NOW).exit_code == 2
    assert check_plan(plan, frame(other_a=[95.0]), now=NOW).results[0].status == "no data"
    assert check_plan(plan, frame(other_a=[95.0]), now=NOW).exit_code == 1


def test_emergency_counts_as_critical() -> None:
    data = {
        **PLAN,
        "thresholds": {"cpu_hot": {"metric": "cpu", "critical": 90, "emergency": 99}},
        "alerting": {"for": "0s"},  # levels with no for: fire at once
    }
    rep = check_plan(validate_plan_data(data, "plan.yaml", {}), frame(cpu_a=[100.0]), now=NOW)
    (result,) = rep.results
    assert (result.status, result.level) == ("critical", "emergency")
    assert rep.exit_code == 2


def test_levels_without_a_for_wait_for_alerting_for_as_their_alert_rules_do() -> None:
    """check agrees with the generated rules: a level that gives no for: (nor its threshold)
    holds for alerting.for (5m by default) before it counts as firing."""
    data = {**PLAN, "thresholds": {"cpu_hot": {"metric": "cpu", "critical": 90}}}
    plan = validate_plan_data(data, "plan.yaml", {})
    (short,) = check_plan(plan, frame(cpu_a=[95, 95, 95]), now=NOW).results  # 2 minutes
    assert (short.status, short.pending) == ("ok", "critical")
    later = NOW + np.timedelta64(4, "m")
    (longer,) = check_plan(plan, frame(cpu_a=[95] * 7), now=later).results  # 6 minutes
    assert longer.status == "critical"
