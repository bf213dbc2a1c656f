"""Durations ("5m", "1h30m", "2w"), steps and horizons written as a number or a duration,
and period starts ("2026-01", "2026-01-15"), as plan files, flags and the API write them.

Durations follow Prometheus' syntax (``[0-9]+(ms|s|m|h|d|w|y)`` repeated, largest unit first)
so that a ``for:`` written in a plan can be copied into an alerting rule unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "DURATION_UNITS",
    "duration_seconds",
    "format_duration",
    "number_or_duration",
    "parse_start_date",
]

DURATION_UNITS: dict[str, float] = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_ORDER = list(DURATION_UNITS)


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus-style duration; ``ValueError`` naming the text if it is not one."""
    text = text.strip()
    pos, total, last_rank = 0, 0.0, -1
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        rank = _ORDER.index(match.group(2))
        if rank <= last_rank:
            raise ValueError(f"duration '{text}' repeats a unit or has units out of order")
        last_rank = rank
        total += int(match.group(1)) * DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(
            f"'{text}' is not a duration; expected a number and a unit such as 30s, 5m, 1h30m, 4h, "
            "2d, 1w"
        )
    return total


def number_or_duration(text: str) -> int | float:
    """A step or a horizon as written: a bare whole number is returned as an ``int``
    (``"48"`` → 48), a duration as its seconds, a ``float`` (``"2d"`` → 172800.0). What a
    bare number counts (seconds, steps) is the caller's to say. ``ValueError`` naming the
    text when it is neither."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    return float(duration_seconds(raw))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus-style text for a whole number of seconds (``300`` → ``5m``)."""
    if seconds <= 0:
        return "0s"
    remaining, parts = round(seconds), []
    for unit in ("w", "d", "h", "m", "s"):
        size = int(DURATION_UNITS[unit])
        if remaining >= size:
            parts.append(f"{remaining // size}{unit}")
            remaining %= size
    return "".join(parts)


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_start_date(value: object) -> dt.date:
    """A period start from ``2026-01`` (first of the month), ``2026-01-15`` or a date object."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _MONTH.match(text)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12:
                return dt.date(year, month, 1)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2026-01 or 2026-01-15, got {value!r}")
