"""When the service builds its periodic reports: ``daily 08:00``, ``weekly mon 08:00``,
``monthly 1 08:00`` or ``quarterly 1 08:00`` (the first month of each quarter; times in UTC).
No I/O: :meth:`ReportSchedule.last_slot` gives the latest slot at or before a time, and the
service builds a report for each slot that has passed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from capplan.errors import UsageError

__all__ = ["WEEKDAYS", "ReportSchedule", "parse_schedule"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    name: i
    for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, full[:3])
}
_SPEC = re.compile(
    r"^\s*(?:(daily)|(weekly|monthly|quarterly)\s+(\S+))\s+(\d{1,2}):(\d{2})\s*$", re.IGNORECASE
)
_EXPECTED = (
    "expected 'daily HH:MM', 'weekly DAY HH:MM' (DAY: mon, tue, wed, thu, fri, sat or sun), "
    "'monthly DAY HH:MM' or 'quarterly DAY HH:MM' (DAY: 1 to 28; quarterly: of January, "
    "April, July and October), in UTC, e.g. 'weekly mon 08:00'"
)


@dataclass(frozen=True)
class ReportSchedule:
    """A report ``kind`` (daily, weekly, monthly, quarterly) built on ``day`` (daily: 0,
    unused; weekly: 0 = Monday; monthly and quarterly: the day of the month, 1-28; quarterly:
    in January, April, July and October) at ``hour``:``minute`` UTC."""

    kind: str
    day: int
    hour: int
    minute: int

    @property
    def spec(self) -> str:
        """The schedule as it is written: ``weekly mon 08:00``."""
        time = f"{self.hour:02d}:{self.minute:02d}"
        if self.kind == "daily":
            return f"daily {time}"
        day = WEEKDAYS[self.day] if self.kind == "weekly" else str(self.day)
        return f"{self.kind} {day} {time}"

    def last_slot(self, now: float) -> float:
        """The Unix time of the latest slot at or before ``now`` (Unix seconds)."""
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        slot = at.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if self.kind == "daily":
            if slot > at:
                slot -= dt.timedelta(days=1)
            return slot.timestamp()
        if self.kind == "quarterly":
            slot = slot.replace(month=(slot.month - 1) // 3 * 3 + 1, day=self.day)
            if slot > at:
                year, month = (slot.year, slot.month - 3) if slot.month > 3 else (slot.year - 1, 10)
                slot = slot.replace(year=year, month=month)
            return slot.timestamp()
        if self.kind == "weekly":
            slot -= dt.timedelta(days=(at.weekday() - self.day) % 7)
            if slot > at:
                slot -= dt.timedelta(days=7)
            return slot.timestamp()
        slot = slot.replace(day=self.day)
        if slot > at:
            year, month = (slot.year, slot.month - 1) if slot.month > 1 else (slot.year - 1, 12)
            slot = slot.replace(year=year, month=month)
        return slot.timestamp()


def parse_schedule(text: str, option: str = "--report-schedule") -> ReportSchedule:
    """A :class:`ReportSchedule` from ``daily 08:00``, ``weekly mon 08:00``, ``monthly 1
    08:00`` or ``quarterly 1 08:00``; a :class:`~capplan.errors.UsageError` saying what was
    expected otherwise."""
    got = _SPEC.match(text)

    def bad(why: str = "") -> UsageError:
        return UsageError(f"{option} {text!r}: {why}{_EXPECTED}")

    if got is None:
        raise bad()
    kind = (got.group(1) or got.group(2)).lower()
    day_text, hour, minute = (got.group(3) or "").lower(), *got.group(4, 5)
    if int(hour) > 23 or int(minute) > 59:
        raise bad(f"no time {hour}:{minute}; ")
    if kind == "daily":
        day = 0
    elif kind == "weekly":
        if day_text not in _DAY_NAMES:
            raise bad(f"no weekday {day_text!r}; ")
        day = _DAY_NAMES[day_text]
    else:
        if not day_text.isdigit() or not 1 <= int(day_text) <= 28:
            raise bad(f"no day of the month {day_text!r} (1 to 28, every month has it); ")
        day = int(day_text)
    return ReportSchedule(kind, day, int(hour), int(minute))
