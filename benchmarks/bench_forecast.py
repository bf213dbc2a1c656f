"""Benchmark: forecast accuracy and speed on M4 Hourly, NAB and 100,000 synthetic series.

Requirement checked (each target is a line of the verdict table, PASS or FAIL):

* M4 Hourly, official protocol (h = 48, MASE season m = 24): ``auto`` MASE at most 1.00, and
  80% / 95% interval coverage within 3 points of nominal;
* NAB (hourly means, the last 3 windows of 24 h): ``auto`` median MASE no worse than the best
  single model on that data, and its coverage no further from nominal than that model's;
* speed: ``auto`` at least 1,000 series per second on one core on M4 Hourly;
* scale: 100,000 synthetic hourly series of 4 weeks forecast 7 days ahead in under 60 s with
  under 8 GB peak memory.

With statsforecast installed (the optional ``bench`` extra) its SeasonalNaive, MSTL and
AutoETS run on the same data in the same process, side by side with capplan's models, and
the ratio of ``auto``'s series per second to each of them is printed (machines are noisy, a
ratio measured in one run is not).

Run with ``.venv/bin/python benchmarks/bench_forecast.py`` (``--quick`` for a smoke run on
subsets, ``--strict`` to exit non-zero when a target is missed, ``--help`` for the rest).
The data is read from ``../shared/data`` relative to the project root (``--data`` overrides).
"""

from __future__ import annotations

# Before anything imports NumPy: one thread per pool, one pinned CPU (see one_core.py).
from one_core import PINNING, THREAD_VARS

# isort: split

import argparse
import csv
import gc
import importlib.metadata
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

import capplan
from capplan.data import read_file, to_panel
from capplan.forecast import MODELS, coverage, forecast, mase, smape

Array = npt.NDArray[np.float64]
Bands = dict[int, tuple[Array, Array]]  # level -> (lower, upper)
T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
LEVELS = (80, 95)
STEP = 3600
M4_H, M4_M = 48, 24
NAB_H, NAB_WINDOWS, NAB_M = 24, 3, 24
SCALE_SERIES, SCALE_T, SCALE_H = 100_000, 672, 168
SEED = 20240601

# targets (from the product issue)
M4_MASE_MAX = 1.00
COVERAGE_TOL = 3.0  # percentage points around nominal
M4_RATE_MIN = 1_000.0  # series per second, auto, one core
SCALE_SECONDS_MAX = 60.0
SCALE_MEMORY_MAX_GB = 8.0
# reference figures quoted by the issue and ../shared/data/README.md (not measured here)
M4_REFERENCE = "seasonal naive 1.193, statsforecast MSTL 1.102, AutoARIMA 1.03"

BUSY_RATIO = 1.15  # wall / CPU time above this: say that the machine was busy
REPEAT_BELOW = 2.0  # seconds: runs faster than this are repeated and the median is kept


# --- results and tables -------------------------------------------------------------------------


@dataclass
class Result:
    """One model on one data set: per-series metrics and the time of all its forecasts."""

    model: str
    source: str  # "capplan" or "statsforecast"
    series: int
    fits: int  # series forecast in total (series x windows)
    mase: Array
    smape: Array
    cov: dict[int, Array] | None  # None: the model produced no intervals
    wall: float
    cpu: float
    runs: int = 1
    error: str = ""

    @property
    def label(self) -> str:
        return f"{self.model} [sf]" if self.source == "statsforecast" else self.model

    @property
    def mase_mean(self) -> float:
        return _nan_stat(self.mase, np.mean)

    @property
    def mase_median(self) -> float:
        return _nan_stat(self.mase, np.median)

    @property
    def smape_mean(self) -> float:
        return _nan_stat(self.smape, np.mean)

    def cov_mean(self, level: int) -> float | None:
        """Mean coverage over series in percent, None without intervals."""
        if self.cov is None:
            return None
        return 100.0 * _nan_stat(self.cov[level], np.mean)

    @property
    def rate(self) -> float:
        return self.fits / self.wall if self.wall > 0 else float("nan")


def _nan_stat(values: Array, fn: Callable[[Array], Any]) -> float:
    ok = values[~np.isnan(values)]
    return float(fn(ok)) if ok.size else float("nan")


def _failed(model: str, source: str, series: int, fits: int, error: str) -> Result:
    empty = np.full(series, np.nan)
    return Result(model, source, series, fits, empty, empty, None, 0.0, 0.0, 0, error)


