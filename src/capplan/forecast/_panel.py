"""NaN-aware helpers on right-aligned panels (shape ``(n_series, T)``, column -1 = last point).

Left padding and gaps are NaN. Every helper is vectorized over series; none warns on empty
slices or constant series.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan._types import Array, BoolArray, IndexArray
from capplan.errors import ForecastError

__all__ = [
    "as_panel",
    "describe_indices",
    "ffill",
    "first_valid",
    "format_issues",
    "last_valid",
    "merge_issues",
    "nanmean",
    "rolling_origins",
    "seasonal_fill",
    "seasonal_profile",
]


def as_panel(y: npt.ArrayLike, name: str = "y") -> Array:
    """``y`` as a float64 ``(n_series, T)`` array (a 1-D array is one series)."""
    try:
        a = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ForecastError(f"{name} must be numeric, got {exc}") from None
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ForecastError(f"{name} must be a 2-D array (n_series, T), got {a.ndim}-D")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ForecastError(f"{name} must have at least one series and one step, got {a.shape}")
    if np.isinf(a).any():
        bad = np.flatnonzero(np.isinf(a).any(axis=1))
        raise ForecastError(
            f"{name} must be finite or NaN, got infinite values in series {describe_indices(bad)}"
        )
    return a


def describe_indices(idx: npt.ArrayLike, limit: int = 20) -> str:
    """``[0, 3, 7]``, or the first ``limit`` indices and how many more."""
    ids = [int(i) for i in np.asarray(idx).ravel()]
    if len(ids) <= limit:
        return "[" + ", ".join(map(str, ids)) + "]"
    return "[" + ", ".join(map(str, ids[:limit])) + f", ... and {len(ids) - limit} more]"


def format_issues(issues: list[tuple[str, IndexArray]]) -> list[str]:
    """Warning lines from ``(text with {series}, indices)`` records."""
    return [text.format(series=describe_indices(rows)) for text, rows in issues]


def merge_issues(
    parts: list[tuple[int, list[tuple[str, IndexArray]]]],
) -> list[tuple[str, IndexArray]]:
    """Combine the records of blocks of series (each with its row offset), by text."""
    merged: dict[str, list[IndexArray]] = {}
    for offset, issues in parts:
        for text, rows in issues:
            merged.setdefault(text, []).append(rows + offset)
    return [(text, np.concatenate(rows)) for text, rows in merged.items()]


def first_valid(y: Array) -> IndexArray:
    """Index of each series' first observation (``T`` when it has none)."""
    ok = ~np.isnan(y)
    out: IndexArray = np.where(ok.any(axis=1), ok.argmax(axis=1), y.shape[1]).astype(np.intp)
    return out


def _ffill_index(ok: BoolArray, axis: int) -> IndexArray:
    shape = [1] * ok.ndim
    shape[axis] = ok.shape[axis]
    pos = np.arange(ok.shape[axis], dtype=np.intp).reshape(shape)
    idx = np.where(ok, pos, -1)
    np.maximum.accumulate(idx, axis=axis, out=idx)
    return idx


def ffill(y: Array, axis: int = -1) -> Array:
    """Forward-fill NaN along ``axis``; values before the first observation stay NaN."""
    axis = axis % y.ndim
    idx = _ffill_index(~np.isnan(y), axis)
    out = np.take_along_axis(y, np.maximum(idx, 0), axis=axis)
    out[idx < 0] = np.nan
    return out


def last_valid(y: Array) -> Array:
    """Each series' last observed value (NaN for an all-NaN series)."""
    out = y[:, -1].copy()
    gap = np.isnan(out)
    if gap.any():
        out[gap] = ffill(y[gap])[:, -1]
    return out


def nanmean(a: Array, axis: int | tuple[int, ...]) -> Array:
    """Mean ignoring NaN; NaN (without a warning) where nothing is observed."""
    ok = ~np.isnan(a)
    if ok.all():
        return np.asarray(a.mean(axis=axis), dtype=np.float64)
    s = np.where(ok, a, 0.0).sum(axis=axis)
    c = ok.sum(axis=axis)
    out = np.full(np.shape(s), np.nan)
    np.divide(s, c, out=out, where=c > 0)
    return out


def _blocks(y: Array, m: int, k: int) -> Array:
    """The last ``k`` seasons of length ``m`` as ``(n, k, m)``, NaN-padded on the left."""
    n, t = y.shape
    need = k * m
    if t >= need:
        tail = y[:, t - need :]
    else:
        tail = np.concatenate([np.full((n, need - t), np.nan), y], axis=1)
    return tail.reshape(n, k, m)


def seasonal_fill(y: Array, m: int) -> Array:
    """Fill gaps with the value one season earlier, then forward-fill; left padding stays NaN."""
    n, t = y.shape
    start = first_valid(y)
    if int(np.isnan(y).sum()) == int(start.sum()):  # no gaps, only left padding
        return y
    k = -(-t // m)
    pad = k * m - t
    blocks = np.concatenate([np.full((n, pad), np.nan), y], axis=1).reshape(n, k, m)
    filled = ffill(blocks, axis=1).reshape(n, k * m)[:, pad:]
    before = np.arange(t)[None, :] < start[:, None]
    filled[before] = np.nan
    return ffill(filled)


def seasonal_profile(y: Array, m: int, k: int = 1) -> Array:
    """Mean of the last ``k`` seasons at each phase, ``(n, m)``; column ``p`` is the phase of
    ``y[:, T - m + p]``. A phase never seen in those seasons takes its last observed value."""
    prof = nanmean(_blocks(y, m, k), axis=1)
    missing = np.isnan(prof)
    if missing.any():
        n_seasons = -(-y.shape[1] // m)
        back = ffill(_blocks(y, m, n_seasons), axis=1)[:, -1, :]
        prof = np.where(missing, back, prof)
        still = np.isnan(prof)
        if still.any():
            prof = np.where(still, last_valid(y)[:, None], prof)
    return prof


def rolling_origins(
    n_steps: int, h: int, windows: int, step: int | None = None, min_train: int = 1
) -> list[int]:
    """Train lengths of the rolling-origin windows, oldest first; the last test window ends at
    the last column. ``step`` (default ``h``) is shrunk, down to 1, so that every window keeps
    at least ``min_train`` points of history; windows that still do not fit are dropped (and
    if none fits, the ones with at least two points of history are kept)."""
    if h < 1 or windows < 1:
        raise ForecastError(f"h and windows must be >= 1, got h={h}, windows={windows}")
    if step is None:
        step = h
        room = n_steps - h - min_train
        if windows > 1 and room < step * (windows - 1):
            step = max(1, room // (windows - 1))
    if step < 1:
        raise ForecastError(f"step must be >= 1, got {step}")
    cands = [n_steps - h - step * k for k in range(windows)]
    out = sorted(o for o in cands if o >= max(2, min_train))
    if not out:
        out = sorted(o for o in cands if o >= 2)
    return out
