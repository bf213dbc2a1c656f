"""Data for ``bench_forecast.py``: the evaluation files, statsforecast's long frame of a
panel, the synthetic panels and the plain NumPy baselines of the trend section.

Import it after ``one_core`` (it imports NumPy): ``bench_forecast.py`` does.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from capplan.data import read_file, to_panel

Array = npt.NDArray[np.float64]

DAY = 86_400
HOUR = 3_600
WEEK_H = 168


def spread(n: int, k: int) -> npt.NDArray[np.intp]:
    """``k`` evenly spaced indices out of ``n`` (all of them when ``k >= n``)."""
    if k >= n:
        return np.arange(n, dtype=np.intp)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.intp))


def right_align(rows: Sequence[Array]) -> Array:
    """One panel of the rows, each ending in the last column, NaN before it starts."""
    t = max(len(r) for r in rows)
    y = np.full((len(rows), t), np.nan)
    for i, r in enumerate(rows):
        y[i, t - len(r) :] = r
    return y


# --- files --------------------------------------------------------------------------------------


def read_m4(path: Path) -> tuple[list[str], list[Array]]:
    """Wide M4 file: a header row, then id and values padded with empty cells."""
    ids: list[str] = []
    rows: list[Array] = []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for rec in reader:
            ids.append(rec[0])
            rows.append(np.array([float(v) for v in rec[1:] if v.strip() != ""]))
    return ids, rows


def load_nab(data: Path) -> tuple[list[str], Array]:
    """Every NAB CSV as hourly means (capplan.data), right-aligned into one panel."""
    found = list(regular_series(data / "nab", HOUR))
    return [f.name for f in found], right_align([f.values for f in found])


@dataclass
class DailyData:
    """The daily files as one right-aligned panel (NaN in gaps), with each series' span."""

    names: list[str]
    y: Array
    first: list[str]  # first and last day, ISO dates
    last: list[str]
    gaps: list[int]  # empty days between each series' first and last


def load_daily(data: Path) -> DailyData:
    """Every ``daily/*.csv`` (``ds,y``, any row order) read with ``capplan.data.read_file`` and
    regularized to days with ``to_panel(frame, 86400, "mean")``."""
    found = list(regular_series(data / "daily", DAY, prefix="example_"))
    first = [str(np.datetime64(f.end, "D") - (f.values.size - 1)) for f in found]
    last = [str(np.datetime64(f.end, "D")) for f in found]
    return DailyData(
        [f.name for f in found],
        right_align([f.values for f in found]),
        first,
        last,
        [f.gaps for f in found],
    )


@dataclass
class Regular:
    """One series of a data folder on a regular step, from its first observation."""

    name: str
    values: Array
    end: np.datetime64
    gaps: int


def regular_series(folder: Path, step: int, prefix: str = "") -> Iterator[Regular]:
    """Every series of every CSV file in ``folder`` (``capplan.data.read_file``), made regular
    with ``to_panel(frame, step, "mean")``; named after its file (without ``prefix``)."""
    for path in sorted(folder.glob("*.csv")):
        panel = to_panel(read_file(path), step, "mean")
        stem = path.stem.removeprefix(prefix)
        for i, sid in enumerate(panel.ids):
            v = panel.values[i]
            ok = np.flatnonzero(~np.isnan(v))
            name = stem if panel.n_series == 1 else f"{stem}:{sid}"
            yield Regular(name, v[ok[0] :], panel.end[i], int(panel.gaps[i]))


# --- statsforecast's input ---------------------------------------------------------------------


