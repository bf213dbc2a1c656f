"""``theta``: the Theta method — simple exponential smoothing plus half the least-squares
trend (Assimakopoulos & Nikolopoulos, 2000, in the form of Hyndman & Billah, 2003), on the
seasonally adjusted series.

1. Seasonal adjustment (classical decomposition at the shortest season ``m``, when the
   series has two seasons of it): the ratio of the series to its centred moving average,
   averaged per phase and normalised, for positive series (multiplicative); the
   difference, otherwise (additive).
2. Simple exponential smoothing of the adjusted series, ``alpha`` chosen per series from a
   grid by in-sample one-step squared error; the smoothing runs as a first-order linear
   filter (SciPy ``lfilter``), one call per grid value for all series at once.
3. Forecast: ``level + b / 2 · (j - 1 + 1 / alpha)`` at lead ``j``, ``b`` the least-squares
   slope of the adjusted series, then the seasonal pattern put back.

Backtests read every origin off one smoothing pass: the level, the squared error and the
slope sums up to each origin. The seasonal pattern of every backtest origin is taken from
the history before the earliest one, so no backtest sees the data it is scored on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray
from capplan.forecast._panel import ffill, first_valid, seasonal_fill
from capplan.forecast.base import MODELS, Forecaster

__all__ = ["Theta"]

_ALPHAS = (0.05, 0.2, 0.5, 0.9)


@MODELS.register("theta")
class Theta(Forecaster):
    """The Theta method on the seasonally adjusted series (see the module docstring).
    ``alphas``: the smoothing grid; ``seasonal``: adjust for the shortest season."""

    name = "theta"
    long_range = True
    supported_: BoolArray

    def __init__(self, alphas: tuple[float, ...] = _ALPHAS, seasonal: bool = True) -> None:
        self.alphas = alphas
        self.seasonal = seasonal

    def _period(self) -> int:
        periods = self.seasons_.periods
        return periods[0] if self.seasonal and periods else 1

    def _fit(self, y: Array) -> None:
        self._state = self._run(y, y, [])[-1]

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        out = np.full((y.shape[0], len(origins), h), np.nan)
        ok = sorted({o for o in origins if 2 <= o < y.shape[1]})
        if self._period() == 1 or not ok:  # no seasonal pattern: one pass for everything
            states = self._run(y, y, ok)
        else:  # the origins' pattern from the history before the earliest one
            states = self._run(y, y[:, : ok[0]], ok)
            states[-1] = self._run(y, y, [])[-1]
        self._state = states[-1]
        for w, o in enumerate(origins):
            if o in ok:
                out[:, w] = _forecast(states[ok.index(o)], h)
        return out

    def _run(self, y: Array, season_from: Array, origins: list[int]) -> list[_ThetaState]:
        """Smooth ``y`` once; the state at each (sorted) origin and at the end. The
        seasonal pattern is estimated on the columns of ``season_from`` (a leading part of
        ``y``)."""
        n, t_all = y.shape
        m = self._period()
        filled = seasonal_fill(y, m) if m > 1 else ffill(y)
        start = first_valid(filled)
        pattern, mult = _pattern(filled[:, : season_from.shape[1]], m)
        adj = filled
        if m > 1:
            season = np.tile(pattern, (1, -(-t_all // m)))[:, :t_all]  # by phase t % m
            adj = filled - season
            np.divide(filled, season, out=adj, where=mult[:, None])
        first = adj[np.arange(n), np.minimum(start, t_all - 1)]
        live = np.arange(t_all)[None, :] >= start[:, None]
        adj = np.where(live, adj, first[:, None])  # left padding: zero error
        ends = [*origins, t_all]
        cuts = np.array([0, *ends[:-1]], dtype=np.intp)
        # slope sums up to each end over the observed points: sum 1, t, t^2 in closed form,
        # sum y and t*y stretch by stretch
        t = np.arange(t_all, dtype=np.float64)
        level_sums = [np.where(live, adj, 0.0)]
        level_sums.append(level_sums[0] * t)
        sy, sty = (np.cumsum(np.add.reduceat(v, cuts, axis=1), axis=1) for v in level_sums)
        stop = np.asarray(ends, dtype=np.float64)[None, :]
        begin = np.minimum(start, t_all).astype(np.float64)[:, None] * np.ones_like(stop)
        begin = np.minimum(begin, stop)
        sums = [stop - begin, _power_sum(begin, stop, 1), _power_sum(begin, stop, 2), sy, sty]
        alphas = np.asarray(self.alphas, dtype=np.float64)
        k = len(ends)
        levels = np.empty((alphas.size, n, k))
        sse = np.empty((alphas.size, n, k))
        last = np.array(ends) - 1
        # Imported here: scipy.signal takes most of a second to import, which every command
        # would otherwise pay at start-up.
        from scipy.signal import lfilter

        for g, a in enumerate(alphas):
            init = (1.0 - a) * adj[:, :1]
            lev = lfilter([a], [1.0, a - 1.0], adj, axis=1, zi=init)[0]
            err = np.zeros_like(adj)
            np.subtract(adj[:, 1:], lev[:, :-1], out=err[:, 1:])
            err *= err
            sse[g] = np.cumsum(np.add.reduceat(err, cuts, axis=1), axis=1)
            levels[g] = lev[:, last]
        self.supported_ = (t_all - start >= 3) & ~self.empty_
        states = []
        for j, o in enumerate(ends):
            best = np.argmin(sse[:, :, j], axis=0)
            cnt, st, stt, sy, sty = (s[:, j] for s in sums)
            den = cnt * stt - st * st
            slope = np.zeros(n)
            np.divide(cnt * sty - st * sy, den, out=slope, where=den > 0)
            level = levels[best, np.arange(n), j]
            ok = (o - start >= 3) & ~self.empty_
            level = np.where(ok, level, np.nan)
            states.append(_ThetaState(level, slope, alphas[best], pattern, mult, m, o))
        return states

    def _predict(self, h: int) -> Array:
        return _forecast(self._state, h)


class _ThetaState:
    """Level, slope, smoothing and seasonal pattern of a block of series at one time."""

    def __init__(
        self,
        level: Array,
        slope: Array,
        alpha: Array,
        pattern: Array,
        mult: BoolArray,
        m: int,
        t0: int,
    ) -> None:
        self.level, self.slope, self.alpha = level, slope, alpha
        self.pattern, self.mult, self.m, self.t0 = pattern, mult, m, t0


def _power_sum(begin: Array, stop: Array, power: int) -> Array:
    """``sum(t ** power for t in range(begin, stop))``, elementwise, for powers 1 and 2."""

    def upto(x: Array) -> Array:  # sum over 0 .. x - 1
        if power == 1:
            out: Array = x * (x - 1) / 2
        else:
            out = (x - 1) * x * (2 * x - 1) / 6
        return out

    result: Array = upto(stop) - upto(begin)
    return result


def _forecast(state: _ThetaState, h: int) -> Array:
    j = np.arange(1, h + 1, dtype=np.float64)
    drift = 0.5 * state.slope[:, None] * (j[None, :] - 1.0 + 1.0 / state.alpha[:, None])
    out: Array = state.level[:, None] + drift
    if state.m > 1:
        season = state.pattern[:, (state.t0 + np.arange(h)) % state.m]
        out = np.where(state.mult[:, None], out * season, out + season)
    return out


def _pattern(filled: Array, m: int) -> tuple[Array, BoolArray]:
    """Classical decomposition of a gap-filled panel: per series the seasonal pattern by
    phase ``t % m`` (ratios for positive series, flagged in the second array; differences
    otherwise). Series without two seasons get a neutral pattern."""
    n, t = filled.shape
    mult = np.zeros(n, dtype=bool)
    if m <= 1:
        return np.zeros((n, 1)), mult
    start = first_valid(filled)
    with np.errstate(invalid="ignore"):
        mult = np.asarray(((filled > 0) | np.isnan(filled)).all(axis=1), dtype=np.bool_)
    # centred moving average of length m (2 x m for an even m); the panel is gap-filled, so
    # a window is whole once it starts at or after the series' first observation
    z = np.nan_to_num(filled)
    c = np.concatenate([np.zeros((n, 1)), np.cumsum(z, axis=1)], axis=1)
    half = m // 2
    trend = np.full((n, t), np.nan)
    if t > m:
        width = t - m + 1
        mean = (c[:, m:] - c[:, :width]) / m
        mean[np.arange(width)[None, :] < start[:, None]] = np.nan
        if m % 2 == 0:
            mean = 0.5 * (mean[:, 1:] + mean[:, :-1])
            trend[:, half : half + mean.shape[1]] = mean
        else:
            trend[:, half : half + width] = mean
    detr = filled - trend
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(filled, trend, out=detr, where=mult[:, None])
    cycles = -(-t // m)
    blocks = np.full((n, cycles * m), np.nan)
    blocks[:, :t] = detr
    blocks = blocks.reshape(n, cycles, m)  # column index = cycle * m + phase
    good = ~np.isnan(blocks)
    tot = np.where(good, blocks, 0.0).sum(axis=1)
    cnt = good.sum(axis=1)
    pattern = np.full((n, m), np.nan)
    np.divide(tot, cnt, out=pattern, where=cnt > 0)
    enough = (t - start >= 2 * m) & ~np.isnan(pattern).any(axis=1)
    mean = np.nanmean(np.where(enough[:, None], pattern, 1.0), axis=1)
    pattern = np.where(
        mult[:, None], pattern / np.where(mean == 0, 1.0, mean)[:, None], pattern - mean[:, None]
    )
    neutral = np.where(mult, 1.0, 0.0)
    pattern = np.where(enough[:, None], pattern, neutral[:, None])
    return pattern, mult
