"""Thresholds on the percent change of a metric over a window (``change: {over: 7d}``)."""

from __future__ import annotations

import numpy as np
import pytest

import capplan
from capplan.data.frame import MetricFrame
from capplan.engine.hits import period_change, threshold_hits
from capplan.errors import PlanError
from capplan.export.alerts import alert_specs
from capplan.plan.models import Threshold
from capplan.policy.plan_check import check_plan
from capplan.policy.thresholds import evaluate_threshold, percent_change

DAY = 86400
HOUR = 3600


def growth(**extra: object) -> Threshold:
    data: dict[str, object] = {"metric": "cpu", "change": {"over": "7d"}, "warning": 20}
    data.update(extra)
    return Threshold.model_validate(data)


def test_percent_change_takes_the_sample_at_or_before_t_minus_over() -> None:
    seconds = np.array([0, 10, 20, 30], dtype=np.int64)
    values = np.array([50.0, 0.0, 60.0, 75.0])
    out = percent_change(seconds, values, 15)
    # no history 15 s back for the first two; 20 -> base at 0 (50); 30 -> base at 10 (0: none)
    assert np.isnan(out[0])
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(20.0)
    assert np.isnan(out[3])
    assert percent_change(seconds, values, 15, "below")[2] == pytest.approx(-20.0)


def test_growth_fires_after_for_on_the_change() -> None:
    t = np.arange(0, 10 * DAY, HOUR, dtype=np.int64)
    v = np.where(t < 8 * DAY, 50.0, 62.0)  # +24% from day 8
    ev = evaluate_threshold(t, v, growth(**{"for": "2h"}))
    lv = ev.level("warning")
    assert lv.state == "firing"
    assert lv.state_since == np.datetime64(8 * DAY + 2 * HOUR, "s")
    # at the last sample the base (7 days before, day 2) is 50 and the value 62
    assert ev.last_value == pytest.approx(24.0)
    assert ev.value_text() == "+24% over 7d"
    assert evaluate_threshold(t[:100], v[:100], growth()).value_text() == "-"


def test_fall_with_direction_below() -> None:
    t = np.arange(0, 10 * DAY, HOUR, dtype=np.int64)
    v = np.where(t < 8 * DAY, 100.0, 70.0)
    ev = evaluate_threshold(t, v, growth(direction="below", warning=20, critical=25))
    assert ev.highest("firing") is not None
    assert ev.highest("firing").level == "critical"  # type: ignore[union-attr]
    assert ev.value_text() == "-30% over 7d"


@pytest.mark.parametrize(
    ("extra", "word"),
    [
        ({"change": {"over": "0s"}}, "change.over"),
        ({"change": {"over": "7d"}, "warning": -5}, "rise in percent > 0"),
        ({"change": {"over": "7d"}, "direction": "below", "warning": 100}, "< 100"),
        ({"change": {"over": "7d"}, "warning": 30, "critical": 20}, "mildest first"),
        ({"change": {"over": "7d"}, "runway": {}}, "runway"),
    ],
)
def test_bad_change_values_are_errors(extra: dict[str, object], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        growth(**extra)


def test_target_and_ordered_fall_levels_are_allowed() -> None:
    th = growth(direction="below", target=0, warning=10, critical=30)
    assert [n for n, _ in th.levels()] == ["target", "warning", "critical"]


PLAN = """\
system: growth
start: 2026-01
horizon: 6
drivers:
  users: {initial: 100, growth: {model: compound, rate: 0.3}}
metrics:
  cpu: {unit: "%"}
thresholds:
  cpu_growth:
    metric: cpu
    change: {over: 7d}
    warning: {value: 20, for: 1h}
  users_growth:
    metric: users
    change: {over: 7d}
    warning: 25
"""


def test_over_0s_is_an_error_with_field_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace("over: 7d}\n    warning: {", "over: 0s}\n    warning: {"))
    with pytest.raises(PlanError) as info:
        capplan.load_plan(path)
    text = str(info.value)
    assert "thresholds.cpu_growth.change.over" in text
    assert ":11" in text


def test_check_uses_history_before_since_as_the_base(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    plan = capplan.load_plan(path)
    t = np.arange(0, 10 * DAY, HOUR, dtype=np.int64)
    v = np.where(t < 8 * DAY, 50.0, 61.5)
    frame = MetricFrame.from_series({"cpu": (t.astype("datetime64[s]"), v)})
    now = np.datetime64(int(t[-1]), "s")
    report = check_plan(plan, frame, now=now, since_seconds=DAY)
    result = next(r for r in report.results if r.threshold == "cpu_growth")
    assert result.status == "warning"
    assert result.message == "+23% over 7d"
    assert result.value_text == "+23% over 7d"


def test_plan_event_converts_the_window_to_periods(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    plan = capplan.load_plan(path)
    proj = capplan.run_plan(plan)
    events = [e for e in proj.events if e.kind == "threshold"]
    assert events, "a 30% monthly growth passes +25% in period 1"
    event = events[0]
    assert event.period == 1
    assert "+30% over 1 month" in event.message
    assert "measured over one month" in event.message
    assert event.detail["change_periods"] == 1


def test_period_change_and_monte_carlo_hits() -> None:
    values = np.array([[100.0, 130.0, 169.0, 0.0, 10.0]])
    out = period_change(values, 1, "above")
    assert np.isnan(out[0, 0])
    assert np.isnan(out[0, 4])
    assert out[0, 1] == pytest.approx(30.0)
    th = growth(warning=25)
    ((_, text, hit),) = threshold_hits("g", th, values, "week")
    assert "grows warning 25% over 7d" in text
    assert hit.tolist() == [[False, True, True, False, False]]


def test_alert_expr_and_annotations() -> None:
    plan = capplan.load_plan(capplan_example("freeagentics"))
    spec = next(s for s in alert_specs(plan) if s.name == "CpuGrowthWarning")
    assert spec.expr == (
        "100 * (cpu_utilization - cpu_utilization offset 7d) / "
        "(cpu_utilization offset 7d != 0) > 20"
    )
    assert "grew {{ $value" in spec.annotations["summary"]
    assert "over 7d" in spec.annotations["summary"]


def capplan_example(name: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "examples" / f"{name}.yaml"
