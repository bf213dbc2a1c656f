"""Weights of candidate forecasts per series, and their combination over lead times.

Candidates are scored per series on backtest windows (mean absolute error). The best
``top_k`` eligible ones share the weight in proportion to ``1 / score²``: on M4 Hourly this
beat both the single best (MASE 0.807) and the median of the best three (0.808), at 0.776.

A forecast combines candidates with weights that depend only on the lead time: one set of
weights per schedule bucket (:mod:`capplan.forecast.schedule`), interpolated linearly in
log lead time between the buckets' anchor leads and held before the first and after the
last. A candidate without a forecast at some step (NaN) gives its weight to the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capplan._types import Array, BoolArray, IndexArray

__all__ = [
    "combine",
    "combine_windows",
    "mean_error",
    "top_weights",
    "use_sums",
    "weights",
    "window_errors",
]


def window_errors(cv: Array, actual: Array, leads: slice = slice(None)) -> tuple[Array, IndexArray]:
    """Sum of absolute errors and count of scored points per series and window, over the
    lead times ``leads``: ``cv`` and ``actual`` are ``(n, W, H)``."""
    err = np.abs(cv[:, :, leads] - actual[:, :, leads])
    ok = ~np.isnan(err)
    if ok.all():
        total: Array = err.sum(axis=2)
        return total, np.full(total.shape, err.shape[2], dtype=np.intp)
    return np.where(ok, err, 0.0).sum(axis=2), ok.sum(axis=2).astype(np.intp)


def mean_error(err: Array, cnt: IndexArray) -> Array:
    """``err / cnt``, NaN where nothing was scored."""
    out = np.full(err.shape, np.nan)
    np.divide(err, cnt, out=out, where=cnt > 0)
    return out


def weights(
    win_err: Array,
    win_cnt: IndexArray,
    eligible: BoolArray,
    top_k: int,
    use: BoolArray | None = None,
    fallback: int = 0,
) -> Array:
    """``(C, n)`` weights from per-window errors ``(C, n, W)`` judged on the windows ``use``
    (default all): the ``top_k`` eligible candidates by mean error, weighted by
    ``1 / error²``. A series without an eligible candidate gets ``fallback`` alone."""
    if use is not None:
        win_err, win_cnt = win_err[:, :, use], win_cnt[:, :, use]
    score = mean_error(win_err.sum(axis=2), win_cnt.sum(axis=2))
    ok = eligible & ~np.isnan(score)
    ranked = np.where(ok, score, np.inf)
    k = max(1, min(int(top_k), score.shape[0]))
    order = np.argsort(ranked, axis=0, kind="stable")[:k]
    best = np.take_along_axis(ranked, order, axis=0)
    lowest = best[0]
    perfect = lowest == 0  # a candidate without error takes all the weight (with its equals)
    scale = np.where(perfect | ~np.isfinite(lowest), 1.0, lowest)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        rel = best / scale[None, :]
        inv = np.where(np.isfinite(best), 1.0 / (rel * rel), 0.0)
    inv = np.where(perfect[None, :], (best == 0).astype(np.float64), inv)
    out = np.zeros(score.shape)
    np.put_along_axis(out, order, inv, axis=0)
    total = out.sum(axis=0)
    none = total == 0
    out[:, ~none] /= total[~none]
    out[fallback, none] = 1.0
    return out


def use_sums(values: Array, use: BoolArray) -> Array:
    """``(M, C, n)`` sums of ``values (C, n, W)`` over the windows of each of the ``M``
    rows of ``use (M, W)`` (NaN counts as 0)."""
    out: Array = np.tensordot(np.nan_to_num(values), use.astype(np.float64), axes=([2], [1]))
    return out.transpose(2, 0, 1)


def top_weights(score: Array, eligible: BoolArray, top_k: int, fallback: int = 0) -> Array:
    """Weights ``(M, C, n)`` from scores ``(M, C, n)``: the ``top_k`` eligible candidates
    by score, ``1 / score²`` normalised (see :func:`weights`)."""
    ok = eligible & ~np.isnan(score)
    ranked = np.where(ok, score, np.inf)
    k = max(1, min(int(top_k), score.shape[1]))
    order = np.argsort(ranked, axis=1, kind="stable")[:, :k]
    best = np.take_along_axis(ranked, order, axis=1)
    lowest = best[:, :1]
    perfect = lowest == 0
    scale = np.where(perfect | ~np.isfinite(lowest), 1.0, lowest)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        rel = best / scale
        inv = np.where(np.isfinite(best), 1.0 / (rel * rel), 0.0)
    inv = np.where(perfect, (best == 0).astype(np.float64), inv)
    out = np.zeros(score.shape)
    np.put_along_axis(out, order, inv, axis=1)
    total = out.sum(axis=1, keepdims=True)
    none = total[:, 0] == 0
    np.divide(out, total, out=out, where=total > 0)
    fall = out[:, fallback]
    fall[none] = 1.0
    return out


def combine_windows(
    forecasts: Sequence[Array | None],
    bucket_weights: Array,
    anchors: Sequence[float] | Array,
    first_lead: int = 1,
) -> Array:
    """Backtest forecasts combined window by window: ``forecasts[c]`` is candidate ``c``'s
    ``(n, W, H)`` backtest (``None`` when it has no weight) for leads ``first_lead`` on,
    ``bucket_weights (W, K, C, n)`` the weights for each window; the result is ``(n, W, H)``,
    as :func:`combine` of each. Each bucket's combination is computed only over the lead
    times it takes part in."""
    some = next(f for f in forecasts if f is not None)
    n, n_win, h = some.shape
    k0, frac = lead_blend(anchors, h, first_lead)
    spans: dict[int, tuple[int, int]] = {}  # bucket -> the columns it takes part in
    for k in (int(k) for k in np.unique(k0)):
        cols = np.flatnonzero(k0 == k)
        spans[k] = _widen(spans.get(k), cols)
        mix = cols[frac[cols] > 0]
        if mix.size:
            spans[k + 1] = _widen(spans.get(k + 1), mix)
    num = {k: np.zeros((n, n_win, b - a)) for k, (a, b) in spans.items()}
    den = {k: np.zeros((n, n_win, b - a)) for k, (a, b) in spans.items()}
    flat = {k: np.zeros((n, n_win, 1)) for k in spans}  # weights of forecasts without gaps
    for c, f in enumerate(forecasts):
        weighted = [k for k in spans if bucket_weights[:, k, c].any()]
        if f is None or not weighted:
            continue
        ok = ~np.isnan(f)
        whole = bool(ok.all())
        f0 = f if whole else np.where(ok, f, 0.0)
        for k in weighted:
            a, b = spans[k]
            w = bucket_weights[:, k, c].T[:, :, None]  # (n, W, 1)
            num[k] += f0[:, :, a:b] * w
            if whole:
                flat[k] += w
            else:
                den[k] += ok[:, :, a:b] * w
    parts: dict[int, Array] = {}
    for k in spans:
        den[k] += flat[k]
        part = np.full(num[k].shape, np.nan)
        np.divide(num[k], den[k], out=part, where=den[k] > 0)
        parts[k] = part
    out = np.empty((n, n_win, h))
    for k in (int(k) for k in np.unique(k0)):
        cols = np.flatnonzero(k0 == k)
        out[:, :, cols] = parts[k][:, :, cols - spans[k][0]]
        mix = cols[frac[cols] > 0]
        if mix.size:
            base = out[:, :, mix]
            nxt = parts[k + 1][:, :, mix - spans[k + 1][0]]
            share = frac[mix]
            out[:, :, mix] = np.where(np.isnan(nxt), base, (1 - share) * base + share * nxt)
    return out


def _widen(span: tuple[int, int] | None, cols: IndexArray) -> tuple[int, int]:
    lo, hi = int(cols.min()), int(cols.max()) + 1
    return (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))


def lead_blend(
    anchors: Sequence[float] | Array, h: int, first: int = 1
) -> tuple[IndexArray, Array]:
    """For leads ``first..first+h-1``: the index of the anchor at or before each lead and
    the share of the next anchor's weights (linear in log lead)."""
    a = np.log(np.asarray(anchors, dtype=np.float64))
    lead = np.log(np.arange(first, first + h, dtype=np.float64))
    k0 = np.clip(np.searchsorted(a, lead, side="right") - 1, 0, a.size - 1)
    frac = np.zeros(h)
    inner = (lead > a[0]) & (k0 < a.size - 1)
    if inner.any():
        lo, hi = a[k0[inner]], a[k0[inner] + 1]
        frac[inner] = (lead[inner] - lo) / (hi - lo)
    return k0.astype(np.intp), frac


def combine(
    forecasts: Sequence[Array | None], bucket_weights: Array, anchors: Sequence[float] | Array
) -> Array:
    """The combined ``(n, h)`` forecast: ``forecasts[c]`` is candidate ``c``'s ``(n, h)``
    forecast (``None`` when no bucket gives it weight), ``bucket_weights (K, C, n)``."""
    one = [None if f is None else f[:, None, :] for f in forecasts]
    out: Array = combine_windows(one, bucket_weights[None], anchors)[:, 0]
    return out
