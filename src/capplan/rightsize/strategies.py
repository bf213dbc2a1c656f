"""Right-sizing strategies: from a container's usage to recommended requests and limits.

``simple`` is KRR's default strategy, with its documented defaults (KRR v1.29,
``robusta_krr/strategies/simple.py``, ``core/runner.py``, ``core/models/config.py`` and the CPU
and memory loaders under ``core/integrations/prometheus/metrics/``):

* CPU request = the largest, over the pods of the container, of each pod's
  ``cpu_percentile`` (95) percentile of its CPU rates over time (KRR:
  ``quantile_over_time`` of ``max by (container, pod, job) (rate(...))``, then the max over
  pods; the quantile is ``round(percentile / 100, 2)``, interpolated linearly like NumPy's
  default); no CPU limit;
* memory request = memory limit = the largest working-set sample of any pod × (1 +
  ``memory_buffer`` / 100) (15%);
* a resource with fewer than ``points_required`` (100) samples, summed over the pods (raw
  counter samples for CPU), gets no recommendation; values are rounded up to a millicore and
  a MiB, then raised to ``cpu_min`` (10 millicores) and ``memory_min`` (100 MiB);
* OOM kills do not change the memory (KRR's ``use_oomkill_data`` is off by default);
* a resource an HPA scales the workload on by utilization gets no recommendation
  (``allow_hpa`` False, KRR's ``--allow-hpa``; :mod:`capplan.rightsize.hpa`).

``forecast`` sizes for where the workload will be at the end of the review period: the
history's distribution is shifted up by how much the forecast level rises: the highest value
of the mean forecast over the period less the mean of the last ``recent`` of history (never
below zero, so it never recommends less than ``simple``). The forecasts are batched: one
call per resource for every container (:func:`capplan.forecast.forecast`). An OOM-killed
container's memory is bumped as VPA does: max(+20%, +100 MB) (``oom_bump``; off in
``simple``, which is KRR's formula exactly).

A strategy is ``(containers, settings) -> [Sizing]``; register one with
``@STRATEGIES.register("name")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from capplan._types import Array
from capplan.errors import UsageError
from capplan.forecast import forecast
from capplan.registry import Registry
from capplan.rightsize.usage import ContainerUsage

__all__ = [
    "MIB",
    "STRATEGIES",
    "Sizing",
    "Strategy",
    "StrategySettings",
    "forecast_sizes",
    "oom_bumped",
    "simple_sizes",
]

MIB = 1024.0**2
HPA_NOTE = "an HPA scales it on {resource} utilization: no {resource} recommendation (--allow-hpa)"
OOM_BUMP_RATIO = 0.20  # VPA: +20% ...
OOM_BUMP_BYTES = 100 * 1024.0**2  # ... or +100 MiB, whichever is more


@dataclass(frozen=True)
class StrategySettings:
    """Knobs of every strategy (each uses those it needs)."""

    cpu_percentile: float = 95.0
    memory_buffer: float = 15.0
    points_required: int = 100
    cpu_min: float = 0.010
    memory_min: float = 100 * MIB
    oom_bump: bool | None = None  # None: the strategy's default
    horizon_seconds: int = 30 * 86400
    step_seconds: int = 3600
    recent_seconds: int = 86400
    model: str = "drift"
    allow_hpa: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.cpu_percentile <= 100:
            raise UsageError(f"--cpu-percentile must be in (0, 100], got {self.cpu_percentile:g}")
        if self.memory_buffer < 0:
            raise UsageError(f"--memory-buffer must be >= 0, got {self.memory_buffer:g}")


@dataclass(frozen=True)
class Sizing:
    """Recommended values (None: no recommendation, or no limit) and why."""

    cpu_request: float | None
    cpu_limit: float | None
    memory_request: float | None
    memory_limit: float | None
    notes: tuple[str, ...] = ()


Strategy = Callable[[Sequence[ContainerUsage], StrategySettings], list[Sizing]]
STRATEGIES: Registry[Strategy] = Registry("strategy")


def _round_cpu(cores: float, settings: StrategySettings) -> float:
    return max(math.ceil(round(cores * 1000, 6)) / 1000, settings.cpu_min)


def _round_memory(value: float, settings: StrategySettings) -> float:
    return float(max(math.ceil(round(value / MIB, 6)) * MIB, settings.memory_min))


def oom_bumped(memory: float) -> float:
    """VPA's bump after an OOM kill: max(+20%, +100 MiB)."""
    return max(memory * (1 + OOM_BUMP_RATIO), memory + OOM_BUMP_BYTES)


def _cpu_percentile(c: ContainerUsage, percentile: float) -> float:
    """The largest of each series' (pod's) percentile of its CPU rates (KRR's)."""
    q = round(percentile / 100, 2) * 100
    if c.cpu_series.size != c.cpu.size:  # built by hand, without per-pod numbering
        return float(np.percentile(c.cpu, q))
    return max(float(np.percentile(c.cpu[c.cpu_series == k], q)) for k in np.unique(c.cpu_series))


