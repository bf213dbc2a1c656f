"""How fresh a series' data is: the age of its newest sample, against a maximum age.

A series is **stale** as of ``now`` when its newest sample at or before ``now`` is older than
``now - max_age``. The default maximum age of a series is the larger of :data:`STALE_STEPS`
steps of its own data (the median spacing of its samples) and the longest ``for:`` of the
threshold levels checked on it: a scrape or two may be late, and a level cannot hold for its
duration on data older than that duration. With a single sample (no step) the Prometheus
lookback delta, :data:`~capplan.policy.thresholds.LOOKBACK_SECONDS`, stands for the steps.
A maximum age of 0 turns the check off.

``now`` is an argument everywhere here (the command line's ``--now``, or the wall clock read
by the caller), so that an old export can be replayed as of the time it was taken.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from capplan.errors import UsageError
from capplan.plan.models import Threshold
from capplan.policy.thresholds import LOOKBACK_SECONDS, level_for_seconds
from capplan.units import duration_seconds

__all__ = [
    "STALE_STEPS",
    "Freshness",
    "default_max_age",
    "freshness",
    "instant",
    "iso_time",
    "longest_for",
    "parse_instant",
    "parse_max_age",
    "wall_clock",
]

STALE_STEPS = 3
OFF_WORDS = ("off", "none", "0")


def wall_clock() -> np.datetime64:
    """The current UTC time, to the second."""
    return np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")


def instant(value: np.datetime64 | dt.datetime | float | None) -> np.datetime64:
    """``value`` as a UTC ``datetime64[s]``: a datetime64, an aware or naive (UTC) datetime,
    or Unix seconds; None is the current time."""
    if value is None:
        return wall_clock()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "s")
    if isinstance(value, np.datetime64):
        value = int(value.astype("datetime64[s]").astype(np.int64))
    return np.datetime64(int(value), "s")


def iso_time(t: np.datetime64 | None) -> str | None:
    """``2026-10-12T23:00:00Z``, or None."""
    return None if t is None else f"{np.datetime_as_string(t, unit='s')}Z"


def parse_instant(text: str, option: str = "--now") -> np.datetime64:
    """An ISO 8601 time (``2026-10-13T00:00:00Z``, ``2026-10-13 02:00+02:00``, ``2026-10-13``;
    naive times are UTC) as ``datetime64[s]``; a :class:`UsageError` naming ``option``."""
    raw = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: expected an ISO 8601 time such as 2026-10-13T00:00:00Z, got '{text}'"
        ) from None
    return instant(parsed)


def parse_max_age(text: str, option: str = "--max-age") -> float:
    """Seconds of a maximum age such as ``3h`` or ``2d``; ``off`` (or ``0``) gives 0, which
    turns the staleness check off. A :class:`UsageError` naming ``option`` otherwise."""
    raw = text.strip().lower()
    if raw in OFF_WORDS:
        return 0.0
    try:
        return duration_seconds(raw)
    except ValueError:
        raise UsageError(
            f"{option}: expected a duration such as 30m, 3h or 2d, or 'off', got '{text}'"
        ) from None


def longest_for(thresholds: Iterable[Threshold]) -> float:
    """The longest ``for:`` of any level of ``thresholds``, in seconds (0 when none)."""
    return max(
        (level_for_seconds(thr, name) for thr in thresholds for name, _ in thr.levels()),
        default=0.0,
    )


def default_max_age(step_seconds: float, for_seconds: float = 0.0) -> float:
    """The larger of :data:`STALE_STEPS` steps and ``for_seconds`` (see the module docstring)."""
    steps = step_seconds if step_seconds > 0 else float(LOOKBACK_SECONDS)
    return max(STALE_STEPS * steps, for_seconds)


@dataclass(frozen=True)
class Freshness:
    """The newest sample of one series as of ``now``: its time, its age and whether it is
    older than the maximum age (``max_age_seconds`` None: the check is off)."""

    series: str
    last_sample: np.datetime64 | None
    age_seconds: float | None
    max_age_seconds: float | None
    stale: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (UTC times ending in Z)."""
        return {
            "series": self.series,
            "last_sample": iso_time(self.last_sample),
            "age_seconds": self.age_seconds,
            "max_age_seconds": self.max_age_seconds,
            "stale": self.stale,
        }


def freshness(
    series: str,
    last_sample: np.datetime64 | None,
    now: np.datetime64,
    max_age_seconds: float | None,
) -> Freshness:
    """How old ``last_sample`` is at ``now``, and whether that is more than
    ``max_age_seconds`` (None or 0: never stale). A series without a sample is not stale
    (it has no data, which callers report on their own)."""
    if last_sample is None:
        return Freshness(series, None, None, max_age_seconds or None, False)
    last = last_sample.astype("datetime64[s]")
    age = float((now.astype("datetime64[s]") - last) / np.timedelta64(1, "s"))
    limit = max_age_seconds if max_age_seconds and math.isfinite(max_age_seconds) else None
    return Freshness(series, last, age, limit, limit is not None and age > limit)
