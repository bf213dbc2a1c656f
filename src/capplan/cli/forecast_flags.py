"""The flags of ``capplan forecast`` and ``capplan backtest``, parsed and checked: the level
to find the runway to, the interval levels, the metric's bounds, the horizon, the step and
the backtest windows. Every message names the flag."""

from __future__ import annotations

import numpy as np

from capplan.data import MetricFrame, Panel
from capplan.errors import UsageError
from capplan.forecast.options import Horizon, RunwayLevel, infer_step
from capplan.forecast.run import panel_of

__all__ = [
    "check_windows",
    "history_panel",
    "horizon_steps",
    "parse_bounds",
    "parse_horizon",
    "parse_levels",
    "parse_threshold",
]


def parse_threshold(
    text: str, capacity: float | None = None, direction: str = "above"
) -> RunwayLevel:
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
    return RunwayLevel(value, direction, unit)  # type: ignore[arg-type]


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


def parse_horizon(text: str) -> Horizon:
    """``14d``, ``48h`` or a number of steps."""
    try:
        return Horizon.parse(text)
    except ValueError as exc:
        raise UsageError(f"--horizon: {exc}") from None


def horizon_steps(horizon: Horizon, step_seconds: int) -> int:
    """``14d`` at a 1h step → 336; a bare number is a number of steps."""
    try:
        return horizon.steps(step_seconds)
    except ValueError as exc:
        raise UsageError(f"--horizon {exc}") from None


def history_panel(frame: MetricFrame, step: str | None, agg: str) -> Panel:
    """The panel the forecast commands run on: ``frame`` on ``--step`` (default: the data's
    own) with ``--agg``."""
    given: str | int | None = step
    if step is None and frame.values.size:  # an empty frame: panel_of says so
        try:
            given = infer_step(frame)
        except ValueError as exc:
            raise UsageError(f"cannot infer --step: {exc}; give --step") from None
    return panel_of(frame, given, agg)


def check_windows(windows: int) -> int:
    if windows < 1:
        raise UsageError(f"--windows must be at least 1, got {windows}")
    return windows
