"""Named bands of a threshold: the documents' grading of a metric into more bands than the
alert levels (the APM runbook's response time: excellent < 200 ms, good < 500, acceptable
< 1000, poor < 2000, unacceptable above). Bands describe; the levels alert.

A threshold's ``bands`` map each band's name to where it ends, in order from the best band:
ascending limits for a threshold ``above`` (bigger is worse), descending for ``below``; the
last band may end at ``null`` (no end). A value falls in the first band whose limit it has not
reached (``value < limit`` for above, ``value > limit`` for below); past every limit, in none.
"""

from __future__ import annotations

import itertools
import math

__all__ = ["band_of", "check_bands"]


def check_bands(bands: dict[str, float | None], direction: str) -> None:
    """Raise ValueError unless the limits are ordered for ``direction`` and only the last one
    is null."""
    limits = list(bands.values())
    for name, limit in list(bands.items())[:-1]:
        if limit is None:
            raise ValueError(f"only the last band may have no limit (null), not '{name}'")
    finite = [v for v in limits if v is not None]
    for a, b in itertools.pairwise(finite):
        if (direction == "above" and b <= a) or (direction == "below" and b >= a):
            order = "ascending" if direction == "above" else "descending"
            raise ValueError(
                f"band limits must be {order} for a threshold on values {direction} its "
                f"levels (best band first), got {a} then {b}"
            )


def band_of(bands: dict[str, float | None], value: float, direction: str) -> str | None:
    """The band ``value`` falls in, or None (past every limit, or not a number)."""
    if not math.isfinite(value):
        return None
    for name, limit in bands.items():
        if limit is None:
            return name
        if (value < limit) if direction == "above" else (value > limit):
            return name
    return None
