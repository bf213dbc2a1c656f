"""Forecast models on series of known structure: recovery, batching, NaN handling, registry."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ForecastError, UsageError
from capplan.forecast import (
    ETS,
    MODELS,
    Drift,
    MultiSeasonalNaive,
    Naive,
    SeasonalDrift,
    SeasonalMean,
    SeasonalNaive,
    SeasonalTrend,
    make_model,
)

RNG = np.random.default_rng(7)
T = 24 * 21


def sine(n: int = 1, t: int = T, period: int = 24, level: float = 50.0) -> np.ndarray:
    steps = np.arange(t + 48)
    phase = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return level + 10 * np.sin(2 * np.pi * steps / period + phase)


def test_drift_recovers_a_straight_line_exactly() -> None:
    steps = np.arange(T + 48, dtype=float)
    y = np.stack([3.0 + 0.5 * steps, 400.0 - 0.25 * steps, -5.0 - 2.0 * steps])
    f = Drift().fit(y[:, :T]).predict(48)
    np.testing.assert_allclose(f, y[:, T:], rtol=1e-9)


@pytest.mark.parametrize("model", [SeasonalNaive(), SeasonalTrend()])
def test_a_daily_sine_is_recovered(model: SeasonalNaive | SeasonalTrend) -> None:
    y = sine(3)
    f = model.fit(y[:, :T], step_seconds=3600).predict(48)
    np.testing.assert_allclose(f, y[:, T:], atol=1e-6)


def test_seasonal_trend_recovers_trend_plus_daily_and_weekly() -> None:
    steps = np.arange(24 * 28 + 48, dtype=float)
    y = (
        20 + 0.01 * steps + 3 * np.sin(2 * np.pi * steps / 24) + 2 * np.cos(2 * np.pi * steps / 168)
    )[None, :]
    model = SeasonalTrend(periods=(24, 168)).fit(y[:, :-48])
    np.testing.assert_allclose(model.predict(48), y[:, -48:], atol=1e-6)


def test_ets_beats_naive_on_trend_plus_season() -> None:
    n, t = 40, 24 * 14
    steps = np.arange(t + 24)
    y = 100 + 0.2 * steps + 15 * np.sin(2 * np.pi * steps / 24) + RNG.normal(0, 1, (n, t + 24))
    train, test = y[:, :t], y[:, t:]
    ets = ETS().fit(train).predict(24)
    naive = Naive().fit(train).predict(24)
    assert np.abs(ets - test).mean() < 0.3 * np.abs(naive - test).mean()
    assert ETS().fit(train).params_.shape == (n, 4)


@pytest.mark.parametrize("name", [n for n in MODELS.names() if n != "auto"])
def test_batching_equals_one_series_at_a_time(name: str) -> None:
    y = sine(4) + RNG.normal(0, 1, (4, T + 48))
    y = y[:, :T].copy()
    y[1, :100] = np.nan  # a series that starts later
    y[2, 300:305] = np.nan  # a gap
    together = make_model(name).fit(y, seasons=(24, 168)).predict(30)
    alone = np.vstack(
        [make_model(name).fit(y[i : i + 1], seasons=(24, 168)).predict(30) for i in range(4)]
    )
    np.testing.assert_allclose(together, alone, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", MODELS.names())
def test_left_padding_and_gaps_give_finite_forecasts(name: str) -> None:
    y = sine(3)[:, :T].copy()
    y[0, : T // 2] = np.nan
    y[1, 200:230] = np.nan
    y[2, -3:-1] = np.nan
    f = make_model(name).fit(y).predict(36)
    assert np.isfinite(f).all()
    if name in ("seasonal_naive", "seasonal_trend"):
        np.testing.assert_allclose(f, sine(3)[:, T : T + 36], atol=1e-6)


def test_seasonal_naive_fills_a_gap_from_the_season_before() -> None:
    y = sine(1)[:, :T].copy()
    y[0, -5:-2] = np.nan
    np.testing.assert_allclose(SeasonalNaive().fit(y).predict(24), sine(1)[:, T : T + 24])


@pytest.mark.parametrize("name", MODELS.names())
def test_constant_and_all_nan_series(name: str) -> None:
    y = np.full((2, T), 7.5)
    y[1] = np.nan
    with np.errstate(all="raise"):
        model = make_model(name).fit(y)
        f = model.predict(24)
    np.testing.assert_allclose(f[0], 7.5, atol=1e-9)
    assert np.isnan(f[1]).all()
    assert any("[1] have no observations" in w for w in model.warnings_)


def test_short_series_fall_back_to_a_non_seasonal_forecast_with_a_warning() -> None:
    y = sine(3)[:, :T].copy()
    y[1, : T - 30] = np.nan  # 30 points: fewer than two days
    model = SeasonalNaive().fit(y)
    f = model.predict(24)
    assert np.allclose(f[1], y[1, -1])  # naive
    np.testing.assert_allclose(f[0], sine(3)[0, T : T + 24], atol=1e-9)
    assert any("series [1] have fewer than two seasons (48 points)" in w for w in model.warnings_)
    assert not model.supported_[1]


def test_seasonal_variants() -> None:
    y = sine(2, period=24)[:, :T]
    np.testing.assert_allclose(
        SeasonalMean(period=24, k=3).fit(y).predict(24), sine(2)[:, T : T + 24], atol=1e-9
    )
    steps = np.arange(T + 48, dtype=float)
    ramp = (10 + 0.1 * steps + np.sin(2 * np.pi * steps / 24))[None, :]
    f = SeasonalDrift(period=24, k=3).fit(ramp[:, :T]).predict(48)
    np.testing.assert_allclose(f, ramp[:, T:], atol=1e-9)
    f = MultiSeasonalNaive(24, 168).fit(sine(1)[:, :T]).predict(200)
    np.testing.assert_allclose(f, sine(1, t=T + 200)[:, T : T + 200], atol=1e-9)


def test_negative_forecasts_are_clipped_only_for_non_negative_history() -> None:
    falling = np.linspace(50, 1, T)
    y = np.stack([falling, falling - 10])
    f = Drift().fit(y).predict(100)
    assert f[0].min() == 0.0
    assert f[1].min() < 0.0


def test_estimator_contract() -> None:
    model = SeasonalDrift(period=24, k=3)
    assert model.get_params() == {"period": 24, "k": 3}
    assert model.clone().get_params() == model.get_params()
    assert model.set_params(k=5) is model
    assert model.k == 5
    assert model.label == "seasonal_drift(period=24, k=5)"
    assert model.fit(sine(1)[:, :T]) is model
    with pytest.raises(ForecastError, match="no parameter 'bogus'"):
        model.set_params(bogus=1)
    with pytest.raises(ForecastError, match="not fitted"):
        Naive().predict(3)
    with pytest.raises(ForecastError, match="horizon h must be >= 1"):
        Naive().fit(sine(1)).predict(0)
    with pytest.raises(ForecastError, match="2-D"):
        Naive().fit(np.zeros((2, 2, 2)))
    with pytest.raises(ForecastError, match="infinite values in series \\[0\\]"):
        Naive().fit(np.array([[1.0, np.inf]]))


def test_registry_lists_names_on_an_unknown_model() -> None:
    expected = {"naive", "seasonal_naive", "drift", "seasonal_trend", "ets", "auto"}
    assert expected <= set(MODELS.names())
    expected_text = "unknown forecast model 'prophet'; available: arima, auto, "
    with pytest.raises(UsageError, match=expected_text):
        make_model("prophet")
