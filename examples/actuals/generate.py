"""Writes the synthetic actuals of examples/actuals/ (run from the repository root:
``python examples/actuals/generate.py``); the output is fixed by the seeds below.

- ``omniops.csv``: OmniOps users on the first of each month from the plan's start
  (November 2025) to July 2026, growing 11% a month net of churn where the moderate
  scenario assumes 17% (25% growth, 8% churn), with 2% noise; and daily requests every day
  of those nine months, 4.6 requests per user a day (the plan: 150 a month, 5 a day) with a
  weekly cycle and 5% noise. Both run below the moderate scenario.
- ``the_bot.csv``: THE_BOT registered users on the first of each month from January to
  September 2026, growing 32% a month where the moderate scenario assumes 25% (its
  uncertainty: 15% to 30%), with 2% noise: above the plan's P90 within a few months.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _months(start: dt.date, n: int) -> list[dt.date]:
    return [
        dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def users(
    initial: float, rate: float, start: dt.date, n: int, seed: int
) -> list[tuple[str, str, float]]:
    """One value a month: ``initial × (1 + rate)^t`` with 2% lognormal noise."""
    rng = np.random.default_rng(seed)
    noise = np.exp(rng.normal(0.0, 0.02, n))
    noise[0] = 1.0  # period 0 is the plan's own baseline
    return [
        ("users", f"{day.isoformat()}T00:00:00Z", round(initial * (1 + rate) ** t * noise[t]))
        for t, day in enumerate(_months(start, n))
    ]


def daily_requests(
    initial: float, rate: float, per_user: float, start: dt.date, end: dt.date, seed: int
) -> list[tuple[str, str, float]]:
    """Requests a day: users (growing smoothly between months) × requests per user a day,
    20% fewer at weekends, 5% noise."""
    rng = np.random.default_rng(seed)
    rows = []
    day = start
    while day < end:
        months = (day.year - start.year) * 12 + day.month - start.month + (day.day - 1) / 30.4375
        level = initial * (1 + rate) ** months * per_user
        weekly = 0.8 if day.weekday() >= 5 else 1.06
        rows.append(
            (
                "daily_requests",
                f"{day.isoformat()}T12:00:00Z",
                round(level * weekly * float(np.exp(rng.normal(0.0, 0.05))), 1),
            )
        )
        day += dt.timedelta(days=1)
    return rows


def write(name: str, rows: list[tuple[str, str, float]]) -> None:
    with (HERE / name).open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["series", "timestamp", "value"])
        out.writerows(rows)


def main() -> None:
    omniops = dt.date(2025, 11, 1)
    write(
        "omniops.csv",
        users(100, 0.11, omniops, 9, seed=11)
        + daily_requests(100, 0.11, 4.6, omniops, dt.date(2026, 8, 1), seed=12),
    )
    write("the_bot.csv", users(10_000, 0.32, dt.date(2026, 1, 1), 9, seed=21))


if __name__ == "__main__":
    main()
