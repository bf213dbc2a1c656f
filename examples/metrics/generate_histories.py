"""Write the synthetic hourly monitoring histories of examples/metrics (run from the
repository root: ``python examples/metrics/generate_histories.py``; the seed fixes the output).

Made-up examples, not measurements. Every series has a daily cycle peaking at 14:00 UTC, a
linear rise and a little seeded noise:

* ``apm_app_history.csv`` — two weeks of the APM service's application and database series
  (the names of examples/apm.yaml's observed metrics), for `capplan check` and `capplan
  report` on that plan: response time, errors, request rate, query time, connection-pool use
  and disk use falling in several of the runbook's threshold bands, and a pod's CPU and memory
  use that approach adjust-resource-limits.sh's 800m and 1500Mi.
* ``freeagentics_history.csv`` — four weeks of the FreeAgentics production host, for `capplan
  check`, `forecast --plan` and `report` on examples/freeagentics.yaml. Each series starts at
  the FreeAgentics capacity guide's "Current Performance Indicators" (CPU 40%, memory 60%,
  connection pool 30%, p95 500 ms, errors 0.2%; disk 55% is an assumption) and its trend
  reaches the guide's scale-up triggers within about three months. Requests per second (100 at
  the baseline) are the backend's load for `capplan simulate`, with network use and queue
  depth, the other scale-down triggers.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import NamedTuple

import numpy as np

HERE = Path(__file__).resolve().parent

#: series: (start level, daily swing (amplitude), rise per hour, noise sd, decimals)
Series = dict[str, tuple[float, float, float, float, int]]


class History(NamedTuple):
    """One history file: its first hour, its length in hours and its series."""

    start: dt.datetime
    hours: int
    series: Series


HISTORIES = {
    "apm_app": History(
        dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        14 * 24,
        {
            "response_time": (380.0, 200.0, 0.30, 30.0, 1),
            "error_rate": (0.3, 0.2, 0.0005, 0.05, 3),
            "request_rate": (300.0, 150.0, 0.20, 15.0, 1),
            "throughput": (300.0, 150.0, 0.20, 15.0, 1),
            "db_query_time": (90.0, 40.0, 0.05, 8.0, 1),
            "db_pool_utilization": (45.0, 15.0, 0.02, 3.0, 2),
            "disk_usage": (70.0, 0.0, 0.02, 0.1, 2),
            # adjust-resource-limits.sh's inputs: a pod's CPU (millicores) and memory (Mi)
            "pod_cpu_millicores": (500.0, 120.0, 0.4, 30.0, 0),
            "pod_memory_mib": (1100.0, 80.0, 0.9, 20.0, 0),
        },
    ),
    "freeagentics": History(
        dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        28 * 24,
        {
            "cpu_utilization": (40.0, 6.0, 0.012, 1.5, 2),
            "memory_utilization": (60.0, 3.0, 0.008, 0.8, 2),
            "disk_utilization": (55.0, 0.0, 0.010, 0.1, 2),
            "db_connections_utilization": (30.0, 8.0, 0.015, 1.5, 2),
            "response_time_p95": (500.0, 120.0, 0.30, 25.0, 1),
            "error_rate": (0.2, 0.1, 0.001, 0.03, 3),
            # the backend's load and the other scale-down triggers' series, for `simulate`
            "rps": (100.0, 60.0, 0.02, 5.0, 1),
            "network_utilization": (10.0, 4.0, 0.002, 0.5, 2),
            "queue_depth": (8.0, 6.0, 0.002, 1.5, 1),
        },
    ),
}


def rows(name: str) -> list[list[str]]:
    """The header and the hourly rows of one history."""
    history = HISTORIES[name]
    rng = np.random.default_rng(1)
    t = np.arange(history.hours, dtype=float)
    hour = (history.start.hour + t) % 24
    daily = np.sin(2 * np.pi * (hour - 8) / 24)  # highest at 14:00, lowest at 02:00
    columns = {}
    for series, (level, swing, rise, sd, digits) in history.series.items():
        values = level + swing * daily + rise * t + rng.normal(0.0, sd, history.hours)
        columns[series] = np.round(np.clip(values, 0.0, None), digits)
    out = [["date", *history.series]]
    for i in range(history.hours):
        when = history.start + dt.timedelta(hours=i)
        out.append(
            [when.strftime("%Y-%m-%dT%H:%M:%SZ"), *(f"{columns[s][i]:g}" for s in history.series)]
        )
    return out


def main() -> None:
    for name in HISTORIES:
        with (HERE / f"{name}_history.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows(name))


if __name__ == "__main__":
    main()
