"""Seasonal periods: defaults per step, detection, usability and the short-series fallback."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ForecastError
from capplan.forecast import default_seasons, detect_seasons

RNG = np.random.default_rng(3)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (3600, (24, 168)),
        (300, (288, 2016)),
        (900, (96, 672)),
        (1800, (48, 336)),
        (86400, (7, 365)),
        (7 * 86400, (52,)),
        (30 * 86400, (12,)),
        (11 * 60, ()),  # no whole number of steps per day or week
    ],
)
def test_default_seasons(step: int, expected: tuple[int, ...]) -> None:
    assert default_seasons(step) == expected


def test_default_seasons_rejects_a_bad_step() -> None:
    with pytest.raises(ForecastError, match="step_seconds must be > 0, got 0"):
        default_seasons(0)


def test_detects_daily_and_weekly_seasons_in_hourly_data() -> None:
    t = np.arange(24 * 7 * 6)
    daily = 10 * np.sin(2 * np.pi * t / 24)
    weekly = 8 * (t % 168 >= 120)  # quiet weekends
    y = 100 + daily + weekly + RNG.normal(0, 1, (50, t.size))
    seas = detect_seasons(y, 3600)
    assert seas.periods == (24, 168)
    assert seas.enough.all()
    assert (seas.acf > 0.1).all()


def test_rejects_seasons_in_noise_and_random_walks() -> None:
    noise = RNG.normal(0, 1, (30, 1000))
    walk = np.cumsum(RNG.normal(0, 1, (30, 1000)), axis=1)
    assert detect_seasons(noise, 3600).periods == ()
    assert detect_seasons(walk, 3600).periods == ()


def test_seasons_need_two_full_seasons_of_history() -> None:
    t = np.arange(400)
    y = np.tile(50 + 10 * np.sin(2 * np.pi * t / 24), (3, 1))
    y[1, :-40] = np.nan  # 40 points: not two days
    y[2, :-100] = np.nan  # 100 points: two days, not two weeks
    seas = detect_seasons(y, 3600)
    assert seas.periods == (24, 168)  # a daily cycle repeats weekly too
    assert seas.enough.tolist() == [[True, True], [False, False], [True, False]]
    assert seas.short.tolist() == [1]
    assert seas.warnings() == [
        "series [1] have fewer than two seasons (48 points) of history: forecast without the "
        "24-step season (non-seasonal fallback)"
    ]
    later = seas.truncate(360)  # a backtest origin: 40, 0 and 0 points left
    assert later.enough[:, 0].tolist() == [False, False, False]
    assert later.short.tolist() == [0]  # empty series are reported as such, not as short


def test_constant_series_do_not_warn() -> None:
    with np.errstate(all="raise"):
        seas = detect_seasons(np.full((2, 500), 3.0), 3600)
    assert seas.periods == ()


def test_detects_a_smooth_daily_cycle_sampled_every_five_minutes() -> None:
    # first differences would drown this cycle in noise; the moving-average detrend does not
    t = np.arange(288 * 10)
    y = 50 + 10 * np.sin(2 * np.pi * t / 288) + RNG.normal(0, 1, (10, t.size))
    seas = detect_seasons(y, 300)
    assert seas.periods == (288,)  # ten days: not two weeks of 5-minute steps
    assert (seas.acf[:, 0] > 0.9).all()
    assert seas.significant().all()