def _hpa_holds(c: ContainerUsage, resource: str, s: StrategySettings) -> bool:
    """Whether an HPA scales the workload on ``resource`` and that holds the
    recommendation back (KRR's default, unless ``allow_hpa``)."""
    return resource in c.hpa and not s.allow_hpa


def _raw_simple(c: ContainerUsage, s: StrategySettings) -> tuple[float | None, float | None]:
    cpu = None
    enough = max(c.cpu_points, c.cpu.size) >= s.points_required
    if c.cpu.size and enough and not _hpa_holds(c, "cpu", s):
        cpu = _cpu_percentile(c, s.cpu_percentile)
    memory = None
    if c.memory.size >= s.points_required and not _hpa_holds(c, "memory", s):
        memory = float(np.max(c.memory)) * (1 + s.memory_buffer / 100)
    return cpu, memory


def _sizing(
    c: ContainerUsage, cpu: float | None, memory: float | None, bump: bool, s: StrategySettings
) -> Sizing:
    notes = []
    if _hpa_holds(c, "cpu", s):
        notes.append(HPA_NOTE.format(resource="CPU"))
    elif cpu is None:
        points = max(c.cpu_points, c.cpu.size)
        notes.append(f"not enough CPU data ({points} < {s.points_required} samples)")
    if _hpa_holds(c, "memory", s):
        notes.append(HPA_NOTE.format(resource="memory"))
    elif memory is None:
        notes.append(f"not enough memory data ({c.memory.size} < {s.points_required} samples)")
    elif bump and c.oom_killed:
        memory = oom_bumped(memory)
        notes.append("memory bumped after an OOM kill: max(+20%, +100 MiB)")
    cpu_r = _round_cpu(cpu, s) if cpu is not None else None
    mem_r = _round_memory(memory, s) if memory is not None else None
    return Sizing(cpu_r, None, mem_r, mem_r, tuple(notes))


def simple_sizes(containers: Sequence[ContainerUsage], s: StrategySettings) -> list[Sizing]:
    """KRR's ``simple`` strategy (see the module docstring)."""
    bump = bool(s.oom_bump)
    return [_sizing(c, *_raw_simple(c, s), bump, s) for c in containers]


STRATEGIES.register("simple")(simple_sizes)


def _level_panel(times: Sequence[Array], values: Sequence[Array], step: int) -> Array:
    """``(n, T)`` mean per step of each container's pooled samples, right-aligned on the
    newest step of all (NaN where a container has none)."""
    last = max((int(t.max()) // step for t in times if t.size), default=0)
    first = min((int(t.min()) // step for t in times if t.size), default=0)
    width = last - first + 1
    out = np.full((len(times), width), np.nan)
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if not t.size:
            continue
        cols = (t.astype(np.int64) // step) - first
        sums = np.bincount(cols, weights=v, minlength=width)
        counts = np.bincount(cols, minlength=width)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out


def _growth(times: Sequence[Array], values: Sequence[Array], s: StrategySettings) -> Array:
    """How much each container's level rises over the period: the peak of the mean forecast
    less the recent mean (≥ 0; 0 where there is too little history to forecast)."""
    y = _level_panel(times, values, s.step_seconds)
    h = max(1, math.ceil(s.horizon_seconds / s.step_seconds))
    recent = max(1, s.recent_seconds // s.step_seconds)
    enough = np.sum(np.isfinite(y), axis=1) >= max(2 * recent, 8)
    out = np.zeros(len(times))
    if not enough.any():
        return out
    rows = np.flatnonzero(enough)
    result = forecast(y[rows], h, model=s.model, levels=(80,), step_seconds=s.step_seconds)
    peak = np.nanmax(result.mean, axis=1)
    level = np.nanmean(y[rows, -recent:], axis=1)
    out[rows] = np.maximum(np.nan_to_num(peak - level), 0.0)
    return out


def forecast_sizes(containers: Sequence[ContainerUsage], s: StrategySettings) -> list[Sizing]:
    """The ``forecast`` strategy (see the module docstring)."""
    bump = True if s.oom_bump is None else s.oom_bump
    cpu_growth = _growth([c.cpu_times for c in containers], [c.cpu for c in containers], s)
    mem_growth = _growth([c.memory_times for c in containers], [c.memory for c in containers], s)
    out = []
    for c, dc, dm in zip(containers, cpu_growth, mem_growth, strict=True):
        cpu, memory = _raw_simple(c, s)
        if cpu is not None:
            cpu += float(dc)
        if memory is not None:
            memory = (memory / (1 + s.memory_buffer / 100) + float(dm)) * (
                1 + s.memory_buffer / 100
            )
        sizing = _sizing(c, cpu, memory, bump, s)
        if dc > 0 or dm > 0:
            sizing = Sizing(
                sizing.cpu_request,
                sizing.cpu_limit,
                sizing.memory_request,
                sizing.memory_limit,
                (*sizing.notes, "sized for the forecast's growth over the review period"),
            )
        out.append(sizing)
    return out


STRATEGIES.register("forecast")(forecast_sizes)