@dataclass
class Verdict:
    target: str
    measured: str
    required: str
    ok: bool | None  # None: not measured in this run
    note: str = ""

    @property
    def result(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "FAIL")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    return f"{value:,.{digits}f}"


def _fmt_rate(rate: float) -> str:
    if math.isnan(rate):
        return "-"
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:,.2f}"


def _print_table(heads: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    print(line(heads))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def print_results(title: str, results: Sequence[Result]) -> None:
    print(f"### {title}")
    heads = (
        "model",
        "series",
        "MASE",
        "MASE med",
        "sMAPE",
        "cov80",
        "cov95",
        "series/s",
        "wall s",
        "cpu s",
    )
    rows = []
    for r in results:
        if r.error:
            rows.append([r.label, f"{r.series}", "failed", "", "", "", "", "", "", r.error[:40]])
            continue
        rows.append(
            [
                r.label,
                f"{r.series:,}",
                _fmt(r.mase_mean),
                _fmt(r.mase_median),
                _fmt(r.smape_mean, 2),
                _fmt(r.cov_mean(80), 1),
                _fmt(r.cov_mean(95), 1),
                _fmt_rate(r.rate),
                _fmt(r.wall, 3),
                _fmt(r.cpu, 3),
            ]
        )
    _print_table(heads, rows, right=set(range(1, len(heads))))
    print()


# --- timing and scoring -------------------------------------------------------------------------


def _timed(fn: Callable[[], T], repeats: int) -> tuple[T, float, float, int]:
    """Run ``fn``; when it took less than ``REPEAT_BELOW`` seconds, run it ``repeats - 1``
    more times. Returns the first result, the median wall and CPU seconds and the run count."""
    gc.collect()
    walls, cpus = [], []
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    cpus.append(time.process_time() - cpu)
    walls.append(time.perf_counter() - wall)
    if walls[0] < REPEAT_BELOW:
        for _ in range(repeats - 1):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
    return out, statistics.median(walls), statistics.median(cpus), len(walls)


def score(
    test: Array,
    mean: Array,
    train: Array,
    m: int,
    bands: Bands | None,
) -> tuple[Array, Array, dict[int, Array] | None]:
    """Per-series MASE (season ``m``, scaled on ``train``), sMAPE and coverage per level."""
    cov = None
    if bands is not None:
        cov = {lv: coverage(test, lo, hi) for lv, (lo, hi) in bands.items()}
    return mase(test, mean, train, m), smape(test, mean), cov


def _spread(n: int, k: int) -> npt.NDArray[np.intp]:
    """``k`` evenly spaced indices out of ``n`` (all of them when ``k >= n``)."""
    if k >= n:
        return np.arange(n, dtype=np.intp)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.intp))


def run_capplan(name: str, y: Array, h: int, repeats: int) -> tuple[Any, float, float, int]:
    """``capplan.forecast.forecast(y, h, model=name)`` with 80/95 intervals, timed."""

    def call() -> Any:
        return forecast(y, h, model=name, levels=LEVELS, step_seconds=STEP)

    return _timed(call, repeats)


# --- statsforecast (optional) -------------------------------------------------------------------


def statsforecast_version() -> str | None:
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        return None
    try:
        return importlib.metadata.version("statsforecast")
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def sf_models() -> list[tuple[str, Callable[[], Any]]]:
    """The statsforecast models compared, as (label, factory)."""
    from statsforecast.models import MSTL, AutoETS, SeasonalNaive

    return [
        ("SeasonalNaive(24)", lambda: SeasonalNaive(season_length=24)),
        ("MSTL(24, 168)", lambda: MSTL(season_length=[24, 168])),
        ("AutoETS(24)", lambda: AutoETS(season_length=24)),
    ]


