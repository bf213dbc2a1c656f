"""The ARIMA-class, Theta and multiplicative trend models, their one-pass backtests, and the
weighted combination over lead times."""

from __future__ import annotations

import numpy as np

from capplan.forecast import ARIMA, Auto, Drift, SeasonalTrend, Theta
from capplan.forecast.base import Forecaster
from capplan.forecast.combine import combine, combine_windows, lead_blend, top_weights
from capplan.forecast.trend import clear_trend

RNG = np.random.default_rng(29)


def assert_one_pass_equals_refits(
    model: Forecaster, y: np.ndarray, h: int, origins: list[int], tol: float
) -> None:
    """The model's own backtest equals refitting a copy on the history before each origin
    (the base class's loop)."""
    one = model.clone().fit_backtest(y, h, origins, seasons=(24, 168))
    ref = model.clone()
    ref._prepare(y, 3600, (24, 168))
    loop = Forecaster._fit_backtest(ref, y, h, origins)
    np.testing.assert_allclose(one, loop, rtol=tol, atol=tol)


def test_arima_recovers_a_seasonal_autoregression_and_picks_its_order() -> None:
    n, t = 4, 24 * 40
    y = np.zeros((n, t))
    e = RNG.normal(0, 1, (n, t))
    for i in range(25, t):  # w = y - y[-24] follows AR(1) with phi = 0.7
        y[:, i] = y[:, i - 24] + 0.7 * (y[:, i - 1] - y[:, i - 25]) + e[:, i]
    model = ARIMA(max_p=3, seasonal=False).fit(y + 100, seasons=(24,))
    assert (model.order_ == 1).mean() >= 0.5  # AIC keeps the one lag that matters
    phi = model.fit_.coef[:, 1]
    assert np.abs(phi - 0.7).max() < 0.08
    f = model.predict(48)
    # the forecast decays towards the last season: after a day it is close to it
    last_season = (y + 100)[:, -24:]
    assert np.abs(f[:, 24:] - last_season).mean() < 2.0


def test_arima_backtest_in_one_pass_equals_refits() -> None:
    t = np.arange(24 * 30)
    y = 50 + 10 * np.sin(2 * np.pi * t / 24) + RNG.normal(0, 1, (3, t.size)).cumsum(axis=1) * 0.1
    y[1, :100] = np.nan
    for model in (ARIMA(), ARIMA(constant=True, window=300)):
        assert_one_pass_equals_refits(model, y, 24, [400, 500, 600, 696], 1e-8)


def test_seasonal_trend_backtest_in_one_pass_equals_refits() -> None:
    t = np.arange(700)
    y = 50 + 0.05 * t + 10 * np.sin(2 * np.pi * t / 24) + 5 * (t % 168 > 120)
    y = y + RNG.normal(0, 1, (4, t.size))
    y[1, :200] = np.nan
    y[3, :650] = np.nan
    origins = [100, 336, 400, 500, 600, 652]
    for model in (SeasonalTrend(), SeasonalTrend(window=504, periods=(24, 168)), Drift(168)):
        assert_one_pass_equals_refits(model, y, 48, origins, 1e-7)


def test_multiplicative_seasonality_grows_the_swings_with_the_level() -> None:
    t = np.arange(24 * 28 + 24 * 14, dtype=float)
    level = 100 + 0.5 * t
    y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24))
    train, test = y[: 24 * 28], y[24 * 28 :]
    mult = SeasonalTrend(seasonality="multiplicative").fit(train, seasons=(24,)).predict(24 * 14)
    add = SeasonalTrend().fit(train, seasons=(24,)).predict(24 * 14)
    err_mult = np.abs(mult[0] - test).mean()
    assert err_mult < 1.0
    assert err_mult < 0.2 * np.abs(add[0] - test).mean()
    swing = mult[0, -24:].max() - mult[0, -24:].min()
    assert swing > 1.2 * (train[-24:].max() - train[-24:].min())


