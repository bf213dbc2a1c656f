"""Forecasts over planning horizons: the same first steps whatever the horizon, a trend (not a
flat line) far ahead, bounded metrics, levels already crossed, and the APM runbook's
90-day trend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capplan.data import read_file, to_panel
from capplan.forecast import Forecast, forecast, runway, runway_advice
from capplan.forecast.run import run_forecast
from capplan.forecast.schedule import backtest_schedule
from capplan.forecast.seasons import resolve_seasons
from capplan.plan import load_plan

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(23)
HOUR = 3600
WEEKS6 = 6 * 168


def trending(n: int = 3, t: int = WEEKS6, ahead: int = 0) -> np.ndarray:
    """Hourly series with a steady trend, a daily and a weekly cycle, and noise."""
    steps = np.arange(t + ahead, dtype=float)
    base = 40 + 0.02 * steps + 8 * np.sin(2 * np.pi * steps / 24) - 5 * (steps % 168 >= 120)
    return base[None, :] + RNG.normal(0, 1.5, (n, t + ahead))


def test_a_longer_horizon_keeps_the_first_steps_and_their_bands() -> None:
    y = trending()
    short = forecast(y, 60 * 24, step_seconds=HOUR)
    long = forecast(y, 90 * 24, step_seconds=HOUR)
    np.testing.assert_allclose(long.mean[:, : 60 * 24], short.mean, rtol=1e-9, atol=1e-9)
    for lv in (80, 95):
        np.testing.assert_allclose(long.lower[lv][:, : 60 * 24], short.lower[lv], rtol=1e-9)
        np.testing.assert_allclose(long.upper[lv][:, : 60 * 24], short.upper[lv], rtol=1e-9)
    # and below the short backtest horizon too
    day = forecast(y, 24, step_seconds=HOUR)
    np.testing.assert_allclose(long.mean[:, :24], day.mean, rtol=1e-9, atol=1e-9)


def test_the_runway_date_does_not_depend_on_the_horizon() -> None:
    y = trending(n=2)
    start = np.datetime64("2026-10-01T00:00", "s")
    dates = {}
    for days in (30, 90):
        h = days * 24
        fc = forecast(y, h, step_seconds=HOUR)
        future = start + np.arange(1, h + 1) * np.timedelta64(1, "h")
        dates[days] = runway(fc, 45.0, timestamps_future=future, history=y, smooth=168)
    for a, b in zip(dates[30], dates[90], strict=True):
        assert a.p50 is not None
        assert (a.p10, a.p50, a.p90) == (b.p10, b.p50, b.p90)
        assert a.trend_p50 == b.trend_p50


def test_far_ahead_a_clear_trend_is_extended_not_flat() -> None:
    y = trending(n=4, ahead=60 * 24)
    train, future = y[:, :WEEKS6], y[:, WEEKS6:]
    fc = forecast(train, 60 * 24, step_seconds=HOUR)
    assert all("naive" not in label.split("; then ")[-1] for label in fc.model)
    last_week = fc.mean[:, -168:].mean(axis=1)
    truth = future[:, -168:].mean(axis=1)
    assert np.abs(last_week - truth).max() < 3.0  # the flat last week would be ~20 off
    flat = train[:, -168:].mean(axis=1)
    assert (np.abs(last_week - truth) < 0.2 * np.abs(flat - truth)).all()


def test_the_backtest_schedule_is_fixed_by_the_history_alone() -> None:
    y = trending(n=2)
    seasons = resolve_seasons(y, HOUR, None)
    sched = backtest_schedule(y.shape[1], y.shape[1], seasons, step_seconds=HOUR)
    assert sched.short_h == 48
    assert sched.has_long
    assert sched.long_h > 2 * sched.short_h
    assert sched.buckets()[0][0] == 49
    assert sched.buckets()[-1][1] == sched.long_h
    assert sched.needs_long(49)
    assert not sched.needs_long(48)
    # the long windows fit in the history after two weeks of training
    assert min(sched.long_origins or [0]) >= 2 * 168
    assert max(sched.long_origins or [0]) + sched.long_h <= y.shape[1]


def test_bounds_clip_the_forecast_and_its_bands() -> None:
    t = np.arange(24 * 30, dtype=float)
    y = np.clip(60 + 0.05 * t + 15 * np.sin(2 * np.pi * t / 24), 0, 100)
    y = np.clip(y + RNG.normal(0, 4, (2, t.size)), 0, 100)
    free = forecast(y, 24 * 30, step_seconds=HOUR)
    assert free.upper[95].max() > 100  # a percentage would pass 100 without bounds
    fc = forecast(y, 24 * 30, step_seconds=HOUR, bounds=(0, 100))
    for arr in (fc.mean, fc.lower[95], fc.upper[95], fc.lower[80], fc.upper[80]):
        assert arr.min() >= 0
        assert arr.max() <= 100
    per_series = forecast(y, 48, step_seconds=HOUR, bounds=[[0, 100], [None, 90]])
    assert per_series.upper[95][1].max() <= 90
    with pytest.raises(Exception, match="lower bound is above"):
        forecast(y, 48, step_seconds=HOUR, bounds=(100, 0))


def test_a_series_already_past_the_level_says_since_when() -> None:
    history = np.array([[50.0, 70, 85, 90, 96.58]])
    fc = Forecast(
        mean=np.full((1, 5), 96.0),
        lower={80: np.full((1, 5), 90.0)},
        upper={80: np.full((1, 5), 99.0)},
        model=["naive"],
    )
    future = np.datetime64("2014-04-24T01:00", "s") + np.arange(5) * np.timedelta64(1, "h")
    (rw,) = runway(fc, 80.0, timestamps_future=future, history=history)
    assert rw.crossed
    assert rw.crossed_since == np.datetime64("2014-04-23T22:00", "s")
    assert rw.crossed_seconds == 3 * 3600
    assert rw.message == "above 80 since 2014-04-23 22:00 (for 3 h)"
    (line,) = runway_advice([rw], ["cpu"], "%")
    assert line == "cpu is already above 80% since 2014-04-23 22:00 (for 3 h)."
    (below,) = runway(fc, 99.5, timestamps_future=future, history=history)
    assert not below.crossed


def apm_rows() -> tuple[list[dict[str, object]], list[str], np.ndarray]:
    frame = read_file(ROOT / "examples" / "metrics" / "apm_history.csv")
    plan = load_plan(ROOT / "examples" / "metrics" / "apm_checks.yaml")
    run = run_forecast(frame, "90d", plans=[plan], now=np.datetime64("2026-10-13T00:00", "s"))
    panel = to_panel(frame, HOUR, "mean")
    return run.plan_runway, run.advice, panel.values


def least_squares_crossing(y: np.ndarray, level: float) -> np.datetime64:
    """When a least-squares line with an hour-of-week profile (the weekly cycle taken out
    of the slope) crosses ``level``, counted from the last sample (2026-10-12 23:00)."""
    t = np.arange(y.size, dtype=float)
    profile = np.eye(168)[np.arange(y.size) % 168]
    design = np.column_stack([t, profile])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    level_now = coef[0] * t[-1] + coef[1:].mean()
    hours = (level - level_now) / coef[0]
    return np.datetime64("2026-10-12T23:00", "s") + np.timedelta64(round(hours), "h")


def test_apm_trend_crossings_match_a_least_squares_line() -> None:
    rows, advice, values = apm_rows()
    series = ["requests_per_second", "avg_cpu_usage", "avg_memory_usage"]
    checked = {("avg_cpu_usage", 80.0), ("avg_cpu_usage", 70.0), ("avg_memory_usage", 70.0)}
    checked.add(("requests_per_second", 800.0))
    found = 0
    for r in rows:
        key = (str(r["series"]), float(r["value"]))  # type: ignore[arg-type]
        if key not in checked:
            continue
        y = values[series.index(key[0])]
        expected = least_squares_crossing(y, key[1])
        got = np.datetime64(str(r["trend_p50"]).rstrip("Z"), "s")
        assert abs(got - expected) <= np.timedelta64(4, "D"), (key, got, expected)
        found += 1
    assert found == len(checked)
    assert any(
        line.startswith("avg_cpu_usage predicted max") and "increase CPU capacity before" in line
        for line in advice
    )
    assert any("scale the application out before" in line for line in advice)
