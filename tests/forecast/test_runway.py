"""Runway dates from forecasts and their bands, and the plain-language recommendations."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ForecastError
from capplan.forecast import Forecast, forecast, runway, runway_advice

START = np.datetime64("2026-03-01T00:00", "s")


def days(h: int) -> np.ndarray:
    return START + np.arange(1, h + 1) * np.timedelta64(1, "D")


def line_forecast(slope: float = 1.0, spread: float = 5.0, h: int = 60) -> Forecast:
    mean = 50.0 + slope * np.arange(1, h + 1, dtype=float)[None, :]
    return Forecast(
        mean=mean,
        lower={80: mean - spread},
        upper={80: mean + spread},
        model=["drift"],
    )


def test_a_straight_line_crosses_at_the_known_step() -> None:
    (rw,) = runway(line_forecast(), 80.0, timestamps_future=days(60))
    # mean = 50 + j reaches 80 at j = 30; upper (+5) at j = 25; lower (-5) at j = 35
    assert rw.p50 == days(60)[29]
    assert rw.p10 == days(60)[24]
    assert rw.p90 == days(60)[34]
    assert rw.message == "between 2026-03-26 and 2026-04-05 (80% interval), most likely 2026-03-31"


def test_downward_crossing_and_capacity_fraction() -> None:
    fc = line_forecast(slope=-1.0)
    (rw,) = runway(fc, 0.5, "below", days(60), capacity=60.0)  # 30 = 50 - j at j = 20
    assert rw.threshold == 30.0
    assert (rw.p10, rw.p50, rw.p90) == (days(60)[14], days(60)[19], days(60)[24])


def test_not_within_the_horizon_and_partial_ranges() -> None:
    fc = line_forecast(slope=0.5, h=60)  # mean reaches 80 at j = 60, lower never
    (rw_far,) = runway(fc, 200.0, timestamps_future=days(60))
    assert rw_far.p10 is rw_far.p50 is rw_far.p90 is None
    assert rw_far.message == "not within the horizon (to 2026-04-30)"
    (rw,) = runway(fc, 80.0, timestamps_future=days(60))
    assert rw.p50 == days(60)[59]
    assert rw.p90 is None
    assert rw.p10 == days(60)[49]
    assert "to beyond 2026-04-30" in rw.message
    (rw,) = runway(fc, 82.0, timestamps_future=days(60))
    assert rw.p50 is None
    assert rw.p10 is not None
    assert rw.message.startswith("unlikely within the horizon")


def test_per_series_thresholds_and_recommendations() -> None:
    mean = np.stack([50 + np.arange(1, 61.0), np.full(60, 10.0)])
    fc = Forecast(mean, {80: mean - 5}, {80: mean + 5}, ["drift", "naive"])
    rws = runway(fc, [80.0, 90.0], timestamps_future=days(60))
    lines = runway_advice(rws, ["api p95 CPU", "db CPU"], unit="%")
    assert lines == [
        "api p95 CPU crosses 80% between 2026-03-26 and 2026-04-05 (80% interval), most"
        " likely 2026-03-31: act before 2026-03-26.",
        "db CPU reaching 90%: not within the horizon (to 2026-04-30).",
    ]
    assert runway_advice(runway(fc, 70.0, "below", days(60)), ["a", "b"], "GB")[1] == (
        "b falls below 70 GB between 2026-03-02 and 2026-03-02 (80% interval), most likely"
        " 2026-03-02: act before 2026-03-02."
    ).replace("between 2026-03-02 and 2026-03-02", "on 2026-03-02")


def test_runway_from_a_real_forecast_of_a_growing_disk() -> None:
    rng = np.random.default_rng(2)
    steps = np.arange(24 * 28, dtype=float)
    used = 100 + 0.5 * steps + rng.normal(0, 2, (1, steps.size))  # GB, +12 GB a day
    fc = forecast(used, 24 * 14)
    ts = START + np.arange(1, 24 * 14 + 1) * np.timedelta64(3600, "s")
    (rw,) = runway(fc, 0.9, timestamps_future=ts, capacity=700.0)  # 630 GB
    # truth: 100 + 0.5 * t = 630 at t = 1060, i.e. step 1060 - 672 = 388 > 336
    assert rw.p50 is None or rw.p50 >= ts[300]
    (rw,) = runway(fc, 0.8, timestamps_future=ts, capacity=700.0)  # 560 GB at step 248
    assert rw.p50 is not None
    assert abs((rw.p50 - ts[247]) / np.timedelta64(1, "h")) <= 12
    assert rw.p10 is not None
    assert rw.p90 is not None
    assert rw.p10 <= rw.p50 <= rw.p90


def test_bad_arguments() -> None:
    fc = line_forecast()
    with pytest.raises(ForecastError, match="direction must be 'above' or 'below'"):
        runway(fc, 1.0, "up", days(60))  # type: ignore[arg-type]
    with pytest.raises(ForecastError, match="must have 60 instants"):
        runway(fc, 1.0, timestamps_future=days(5))
    with pytest.raises(ForecastError, match="level 95 is not in the forecast"):
        runway(fc, 1.0, timestamps_future=days(60), level=95)
    with pytest.raises(ForecastError, match="expected 1 names, got 2"):
        runway_advice(runway(fc, 1.0, timestamps_future=days(60)), ["a", "b"])


def test_a_series_without_data_says_so() -> None:
    mean = np.full((1, 5), np.nan)
    fc = Forecast(mean, {80: mean}, {80: mean}, ["naive"])
    (rw,) = runway(fc, 1.0, timestamps_future=days(5))
    assert rw.p50 is None
    assert rw.message == "no forecast (the series has no observations)"
