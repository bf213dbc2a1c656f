"""``check_plan`` as of an instant: samples after ``now`` are ignored, ``since`` counts back
from ``now``, and a series whose newest sample is too old is ``stale``."""

from __future__ import annotations

from typing import Any

import numpy as np

from capplan.data import MetricFrame
from capplan.plan.loader import validate_plan_data
from capplan.plan.models import Plan
from capplan.policy import check_plan

T0 = np.datetime64("2026-01-01T10:00:00", "s")
PLAN: dict[str, Any] = {
    "system": "demo",
    "drivers": {"users": {"initial": 100}},
    "metrics": {"cpu": {"unit": "%", "series": "cpu{*"}},
    "thresholds": {"cpu_hot": {"metric": "cpu", "for": "2m", "warning": 80, "critical": 90}},
}


def at(hhmm: str) -> np.datetime64:
    return np.datetime64(f"2026-01-01T{hhmm}:00", "s")


def plan(**changes: Any) -> Plan:
    data = {**PLAN, **changes}
    return validate_plan_data(data, "plan.yaml", {})


def frame(**series: list[float]) -> MetricFrame:
    """One-minute samples from 10:00 of each series, ``a=[...]`` named ``cpu{host="a"}``."""
    return MetricFrame.from_series(
        {
            f'cpu{{host="{name}"}}': (T0 + np.arange(len(v)) * np.timedelta64(60, "s"), v)
            for name, v in series.items()
        }
    )


def test_stale_series_exits_1_and_says_how_old() -> None:
    rep = check_plan(plan(), frame(a=[50] * 10), now=at("11:09"))  # last sample 10:09
    (result,) = rep.results
    assert result.status == "stale"
    assert result.last_sample == at("10:09")
    assert result.age_seconds == 3600
    assert result.stale
    assert result.message == "last sample 1h 0m ago, older than the max age 3m"
    assert (rep.status, rep.exit_code) == ("stale", 1)
    doc = rep.to_dict()
    assert doc["now"] == "2026-01-01T11:09:00Z"
    got = doc["results"][0]  # type: ignore[index]
    assert got["status"] == "stale"
    assert got["last_sample"] == "2026-01-01T10:09:00Z"
    assert got["age_seconds"] == 3600
    assert got["max_age_seconds"] == 180
    assert got["stale"] is True


def test_the_same_data_is_fresh_as_of_its_own_time() -> None:
    rep = check_plan(plan(), frame(a=[50] * 10), now=at("10:10"))
    (result,) = rep.results
    assert (result.status, result.stale, result.age_seconds) == ("ok", False, 60)
    assert rep.exit_code == 0


def test_max_age_zero_turns_the_check_off() -> None:
    rep = check_plan(plan(), frame(a=[50] * 10), now=at("23:00"), max_age_seconds=0)
    (result,) = rep.results
    assert (result.status, result.stale) == ("ok", False)
    assert result.age_seconds == 12 * 3600 + 51 * 60
    assert result.to_dict()["max_age_seconds"] is None
    assert rep.exit_code == 0


def test_explicit_max_age() -> None:
    data = frame(a=[50] * 10)
    assert check_plan(plan(), data, now=at("10:19"), max_age_seconds=600).exit_code == 0
    assert check_plan(plan(), data, now=at("10:20"), max_age_seconds=600).exit_code == 1


def test_default_max_age_is_the_longest_for_when_longer_than_three_steps() -> None:
    slow = {"cpu_hot": {"metric": "cpu", "for": "30m", "warning": 80}}
    data = frame(a=[50] * 10)
    assert check_plan(plan(thresholds=slow), data, now=at("10:39")).results[0].status == "ok"
    assert check_plan(plan(thresholds=slow), data, now=at("10:40")).results[0].status == "stale"


