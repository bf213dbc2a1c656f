"""Write examples/metrics/freeagentics_history.csv: four weeks of synthetic hourly monitoring of
the FreeAgentics production host, for `capplan check`, `forecast --plan` and `report` on
examples/freeagentics.yaml (run from the repository root:
``python examples/metrics/freeagentics_generate.py``; the seed fixes the output).

A made-up example, not measurements. Each series starts at the FreeAgentics capacity guide's
"Current Performance Indicators" (CPU 40%, memory 60%, connection pool 30%, p95 500 ms,
errors 0.2%; disk 55% is an assumption), peaks every afternoon at 14:00 UTC, rises linearly
and carries a little seeded noise, so that its trend reaches the guide's scale-up triggers
within about three months. Requests per second (100 at the baseline) are the backend's load
for `capplan simulate`, with network use and queue depth, the other scale-down triggers.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
HOURS = 28 * 24

#: series: (start level, daily swing (amplitude), rise per hour, noise sd, decimals)
SERIES = {
    "cpu_utilization": (40.0, 6.0, 0.012, 1.5, 2),
    "memory_utilization": (60.0, 3.0, 0.008, 0.8, 2),
    "disk_utilization": (55.0, 0.0, 0.010, 0.1, 2),
    "db_connections_utilization": (30.0, 8.0, 0.015, 1.5, 2),
    "response_time_p95": (500.0, 120.0, 0.30, 25.0, 1),
    "error_rate": (0.2, 0.1, 0.001, 0.03, 3),
    # the backend's load and the other scale-down triggers' series, for `capplan simulate`
    "rps": (100.0, 60.0, 0.02, 5.0, 1),
    "network_utilization": (10.0, 4.0, 0.002, 0.5, 2),
    "queue_depth": (8.0, 6.0, 0.002, 1.5, 1),
}


def rows() -> list[list[str]]:
    rng = np.random.default_rng(1)
    t = np.arange(HOURS, dtype=float)
    hour = (START.hour + t) % 24
    daily = np.sin(2 * np.pi * (hour - 8) / 24)  # highest at 14:00, lowest at 02:00
    columns = {}
    for name, (level, swing, rise, sd, digits) in SERIES.items():
        values = level + swing * daily + rise * t + rng.normal(0.0, sd, HOURS)
        columns[name] = np.round(np.clip(values, 0.0, None), digits)
    out = []
    for i in range(HOURS):
        when = START + dt.timedelta(hours=i)
        out.append([when.strftime("%Y-%m-%dT%H:%M:%SZ"), *(f"{columns[n][i]:g}" for n in SERIES)])
    return out


def main() -> None:
    with (HERE / "freeagentics_history.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["date", *SERIES])
        writer.writerows(rows())


if __name__ == "__main__":
    main()
