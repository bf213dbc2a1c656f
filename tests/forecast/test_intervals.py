"""Conformal intervals: calibration on synthetic noise, edge cases and the ``forecast`` API."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ForecastError
from capplan.forecast import (
    Forecast,
    SeasonalNaive,
    conformal_widths,
    forecast,
    predict_intervals,
)

RNG = np.random.default_rng(11)


def noisy_daily(n: int, t: int) -> np.ndarray:
    steps = np.arange(t)
    level = RNG.uniform(20, 200, (n, 1))
    sd = RNG.uniform(0.5, 5, (n, 1))
    return level + 0.2 * level * np.sin(2 * np.pi * steps / 24) + RNG.normal(0, 1, (n, t)) * sd


@pytest.mark.parametrize("model", ["seasonal_naive", "auto"])
def test_coverage_is_close_to_nominal_on_synthetic_noise(model: str) -> None:
    y = noisy_daily(2000, 24 * 16 + 24)
    train, test = y[:, :-24], y[:, -24:]
    fc = forecast(train, 24, model=model)
    for level in (80, 95):
        inside = (test >= fc.lower[level]) & (test <= fc.upper[level])
        assert abs(inside.mean() * 100 - level) <= 5, (level, inside.mean())


def test_bands_are_ordered_and_nested() -> None:
    y = noisy_daily(20, 24 * 10)
    fc = forecast(y, 36, levels=(50, 80, 99), model="seasonal_trend")
    assert fc.levels == (50, 80, 99)
    assert fc.mean.shape == (20, 36)
    assert fc.model == ["seasonal_trend"] * 20
    assert (fc.lower[99] <= fc.lower[80]).all()
    assert (fc.lower[80] <= fc.lower[50]).all()
    assert (fc.lower[50] <= fc.mean).all()
    assert (fc.mean <= fc.upper[50]).all()
    assert (fc.upper[50] <= fc.upper[80]).all()
    assert (fc.upper[80] <= fc.upper[99]).all()


def test_constant_series_get_an_epsilon_band_and_all_nan_series_a_warning() -> None:
    y = np.full((3, 24 * 10), 42.0)
    y[1] = np.nan
    y[2, :-10] = np.nan  # too short for any backtest window
    y[2, -10:] = 5.0
    with np.errstate(all="raise"):
        fc = forecast(y, 12)
    assert np.allclose(fc.mean[0], 42.0)
    assert np.allclose(fc.mean[2], 5.0)
    for level in (80, 95):
        width = fc.upper[level] - fc.lower[level]
        assert (width[[0, 2]] > 0).all()
        assert (width[[0, 2]] < 1e-6).all()
        assert np.isnan(fc.lower[level][1]).all()
    assert np.isnan(fc.mean[1]).all()
    assert any("series [1] have no observations" in w for w in fc.warnings)
    assert any("series [2] have fewer than two seasons" in w for w in fc.warnings)


def test_non_negative_history_keeps_the_lower_band_at_zero_or_above() -> None:
    y = np.abs(RNG.normal(0, 1, (50, 24 * 10)))
    fc = forecast(y, 24, model="naive")
    assert (fc.lower[95] >= 0).all()


def test_conformal_widths_from_known_residuals() -> None:
    res = np.where(RNG.random((2, 6, 10)) < 0.5, -1.0, 1.0)
    widths, none = conformal_widths(res, (80, 95), 10)
    np.testing.assert_allclose(widths[80], 1.0)
    np.testing.assert_allclose(widths[95], 1.0)
    assert not none.any()
    # beyond the backtested horizon the band grows like sqrt(step)
    widths, _ = conformal_widths(res, (80,), 40)
    np.testing.assert_allclose(widths[80][:, -1], np.sqrt(40 / 10))
    widths, none = conformal_widths(np.full((1, 3, 5), np.nan), (80,), 5)
    assert none.tolist() == [True]


def test_blocks_of_series_give_the_same_result_as_one_block() -> None:
    y = noisy_daily(10, 24 * 12)
    y[3, :100] = np.nan
    y[7] = np.nan
    one = predict_intervals("auto", y, 24, chunk_size=1000)
    blocks = predict_intervals("auto", y, 24, chunk_size=3)
    np.testing.assert_allclose(blocks.mean, one.mean)
    np.testing.assert_allclose(blocks.upper[95], one.upper[95])
    assert blocks.model == one.model
    assert blocks.warnings == one.warnings


def test_model_can_be_a_name_class_instance_or_factory() -> None:
    y = noisy_daily(4, 24 * 10)
    results = [
        predict_intervals("seasonal_naive", y, 24),
        predict_intervals(SeasonalNaive, y, 24),
        predict_intervals(SeasonalNaive(), y, 24),
        predict_intervals(lambda: SeasonalNaive(), y, 24),
    ]
    for r in results[1:]:
        assert isinstance(r, Forecast)
        np.testing.assert_allclose(r.mean, results[0].mean)
        np.testing.assert_allclose(r.lower[80], results[0].lower[80])


def test_bad_arguments() -> None:
    y = noisy_daily(2, 100)
    with pytest.raises(ForecastError, match="levels must be integers between 1 and 99"):
        forecast(y, 5, levels=(80, 100))
    with pytest.raises(ForecastError, match="horizon h must be >= 1, got 0"):
        forecast(y, 0)


def test_progress_is_reported_block_by_block() -> None:
    y = RNG.normal(10, 1, (5, 24 * 10))
    done: list[int] = []
    forecast(y, 12, model="naive", chunk_size=2, progress=done.append)
    assert done == [2, 4, 5]