def _ffill_row(row: Array) -> Array:
    idx = np.where(~np.isnan(row), np.arange(row.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return row[idx]


def sf_frame(y: Array) -> Any:
    """A long pandas DataFrame (unique_id = row, ds = column number, y) of a right-aligned
    panel: left padding dropped, gaps forward-filled (statsforecast does not accept NaN)."""
    import pandas as pd

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


def run_sf(
    factory: Callable[[], Any], df: Any, n: int, n_steps: int, h: int, repeats: int
) -> tuple[Array, Bands | None, float, float, int]:
    """Fit, predict and intervals (level 80/95) with one statsforecast model on one core.
    Falls back to point forecasts when the model cannot give intervals."""
    from statsforecast import StatsForecast

    def call(level: list[int] | None) -> Any:
        sf = StatsForecast(models=[factory()], freq=1, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sf.forecast(df=df, h=h, level=level)

    try:
        out, wall, cpu, runs = _timed(lambda: call(list(LEVELS)), repeats)
        with_levels = True
    except Exception:  # no intervals for this model: point forecasts only
        out, wall, cpu, runs = _timed(lambda: call(None), repeats)
        with_levels = False
    if "unique_id" not in out.columns:  # statsforecast < 2 returns it as the index
        out = out.reset_index()
    name = next(c for c in out.columns if c not in ("unique_id", "ds") and "-lo-" not in c)
    name = name if "-hi-" not in name else name.split("-hi-")[0]
    rows = out["unique_id"].to_numpy().astype(np.intp)
    cols = out["ds"].to_numpy().astype(np.intp) - n_steps - 1

    def grid(column: str) -> Array:
        a = np.full((n, h), np.nan)
        a[rows, cols] = out[column].to_numpy(dtype=np.float64)
        return a

    bands = None
    if with_levels and all(f"{name}-lo-{lv}" in out.columns for lv in LEVELS):
        bands = {lv: (grid(f"{name}-lo-{lv}"), grid(f"{name}-hi-{lv}")) for lv in LEVELS}
    return grid(name), bands, wall, cpu, runs


# --- M4 Hourly ----------------------------------------------------------------------------------


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


def right_align(rows: Sequence[Array]) -> Array:
    t = max(len(r) for r in rows)
    y = np.full((len(rows), t), np.nan)
    for i, r in enumerate(rows):
        y[i, t - len(r) :] = r
    return y


@dataclass
class M4Report:
    full: list[Result]
    subset: list[Result]
    n_full: int
    subset_ids: list[str]


def run_m4_models(
    y: Array,
    test: Array,
    capplan_models: Sequence[str],
    sf: Sequence[tuple[str, Callable[[], Any]]],
    repeats: int,
) -> list[Result]:
    n = y.shape[0]
    results: list[Result] = []
    for name in capplan_models:
        fc, wall, cpu, runs = run_capplan(name, y, M4_H, repeats)
        bands = {lv: (fc.lower[lv], fc.upper[lv]) for lv in LEVELS}
        ms, sm, cov = score(test, fc.mean, y, M4_M, bands)
        results.append(Result(name, "capplan", n, n, ms, sm, cov, wall, cpu, runs))
    if sf:
        df = sf_frame(y)
        for label, factory in sf:
            try:
                mean, bands_sf, wall, cpu, runs = run_sf(factory, df, n, y.shape[1], M4_H, repeats)
            except Exception as exc:
                results.append(_failed(label, "statsforecast", n, n, f"{type(exc).__name__}"))
                continue
            ms, sm, cov = score(test, mean, y, M4_M, bands_sf)
            results.append(Result(label, "statsforecast", n, n, ms, sm, cov, wall, cpu, runs))
    return results


def bench_m4(data: Path, args: argparse.Namespace, with_sf: bool) -> M4Report:
    ids, train_rows = read_m4(data / "m4" / "Hourly-train.csv")
    test_ids, test_rows = read_m4(data / "m4" / "Hourly-test.csv")
    if ids != test_ids:
        raise SystemExit("M4 train and test files list different series")
    keep = _spread(len(ids), args.m4_series) if args.m4_series else np.arange(len(ids))
    ids = [ids[i] for i in keep]
    y = right_align([train_rows[i] for i in keep])
    test = np.stack([test_rows[i] for i in keep])
    names = ["auto", *(n for n in MODELS.names() if n != "auto")]
    sf_all = sf_models() if with_sf else []
    fast = [m for m in sf_all if m[0].startswith("SeasonalNaive")]
    slow = [m for m in sf_all if not m[0].startswith("SeasonalNaive")]
    full_sf = sf_all if args.full_statsforecast else fast
    print(f"  M4: {len(ids)} series, h = {M4_H}, m = {M4_M} ...", flush=True)
    full = run_m4_models(y, test, names, full_sf, args.repeats)
    subset: list[Result] = []
    sub_ids: list[str] = []
    if slow and not args.full_statsforecast:
        sub = _spread(len(ids), args.sf_series)
        sub_ids = [ids[i] for i in sub]
        print(
            f"  M4 subset: {len(sub)} series for statsforecast's slow models ...",
            flush=True,
        )
        subset = run_m4_models(y[sub], test[sub], ["auto"], [*fast, *slow], args.repeats)
    return M4Report(full, subset, len(ids), sub_ids)


# --- NAB ----------------------------------------------------------------------------------------


@dataclass
class NabReport:
    results: list[Result]
    files: list[str]
    lengths: list[int]


def load_nab(data: Path) -> tuple[list[str], Array]:
    """Every NAB CSV as hourly means (capplan.data), right-aligned into one panel."""
    names: list[str] = []
    rows: list[Array] = []
    for path in sorted((data / "nab").glob("*.csv")):
        panel = to_panel(read_file(path), STEP, "mean")
        for i, sid in enumerate(panel.ids):
            v = panel.values[i]
            ok = np.flatnonzero(~np.isnan(v))
            names.append(path.stem if panel.n_series == 1 else f"{path.stem}:{sid}")
            rows.append(v[ok[0] :])
    return names, right_align(rows)


def bench_nab(data: Path, args: argparse.Namespace, with_sf: bool) -> NabReport:
    names, y = load_nab(data)
    n, t = y.shape
    origins = [t - NAB_H * k for k in range(NAB_WINDOWS, 0, -1)]
    splits = [(y[:, :o], y[:, o : o + NAB_H]) for o in origins]
    lengths = [int((~np.isnan(r)).sum()) for r in y]
    print(f"  NAB: {n} series, {NAB_WINDOWS} windows of h = {NAB_H}, m = {NAB_M} ...", flush=True)
    fits = n * len(splits)
    results: list[Result] = []

    def collect(
        label: str,
        source: str,
        per_window: Sequence[tuple[Array, Bands | None]],
        wall: float,
        cpu: float,
        runs: int,
    ) -> Result:
        ms, sm = np.empty((len(splits), n)), np.empty((len(splits), n))
        covs: dict[int, Array] | None = {lv: np.empty((len(splits), n)) for lv in LEVELS}
        for w, ((train, test), (mean, bands)) in enumerate(zip(splits, per_window, strict=True)):
            m_w, s_w, c_w = score(test, mean, train, NAB_M, bands)
            ms[w], sm[w] = m_w, s_w
            if covs is not None and c_w is not None:
                for lv in LEVELS:
                    covs[lv][w] = c_w[lv]
            else:
                covs = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows of a series
            cov = None if covs is None else {lv: np.nanmean(c, axis=0) for lv, c in covs.items()}
            return Result(
                label,
                source,
                n,
                fits,
                np.nanmean(ms, axis=0),
                np.nanmean(sm, axis=0),
                cov,
                wall,
                cpu,
                runs,
            )

    names_cp = ["auto", *(m for m in MODELS.names() if m != "auto")]
    for name in names_cp:
        per_window: list[tuple[Array, Bands | None]] = []
        wall = cpu = 0.0
        runs = 0
        for train, _ in splits:
            fc, w_s, c_s, runs = run_capplan(name, train, NAB_H, args.repeats)
            wall, cpu = wall + w_s, cpu + c_s
            per_window.append((fc.mean, {lv: (fc.lower[lv], fc.upper[lv]) for lv in LEVELS}))
        results.append(collect(name, "capplan", per_window, wall, cpu, runs))
    if with_sf:
        frames = [sf_frame(train) for train, _ in splits]
        models = sf_models()
        if args.quick:  # MSTL and AutoETS take ~80 s on NAB
            models = [m for m in models if m[0].startswith("SeasonalNaive")]
        for label, factory in models:
            per_window = []
            wall = cpu = 0.0
            try:
                for (train, _), df in zip(splits, frames, strict=True):
                    mean, bands, w_s, c_s, runs = run_sf(
                        factory, df, n, train.shape[1], NAB_H, args.repeats
                    )
                    wall, cpu = wall + w_s, cpu + c_s
                    per_window.append((mean, bands))
            except Exception as exc:
                results.append(_failed(label, "statsforecast", n, fits, type(exc).__name__))
                continue
            results.append(collect(label, "statsforecast", per_window, wall, cpu, runs))
    return NabReport(results, names, lengths)


# --- scale --------------------------------------------------------------------------------------


def _synthetic_params(n: int, seed: int) -> dict[str, Array]:
    rng = np.random.default_rng(seed)
    return {
        "level": rng.uniform(20.0, 500.0, n),
        "growth": rng.uniform(-0.2, 0.6, n),  # relative change over 4 weeks
        "daily": rng.uniform(0.05, 0.5, n),
        "daily_phase": rng.uniform(0.0, 2 * np.pi, n),
        "weekly": rng.uniform(0.0, 0.25, n),
        "weekly_phase": rng.uniform(0.0, 2 * np.pi, n),
        "weekend": rng.uniform(0.0, 0.2, n),
        "noise": rng.uniform(0.02, 0.15, n),
    }


def synthetic(params: dict[str, Array], start: int, stop: int, seed: int) -> Array:
    """Hourly series at steps ``start..stop-1``: level with a linear trend, daily and weekly
    cycles, a weekend dip and Gaussian noise (all relative to the level), clipped at 0."""
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
            + p["growth"] * t / SCALE_T
            + p["daily"] * np.sin(2 * np.pi * t / 24 + p["daily_phase"])
            + p["weekly"] * np.sin(2 * np.pi * t / 168 + p["weekly_phase"])
            - p["weekend"] * weekend
            + p["noise"] * rng.standard_normal(shape)
        )
        out[lo : lo + chunk] = np.maximum(p["level"] * rel, 0.0)
    return out


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs``); False if
    that is not possible here."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _vm_hwm_bytes() -> int | None:
    """Peak RSS since start or the last reset (Linux ``VmHWM``), None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def scale_worker(n: int, seed: int) -> dict[str, Any]:
    """Runs in a fresh process (so that its peak RSS is this workload's): generate, forecast
    with ``auto``, then the seasonal naive baseline, then score both on the next 7 days."""
    params = _synthetic_params(n, seed)
    y = synthetic(params, 0, SCALE_T, seed + 1)
    gc.collect()
    # VmHWM is this process's own peak; ru_maxrss would also hold the parent's RSS, which
    # Linux carries over through fork + exec (the parent has pandas/statsforecast loaded)
    hwm = _vm_hwm_bytes()
    rss_data = hwm if hwm is not None else _max_rss_bytes()
    reset = hwm is not None and _reset_peak_rss()
    t0, c0 = time.perf_counter(), time.process_time()
    fc = forecast(y, SCALE_H, model="auto", levels=LEVELS, step_seconds=STEP)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_forecast = _vm_hwm_bytes() if reset else None
    if hwm is None:
        rss_auto = _max_rss_bytes()
    else:
        rss_auto = max(rss_data, rss_forecast or 0, _vm_hwm_bytes() or 0)
    ru_maxrss = _max_rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    base = forecast(y, SCALE_H, model="seasonal_naive", levels=LEVELS, step_seconds=STEP)
    base_wall, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    future = synthetic(params, SCALE_T, SCALE_T + SCALE_H, seed + 2)
    rows = {}
    for name, f, w, c in (
        ("auto", fc, wall, cpu),
        ("seasonal_naive", base, base_wall, base_cpu),
    ):
        bands = {lv: (f.lower[lv], f.upper[lv]) for lv in LEVELS}
        ms, sm, cov = score(future, f.mean, y, 24, bands)
        assert cov is not None
        rows[name] = {
            "mase": ms.tolist(),
            "smape": sm.tolist(),
            "cov80": cov[80].tolist(),
            "cov95": cov[95].tolist(),
            "wall": w,
            "cpu": c,
        }
    return {
        "n": n,
        "rows": rows,
        "rss_data": rss_data,
        "rss_peak": rss_auto,
        "rss_forecast": rss_forecast,
        "ru_maxrss": ru_maxrss,
        "method": "VmHWM" if hwm is not None else "ru_maxrss",
        "input_bytes": int(y.nbytes),
    }


@dataclass
class ScaleReport:
    n: int
    results: list[Result]
    rss_data: int
    rss_peak: int
    input_bytes: int
    rss_forecast: int | None = None  # peak RSS from just before the auto forecast (Linux)
    ru_maxrss: int = 0
    method: str = ""
    error: str = ""


def bench_scale(args: argparse.Namespace) -> ScaleReport:
    n = args.scale_series
    print(f"  scale: {n:,} synthetic series x {SCALE_T} h, h = {SCALE_H} (fresh process) ...")
    sys.stdout.flush()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scale-worker"]
    cmd += ["--scale-series", str(n), "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["exit status " + str(proc.returncode)])[-1]
        return ScaleReport(n, [], 0, 0, 0, error=err)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    results = []
    for name, r in out["rows"].items():
        cov = {lv: np.array(r[f"cov{lv}"]) for lv in LEVELS}
        ms, sm = np.array(r["mase"]), np.array(r["smape"])
        results.append(Result(name, "capplan", n, n, ms, sm, cov, r["wall"], r["cpu"]))
    return ScaleReport(
        n,
        results,
        out["rss_data"],
        out["rss_peak"],
        out["input_bytes"],
        out["rss_forecast"],
        out["ru_maxrss"],
        out["method"],
    )


# --- verdicts -----------------------------------------------------------------------------------


def _find(results: Sequence[Result], model: str) -> Result | None:
    return next((r for r in results if r.model == model and not r.error), None)


def _busy_note(r: Result) -> str:
    """A note when other processes took a visible share of the core during ``r``'s runs."""
    if r.cpu > 0 and r.wall / r.cpu > BUSY_RATIO:
        return (
            f"machine busy: wall = {r.wall / r.cpu:.2f}x CPU time "
            f"({_fmt_rate(r.fits / r.cpu)} series/s, {r.cpu:.3g} s of CPU)"
        )
    return ""


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _cov_verdicts(where: str, r: Result) -> list[Verdict]:
    out = []
    for lv in LEVELS:
        c = r.cov_mean(lv)
        ok = c is not None and abs(c - lv) <= COVERAGE_TOL
        out.append(
            Verdict(
                f"{where}: auto {lv}% coverage",
                f"{_fmt(c, 1)}%",
                f"{lv - COVERAGE_TOL:g}..{lv + COVERAGE_TOL:g}%",
                ok,
            )
        )
    return out


def verdicts(
    m4: M4Report | None, nab: NabReport | None, scale: ScaleReport | None, quick: bool
) -> list[Verdict]:
    out: list[Verdict] = []
    tag = " (quick subset)" if quick else ""
    if m4 is not None:
        auto = _find(m4.full, "auto")
        if auto is not None:
            out.append(
                Verdict(
                    f"M4{tag}: auto MASE",
                    _fmt(auto.mase_mean),
                    f"<= {M4_MASE_MAX:.2f}",
                    auto.mase_mean <= M4_MASE_MAX,
                    f"ref. {M4_REFERENCE}",
                )
            )
            out += _cov_verdicts(f"M4{tag}", auto)
            out.append(
                Verdict(
                    f"M4{tag}: auto speed, one core",
                    f"{_fmt_rate(auto.rate)} series/s",
                    f">= {M4_RATE_MIN:,.0f} series/s",
                    auto.rate >= M4_RATE_MIN,
                    _join(f"{auto.series} series, median of {auto.runs} runs", _busy_note(auto)),
                )
            )
    if nab is not None:
        auto = _find(nab.results, "auto")
        singles = [r for r in nab.results if r.model != "auto" and not r.error]
        if auto is not None and singles:
            best = min(singles, key=lambda r: (r.mase_median, r.mase_mean))
            out.append(
                Verdict(
                    "NAB: auto median MASE",
                    _fmt(auto.mase_median),
                    f"<= {_fmt(best.mase_median)} ({best.label})",
                    auto.mase_median <= best.mase_median,
                    f"best of {len(singles)} single models by median MASE (ties: mean MASE)",
                )
            )
            for lv in LEVELS:
                a, b = auto.cov_mean(lv), best.cov_mean(lv)
                if a is None or b is None:
                    out.append(Verdict(f"NAB: auto {lv}% coverage", _fmt(a, 1), "-", None))
                    continue
                out.append(
                    Verdict(
                        f"NAB: auto {lv}% coverage",
                        f"{a:.1f}% (off by {abs(a - lv):.1f})",
                        f"off by <= {abs(b - lv):.1f} ({best.label} {b:.1f}%)",
                        abs(a - lv) <= abs(b - lv),
                        "distance from nominal vs the best single model's; alt. reading "
                        f"(within {COVERAGE_TOL:g} points, as M4): "
                        + ("pass" if abs(a - lv) <= COVERAGE_TOL else "fail"),
                    )
                )
    if scale is not None:
        n = scale.n
        factor = SCALE_SERIES / n
        auto = _find(scale.results, "auto")
        if scale.error or auto is None:
            out.append(Verdict("scale: 100,000 series, 7 days", "failed", "", False, scale.error))
        else:
            secs = auto.wall * factor
            measured = f"{auto.wall:.1f} s" if factor == 1 else f"{secs:.1f} s (est. x{factor:g})"
            out.append(
                Verdict(
                    f"scale: {SCALE_SERIES:,} series, 7 days, time",
                    measured,
                    f"< {SCALE_SECONDS_MAX:g} s",
                    secs < SCALE_SECONDS_MAX,
                    _join(
                        "" if factor == 1 else f"measured on {n:,} series, scaled linearly",
                        _busy_note(auto),
                    ),
                )
            )
            gb = scale.rss_peak / 1e9
            out.append(
                Verdict(
                    f"scale: {SCALE_SERIES:,} series, 7 days, peak memory",
                    f"{gb:.2f} GB",
                    f"< {SCALE_MEMORY_MAX_GB:g} GB",
                    gb < SCALE_MEMORY_MAX_GB,
                    f"peak RSS of the worker process ({scale.method})"
                    + ("" if factor == 1 else f"; {n:,} series only"),
                )
            )
    return out


def print_verdicts(rows: Sequence[Verdict]) -> None:
    print("### Targets")
    heads = ("target", "measured", "required", "result", "note")
    cells = [[v.target, v.measured, v.required, v.result, v.note] for v in rows]
    _print_table(heads, cells, right=set())
    print()


def print_ratios(m4: M4Report | None, nab: NabReport | None, scale: ScaleReport | None) -> None:
    """``auto``'s series/s over each baseline's, measured on the same series in this run."""
    rows = []
    sets: list[tuple[str, list[Result]]] = []
    if m4 is not None:
        sets += [(f"M4 ({m4.n_full} series)", m4.full)]
        if m4.subset:
            sets += [(f"M4 subset ({len(m4.subset_ids)} series)", m4.subset)]
    if nab is not None:
        sets += [("NAB (series x windows)", nab.results)]
    for where, results in sets:
        auto = _find(results, "auto")
        if auto is None:
            continue
        for r in results:
            if r.source != "statsforecast" or r.error:
                continue
            rows.append(
                [
                    where,
                    r.label,
                    f"{r.fits:,}",
                    _fmt_rate(r.rate),
                    _fmt_rate(auto.rate),
                    f"{auto.rate / r.rate:,.1f}x",
                ]
            )
    if scale is not None and not scale.error:
        auto = _find(scale.results, "auto")
        base = _find(scale.results, "seasonal_naive")
        if auto is not None and base is not None:
            rows.append(
                [
                    f"scale ({scale.n:,} series)",
                    "seasonal_naive (capplan)",
                    f"{base.fits:,}",
                    _fmt_rate(base.rate),
                    _fmt_rate(auto.rate),
                    f"{auto.rate / base.rate:,.2f}x",
                ]
            )
    if not rows:
        return
    print("### Speed ratios: auto series/s over each baseline's, same series, same process")
    heads = ("data", "baseline", "forecasts", "baseline s/s", "auto s/s", "auto / baseline")
    _print_table(heads, rows, right={2, 3, 4, 5})
    print()


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data directory")
    parser.add_argument("--m4", action="store_true", help="run the M4 Hourly section")
    parser.add_argument("--nab", action="store_true", help="run the NAB section")
    parser.add_argument("--scale", action="store_true", help="run the scale section")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (~1 min): 100 M4 series, 10 for statsforecast's MSTL/AutoETS, none on "
        "NAB (its SeasonalNaive only), 10,000 synthetic series (time scaled to 100,000)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--full-statsforecast",
        action="store_true",
        help="run statsforecast's MSTL and AutoETS on every M4 series (slow: ~2-6 series/s)",
    )
    parser.add_argument(
        "--no-statsforecast", action="store_true", help="skip statsforecast even if installed"
    )
    parser.add_argument(
        "--m4-series",
        type=int,
        default=None,
        help="evenly spaced M4 subset (default all 414; 100 with --quick)",
    )
    parser.add_argument(
        "--sf-series",
        type=int,
        default=None,
        help="M4 series for statsforecast's MSTL/AutoETS (default 60, evenly spaced)",
    )
    parser.add_argument("--scale-series", type=int, default=None, help=f"default {SCALE_SERIES:,}")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help=f"runs under {REPEAT_BELOW:g} s are repeated this many times (median kept)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the synthetic data")
    parser.add_argument("--scale-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.scale_series is None:
        args.scale_series = 10_000 if args.quick else SCALE_SERIES
    if args.scale_worker:
        print(json.dumps(scale_worker(args.scale_series, args.seed)))
        return 0
    if args.m4_series is None and args.quick:
        args.m4_series = 100
    if args.sf_series is None:
        args.sf_series = 10 if args.quick else 60
    chosen = {s for s in ("m4", "nab", "scale") if getattr(args, s)} or {"m4", "nab", "scale"}
    data: Path = args.data
    if chosen & {"m4", "nab"} and not data.is_dir():
        raise SystemExit(f"data directory {data} not found (use --data DIR)")

    sf_version = None if args.no_statsforecast else statsforecast_version()
    with_sf = sf_version is not None
    print("capplan forecast benchmark" + (" (--quick: subsets, figures indicative)" * args.quick))
    print(
        f"  python {platform.python_version()}, numpy {np.__version__}, capplan "
        f"{capplan.__version__}, statsforecast "
        f"{sf_version or 'not used (not installed or --no-statsforecast)'}"
    )
    print(
        f"  {PINNING} (of {os.cpu_count()} CPUs); "
        f"{', '.join(v.split('_NUM')[0].split('_MAX')[0] for v in THREAD_VARS)} threads = 1; "
        f"load average at start {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"  data: {data}; intervals at {LEVELS[0]}% and {LEVELS[1]}%")
    print(
        "  series/s = series forecast (fit + predict + intervals) per wall-clock second; runs "
        f"under {REPEAT_BELOW:g} s are repeated {args.repeats}x and the median is kept; "
        "cpu s shows what other processes took away"
    )
    print()

    m4 = nab = None
    scale = None
    if "m4" in chosen:
        m4 = bench_m4(data, args, with_sf)
    if "nab" in chosen:
        nab = bench_nab(data, args, with_sf)
    if "scale" in chosen:
        scale = bench_scale(args)
    print()

    if m4 is not None:
        sf_note = ""
        if with_sf and not args.full_statsforecast and m4.subset:
            sf_note = "; statsforecast MSTL/AutoETS: see the subset table"
        print_results(
            f"M4 Hourly: {m4.n_full} series, h = {M4_H}, MASE m = {M4_M} (official){sf_note}",
            m4.full,
        )
        if m4.subset:
            shown = ", ".join(m4.subset_ids[:4]) + ", ..., " + m4.subset_ids[-1]
            print_results(
                f"M4 Hourly, fixed subset of {len(m4.subset_ids)} evenly spaced series "
                f"({shown}) for statsforecast's slow models (--full-statsforecast: all)",
                m4.subset,
            )
    if nab is not None:
        print_results(
            f"NAB: {len(nab.files)} series (hourly means, {min(nab.lengths)}-{max(nab.lengths)} "
            f"h), last {NAB_WINDOWS} windows of {NAB_H} h, MASE m = {NAB_M}; MASE and cov are "
            "means over windows then series; series/s counts series x windows",
            nab.results,
        )
    if scale is not None:
        if scale.error:
            print(f"### scale: worker failed: {scale.error}\n")
        else:
            print_results(
                f"scale: {scale.n:,} synthetic hourly series x {SCALE_T} h (trend, daily, weekly,"
                f" noise; seed {args.seed}), h = {SCALE_H}; scored on the next {SCALE_H} h",
                scale.results,
            )
            how = (
                "Linux VmHWM, the process's own peak RSS"
                if scale.method == "VmHWM"
                else "getrusage ru_maxrss"
            )
            print(
                f"  memory of the worker process, which only generates the data and forecasts "
                f"({how}): {scale.rss_data / 1e9:.2f} GB after generating the input "
                f"({scale.input_bytes / 1e9:.2f} GB float64); peak through the auto forecast "
                f"{scale.rss_peak / 1e9:.2f} GB"
                + (
                    f" (peak from just before it, mark reset: {scale.rss_forecast / 1e9:.2f} GB)"
                    if scale.rss_forecast is not None
                    else ""
                )
            )
            print(
                f"  getrusage ru_maxrss of the worker: {scale.ru_maxrss / 1e9:.2f} GB (on Linux "
                "it can include this parent's RSS, carried over through fork + exec)"
            )
            print()
    print_ratios(m4, nab, scale)
    rows = verdicts(m4, nab, scale, args.quick)
    print_verdicts(rows)
    failed = [v.target for v in rows if v.ok is False]
    print(f"FAILED: {'; '.join(failed)}" if failed else "All targets met.")
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