def test_theta_is_smoothing_plus_half_the_trend_and_puts_the_season_back() -> None:
    t = np.arange(24 * 20, dtype=float)
    flat = 50 + RNG.normal(0, 1, (2, t.size))
    f = Theta(seasonal=False).fit(flat).predict(24)
    assert np.abs(f - 50).max() < 1.5
    line = (10 + 0.5 * t)[None, :]
    f = Theta(seasonal=False).fit(line).predict(10)
    slope = np.diff(f[0]).mean()
    np.testing.assert_allclose(slope, 0.25, rtol=1e-6)  # half the least-squares slope
    seasonal = (100 + 20 * np.sin(2 * np.pi * t / 24))[None, :] * (1 + 0.001 * t)
    f = Theta().fit(seasonal, seasons=(24,)).predict(24)
    truth = 100 + 20 * np.sin(2 * np.pi * np.arange(t.size, t.size + 24) / 24)
    assert np.corrcoef(f[0], truth)[0, 1] > 0.99


def test_a_clear_trend_and_a_random_walk() -> None:
    t = np.arange(24 * 21, dtype=float)
    walk = np.cumsum(RNG.normal(0, 1, (20, t.size)), axis=1)
    line = 0.2 * t + RNG.normal(0, 2, (3, t.size))
    y = np.vstack([walk, line])
    model = SeasonalTrend(periods=())
    model._prepare(y, 3600, ())
    found = clear_trend(y, model.seasons_)
    assert found[-3:].all()
    assert found[:-3].mean() < 0.5


def test_weights_favour_the_smaller_error_and_sum_to_one() -> None:
    score = np.array([[[1.0, 2.0], [2.0, 1.0], [4.0, np.nan]]])  # (1, C=3, n=2)
    w = top_weights(score, np.ones((1, 3, 2), dtype=bool), top_k=2)[0]
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    np.testing.assert_allclose(w[:, 0], [0.8, 0.2, 0.0])  # 1/1 : 1/4
    np.testing.assert_allclose(w[:, 1], [0.2, 0.8, 0.0])
    none = top_weights(score, np.zeros((1, 3, 2), dtype=bool), top_k=2, fallback=2)[0]
    np.testing.assert_allclose(none[2], 1.0)


def test_combination_moves_from_bucket_to_bucket_in_log_lead() -> None:
    k0, frac = lead_blend([24.0, 48.0], 96)
    assert (k0[:24] == 0).all()
    assert (frac[:24] == 0).all()
    assert 0 < frac[30] < 1
    assert (k0[47:] == 1).all()
    a, b = np.zeros((1, 96)), np.ones((1, 96))
    w = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])  # bucket 0: a; bucket 1: b
    out = combine([a, b], w, [24.0, 48.0])
    assert (out[0, :24] == 0).all()
    assert (out[0, 47:] == 1).all()
    assert np.all(np.diff(out[0]) >= 0)
    # a candidate without a forecast at a step gives its weight to the others
    gap = b.copy()
    gap[0, 60] = np.nan
    mixed = np.array([[[0.5], [0.5]]])
    assert combine([a, gap], mixed, [24.0])[0, 60] == 0.0


def test_window_by_window_combination_equals_combining_each_window() -> None:
    n, n_win, h = 3, 4, 30
    cands = [RNG.normal(size=(n, n_win, h)) for _ in range(3)]
    cands[1][0, 2, 5] = np.nan
    weights = RNG.uniform(size=(n_win, 2, 3, n))
    anchors = [10.0, 20.0]
    together = combine_windows(cands, weights, anchors)
    for w in range(n_win):
        alone = combine([c[:, w] for c in cands], weights[w], anchors)
        np.testing.assert_allclose(together[:, w], alone)


def test_auto_weights_are_chosen_per_bucket_of_lead_times() -> None:
    t = np.arange(24 * 7 * 6, dtype=float)
    y = 40 + 0.03 * t + 8 * np.sin(2 * np.pi * t / 24) + RNG.normal(0, 1, (2, t.size))
    model = Auto().fit(y, step_seconds=3600)
    model.predict(24 * 30)
    assert model.weights_.shape[0] == len(model.anchors_) > 2
    np.testing.assert_allclose(model.weights_.sum(axis=1), 1.0)
    last = model.weights_[-1]
    assert all(model.pool_[c].long_range for c in np.flatnonzero(last.any(axis=1)))
    assert all("; then " in label for label in model.describe(24 * 30))
