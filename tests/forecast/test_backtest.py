"""Rolling origins and metrics: views, known values, NaN handling and the backtest report."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ForecastError
from capplan.forecast import backtest, coverage, mase, rolling_origin, smape


def test_rolling_origin_yields_views_oldest_first() -> None:
    y = np.arange(20.0).reshape(2, 10)
    splits = list(rolling_origin(y, h=2, windows=3))
    assert [train.shape[1] for train, _ in splits] == [4, 6, 8]
    assert all(test.shape == (2, 2) for _, test in splits)
    train, test = splits[-1]
    assert np.shares_memory(train, y)
    assert np.shares_memory(test, y)
    np.testing.assert_array_equal(test, y[:, 8:])
    # a step shorter than h gives overlapping windows
    assert [t.shape[1] for t, _ in rolling_origin(y, h=3, windows=3, step=1)] == [5, 6, 7]
    # with a fixed step, windows that do not fit are dropped; by default the step shrinks
    assert [t.shape[1] for t, _ in rolling_origin(y, h=4, windows=5, step=4)] == [2, 6]
    assert [t.shape[1] for t, _ in rolling_origin(y, h=4, windows=5)] == [2, 3, 4, 5, 6]
    with pytest.raises(ForecastError, match="h and windows must be >= 1"):
        list(rolling_origin(y, h=0, windows=1))


def test_metrics_on_known_values() -> None:
    train = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    truth = np.array([[6.0, 7.0], [2.0, 2.0]])
    pred = np.array([[5.0, 5.0], [2.0, 2.0]])
    np.testing.assert_allclose(mase(truth, pred, train, m=1), [1.5, 0.0])
    np.testing.assert_allclose(mase(truth, pred, train, m=2), [0.75, 0.0])
    assert np.isnan(mase(truth, pred + 1, train, m=1)[1])  # zero scale, nonzero error
    np.testing.assert_allclose(smape(truth, pred), [100 * (1 / 11 + 2 / 12), 0.0])
    np.testing.assert_allclose(smape([[0.0, 0.0]], [[0.0, 1.0]]), [100.0])  # 0/0 counts as 0
    lo, hi = pred - 1, pred + 1
    np.testing.assert_allclose(coverage(truth, lo, hi), [0.5, 1.0])


def test_metrics_ignore_nan_actuals() -> None:
    truth = np.array([[1.0, np.nan, 3.0], [np.nan] * 3])
    pred = np.array([[1.0, 9.0, 4.0], [1.0] * 3])
    np.testing.assert_allclose(smape(truth, pred)[0], 100 * (0 + 2 / 7) / 2)
    assert np.isnan(smape(truth, pred)[1])
    np.testing.assert_allclose(coverage(truth, pred - 0.5, pred + 0.5)[0], 0.5)
    assert np.isnan(coverage(truth, pred, pred)[1])


def test_backtest_reports_every_model_and_series() -> None:
    rng = np.random.default_rng(5)
    steps = np.arange(24 * 12)
    y = 50 + 10 * np.sin(2 * np.pi * steps / 24) + rng.normal(0, 1, (6, steps.size))
    result = backtest(["naive", "seasonal_naive", "auto"], y, 24, windows=3)
    assert result.mase.shape == (3, 6)
    assert result.smape.shape == (3, 6)
    assert set(result.coverage) == {80, 95}
    assert result.windows == 3
    rows = {row["model"]: row for row in result.summary()}
    assert rows["seasonal_naive"]["mase_median"] < 0.5 * float(rows["naive"]["mase_median"])
    assert float(rows["auto"]["mase_mean"]) < float(rows["naive"]["mase_mean"])
    assert 0.5 < float(rows["auto"]["coverage_80_mean"]) <= 1.0
    assert all(float(row["seconds"]) >= 0 for row in rows.values())
