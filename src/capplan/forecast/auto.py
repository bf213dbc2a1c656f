"""``auto``: choose and combine models per series by rolling-origin backtest.

1. Candidates, built from the detected seasons ``m`` < ``L`` (24 and 168 for hourly data):
   naive; a least-squares line over all history and over ``L`` points; seasonal naive at
   ``m``; seasonal drift over ``L/m`` and ``2L/m`` seasons; the mean of the last 2 and 3 long
   seasons; the short season adjusted by the long one; trend + Fourier terms for both
   seasons on ``3L`` points. With one season (``L = 7m``), trend + Fourier terms on ``L``
   points replace the long-season candidates. ``candidates`` replaces the pool by
   registered names (default parameters; naive is always kept). Left out after ablation on
   M4 Hourly and NAB (no accuracy gain, up to 40% of the time each): damped Holt-Winters
   (``ets``), seasonal naive at ``L``, a daily-only regression when both seasons exist.
2. Every candidate is backtested from the same rolling origins (``windows`` of ``horizon``
   steps, batched over series) and scored per series by its mean absolute error.
3. Per series, a candidate is eligible when it is usable for the series (enough history),
   seasonal candidates only when a season is detected in the series (``min_acf``), and when
   it beats naive by at least ``margin`` (25%) on average and in at least ``min_wins`` (75%)
   of the windows: noisy, level-shifting operational metrics keep naive unless something is
   clearly and consistently better (on NAB a trend line otherwise wins a few lucky windows).
4. The forecast is the median of the ``top_k`` (3) eligible candidates with the lowest
   error (naive alone when none is eligible). Picking the single best is noisy: on M4
   Hourly it gives MASE 0.867 / sMAPE 10.6, the median of three 0.865 / 9.6; on NAB
   (median MASE) 0.765 against 0.722.
5. Backtest forecasts of the combination, for the conformal intervals, are made honestly by
   leave-one-window-out: the models for window ``w`` are chosen on the other windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from capplan.forecast._panel import Array, BoolArray, IntArray, rolling_origins
from capplan.forecast.base import MODELS, Forecaster, make_model
from capplan.forecast.naive import (
    MultiSeasonalNaive,
    Naive,
    SeasonalDrift,
    SeasonalMean,
    SeasonalNaive,
)
from capplan.forecast.regression import Drift, SeasonalTrend

__all__ = ["Auto", "default_pool"]


def default_pool(periods: Sequence[int]) -> list[Forecaster]:
    """The candidates for a panel with these seasonal periods (naive first)."""
    pool: list[Forecaster] = [Naive(), Drift()]
    if not periods:
        return pool
    m = periods[0]
    big = periods[-1] if len(periods) > 1 else 7 * m
    ratio = max(1, big // m)
    pool += [
        Drift(window=big),
        SeasonalNaive(m),
        SeasonalDrift(m, k=ratio),
        SeasonalDrift(m, k=2 * ratio),
    ]
    if len(periods) == 1:
        return [*pool, SeasonalTrend(window=big, periods=(m,), harmonics=min(8, m // 2))]
    return [
        *pool,
        SeasonalMean(big, k=2),
        SeasonalMean(big, k=3),
        MultiSeasonalNaive(m, big, k=2),
        SeasonalTrend(window=3 * big, periods=(m, big)),
    ]


def _combine(forecasts: Sequence[Array | None], picks: IntArray) -> Array:
    """Median over the picked candidates: ``forecasts[c]`` is candidate ``c``'s ``(n, h)``
    forecast (``None`` if nobody picked it), ``picks (k, n)`` with -1 for an empty slot (at
    least one slot per series is filled)."""
    k, n = picks.shape
    h = next(f.shape[1] for f in forecasts if f is not None)
    sel = np.full((k, n, h), np.nan)
    for slot in range(k):
        for c in np.unique(picks[slot][picks[slot] >= 0]):
            rows = np.flatnonzero(picks[slot] == c)
            src = forecasts[c]
            assert src is not None
            sel[slot, rows] = src if rows.size == n else src[rows]
    if k == 1:
        one: Array = sel[0]
        return one
    valid = (picks >= 0)[:, :, None]
    cnt = valid.sum(axis=0)
    if k <= 3:
        # median of up to three without sorting: sum - max - min, mean of two, or the one
        total = np.where(valid, sel, 0.0).sum(axis=0)  # a NaN forecast stays NaN
        med = total - np.fmax.reduce(sel, axis=0) - np.fmin.reduce(sel, axis=0)
        out: Array = np.where(cnt == 3, med, total / np.maximum(cnt, 1))
        return out
    sel.sort(axis=0)  # NaN last
    lo = np.broadcast_to((cnt - 1) // 2, (1, n, h))
    hi = np.broadcast_to(cnt // 2, (1, n, h))
    a = np.take_along_axis(sel, lo, axis=0)[0]
    b = np.take_along_axis(sel, hi, axis=0)[0]
    mid: Array = 0.5 * (a + b)
    return mid


@MODELS.register("auto")
class Auto(Forecaster):
    """Backtest candidates per series and forecast the median of the best ``top_k`` (see the
    module docstring). ``horizon``: backtest horizon (default two short seasons)."""

    name = "auto"
    pool_: list[Forecaster]
    picks_: IntArray
    model_: list[str]
    scores_: Array

    def __init__(
        self,
        candidates: tuple[str, ...] | None = None,
        top_k: int = 3,
        margin: float = 0.25,
        windows: int = 8,
        horizon: int | None = None,
        min_acf: float = 0.2,
        min_wins: float = 0.75,
    ) -> None:
        self.candidates = candidates
        self.top_k = top_k
        self.margin = margin
        self.windows = windows
        self.horizon = horizon
        self.min_acf = min_acf
        self.min_wins = min_wins

    def _pool(self) -> tuple[list[Forecaster], BoolArray]:
        if self.candidates is None:
            pool = default_pool(self.seasons_.periods)
        else:
            names = list(self.candidates)
            if "naive" in names:
                names.remove("naive")
            pool = [Naive(), *(make_model(name) for name in names)]
        seasonal = np.array(
            [not isinstance(c, Naive) and c.name not in ("drift",) for c in pool], dtype=bool
        )
        return pool, seasonal

    def _fit(self, y: Array) -> None:
        periods = self.seasons_.periods
        h = int(self.horizon) if self.horizon else (2 * periods[0] if periods else 12)
        longest = max(periods) if periods else 1
        origins = rolling_origins(y.shape[1], h, int(self.windows), min_train=2 * longest)
        self._select(y, h, origins)

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        """Select on these origins, and return the leave-one-window-out combined forecasts."""
        return self._select(y, h, list(origins))

    def _select(self, y: Array, h: int, origins: list[int]) -> Array:
        n = y.shape[0]
        pool, seasonal = self._pool()
        n_win = len(origins)
        if n_win == 0:  # no room for a backtest: naive
            pool[0]._adopt(self)
            pool[0]._fit(y)
            self.pool_ = [pool[0]]
            self.picks_ = np.zeros((1, n), dtype=np.intp)
            self.scores_ = np.full((1, n), np.nan)
            self.model_ = [self.pool_[0].label] * n
            return np.empty((n, 0, h))
        cv: list[Array] = []
        usable = np.empty((len(pool), n), dtype=bool)
        win_err = np.empty((len(pool), n, n_win))
        win_cnt = np.empty((len(pool), n, n_win), dtype=np.intp)
        actual = np.stack([y[:, o : o + h] for o in origins], axis=1)
        err = np.empty((n, n_win, h))
        for c, cand in enumerate(pool):
            cand._adopt(self)
            cv.append(cand._fit_backtest(y, h, origins))
            usable[c] = getattr(cand, "supported_", ~self.empty_)
            np.subtract(cv[c], actual, out=err)
            np.abs(err, out=err)
            win_err[c], win_cnt[c] = err.sum(axis=2), h
            gaps = np.isnan(win_err[c])
            if gaps.any():  # windows with missing actuals or forecasts: count what is there
                rows = np.flatnonzero(gaps.any(axis=1))
                sub = err[rows]
                ok = ~np.isnan(sub)
                win_err[c, rows] = np.where(ok, sub, 0.0).sum(axis=2)
                win_cnt[c, rows] = ok.sum(axis=2)
        is_seasonal: BoolArray = np.asarray(
            self.seasons_.significant(self.min_acf).any(axis=1), dtype=np.bool_
        )
        usable &= ~seasonal[:, None] | is_seasonal[None, :]
        self.pool_ = pool
        every = np.ones(n_win, dtype=bool)
        self.picks_ = self._choose(win_err, win_cnt, usable, every)
        self.scores_ = _mean(win_err.sum(axis=2), win_cnt.sum(axis=2))
        labels = [c.label for c in pool]
        self.model_ = _describe(self.picks_, labels)
        out = np.empty((n, n_win, h))
        for w in range(n_win):
            others = every.copy()
            if n_win > 1:
                others[w] = False
            picks = self._choose(win_err, win_cnt, usable, others)
            out[:, w] = _combine([f[:, w] for f in cv], picks)
        return out

    def _choose(
        self,
        win_err: Array,
        win_cnt: npt.NDArray[np.intp],
        usable: BoolArray,
        use: BoolArray,
    ) -> IntArray:
        """Per series the indices (k, n) of the best eligible candidates, -1 for empty,
        judged on the windows ``use``."""
        score = _mean(win_err[:, :, use].sum(axis=2), win_cnt[:, :, use].sum(axis=2))
        k = max(1, min(int(self.top_k), score.shape[0]))
        base = score[0]
        better = score <= (1.0 - float(self.margin)) * base[None, :]
        per_win = _mean(win_err[:, :, use], win_cnt[:, :, use])
        wins = (per_win < per_win[0:1]).mean(axis=2)
        better &= wins >= float(self.min_wins)
        elig = usable & better & ~np.isnan(score)
        elig[0] = False
        ranked = np.where(elig, score, np.inf)
        order = np.argsort(ranked, axis=0, kind="stable")[:k]
        picks = np.where(np.take_along_axis(elig, order, axis=0), order, -1)
        picks[0] = np.where(picks[0] < 0, 0, picks[0])
        return picks.astype(np.intp)

    def _predict(self, h: int) -> Array:
        used = set(np.unique(self.picks_[self.picks_ >= 0]).tolist())
        forecasts = [c.predict(h) if i in used else None for i, c in enumerate(self.pool_)]
        return _combine(forecasts, self.picks_)


def _mean(err: Array, cnt: npt.NDArray[np.intp]) -> Array:
    out = np.full(err.shape, np.nan)
    np.divide(err, cnt, out=out, where=cnt > 0)
    return out


def _describe(picks: IntArray, labels: list[str]) -> list[str]:
    """A label per series: the candidate, or ``median(a, b, c)`` of the combined ones."""
    rows, inverse = np.unique(picks.T, axis=0, return_inverse=True)
    names = []
    for row in rows:
        chosen = [labels[i] for i in row if i >= 0]
        names.append(chosen[0] if len(chosen) == 1 else f"median({', '.join(chosen)})")
    return [names[i] for i in np.asarray(inverse).ravel()]
