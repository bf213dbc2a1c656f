"""Where models are backtested: a short and a long rolling-origin schedule fixed by the
history, never by the horizon asked, so that a forecast's first steps and its intervals do
not change when the horizon is extended.

- **Short**: ``H_s`` is two of the shortest seasons (48 hours for hourly data, 14 days for
  daily data; the step's usual seasons when none is detected), else 12 steps. Its lead
  times are split in two buckets,
  ``1..H_s/2`` and ``H_s/2+1..H_s``, each scored on ``windows`` (8) rolling windows as long
  as the bucket's last lead, ending at the last column and as far apart (closer,
  overlapping, when the history is short): the first bucket on the most recent days, the
  second on a longer stretch of history. Every window forecasts ``H_s`` steps (one model
  fit per distinct origin); what a window has no actuals for is not scored.
- **Long**: when the history has room past a training stretch of two longest seasons (and at
  least ``4 H_s``), ``long_windows`` (4) windows of ``H_l`` steps, ``H_l / 4`` apart, with
  ``H_l`` the longest that fits, at most ``16 H_s`` (32 days for hourly data, 224 days for
  daily data) and at least ``2 H_s``.
- **Buckets** of lead times, each judged on its own errors: ``1..H_s/2`` and
  ``H_s/2+1..H_s`` on the short schedule; then doubling buckets ``(H_s, 2 H_s]``,
  ``(2 H_s, 4 H_s]`` ... up to ``H_l`` on the long one. The last bucket also stands for every
  lead beyond the longest backtest, where nothing was measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan._types import Array
from capplan.forecast._panel import rolling_origins
from capplan.forecast.seasons import Seasons, default_seasons

__all__ = ["Schedule", "actuals", "backtest_schedule", "short_horizon"]

LONG_FACTOR = 16  # the long schedule looks at most this many short horizons ahead


def short_horizon(seasons: Seasons, step_seconds: int | None = None) -> int:
    """Two of the shortest seasons — detected, else the step's usual ones (two days for
    data sampled more often than daily) — or 12 steps."""
    periods = seasons.periods
    if not periods and step_seconds:
        periods = default_seasons(step_seconds)
    return 2 * periods[0] if periods else 12


@dataclass(frozen=True)
class Schedule:
    """The short and (optional) long backtests of one panel, as train lengths (origins)."""

    short_h: int
    short_origins: list[int]
    long_h: int = 0
    long_origins: list[int] | None = None
    #: per short bucket, the indices (into ``short_origins``) of the windows it is scored on
    short_sets: tuple[tuple[int, ...], ...] | None = None

    def short_windows(self, bucket: int) -> list[int]:
        """Indices of the short windows bucket ``bucket`` is scored on (all by default)."""
        if self.short_sets is None:
            return list(range(len(self.short_origins)))
        return list(self.short_sets[bucket])

    @property
    def has_long(self) -> bool:
        return bool(self.long_origins)

    def short_buckets(self) -> list[tuple[int, int]]:
        """Lead-time ranges ``(first, last)`` (1-based, inclusive) of the short schedule."""
        half = self.short_h // 2
        if half < 2:
            return [(1, self.short_h)]
        return [(1, half), (half + 1, self.short_h)]

    def buckets(self) -> list[tuple[int, int]]:
        """Lead-time ranges ``(first, last)`` (1-based, inclusive) of the long schedule."""
        if not self.has_long:
            return []
        out = []
        lo = self.short_h
        while lo < self.long_h:
            hi = min(2 * lo, self.long_h)
            if self.long_h - hi < lo // 2:  # a stub at the end joins the last bucket
                hi = self.long_h
            out.append((lo + 1, hi))
            lo = hi
        return out

    def needs_long(self, h: int) -> bool:
        """Whether a forecast ``h`` steps ahead reaches past the short horizon."""
        return self.has_long and h > self.short_h

    def anchors(self, long: bool = True) -> Array:
        """The lead each bucket's weights belong to: the last lead of each short bucket,
        then the geometric middle of each long bucket (weights are interpolated in log lead
        between anchors, and held before the first and beyond the last)."""
        ends = [float(b) for _, b in self.short_buckets()]
        mids = [float(np.sqrt(a * b)) for a, b in self.buckets()] if long else []
        return np.array([*ends, *mids])


def actuals(y: Array, origins: list[int], h: int) -> Array:
    """What followed each origin, ``(n, W, h)``; NaN past the end of the data."""
    n, t = y.shape
    out = np.full((n, len(origins), h), np.nan)
    for w, o in enumerate(origins):
        stop = min(t, o + h)
        if stop > o:
            out[:, w, : stop - o] = y[:, o:stop]
    return out


def backtest_schedule(
    span: int,
    t_all: int,
    seasons: Seasons,
    windows: int = 8,
    long_windows: int = 4,
    short_h: int | None = None,
    short_step: int | None = None,
    step_seconds: int | None = None,
) -> Schedule:
    """The schedule for a panel of ``t_all`` columns whose typical series spans ``span``."""
    periods = seasons.periods
    longest = max(periods) if periods else 1
    hs = int(short_h) if short_h else short_horizon(seasons, step_seconds)
    offset = t_all - span
    per_bucket: list[list[int]] = []
    step = short_step
    for _, last in Schedule(hs, []).short_buckets():
        origins = _short_origins(span, last, windows, step, longest)
        if per_bucket and step is None and len(origins) > 1:
            # windows moved closer for a short history: on the first bucket's origins
            gap = origins[1] - origins[0]
            first = per_bucket[0][1] - per_bucket[0][0] if len(per_bucket[0]) > 1 else gap
            if gap < last and gap >= first:
                origins = _short_origins(span, last, windows, gap // first * first, longest)
        per_bucket.append([offset + o for o in origins])
    short = sorted({o for origins in per_bucket for o in origins})
    sets = tuple(tuple(short.index(o) for o in origins) for origins in per_bucket)
    min_train = max(2 * longest, 4 * hs)
    room = span - min_train
    lw = max(2, int(long_windows))
    hl = min(LONG_FACTOR * hs, int(room / (1.0 + (lw - 1) / 4.0)))
    if hl < 2 * hs:
        return Schedule(hs, short, short_sets=sets)
    step = max(1, hl // 4)
    longs = [offset + span - hl - step * k for k in range(lw)]
    return Schedule(hs, short, hl, sorted(longs), sets)


def _short_origins(span: int, h: int, windows: int, step: int | None, longest: int) -> list[int]:
    """Origins of ``windows`` windows of ``h`` steps ending at the end of a history of
    ``span`` steps, oldest first (see :func:`~capplan.forecast._panel.rolling_origins`)."""
    return rolling_origins(span, h, windows, step, min(2 * longest, span // 2))
