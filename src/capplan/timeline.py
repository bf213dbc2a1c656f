"""The periods of a projection: period 0 is today, then ``horizon`` months, weeks or days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
    """Period starts from ``start`` in steps of one ``step``; ``periods`` excludes period 0.

    ``today`` is the date the projection is read on: the period holding it is "now", and
    action dates before it are overdue (it need not fall within the timeline)."""

    start: dt.date
    step: str
    periods: int
    today: dt.date | None = field(default=None, compare=False)

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

    @property
    def now_period(self) -> int | None:
        """The period holding ``today``, or None when today is outside the timeline."""
        if self.today is None:
            return None
        day = self.today
        if self.step == "month":  # whole months passed since start
            months = (day.year - self.start.year) * 12 + day.month - self.start.month
            period = months - (day.day < self.start.day)
        else:
            period = (day - self.start).days // (7 if self.step == "week" else 1)
        return period if 0 <= period <= self.periods else None

    def is_past(self, period: int) -> bool:
        """Whether the period ended before ``today``."""
        return self.today is not None and self.date(period + 1) <= self.today

    def when(self, period: int) -> str:
        """The period's label, or "now" for the period holding today."""
        return "now" if period == self.now_period else self.label(period)

    @classmethod
    def for_today(
        cls, step: str, periods: int, start: dt.date | None, today: dt.date | None = None
    ) -> Timeline:
        """A timeline from ``start``, or from the first day of the month holding ``today``
        (default: the current date)."""
        today = today or dt.date.today()
        if start is None:
            start = dt.date(today.year, today.month, 1) if step == "month" else today
        return cls(start, step, periods, today)
