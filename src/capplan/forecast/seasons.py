"""Seasonal periods: the defaults for a sampling step, and detection from the data.

A period is usable for a series when the series has at least two full seasons of history
(from its first observation to the end, gaps included). Detection measures, at each
candidate lag, the autocorrelation of the series minus its moving average over that lag
(which keeps trends and random walks from looking seasonal) and keeps a period for the panel
when it is significant — at least ``max(min_acf, 2 / sqrt(pairs), 1 / sqrt(seasons))``, the
last term because a random walk's autocorrelation at a long lag is as noisy as the number of
seasons it spans is small — for at least ``min_share`` of the series with enough data.

Fallback: a series without two seasons of the shortest period is forecast without seasonal
terms (each model's non-seasonal form, naive for the seasonal naive family); the series are
listed in ``Seasons.warnings()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capplan._types import Array, BoolArray, IndexArray
from capplan.errors import ForecastError
from capplan.forecast._panel import first_valid, format_issues

__all__ = ["Seasons", "default_seasons", "detect_seasons", "resolve_seasons", "seasonal_acf"]

DAY = 86400
WEEK = 7 * DAY
_CHUNK = 1024


def default_seasons(step_seconds: int) -> tuple[int, ...]:
    """Candidate periods in steps: daily and weekly below a day (1h → (24, 168), 5m →
    (288, 2016), 15m → (96, 672)), weekly and yearly for daily data (7, 365), yearly for
    weekly (52,), yearly for monthly (12,). Only exact divisors are used; otherwise ``()``."""
    if step_seconds <= 0:
        raise ForecastError(f"step_seconds must be > 0, got {step_seconds}")
    if step_seconds < DAY:
        return tuple(span // step_seconds for span in (DAY, WEEK) if span % step_seconds == 0)
    if step_seconds == DAY:
        return (7, 365)
    if step_seconds == WEEK:
        return (52,)
    if 28 * DAY <= step_seconds <= 31 * DAY:
        return (12,)
    if 89 * DAY <= step_seconds <= 92 * DAY:
        return (4,)
    return ()


@dataclass(frozen=True)
class Seasons:
    """Periods kept for a panel, and per series whether each is usable and how strong it is.

    ``enough[i, k]``: series ``i`` has two full seasons of ``periods[k]``. ``acf[i, k]``: its
    lag-``periods[k]`` autocorrelation (``seasonal_acf``; NaN without enough data).
    ``short``: series without two seasons of the shortest candidate period ``shortest``.
    ``span``: each series' history length (first observation to the end). ``noise``: the
    autocorrelation a season-free series could show by chance (see the module docstring).
    """

    periods: tuple[int, ...]
    enough: BoolArray
    acf: Array
    short: IndexArray
    span: IndexArray
    noise: Array
    shortest: int | None = None

    def significant(self, min_acf: float = 0.2) -> BoolArray:
        """``(n, K)``: the period is usable and its autocorrelation clears the threshold."""
        bar = np.maximum(min_acf, self.noise)
        return self.enough & (np.nan_to_num(self.acf, nan=-1.0) >= bar)

    def subset(self, rows: slice | IndexArray) -> Seasons:
        """The same periods for a subset of the series (indices are renumbered)."""
        n = self.enough.shape[0]
        keep = np.zeros(n, dtype=bool)
        keep[rows] = True
        renum = np.cumsum(keep) - 1
        short = renum[self.short[keep[self.short]]] if self.short.size else self.short
        return Seasons(
            self.periods,
            self.enough[rows],
            self.acf[rows],
            short.astype(np.intp),
            self.span[rows],
            self.noise[rows],
            self.shortest,
        )

    def truncate(self, steps: int) -> Seasons:
        """The same periods for the panel without its last ``steps`` columns (a backtest
        origin): usability is recomputed from the shorter history, autocorrelation kept."""
        span = np.maximum(self.span - steps, 0).astype(np.intp)
        enough = span[:, None] >= 2 * np.asarray(self.periods, dtype=np.intp)[None, :]
        m = self.shortest
        short = _short(span, m)
        return Seasons(self.periods, enough, self.acf, short, span, self.noise, m)

    def usable(self, period: int) -> BoolArray:
        """Per series: two full seasons of ``period`` (all False for an unknown period)."""
        if period in self.periods:
            return self.enough[:, self.periods.index(period)]
        return np.zeros(self.enough.shape[0], dtype=bool)

    def issues(self) -> list[tuple[str, IndexArray]]:
        """The short-series fallback as a ``(text with {series}, indices)`` record."""
        if self.shortest is None or self.short.size == 0:
            return []
        m = self.shortest
        return [
            (
                f"series {{series}} have fewer than two seasons ({2 * m} points) of history: "
                f"forecast without the {m}-step season (non-seasonal fallback)",
                self.short,
            )
        ]

    def warnings(self) -> list[str]:
        """The short-series fallback, in words."""
        return format_issues(self.issues())


def seasonal_acf(y: Array, lag: int) -> tuple[Array, Array]:
    """Autocorrelation at ``lag`` of each series minus its centred moving average of length
    ``lag``, and the number of pairs. NaN-aware; 0 for a constant series (no warning).

    Removing the moving average takes out trends and random-walk wandering but keeps a
    cycle of that length, even a smooth one sampled finely (a daily cycle every 5 minutes,
    which first differences would drown in noise)."""
    n, t = y.shape
    acf = np.zeros(n)
    pairs = np.zeros(n)
    if t <= 2 * lag:
        return acf, pairs
    half = lag // 2
    width = t - lag + 1  # positions with a complete window around them
    for a in range(0, n, _CHUNK):
        block = y[a : a + _CHUNK]
        ok = ~np.isnan(block)
        full = bool(ok.all())
        zeros = np.zeros((block.shape[0], 1))
        filled = block if full else np.where(ok, block, 0.0)
        csum = np.concatenate([zeros, np.cumsum(filled, axis=1)], axis=1)
        if full:  # no padding or gaps: plain arithmetic
            dev = block[:, half : half + width] - (csum[:, lag:] - csum[:, :width]) / lag
            dev -= dev.mean(axis=1, keepdims=True)
            m = np.full(block.shape[0], width)
            npair = m - lag
            mean = np.asarray(block.mean(axis=1))
        else:
            ccnt = np.concatenate([zeros, np.cumsum(ok, axis=1)], axis=1)
            cnt = ccnt[:, lag:] - ccnt[:, :width]
            good = ok[:, half : half + width] & (cnt >= lag / 2)
            dev = block[:, half : half + width] - (csum[:, lag:] - csum[:, :width]) / np.maximum(
                cnt, 1
            )
            dev = np.where(good, dev, 0.0)
            m = good.sum(axis=1)
            mean = dev.sum(axis=1) / np.maximum(m, 1)
            dev = np.where(good, dev - mean[:, None], 0.0)
            npair = (good[:, lag:] & good[:, :-lag]).sum(axis=1)
        var = np.einsum("ij,ij->i", dev, dev) / np.maximum(m, 1)
        cov = np.einsum("ij,ij->i", dev[:, lag:], dev[:, :-lag]) / np.maximum(npair, 1)
        r = np.zeros_like(cov)
        # a constant series (deviations only from rounding) has no autocorrelation
        np.divide(cov, var, out=r, where=var > 1e-24 * np.maximum(mean * mean, 1e-280))
        acf[a : a + _CHUNK] = r
        pairs[a : a + _CHUNK] = npair
    return acf, pairs


def _measure(y: Array, candidates: Sequence[int]) -> tuple[BoolArray, Array, Array, IndexArray]:
    """Usability, autocorrelation and chance level per series and candidate, and spans."""
    span = (y.shape[1] - first_valid(y)).astype(np.intp)
    k = len(candidates)
    enough = np.zeros((y.shape[0], k), dtype=bool)
    acf = np.full((y.shape[0], k), np.nan)
    noise = np.ones((y.shape[0], k))
    for j, m in enumerate(candidates):
        enough[:, j] = span >= 2 * m
        if enough[:, j].any():
            r, pairs = seasonal_acf(y, m)
            acf[:, j] = np.where(enough[:, j], r, np.nan)
            by_pairs = 2.0 / np.sqrt(np.maximum(pairs, 1.0))
            by_seasons = 1.0 / np.sqrt(np.maximum(span / m, 1.0))
            noise[:, j] = np.maximum(by_pairs, by_seasons)
    return enough, acf, noise, span


def _short(span: IndexArray, m: int | None) -> IndexArray:
    """Series with some history but fewer than two seasons of ``m``."""
    if m is None:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero((span > 0) & (span < 2 * m)).astype(np.intp)


def _check_periods(periods: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(m) for m in periods}))
    if any(m < 2 for m in out):
        raise ForecastError(f"seasonal periods must be integers >= 2, got {list(periods)}")
    return out


def detect_seasons(
    y: Array,
    step_seconds: int = 3600,
    *,
    candidates: Sequence[int] | None = None,
    min_acf: float = 0.2,
    min_share: float = 0.1,
) -> Seasons:
    """Keep the candidate periods (default: ``default_seasons(step_seconds)``) that have
    enough data and significant autocorrelation in at least ``min_share`` of the series."""
    cands = _check_periods(default_seasons(step_seconds) if candidates is None else candidates)
    enough, acf, noise, span = _measure(y, cands)
    sig = enough & (np.nan_to_num(acf, nan=-1.0) >= np.maximum(min_acf, noise))
    keep = [
        j
        for j in range(len(cands))
        if enough[:, j].any() and sig[:, j].sum() >= min_share * enough[:, j].sum()
    ]
    shortest = cands[keep[0]] if keep else (cands[0] if cands else None)
    short = _short(span, shortest)
    return Seasons(
        tuple(cands[j] for j in keep),
        enough[:, keep],
        acf[:, keep],
        short,
        span,
        noise[:, keep],
        shortest,
    )


def resolve_seasons(
    y: Array, step_seconds: int, seasons: Seasons | Sequence[int] | None
) -> Seasons:
    """Detect (``None``), take a :class:`Seasons` as is, or measure the given periods."""
    if seasons is None:
        return detect_seasons(y, step_seconds)
    if isinstance(seasons, Seasons):
        if seasons.enough.shape[0] != y.shape[0]:
            raise ForecastError(
                f"seasons describe {seasons.enough.shape[0]} series, got {y.shape[0]}"
            )
        return seasons
    periods = _check_periods(seasons)
    enough, acf, noise, span = _measure(y, periods)
    first = periods[0] if periods else None
    return Seasons(periods, enough, acf, _short(span, first), span, noise, first)
