"""What a forecast is asked for, parsed and checked: the threshold to find the runway to,
the interval levels, the metric's bounds, the horizon and the step of the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from capplan.data import MetricFrame
from capplan.errors import UsageError
from capplan.plan.durations import duration_seconds

__all__ = [
    "Threshold",
    "horizon_steps",
    "infer_step",
    "parse_bounds",
    "parse_levels",
    "parse_threshold",
]


@dataclass(frozen=True)
class Threshold:
    """A level to find the crossing of: absolute, or a share of a capacity."""

    value: float
    direction: Literal["above", "below"] = "above"
    unit: str = ""


def parse_threshold(
    text: str, capacity: float | None = None, direction: str = "above"
) -> Threshold:
    """``80`` → 80; ``90%`` with ``capacity=500`` → 450; ``90%`` alone → 90 (a percent metric)."""
    if direction not in ("above", "below"):
        raise UsageError(f"--direction must be above or below, got '{direction}'")
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise UsageError(f"--threshold must be a number or a percentage, got '{text}'") from None
    if not np.isfinite(value):
        raise UsageError(f"--threshold must be finite, got '{text}'")
    unit = ""
    if percent and capacity is not None:
        value = value / 100.0 * capacity
    elif percent:
        unit = "%"
    elif capacity is not None:
        raise UsageError("--capacity needs a percentage --threshold such as 90%")
    return Threshold(value, direction, unit)  # type: ignore[arg-type]


def parse_levels(text: str) -> tuple[int, ...]:
    """``80,95`` → (80, 95)."""
    try:
        levels = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UsageError(
            f"--levels must be whole percentages such as 80,95, got '{text}'"
        ) from None
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise UsageError(f"--levels must be between 1 and 99, got '{text}'")
    return levels


def parse_bounds(text: str) -> tuple[float | None, float | None]:
    """``0,100`` → (0, 100); ``0,`` → (0, None); ``,1`` → (None, 1)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(
            f"--bounds must be LOWER,UPPER such as 0,100 (either may be empty), got '{text}'"
        )
    out: list[float | None] = []
    for part in parts:
        part = part.strip()
        if not part:
            out.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise UsageError(
                f"--bounds: '{part}' is not a number (expected LOWER,UPPER such as 0,100)"
            ) from None
        if not np.isfinite(value):
            raise UsageError(f"--bounds must be finite numbers, got '{text}'")
        out.append(value)
    lo, hi = out
    if lo is not None and hi is not None and lo >= hi:
        raise UsageError(f"--bounds: the lower bound must be below the upper one, got '{text}'")
    return lo, hi


def infer_step(frame: MetricFrame) -> int:
    """The coarsest median spacing of the frame's series, in seconds (at least 1).

    Vectorized over series: one sort of (series, time), the spacings within each series, a
    second sort of (series, spacing), and the middle of each series' run."""
    ts = frame.timestamps.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((ts, frame.codes))
    codes, stamps = frame.codes[order], ts[order]
    within = codes[1:] == codes[:-1]
    gaps, owner = np.diff(stamps)[within], codes[1:][within]
    if gaps.size == 0:
        raise UsageError("cannot infer --step: every series has a single point; give --step")
    by_series = np.lexsort((gaps, owner))
    gaps, owner = gaps[by_series], owner[by_series]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    counts = np.diff(np.r_[starts, gaps.size])
    lower, upper = gaps[starts + (counts - 1) // 2], gaps[starts + counts // 2]
    medians = (lower + upper) / 2  # np.median of each series' spacings
    return max(1, int(medians.max()))


def horizon_steps(text: str, step_seconds: int) -> int:
    """``14d`` at a 1h step → 336; a bare number is a number of steps."""
    raw = text.strip()
    if raw.isdigit():
        steps = int(raw)
    else:
        try:
            seconds = duration_seconds(raw)
        except ValueError as exc:
            raise UsageError(f"--horizon: {exc}") from None
        steps = round(seconds / step_seconds)
    if steps < 1:
        raise UsageError(f"--horizon '{text}' is shorter than one step of {step_seconds}s")
    if steps > 100_000:
        raise UsageError(f"--horizon '{text}' is {steps} steps; at most 100,000")
    return steps
