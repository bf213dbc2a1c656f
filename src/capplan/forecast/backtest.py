"""Rolling-origin backtests and accuracy metrics (batched, NaN-aware).

Metrics per series: MASE (mean absolute error over the mean absolute seasonal difference of
the training series; lag 1 when the training series is not longer than the season), sMAPE
(``200 · mean(|y - f| / (|y| + |f|))``, a 0/0 term counts as 0) and interval coverage (share
of observed points inside the band). NaN actuals are ignored; a series with nothing to
score gets NaN. A zero MASE scale (constant training series) gives 0 for a perfect forecast
and NaN otherwise, without a division warning.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan._types import Array
from capplan.forecast._panel import as_panel, nanmean, rolling_origins
from capplan.forecast.intervals import forecast
from capplan.forecast.seasons import Seasons, default_seasons

__all__ = ["BacktestResult", "backtest", "coverage", "mase", "rolling_origin", "smape"]


def rolling_origin(
    y: npt.ArrayLike, h: int, windows: int, step: int | None = None
) -> Iterator[tuple[Array, Array]]:
    """``(train, test)`` views of the panel for each origin, oldest first: the last test
    window ends at the last column, origins ``step`` apart (default ``h``)."""
    arr = as_panel(y)
    for o in rolling_origins(arr.shape[1], h, windows, step):
        yield arr[:, :o], arr[:, o : o + h]


def _2d(a: npt.ArrayLike) -> Array:
    arr = np.asarray(a, dtype=np.float64)
    return arr[None, :] if arr.ndim == 1 else arr


def mase(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, y_train: npt.ArrayLike, m: int = 1) -> Array:
    """Mean absolute scaled error per series."""
    yt, yp, tr = _2d(y_true), _2d(y_pred), _2d(y_train)
    err = nanmean(np.abs(yt - yp), axis=1)
    lag = m if tr.shape[1] > m else 1
    if tr.shape[1] <= lag:
        return np.full(err.shape, np.nan)
    scale = nanmean(np.abs(tr[:, lag:] - tr[:, :-lag]), axis=1)
    out = np.full(err.shape, np.nan)
    np.divide(err, scale, out=out, where=scale > 0)
    out[(scale == 0) & (err == 0)] = 0.0
    return out


def smape(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Array:
    """Symmetric mean absolute percentage error per series, in percent (0..200)."""
    yt, yp = _2d(y_true), _2d(y_pred)
    den = np.abs(yt) + np.abs(yp)
    term = np.zeros(np.broadcast_shapes(yt.shape, yp.shape))
    np.divide(200.0 * np.abs(yt - yp), den, out=term, where=den > 0)
    term[np.isnan(den)] = np.nan
    return nanmean(term, axis=1)


def coverage(y_true: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> Array:
    """Share of observed points inside ``[lower, upper]`` per series."""
    yt, lo, hi = _2d(y_true), _2d(lower), _2d(upper)
    inside = ((yt >= lo) & (yt <= hi)).astype(np.float64)
    inside[np.isnan(yt)] = np.nan
    return nanmean(inside, axis=1)


@dataclass
class BacktestResult:
    """Per model (rows, in ``models`` order) and series (columns): MASE, sMAPE and coverage
    per level, each the mean over the test windows; ``seconds`` per model (fit, predict and
    intervals over all windows)."""

    models: list[str]
    mase: Array
    smape: Array
    coverage: dict[int, Array]
    seconds: Array
    windows: int

    def summary(self) -> list[dict[str, object]]:
        """One row per model (``model``, ``<metric>_mean``, ``<metric>_median`` as floats for
        mase, smape and coverage_<level>, ``seconds``)."""
        rows: list[dict[str, object]] = []
        for i, name in enumerate(self.models):
            row: dict[str, object] = {"model": name}
            metrics = {"mase": self.mase[i], "smape": self.smape[i]}
            metrics.update({f"coverage_{lv}": c[i] for lv, c in self.coverage.items()})
            for key, vals in metrics.items():
                ok = vals[~np.isnan(vals)]
                row[f"{key}_mean"] = float(ok.mean()) if ok.size else float("nan")
                row[f"{key}_median"] = float(np.median(ok)) if ok.size else float("nan")
            row["seconds"] = float(self.seconds[i])
            rows.append(row)
        return rows


def backtest(
    model_names: Sequence[str],
    y: npt.ArrayLike,
    h: int,
    windows: int = 3,
    levels: Sequence[int] = (80, 95),
    step_seconds: int = 3600,
    *,
    seasons: Seasons | Sequence[int] | None = None,
    step: int | None = None,
    m: int | None = None,
    interval_windows: int = 8,
) -> BacktestResult:
    """Forecast from each of ``windows`` rolling origins with every model (trained only on
    the data before the origin, intervals included) and score against what followed.

    ``m``: MASE season, default the shortest default season of the step (24 for hourly)."""
    arr = as_panel(y)
    if m is None:
        m = next(iter(default_seasons(step_seconds)), 1)
    splits = list(rolling_origin(arr, h, windows, step))
    n_mod, n = len(model_names), arr.shape[0]
    shape = (n_mod, len(splits), n)
    m_mase, m_smape = np.full(shape, np.nan), np.full(shape, np.nan)
    m_cov = {int(lv): np.full(shape, np.nan) for lv in levels}
    seconds = np.zeros(n_mod)
    for i, name in enumerate(model_names):
        for w, (train, test) in enumerate(splits):
            t0 = time.perf_counter()
            seas = (
                seasons
                if not isinstance(seasons, Seasons)
                else seasons.truncate(arr.shape[1] - train.shape[1])
            )
            fc = forecast(
                train,
                test.shape[1],
                model=name,
                levels=levels,
                step_seconds=step_seconds,
                seasons=seas,
                windows=interval_windows,
            )
            seconds[i] += time.perf_counter() - t0
            m_mase[i, w] = mase(test, fc.mean, train, m)
            m_smape[i, w] = smape(test, fc.mean)
            for lv in m_cov:
                m_cov[lv][i, w] = coverage(test, fc.lower[lv], fc.upper[lv])
    return BacktestResult(
        list(model_names),
        nanmean(m_mase, axis=1),
        nanmean(m_smape, axis=1),
        {lv: nanmean(c, axis=1) for lv, c in m_cov.items()},
        seconds,
        len(splits),
    )