def _ffill_row(row: Array) -> Array:
    idx = np.where(~np.isnan(row), np.arange(row.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return row[idx]


def sf_frame(y: Array) -> Any:
    """A long pandas DataFrame (unique_id = row, ds = column number, y) of a right-aligned
    panel: left padding dropped, gaps forward-filled (statsforecast does not accept NaN)."""
    import pandas as pd  # only with statsforecast installed

    ids, ds, vals = [], [], []
    cols = np.arange(1, y.shape[1] + 1, dtype=np.int64)
    for i, row in enumerate(y):
        ok = np.flatnonzero(~np.isnan(row))
        if ok.size == 0:
            continue
        part = _ffill_row(row[ok[0] :])
        ids.append(np.full(part.size, i, dtype=np.int64))
        ds.append(cols[ok[0] :])
        vals.append(part)
    return pd.DataFrame(
        {"unique_id": np.concatenate(ids), "ds": np.concatenate(ds), "y": np.concatenate(vals)}
    )


# --- synthetic series for the scale section -----------------------------------------------------


def scale_params(n: int, seed: int) -> dict[str, Array]:
    rng = np.random.default_rng(seed)
    return {
        "level": rng.uniform(20.0, 500.0, n),
        "growth": rng.uniform(-0.2, 0.6, n),  # relative change over the history
        "daily": rng.uniform(0.05, 0.5, n),
        "daily_phase": rng.uniform(0.0, 2 * np.pi, n),
        "weekly": rng.uniform(0.0, 0.25, n),
        "weekly_phase": rng.uniform(0.0, 2 * np.pi, n),
        "weekend": rng.uniform(0.0, 0.2, n),
        "noise": rng.uniform(0.02, 0.15, n),
    }


def scale_series(params: dict[str, Array], start: int, stop: int, history: int, seed: int) -> Array:
    """Hourly series at steps ``start..stop-1``: level with a linear trend (``growth`` over
    ``history`` steps), daily and weekly cycles, a weekend dip and Gaussian noise (all
    relative to the level), clipped at 0."""
    n = params["level"].size
    out = np.empty((n, stop - start))
    rng = np.random.default_rng(seed)
    t = np.arange(start, stop, dtype=np.float64)[None, :]
    weekend = ((t // 24) % 7 >= 5).astype(np.float64)
    chunk = 1_000  # small blocks: the generator's temporaries stay far below the input
    for lo in range(0, n, chunk):
        p = {k: v[lo : lo + chunk, None] for k, v in params.items()}
        shape = (p["level"].shape[0], stop - start)
        rel = (
            1.0
            + p["growth"] * t / history
            + p["daily"] * np.sin(2 * np.pi * t / 24 + p["daily_phase"])
            + p["weekly"] * np.sin(2 * np.pi * t / WEEK_H + p["weekly_phase"])
            - p["weekend"] * weekend
            + p["noise"] * rng.standard_normal(shape)
        )
        out[lo : lo + chunk] = np.maximum(p["level"] * rel, 0.0)
    return out


# --- synthetic series for the trend section -----------------------------------------------------


@dataclass
class TrendData:
    """History and generated future of the trend section's hourly series."""

    history: Array  # (n, T)
    future: Array  # (n, H), the steps right after the history
    multiplicative: npt.NDArray[np.bool_]  # cycles and noise scale with the level
    growth: Array  # relative change of the level over the history


def trend_panel(n: int, history: int, horizon: int, seed: int) -> TrendData:
    """``n`` hourly series of ``history + horizon`` steps: a steady linear trend, a daily cycle
    (two harmonics), a weekly cycle and a weekend dip, and Gaussian noise.

    Half of the series (every other one) are multiplicative: their cycles and noise are
    proportional to the trended level, so the swings grow with it; the others add cycles and
    noise of a fixed size (proportional to the starting level). Levels are clipped at 0."""
    rng = np.random.default_rng(seed)
    col = (n, 1)
    base = rng.uniform(50.0, 1_000.0, col)
    growth = rng.uniform(-0.25, 0.8, col)  # relative change over the history
    daily = rng.uniform(0.1, 0.5, col)
    daily2 = rng.uniform(0.0, 0.15, col)
    phase, phase2 = rng.uniform(0.0, 2 * np.pi, col), rng.uniform(0.0, 2 * np.pi, col)
    weekly = rng.uniform(0.0, 0.2, col)
    weekly_phase = rng.uniform(0.0, 2 * np.pi, col)
    weekend = rng.uniform(0.0, 0.25, col)
    noise = rng.uniform(0.02, 0.12, col)
    mult = (np.arange(n) % 2 == 1)[:, None]

    t = np.arange(history + horizon, dtype=np.float64)[None, :]
    level = base * (1.0 + growth * t / history)
    cycle = (
        daily * np.sin(2 * np.pi * t / 24 + phase)
        + daily2 * np.sin(4 * np.pi * t / 24 + phase2)
        + weekly * np.sin(2 * np.pi * t / WEEK_H + weekly_phase)
        - weekend * ((t // 24) % 7 >= 5)
    )
    eps = noise * rng.standard_normal((n, t.size))
    y = np.where(mult, level * (1.0 + cycle + eps), level + base * (cycle + eps))
    y = np.maximum(y, 0.0)
    return TrendData(y[:, :history], y[:, history:], mult[:, 0], growth[:, 0])


def line_and_week(y: Array, h: int, period: int = WEEK_H) -> Array:
    """Baseline: a least-squares line over all of ``y`` (per series, no gaps) plus the mean
    profile of the detrended history over ``period`` steps, continued ``h`` steps."""
    t_len = y.shape[1]
    t = np.arange(t_len, dtype=np.float64)
    tc = t - t.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ tc / (tc @ tc)
    icpt = y.mean(axis=1) - slope * t.mean()
    resid = y - (icpt[:, None] + slope[:, None] * t[None, :])
    phase = np.arange(t_len) % period
    counts = np.bincount(phase, minlength=period)
    profile = np.stack([np.bincount(phase, weights=r, minlength=period) for r in resid])
    profile /= np.maximum(counts, 1)[None, :]
    ahead = np.arange(t_len, t_len + h)
    return icpt[:, None] + slope[:, None] * ahead[None, :] + profile[:, ahead % period]


def repeat_last_week(y: Array, h: int, period: int = WEEK_H) -> Array:
    """Baseline: the last ``period`` steps of ``y`` repeated ``h`` steps ahead."""
    last = y[:, -period:]
    return last[:, np.arange(h) % period]
