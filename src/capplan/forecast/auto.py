"""``auto``: choose and combine models per series and per lead time by rolling-origin
backtests.

1. **Candidates.** Short-range ones, built from the detected seasons ``m`` < ``L`` (24 and
   168 for hourly data): naive; a least-squares line over all history; seasonal naive;
   seasonal drift over ``L/m`` seasons; the mean of the last 3 long seasons; the short
   season adjusted by the long one; trend + Fourier terms on ``3L`` points; seasonal ARIMA
   differenced at ``m`` (with and without seasonal lags) and at ``L``
   (:mod:`~capplan.forecast.arima`); and the Theta method. For lead times past the short
   horizon, long-range ones join them: trend + seasonal profile over all history (additive
   and multiplicative), a flat level + profile, and Theta without a season. ``candidates``
   replaces the pool by registered names (default parameters; naive is always kept).
   Left out after measuring on M4 Hourly, the daily series and the synthetic panels of
   ``benchmarks/bench_forecast.py`` (no accuracy gain for their time): a line over ``L``
   points, seasonal drift over ``2L/m`` seasons, the mean of the last 2 long seasons, damped
   Holt-Winters.
2. **Backtests** (:mod:`~capplan.forecast.schedule`): every candidate is backtested on the
   short schedule (8 windows per half of the short horizon) and, when the forecast reaches
   past it, on the long one (4 windows up to 16 times longer); both are fixed by the
   history, never by the horizon asked. The autoregressions, the last season repeated and
   the line over one long season are weighed only up to the short horizon.
3. **Lead 1 to the short horizon** (two buckets): among short-range candidates usable for
   the series (seasonal ones only when a season is detected in it, ``min_acf``) that beat
   naive by ``margin`` (25%) on average and in ``min_wins`` (75%) of the windows — noisy,
   level-shifting operational metrics keep naive unless something is clearly and
   consistently better — the best ``top_k`` (3) share the weight by ``1 / error²``
   (:mod:`~capplan.forecast.combine`).
4. **Longer leads**: the best on the long backtest, bucket by bucket of lead times; in the
   last bucket, which also stands for the leads past the longest backtest, only the two best
   candidates whose long-range behaviour is sound — a level or a trend over all history plus
   a seasonal profile, never the last value or the last season repeated, nor a slope from a
   short window. Without room for a long backtest, the short-range choice is kept where it
   is sound, else a trend + profile when the history shows a clear trend
   (:mod:`~capplan.forecast.trend`), else a flat level + profile. Weights move smoothly
   between buckets, and the forecast for a lead time does not depend on how far ahead it
   was asked for.
5. Backtest forecasts of the combination, for the conformal intervals, are made honestly by
   leave-one-window-out: the weights for window ``w`` are chosen on the other windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray
from capplan.forecast._panel import first_valid
from capplan.forecast.base import MODELS, Forecaster, make_model
from capplan.forecast.candidates import default_pool, long_pool, short_only, uses_seasons
from capplan.forecast.combine import (
    combine,
    combine_windows,
    top_weights,
    use_sums,
    window_errors,
)
from capplan.forecast.naive import (
    Naive,
)
from capplan.forecast.regression import SeasonalTrend
from capplan.forecast.schedule import Schedule, actuals, backtest_schedule
from capplan.forecast.theta import Theta
from capplan.forecast.trend import clear_trend

__all__ = ["Auto"]

TOP_K_LONG = 2  # a long-range forecast blends at most two candidates: more dilutes the trend


@MODELS.register("auto")
class Auto(Forecaster):
    """Backtest candidates per series and forecast a weighted combination of the best,
    chosen for each range of lead times (see the module docstring). ``horizon``: the short
    backtest horizon (default two short seasons); ``windows`` / ``long_windows``: windows
    of the short and long backtests."""

    name = "auto"
    long_range = True
    pool_: list[Forecaster]
    short_: int
    schedule_: Schedule
    weights_: Array  # (buckets, candidates, series)
    anchors_: Array
    model_: list[str]

    def __init__(
        self,
        candidates: tuple[str, ...] | None = None,
        top_k: int = 3,
        margin: float = 0.25,
        windows: int = 8,
        long_windows: int = 4,
        horizon: int | None = None,
        min_acf: float = 0.2,
        min_wins: float = 0.75,
    ) -> None:
        self.candidates = candidates
        self.top_k = top_k
        self.margin = margin
        self.windows = windows
        self.long_windows = long_windows
        self.horizon = horizon
        self.min_acf = min_acf
        self.min_wins = min_wins

    def schedule_for(self, y: Array) -> Schedule:
        """The backtest schedule of a prepared panel."""
        span = y.shape[1] - first_valid(y)
        typical = int(np.median(span[span > 0])) if (span > 0).any() else y.shape[1]
        return backtest_schedule(
            typical,
            y.shape[1],
            self.seasons_,
            int(self.windows),
            int(self.long_windows),
            self.horizon,
            step_seconds=self.step_seconds_,
        )

    def _pool(self) -> list[Forecaster]:
        """Short-range candidates, then the long-range ones; sets ``short_``."""
        periods = self.seasons_.periods
        if self.candidates is None:
            short = default_pool(periods)
            extra = long_pool(periods)
        else:
            names = [n for n in self.candidates if n != "naive"]
            short = [Naive(), *(make_model(name) for name in names)]
            extra = []
        self.short_ = len(short)
        return [*short, *extra]

    def _fit(self, y: Array) -> None:
        self._select(y, self.schedule_for(y), long=False)

    def _fit_schedule(self, y: Array, schedule: Schedule, long: bool) -> tuple[Array, Array | None]:
        return self._select(y, schedule, long)

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        """Select on these origins only (a short schedule of ``h`` steps), and return the
        leave-one-window-out combined forecasts."""
        return self._select(y, Schedule(int(h), list(origins)), long=False)[0]

    def _select(self, y: Array, schedule: Schedule, long: bool) -> tuple[Array, Array | None]:
        """Backtest every candidate, set the weights per bucket, and return the
        leave-one-window-out combined backtest forecasts of both schedules."""
        n = y.shape[0]
        self.schedule_ = schedule
        self._panel_ = y
        pool = self._pool()
        self.pool_ = pool
        long = long and schedule.has_long
        hs = schedule.short_h
        s_orig = list(schedule.short_origins)
        l_orig = list(schedule.long_origins or []) if long else []
        h_all = schedule.long_h if long else hs
        self._long_done = False
        if not s_orig:  # no room for a backtest: naive for every lead
            pool[0]._adopt(self)
            pool[0]._fit(y)
            self.weights_ = np.zeros((1, len(pool), n))
            self.weights_[0, 0] = 1.0
            self.anchors_ = np.array([float(hs)])
            self.model_ = self.model_long_ = [pool[0].label] * n
            self._long_done = True
            empty = np.empty((n, 0, hs))
            return empty, (np.empty((n, 0, schedule.long_h)) if long else None)
        count = len(pool) if long else self.short_
        short_cv: list[Array] = []  # (n, W, H_s) per short-range candidate
        long_cv: list[Array | None] = [None] * len(pool)  # (n, W_l, H_l) where backtested
        usable = np.zeros((len(pool), n), dtype=bool)
        ns = len(s_orig)
        self._short_only = np.array([short_only(c) for c in pool], dtype=bool)
        for c, cand in enumerate(pool[:count]):
            cand._adopt(self)
            if c >= self.short_:  # long-range candidates are only weighed past H_s
                long_cv[c] = cand._fit_backtest(y, h_all, l_orig)
            elif self._short_only[c] or not long:  # and these only up to it
                short_cv.append(cand._fit_backtest(y, hs, s_orig))
            else:
                both = cand._fit_backtest(y, h_all, [*s_orig, *l_orig])
                short_cv.append(both[:, :ns, :hs])
                long_cv[c] = both[:, ns:]
            usable[c] = getattr(cand, "supported_", ~self.empty_)
        if self.seasons_.periods:  # seasonal candidates only for series with a season
            significant = self.seasons_.significant(self.min_acf).any(axis=1)
            is_seasonal = np.asarray(significant, dtype=bool)
            seasonal = np.array([uses_seasons(c) for c in pool], dtype=bool)
            usable &= ~seasonal[:, None] | is_seasonal[None, :]
        short_w, short_lowo = self._short_weights(short_cv, actuals(y, s_orig, hs), usable)
        self.weights_ = short_w
        self.anchors_ = schedule.anchors(long=False)
        self.model_ = _describe(short_w[-1], [c.label for c in pool])
        long_lowo = None
        if long:
            long_lowo = self._long_weights(y, long_cv, usable, short_w)
        return short_lowo, long_lowo

    def _short_weights(
        self, cv: list[Array], actual: Array, usable: BoolArray
    ) -> tuple[Array, Array]:
        """Weights ``(short buckets, C, n)`` of the short-range candidates, and the
        leave-one-window-out combined forecasts (every window's weights at once)."""
        k, c_all = self.short_, usable.shape[0]
        n, n_win, _ = actual.shape
        sched = self.schedule_
        buckets = sched.short_buckets()
        lowo = np.zeros((n_win, len(buckets), k, n))
        full = np.zeros((len(buckets), c_all, n))
        for b, (first, last) in enumerate(buckets):
            win_err = np.zeros((k, n, n_win))
            win_cnt = np.zeros((k, n, n_win), dtype=np.intp)
            mine = sched.short_windows(b)
            for c in range(k):
                err, cnt = window_errors(cv[c][:, mine], actual[:, mine], slice(first - 1, last))
                win_err[c][:, mine], win_cnt[c][:, mine] = err, cnt
            in_set = np.zeros(n_win, dtype=bool)
            in_set[mine] = True
            use = _leave_one_out(in_set)  # row 0: every window of the set; row 1 + w: not w
            score, elig = self._eligible(win_err, win_cnt, usable[:k], use)
            weights_all = top_weights(score, elig, self.top_k)
            full[b, :k] = weights_all[0]
            lowo[:, b] = weights_all[1:]
        anchors = sched.anchors(long=False)
        combined: Array = combine_windows(cv, lowo, anchors)
        return full, combined

    def _eligible(
        self, win_err: Array, win_cnt: np.ndarray, usable: BoolArray, use: BoolArray
    ) -> tuple[Array, BoolArray]:
        """Scores ``(M, C, n)`` on each row of windows ``use (M, W)``, and which candidates
        are usable and beat naive (index 0) clearly and consistently there (naive alone
        where none does)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            score = use_sums(win_err, use) / use_sums(win_cnt.astype(np.float64), use)
            per_win = win_err / win_cnt
            valid = ~np.isnan(per_win) & ~np.isnan(per_win[0:1])
            wins = (per_win < per_win[0:1]) & valid
            share = use_sums(wins.astype(np.float64), use) / use_sums(valid.astype(np.float64), use)
        better = score <= (1.0 - float(self.margin)) * score[:, 0:1]
        out: BoolArray = usable[None] & better & (share >= float(self.min_wins))
        out &= ~np.isnan(score)
        out[:, 0] = ~out[:, 1:].any(axis=1)
        return score, out

    def _long_weights(
        self, y: Array, cv: list[Array | None], usable: BoolArray, short_w: Array
    ) -> Array:
        """Weights per long bucket after the short ones; the leave-one-window-out long
        backtest forecasts."""
        sched = self.schedule_
        l_orig = list(sched.long_origins or [])
        hl = sched.long_h
        n = y.shape[0]
        actual = actuals(y, l_orig, hl)
        sound = np.array([c.long_range for c in self.pool_], dtype=bool)
        n_win = len(l_orig)
        c_all = len(cv)
        use = _leave_one_out(np.ones(n_win, dtype=bool))
        buckets = sched.buckets()
        lowo = np.zeros((n_win, len(short_w) + len(buckets), c_all, n))
        lowo[:, : len(short_w)] = short_w[None]
        every = [*short_w]
        flat = self._flat()
        for b, (first, last) in enumerate(buckets):
            win_err = np.zeros((c_all, n, n_win))
            win_cnt = np.zeros((c_all, n, n_win), dtype=np.intp)
            for c, f in enumerate(cv):
                if f is not None:
                    win_err[c], win_cnt[c] = window_errors(f, actual, slice(first - 1, last))
            elig = usable & ~self._short_only[:, None]
            top = self.top_k
            if b == len(buckets) - 1:
                elig &= sound[:, None]
                top = min(top, TOP_K_LONG)
            with np.errstate(invalid="ignore", divide="ignore"):
                score = use_sums(win_err, use) / use_sums(win_cnt.astype(np.float64), use)
            found = top_weights(score, np.broadcast_to(elig, score.shape), top, flat)
            every.append(found[0])
            lowo[:, len(short_w) + b] = found[1:]
        self.weights_ = np.stack(every)
        self.anchors_ = sched.anchors()
        self._long_done = True
        self.model_long_ = _describe(self.weights_[-1], [c.label for c in self.pool_])
        # only the leads past the short horizon are read from the long backtest
        hs = sched.short_h
        combined = np.full((n, n_win, hl), np.nan)
        tails = [None if f is None else f[:, :, hs:] for f in cv]
        combined[:, :, hs:] = combine_windows(tails, lowo, self.anchors_, hs + 1)
        return combined

    def _flat(self) -> int:
        """Index of the flat level candidate: a level + profile, else simple exponential
        smoothing (Theta without a season), else naive (without the long pool)."""
        pool = self.pool_
        for i, cand in enumerate(pool):
            if isinstance(cand, SeasonalTrend) and not cand.trend:
                return i
        return next((i for i, c in enumerate(pool) if isinstance(c, Theta)), 0)

    def _trend(self) -> int:
        """Index of the trend + profile candidate over all history (a line without seasons)."""
        fits = [
            (i, c)
            for i, c in enumerate(self.pool_)
            if isinstance(c, SeasonalTrend) and c.trend and c.window is None
        ]
        seasonal = [i for i, c in fits if c.periods != ()]
        return (seasonal or [i for i, _ in fits])[0]

    def _without_long(self) -> None:
        """Leads past the short horizon when there is no long backtest: the last short
        choice where it is sound, else trend + profile on a clear trend, else a flat level."""
        pool = self.pool_
        short_w = self.weights_
        sound = np.array([c.long_range for c in pool], dtype=bool)
        w = np.where(sound[:, None], short_w[-1], 0.0)
        total = w.sum(axis=0)
        need = total == 0
        w[:, ~need] /= total[~need]
        if need.any():
            rows = np.flatnonzero(need)
            trending = clear_trend(self._panel_[rows], self.seasons_.subset(rows))
            w[self._trend(), rows[trending]] = 1.0
            w[self._flat(), rows[~trending]] = 1.0
        hs = float(self.schedule_.short_h)
        self.weights_ = np.concatenate([short_w, w[None]])
        self.anchors_ = np.array([*self.anchors_, 1.5 * hs])
        self.model_long_ = _describe(w, [c.label for c in pool])
        self._long_done = True

    def _ensure_long(self, h: int) -> None:
        """Choose the weights past the short horizon, the first time a forecast needs them."""
        if self._long_done or h <= self.schedule_.short_h:
            return
        if self.schedule_.has_long:
            self._select(self._panel_, self.schedule_, long=True)
        else:
            for cand in self.pool_[self.short_ :]:
                cand._adopt(self)
                cand._fit(self._panel_)
            self._without_long()

    def _predict(self, h: int) -> Array:
        self._ensure_long(h)
        used = np.flatnonzero(self.weights_.any(axis=(0, 2)))
        forecasts = [
            self.pool_[i].predict(h) if i in set(used.tolist()) else None
            for i in range(len(self.pool_))
        ]
        return combine(forecasts, self.weights_, self.anchors_)

    def describe(self, h: int) -> list[str]:
        """Per series, the models behind a forecast ``h`` steps ahead."""
        self._ensure_long(h)
        if h <= self.schedule_.short_h or not hasattr(self, "model_long_"):
            return list(self.model_)
        return [
            s if s == lng else f"{s}; then {lng}"
            for s, lng in zip(self.model_, self.model_long_, strict=True)
        ]


def _leave_one_out(in_set: BoolArray) -> BoolArray:
    """Rows of windows: all of the set, then the set without each window in turn (the whole
    set again where leaving one out would leave none)."""
    n_win = in_set.size
    drop = ~np.eye(n_win, dtype=bool) & in_set[None, :]
    drop[~drop.any(axis=1)] = in_set
    return np.concatenate([in_set[None, :], drop])


def _describe(w: Array, labels: list[str]) -> list[str]:
    """A label per series: the candidate, or ``mix(a, b, c)`` by decreasing weight."""
    order = np.argsort(-w, axis=0, kind="stable")
    picked = np.where(np.take_along_axis(w, order, axis=0) > 0, order, -1).T
    rows, inverse = np.unique(picked, axis=0, return_inverse=True)
    names = []
    for row in rows:
        chosen = [labels[c] for c in row if c >= 0]
        names.append(chosen[0] if len(chosen) == 1 else f"mix({', '.join(chosen)})")
    return [names[i] for i in np.asarray(inverse).ravel()]