def test_samples_after_now_are_ignored() -> None:
    data = frame(a=[50, 50, 50, 50, 95, 95, 95, 95, 95, 95])
    assert check_plan(plan(), data, now=at("10:09")).exit_code == 2
    early = check_plan(plan(), data, now=at("10:03"))
    assert early.exit_code == 0
    assert early.results[0].last_sample == at("10:03")
    assert early.results[0].evaluation is not None
    assert early.results[0].evaluation.samples == 4


def test_since_counts_back_from_now() -> None:
    # 95 from 10:00 to 10:09, then 50: as of 10:12 with since 5m only the 50s are seen.
    data = frame(a=[95] * 10 + [50] * 3)
    whole = check_plan(plan(), data, now=at("10:12")).results[0]
    assert whole.evaluation is not None
    assert whole.evaluation.samples == 13
    recent = check_plan(plan(), data, now=at("10:12"), since_seconds=300).results[0]
    assert recent.evaluation is not None
    assert recent.evaluation.samples == 6  # 10:07 to 10:12
    # nothing in the last 5 minutes of a later now: stale, or "no data" with the check off
    later = check_plan(plan(), data, now=at("11:00"), since_seconds=300).results[0]
    assert (later.status, later.evaluation) == ("stale", None)
    assert later.last_sample == at("10:12")
    off = check_plan(plan(), data, now=at("11:00"), since_seconds=300, max_age_seconds=0)
    assert off.results[0].status == "no data"
    assert off.results[0].message == "no sample in the last 5m; last sample 48m 0s ago"
    assert off.exit_code == 1


def test_no_sample_before_now_is_no_data() -> None:
    rep = check_plan(plan(), frame(a=[50] * 3), now=at("09:00"))
    (result,) = rep.results
    assert result.status == "no data"
    assert result.message == "no sample at or before 2026-01-01T09:00:00Z"
    assert result.last_sample is None


def test_critical_still_wins_over_stale_and_a_stale_series_tells_its_last_state() -> None:
    # a: critical from 10:00 and still arriving; b: critical too, but stopped at 10:02
    data = MetricFrame.from_series(
        {
            'cpu{host="a"}': (T0 + np.arange(30) * np.timedelta64(60, "s"), [95.0] * 30),
            'cpu{host="b"}': (T0 + np.arange(3) * np.timedelta64(60, "s"), [95.0] * 3),
        }
    )
    rep = check_plan(plan(), data, now=at("10:30"))
    by = {r.series: r for r in rep.results}
    assert by['cpu{host="a"}'].status == "critical"
    b = by['cpu{host="b"}']
    assert (b.status, b.level) == ("stale", "critical")
    assert b.message.endswith("; critical was firing then")
    assert (rep.status, rep.exit_code) == ("critical", 2)


def test_warning_outranks_stale_in_the_overall_status() -> None:
    data = MetricFrame.from_series(
        {
            'cpu{host="a"}': (T0 + np.arange(30) * np.timedelta64(60, "s"), [85.0] * 30),
            'cpu{host="b"}': (T0 + np.arange(3) * np.timedelta64(60, "s"), [50.0] * 3),
        }
    )
    rep = check_plan(plan(), data, now=at("10:30"))
    assert sorted(r.status for r in rep.results) == ["stale", "warning"]
    assert (rep.status, rep.exit_code) == ("warning", 1)


def test_a_metric_without_a_glob_matches_its_series_with_labels() -> None:
    # series pulled from Prometheus are named after the metric, with the query's labels
    data = MetricFrame.from_series(
        {
            'cpu{job="api"}': (T0 + np.arange(10) * np.timedelta64(60, "s"), [95.0] * 10),
            "cpu_other": (T0 + np.arange(10) * np.timedelta64(60, "s"), [95.0] * 10),
        }
    )
    no_glob = plan(metrics={"cpu": {"unit": "%"}})
    (result,) = check_plan(no_glob, data, now=at("10:10")).results
    assert (result.series, result.status) == ('cpu{job="api"}', "critical")
