"""Damped Holt-Winters (ETS(A,Ad,A)): additive damped trend and additive seasonality.

Smoothing parameters are chosen per series from a small grid by in-sample one-step squared
error, computed for every series and every grid point at once: the recursion runs once over
time (a loop over time steps, each step a NumPy operation on ``(series, grid)`` arrays).
Series are processed in blocks of ``chunk_size`` to bound memory.

Initial state per series (from where its history starts): level = mean of the first season,
trend = difference of the first two seasons' means per step, seasonal indices = first season
minus the level. The first season is not scored. Gaps are filled with the value one season
earlier first. A series without two full seasons of the period, or with ``seasonal=False``, gets
the damped Holt model (no seasonal terms). ``fit_backtest`` reads the states at every rolling
origin off the same single pass, choosing the parameters with the error up to that origin.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray, IndexArray
from capplan.forecast._panel import ffill, first_valid, seasonal_fill
from capplan.forecast.base import MODELS, Forecaster, check_period

__all__ = ["ETS"]


class _State:
    """Chosen states of a block of series at one time: level, trend, damping, seasonal ring."""

    def __init__(self, level: Array, trend: Array, phi: Array, ring: Array, t0: int) -> None:
        self.level, self.trend, self.phi, self.ring, self.t0 = level, trend, phi, ring, t0

    def forecast(self, h: int) -> Array:
        j = np.arange(1, h + 1)
        damp = np.cumsum(self.phi[:, None] ** j[None, :], axis=1)
        m = self.ring.shape[1]
        season = self.ring[:, (self.t0 + j - 1) % m]
        return self.level[:, None] + damp * self.trend[:, None] + season


@MODELS.register("ets")
class ETS(Forecaster):
    """Damped additive Holt-Winters; parameters per series from the grid
    ``alphas × betas × gammas × phis`` (``damped=False`` fixes phi = 1). ``period``: default
    the shortest detected season. ``window``: fit on the last points only (default all);
    backtest origins before the window then have no forecast (random-walk bands).

    ``beta`` multiplies the one-step error directly (error-correction form), so useful values
    are small; with damping, ``beta = 0`` would let the trend decay away during the fit."""

    name = "ets"
    long_range = True
    states_: list[tuple[slice, _State]]
    supported_: BoolArray
    params_: Array

    def __init__(
        self,
        alphas: tuple[float, ...] = (0.1, 0.3, 0.6, 0.9),
        betas: tuple[float, ...] = (0.001, 0.01),
        gammas: tuple[float, ...] = (0.05, 0.25),
        phis: tuple[float, ...] = (0.95, 0.99),
        damped: bool = True,
        seasonal: bool = True,
        period: int | None = None,
        window: int | None = None,
        chunk_size: int = 2048,
    ) -> None:
        check_period(period)
        self.alphas = alphas
        self.betas = betas
        self.gammas = gammas
        self.phis = phis
        self.damped = damped
        self.seasonal = seasonal
        self.period = period
        self.window = window
        self.chunk_size = chunk_size

    def _grid(self, seasonal: bool) -> Array:
        gammas = self.gammas if seasonal else (0.0,)
        phis = self.phis if self.damped else (1.0,)
        return np.array(list(itertools.product(self.alphas, self.betas, gammas, phis))).T

    def _period(self) -> int:
        if not self.seasonal:
            return 1
        if self.period is not None:
            return int(self.period)
        return self.seasons_.periods[0] if self.seasons_.periods else 1

    def _fit(self, y: Array) -> None:
        self._pass(y, [], 1)

    def _pass(self, y: Array, origins: Sequence[int], h: int) -> Array:
        """Fit every block in one pass; return the forecasts from each origin."""
        n, t_all = y.shape
        length = t_all if self.window is None else max(2, min(int(self.window), t_all))
        off = t_all - length
        m = self._period()
        seasonal_ok = (self.seasons_.span >= 2 * m) & (m > 1)
        self.supported_ = (seasonal_ok | (m == 1)) & ~self.empty_
        grid = self._grid(m > 1)
        self.states_ = []
        self.params_ = np.zeros((n, 4))
        snaps = [o - off for o in origins]
        out = np.full((n, len(origins), h), np.nan)
        size = max(1, int(self.chunk_size))
        for lo in range(0, n, size):
            rows = slice(lo, min(n, lo + size))
            part = seasonal_fill(y[rows, off:], m) if m > 1 else ffill(y[rows, off:])
            states, best = _hw_pass(part, m, seasonal_ok[rows], grid, snaps)
            self.states_.append((rows, states[-1]))
            self.params_[rows] = grid[:, best].T
            for w, st in enumerate(states[:-1]):
                out[rows, w] = st.forecast(h)
        return out

    def _predict(self, h: int) -> Array:
        out = np.empty((self.n_series_, h))
        for rows, state in self.states_:
            out[rows] = state.forecast(h)
        return out

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        """One pass over time gives the final fit and the state at every origin."""
        return self._pass(y, origins, h)


def _hw_pass(
    y: Array, m: int, seasonal_ok: BoolArray, grid: Array, snaps: Sequence[int]
) -> tuple[list[_State], IndexArray]:
    """Run the recursion for a block; return the chosen state at each snapshot time (state
    before that step, chosen by the error up to it) and at the end, and the final choice.
    A snapshot before the window (or before a series starts) forecasts NaN."""
    n, length = y.shape
    alpha, beta, gamma, phi = (g[None, :] for g in grid)
    ngrid = grid.shape[1]
    start = first_valid(y)
    span = length - start
    idx = np.arange(n)
    ok = ~np.isnan(y)
    yz = np.where(ok, y, 0.0)

    def season_mean(k: int) -> Array:
        pos = np.clip(start[:, None] + k * m + np.arange(m)[None, :], 0, length - 1)
        vals = np.where(ok[idx[:, None], pos], yz[idx[:, None], pos], 0.0)
        cnt = ok[idx[:, None], pos].sum(axis=1)
        out: Array = vals.sum(axis=1) / np.maximum(cnt, 1)
        return out

    lvl0 = season_mean(0)
    two = span >= 2 * m
    slope0 = np.where(two & (m > 1), (season_mean(1) - lvl0) / m, 0.0)
    level = np.repeat(lvl0[:, None], ngrid, axis=1)
    trend = np.repeat(slope0[:, None], ngrid, axis=1)
    ring = np.zeros((m, n, ngrid))
    if m > 1:
        pos = np.clip(start[:, None] + np.arange(m)[None, :], 0, length - 1)
        first = np.where(ok[idx[:, None], pos], yz[idx[:, None], pos] - lvl0[:, None], 0.0)
        first = np.where(seasonal_ok[:, None], first, 0.0)
        ring[pos % m, idx[:, None]] = first[:, :, None]
    gamma_eff = np.where(seasonal_ok[:, None], gamma, 0.0)
    sse = np.zeros((n, ngrid))
    score_from = start + (m if m > 1 else 1)
    snap_at = {s: i for i, s in enumerate(snaps)}
    t_begin = int(start.min()) if n else length
    blank = _State(np.full(n, np.nan), np.zeros(n), np.ones(n), np.zeros((n, m)), 0)
    taken = [blank] * (len(snaps) + 1)
    # from ``plain`` on, every series has started, is observed and is scored: the update
    # needs no masks (the same arithmetic, fewer operations per step)
    observed = np.asarray(ok.all(axis=0), dtype=np.bool_)
    late = np.flatnonzero(~observed[::-1])
    plain = max(int(score_from.max()) if n else length, length - int(late[0]) if late.size else 0)
    err = np.empty_like(level)
    for t in range(t_begin, length + 1):
        if t in snap_at:
            taken[snap_at[t]] = _choose(level, trend, ring, sse, grid, t, start)
        if t == length:
            break
        s_t = ring[t % m]
        if t >= plain:
            damped = phi * trend
            base = level + damped
            np.subtract(yz[:, t][:, None], base + s_t, out=err)
            sse += err * err
            level = base + alpha * err
            trend = damped + beta * err
            s_t += gamma_eff * err
            continue
        act = (t >= start)[:, None]
        v = ok[:, t][:, None]
        pred = level + phi * trend + s_t
        err = np.where(v, yz[:, t][:, None] - pred, 0.0)
        scored = (t >= score_from)[:, None]
        sse += np.where(scored, err * err, 0.0)
        level = np.where(act, level + phi * trend + alpha * err, level)
        trend = np.where(act, phi * trend + beta * err, trend)
        ring[t % m] = s_t + gamma_eff * err
    final = _choose(level, trend, ring, sse, grid, length, start)
    taken[-1] = final
    return taken, np.argmin(sse, axis=1)


def _choose(
    level: Array, trend: Array, ring: Array, sse: Array, grid: Array, t0: int, start: IndexArray
) -> _State:
    best = np.argmin(sse, axis=1)
    idx = np.arange(level.shape[0])
    phi = grid[3, best]
    lvl = level[idx, best].copy()
    trd = trend[idx, best].copy()
    rng = ring[:, idx, best].T.copy()
    lvl[t0 <= start] = np.nan
    return _State(lvl, trd, phi, rng, t0)
