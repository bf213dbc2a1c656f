"""The periods of a projection: period 0 is today, then ``horizon`` months, weeks or days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["MONTHS_PER_PERIOD", "Timeline", "add_months"]

MONTHS_PER_PERIOD = {"month": 1.0, "week": 12 / 52.1775, "day": 12 / 365.2425}


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the end of shorter months."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


@dataclass(frozen=True)
class Timeline:
    """Period starts from ``start`` in steps of one ``step``; ``periods`` excludes period 0."""

    start: dt.date
    step: str
    periods: int

    @property
    def months_per_period(self) -> float:
        return MONTHS_PER_PERIOD[self.step]

    @property
    def unit(self) -> str:
        return self.step

    def date(self, period: int) -> dt.date:
        if self.step == "month":
            return add_months(self.start, period)
        days = 7 if self.step == "week" else 1
        return self.start + dt.timedelta(days=days * period)

    def dates(self) -> list[dt.date]:
        return [self.date(t) for t in range(self.periods + 1)]

    def label(self, period: int) -> str:
        day = self.date(period)
        return day.strftime("%Y-%m") if self.step == "month" else day.isoformat()

    def period_of(self, day: dt.date) -> float:
        """The (fractional) period number of a date; dates before ``start`` are negative."""
        if self.step == "month":
            months = (day.year - self.start.year) * 12 + day.month - self.start.month
            return months + (day.day - self.start.day) / 30.4375
        days = (day - self.start).days
        return days / (7 if self.step == "week" else 1)

    @classmethod
    def for_today(cls, step: str, periods: int, start: dt.date | None) -> Timeline:
        """A timeline from ``start``, or from the first day of the current month."""
        if start is None:
            today = dt.date.today()
            start = dt.date(today.year, today.month, 1) if step == "month" else today
        return cls(start, step, periods)
