"""``arima``: seasonal ARIMA(p, d, 0)(P, D, 0) by conditional least squares, with the
autoregressive orders chosen per series by AIC.

The series is differenced once at its shortest usable season ``m`` (D = 1), or at lag 1
when it has none (d = 1). The differences ``w`` are regressed on their own lags ``1..p``
and, as seasonal autoregressive terms, on lags ``m`` and the longest season ``M``; with
``constant`` an intercept (a drift per season) is fitted too. The candidate orders are
nested — lag 1, lags 1-2, ... up to ``max_p``, then with the seasonal lags one by one —
and the one with the lowest AIC, ``N log(SSR / N) + 2 k``, is kept for each series.
Moving-average terms are left out: they need an iterative fit per series, which a batched
least-squares solve replaces by a longer autoregression.

Batched over series, and over backtest origins: the Gram matrix of every lag is summed once
per stretch between two origins, so the fit at each origin is a cumulative sum and a few
small solves. Gaps are filled with the value one season earlier before differencing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray, IndexArray
from capplan.forecast._panel import ffill, first_valid, seasonal_fill
from capplan.forecast.base import MODELS, Forecaster, check_period

__all__ = ["ARIMA"]

_RIDGE = 1e-8  # relative to the mean diagonal of each Gram matrix: keeps constant series solvable


class _Fit:
    """Chosen coefficients of a block of series at one time, with the history they extend."""

    def __init__(self, coef: Array, w_tail: Array, y_tail: Array) -> None:
        self.coef, self.w_tail, self.y_tail = coef, w_tail, y_tail


@MODELS.register("arima")
class ARIMA(Forecaster):
    """Seasonal ARIMA(p, d, 0)(P, D, 0) by conditional least squares, orders by AIC per
    series (see the module docstring). ``max_p``: largest non-seasonal order; ``seasonal``:
    allow the seasonal autoregressive lags; ``constant``: fit a drift; ``window``: fit on
    the last points only (default all history)."""

    name = "arima"
    lags_: tuple[int, ...]
    lag_: int
    fit_: _Fit
    order_: IndexArray  # number of coefficients of the chosen order, per series
    supported_: BoolArray

    def __init__(
        self,
        max_p: int = 3,
        seasonal: bool = True,
        constant: bool = False,
        window: int | None = None,
        period: int | None = None,
    ) -> None:
        check_period(period)
        self.max_p = max_p
        self.seasonal = seasonal
        self.constant = constant
        self.window = window
        self.period = period

    def _design(self) -> tuple[int, tuple[int, ...]]:
        """The differencing lag and the autoregressive lags of the full model."""
        periods = self.seasons_.periods
        lag = int(self.period) if self.period is not None else periods[0] if periods else 1
        lags = list(range(1, max(1, int(self.max_p)) + 1))
        if self.seasonal and periods:
            lags += [m for m in (periods[0], periods[-1]) if m not in lags and m >= lag]
        return lag, tuple(dict.fromkeys(lags))

    def _fit(self, y: Array) -> None:
        self._pass(y, [])

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        n = y.shape[0]
        every = self._pass(y, origins)
        done = [w for w, f in enumerate(every) if f is not None]
        fits = [f for f in every if f is not None]
        out = np.full((n, len(origins), h), np.nan)
        if fits:  # every origin's recursion at once
            stacked = _Fit(
                np.concatenate([f.coef for f in fits]),
                np.concatenate([f.w_tail for f in fits]),
                np.concatenate([f.y_tail for f in fits]),
            )
            runs = _forecast(stacked, self.lags_, self.lag_, h).reshape(len(fits), n, h)
            out[:, done] = runs.transpose(1, 0, 2)
        return out

    def _pass(self, y: Array, origins: Sequence[int]) -> list[_Fit | None]:
        """Fit on all of ``y`` (into ``fit_``) and at each origin; return the origin fits
        (None where an origin leaves too little history). With a ``window``, only the
        columns the fits read are looked at."""
        if self.window is not None:
            first = min([int(o) for o in origins if 0 < o < y.shape[1]] + [y.shape[1]])
            lag, lags = self._design()
            cut = max(0, first - max(2, int(self.window)) - lag - max(lags))
            if cut:
                y = y[:, cut:]
                origins = [int(o) - cut for o in origins]
        n, t_all = y.shape
        self.lag_, self.lags_ = self._design()
        lag, lags = self.lag_, self.lags_
        filled = seasonal_fill(y, lag) if lag > 1 else ffill(y)
        w = np.full((n, t_all), np.nan)
        w[:, lag:] = filled[:, lag:] - filled[:, :-lag]
        top = max(lags)
        start = first_valid(filled)
        # rows: target w[t] for t >= start + lag + top (all its lags observed or filled)
        ok = np.arange(t_all)[None, :] >= (start + lag + top)[:, None]
        okf = ok.astype(np.float64)
        w0 = np.nan_to_num(w)
        wz = w0 * okf
        xz = np.zeros((n, t_all, len(lags) + 1))
        xz[:, :, 0] = okf
        for j, q in enumerate(lags, start=1):
            xz[:, q:, j] = w0[:, :-q] * okf[:, q:]
        ends = sorted({int(o) for o in origins if 0 < o < t_all} | {t_all})
        span = None if self.window is None else max(2, int(self.window))
        marks = sorted({0, *ends, *(max(0, e - span) for e in ends if span is not None)})
        k = xz.shape[2]
        gram, cross = np.zeros((n, k, k)), np.zeros((n, k))
        sq, cnt = np.zeros(n), np.zeros(n)
        at = {0: (gram, cross, sq, cnt)}
        for a, b in itertools.pairwise(marks):
            seg_x, seg_w = xz[:, a:b], wz[:, a:b]
            seg_t = seg_x.transpose(0, 2, 1)
            gram = gram + seg_t @ seg_x
            cross = cross + (seg_t @ seg_w[:, :, None])[:, :, 0]
            sq = sq + (seg_w[:, None, :] @ seg_w[:, :, None])[:, 0, 0]
            cnt = cnt + okf[:, a:b].sum(axis=1)
            at[b] = (gram, cross, sq, cnt)

        def sums(end: int) -> tuple[Array, Array, Array, Array]:
            """The sums over the fitting rows before ``end``."""
            if span is None or end - span <= 0:
                return at[end]
            lo = at[end - span]
            return tuple(a - b for a, b in zip(at[end], lo, strict=True))  # type: ignore[return-value]

        coef, order, supported = self._choose(*sums(t_all))
        self.order_, self.supported_ = order, supported & ~self.empty_
        if t_all < lag + top:  # too short for any fit: NaN forecasts (the last value)
            self.fit_ = _Fit(coef, np.full((n, top), np.nan), np.full((n, lag), np.nan))
            self.supported_[:] = False
        else:
            self.fit_ = _Fit(coef, w[:, t_all - top :], filled[:, t_all - lag :])
        fits: list[_Fit | None] = []
        for o in origins:
            if not lag + top <= o < t_all:
                fits.append(None)
                continue
            c, _, sup = self._choose(*sums(int(o)))
            c[~sup] = np.nan
            fits.append(_Fit(c, w[:, o - top : o], filled[:, o - lag : o]))
        return fits

    def _choose(
        self, gram: Array, cross: Array, sq: Array, cnt: Array
    ) -> tuple[Array, IndexArray, BoolArray]:
        with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
            return self._choose_order(gram, cross, sq, cnt)

    def _choose_order(
        self, gram: Array, cross: Array, sq: Array, cnt: Array
    ) -> tuple[Array, IndexArray, BoolArray]:
        """Per series the coefficients of the order with the lowest AIC, its number of
        coefficients, and whether there were enough rows to fit one.

        The candidate orders are nested — the constant (if any), lag 1, then each further
        column in turn — so one Cholesky factorisation ``L`` of the Gram matrix gives them
        all: with ``L z = b``, the residual sum of squares of the first ``q`` columns is
        ``sum(w²) - sum(z[:q]²)``, and the coefficients come from ``L[:q, :q]ᵀ β = z[:q]``."""
        n, k, _ = gram.shape
        keep = np.ones(k, dtype=bool)
        keep[0] = bool(self.constant)
        cols = np.flatnonzero(keep)
        q_all = cols.size
        g = gram[:, cols[:, None], cols[None, :]]
        b = cross[:, cols]
        diag = np.einsum("nii->n", g) / q_all
        empty = ~(diag > 0)
        g = g + (_RIDGE * np.where(empty, 1.0, diag))[:, None, None] * np.eye(q_all)
        g[empty] = np.eye(q_all)
        chol = np.linalg.cholesky(g)
        z = np.zeros((n, q_all))
        for i in range(q_all):  # forward substitution, all series at once
            acc = b[:, i] - np.einsum("nj,nj->n", chol[:, i, :i], z[:, :i])
            z[:, i] = acc / chol[:, i, i]
        explained = np.cumsum(z * z, axis=1)
        floor = 1e-12 * np.maximum(sq, 1e-300)
        first = 2 if self.constant else 1  # at least lag 1
        best = np.full(n, np.inf)
        size = np.full(n, first, dtype=np.intp)
        for q in range(first, q_all + 1):
            ssr = np.maximum(sq - explained[:, q - 1], floor)
            aic = cnt * np.log(ssr / np.maximum(cnt, 1)) + 2 * q
            aic = np.where(cnt > 2 * q + 2, aic, np.inf)
            better = aic < best
            best = np.where(better, aic, best)
            size = np.where(better, q, size)
        z = np.where(np.arange(q_all)[None, :] < size[:, None], z, 0.0)
        beta = np.zeros((n, q_all))
        for i in range(q_all - 1, -1, -1):  # back substitution with Lᵀ
            acc = z[:, i] - np.einsum("nj,nj->n", chol[:, i + 1 :, i], beta[:, i + 1 :])
            beta[:, i] = acc / chol[:, i, i]
        coef = np.zeros((n, k))
        coef[:, cols] = beta
        return coef, size, np.isfinite(best) & ~empty

    def _predict(self, h: int) -> Array:
        f = _forecast(self.fit_, self.lags_, self.lag_, h)
        f[~self.supported_] = np.nan
        return f


def _forecast(fit: _Fit, lags: tuple[int, ...], lag: int, h: int) -> Array:
    """Run the autoregression on the differences ``h`` steps, then undo the differencing."""
    n = fit.coef.shape[0]
    top = max(lags)
    if fit.y_tail.shape[1] < lag:
        return np.full((n, h), np.nan)
    w = np.concatenate([fit.w_tail, np.empty((n, h))], axis=1)
    c = fit.coef
    for j in range(h):
        t = top + j
        acc = c[:, 0].copy()
        for i, q in enumerate(lags, start=1):
            acc += c[:, i] * w[:, t - q]
        w[:, t] = acc
    # undo the differencing: each phase of the last season plus the running sum of its steps
    if h <= lag:  # within one season: one step per phase
        within: Array = fit.y_tail[:, :h] + w[:, top:]
        return within
    cycles = -(-h // lag)
    wf = np.zeros((n, cycles * lag))
    wf[:, :h] = w[:, top:]
    steps = np.cumsum(wf.reshape(n, cycles, lag), axis=1)
    out: Array = (fit.y_tail[:, None, :] + steps).reshape(n, cycles * lag)[:, :h]
    return out
