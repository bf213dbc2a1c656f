"""What a forecast run is asked for, typed: the level to find the runway to, the horizon, and
the step of the data when none is given.

Parsing text into these (and messages that name a command-line flag) belongs to the CLI;
here a wrong value is a ``ValueError`` saying what was expected, for the caller to name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from capplan.data import MetricFrame
from capplan.units import number_or_duration

__all__ = ["MAX_HORIZON_STEPS", "Horizon", "RunwayLevel", "infer_step"]

MAX_HORIZON_STEPS = 100_000


@dataclass(frozen=True)
class RunwayLevel:
    """A level to find the crossing of: absolute, or a share of a capacity already applied;
    ``unit`` is ``%`` for a percentage of a percent metric."""

    value: float
    direction: Literal["above", "below"] = "above"
    unit: str = ""


@dataclass(frozen=True)
class Horizon:
    """How far ahead, as written: a number of steps (``48``) or a duration (``14d``)."""

    text: str
    amount: int | float  # steps (an int), or the seconds of a duration (a float)

    @classmethod
    def parse(cls, text: str) -> Horizon:
        """``ValueError`` naming the text when it is neither a whole number nor a duration."""
        return cls(text, number_or_duration(text))

    def steps(self, step_seconds: int) -> int:
        """Steps of ``step_seconds`` ahead: ``14d`` at a 1h step → 336. ``ValueError`` when
        that is less than one step or more than :data:`MAX_HORIZON_STEPS`."""
        amount = self.amount
        steps = amount if isinstance(amount, int) else round(amount / step_seconds)
        if steps < 1:
            raise ValueError(f"'{self.text}' is shorter than one step of {step_seconds}s")
        if steps > MAX_HORIZON_STEPS:
            raise ValueError(f"'{self.text}' is {steps} steps; at most {MAX_HORIZON_STEPS:,}")
        return steps


def infer_step(frame: MetricFrame) -> int:
    """The coarsest median spacing of the frame's series, in seconds (at least 1);
    ``ValueError`` when every series has a single point.

    Vectorized over series: one sort of (series, time), the spacings within each series, a
    second sort of (series, spacing), and the middle of each series' run."""
    ts = frame.timestamps.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((ts, frame.codes))
    codes, stamps = frame.codes[order], ts[order]
    within = codes[1:] == codes[:-1]
    gaps, owner = np.diff(stamps)[within], codes[1:][within]
    if gaps.size == 0:
        raise ValueError("every series has a single point")
    by_series = np.lexsort((gaps, owner))
    gaps, owner = gaps[by_series], owner[by_series]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    counts = np.diff(np.r_[starts, gaps.size])
    lower, upper = gaps[starts + (counts - 1) // 2], gaps[starts + counts // 2]
    medians = (lower + upper) / 2  # np.median of each series' spacings
    return max(1, int(medians.max()))
