"""``auto``: selection per series, honest backtest forecasts, and accuracy on M4 Hourly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from capplan.forecast import Auto, forecast, mase, smape

RNG = np.random.default_rng(17)
M4 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "m4"


def test_random_walks_mostly_keep_naive_and_a_trend_gets_a_line() -> None:
    t = np.arange(24 * 20, dtype=float)
    walk = np.cumsum(RNG.normal(0, 1, (5, t.size)), axis=1) + 100
    trend = 10 + 0.3 * t + RNG.normal(0, 1, (5, t.size))
    y = np.vstack([walk, trend])
    model = Auto().fit(y, step_seconds=3600)
    assert model.model_[:5].count("naive") >= 3  # a walk may drift for a while
    assert all("drift" in name for name in model.model_[5:])
    f = model.predict(48)
    truth = 10 + 0.3 * np.arange(t.size, t.size + 48)
    assert np.abs(f[5:] - truth).mean() < 1.5


def test_seasonal_series_get_a_seasonal_combination() -> None:
    t = np.arange(24 * 7 * 5 + 48)
    y = 100 + 20 * np.sin(2 * np.pi * t / 24) + 10 * (t % 168 >= 120)
    y = y + RNG.normal(0, 1, (8, t.size))
    train, test = y[:, :-48], y[:, -48:]
    model = Auto(top_k=3).fit(train)
    assert all(name.startswith("mix(") for name in model.model_)
    assert ((model.weights_[-1] > 0).sum(axis=0) == 3).all()
    err = np.abs(model.predict(48) - test).mean()
    assert err < 2.0  # noise sd 1: mean |e| ~0.8 for a perfect model


def test_backtest_forecasts_are_leave_one_window_out() -> None:
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(24 * 15) / 24) + RNG.normal(0, 1, (4, 24 * 15))
    origins = [24 * 11, 24 * 12, 24 * 13, 24 * 14 - 24]
    model = Auto()
    cv = model.fit_backtest(y, 24, origins)
    assert cv.shape == (4, 4, 24)
    assert np.isfinite(cv).all()
    actual = np.stack([y[:, o : o + 24] for o in origins], axis=1)
    assert np.abs(cv - actual).mean() < 2.0


def read_m4(name: str, every: int) -> np.ndarray:
    """Every ``every``-th series of an M4 file, right-aligned."""
    with (M4 / name).open() as fh:
        rows = list(csv.reader(fh))[1::every]
    values = [[float(c) for c in row[1:] if c] for row in rows]
    width = max(len(v) for v in values)
    out = np.full((len(values), width), np.nan)
    for i, v in enumerate(values):
        out[i, width - len(v) :] = v  # right-aligned
    return out


def test_auto_beats_seasonal_naive_on_m4_hourly_subset() -> None:
    # every 8th series (52): the first hundred alone are easy for seasonal naive
    train = read_m4("Hourly-train.csv", 8)
    test = read_m4("Hourly-test.csv", 8)
    assert train.shape[0] == test.shape[0] == 52
    auto = forecast(train, 48, model="auto")
    snaive = forecast(train, 48, model="seasonal_naive")
    auto_mase = mase(test, auto.mean, train, 24).mean()
    snaive_mase = mase(test, snaive.mean, train, 24).mean()
    assert auto_mase < 0.8 * snaive_mase
    assert smape(test, auto.mean).mean() < smape(test, snaive.mean).mean()
    inside = (test >= auto.lower[80]) & (test <= auto.upper[80])
    assert 0.65 < inside.mean() < 0.95
