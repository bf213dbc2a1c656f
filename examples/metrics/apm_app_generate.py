"""Write examples/metrics/apm_app_history.csv: two weeks of synthetic hourly monitoring of the
APM service's application and database series (the names of examples/apm.yaml's observed
metrics), for `capplan check` and `capplan report` on that plan (run from the repository root:
``python examples/metrics/apm_app_generate.py``; the seed fixes the output).

A made-up example, not measurements: response time, errors, request rate, query time,
connection-pool use and disk use with a daily cycle peaking at 14:00 UTC, a slow rise and a
little seeded noise, so that the values fall in several of the runbook's threshold bands, and
a pod's CPU and memory use that approach adjust-resource-limits.sh's 800m and 1500Mi.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
HOURS = 14 * 24

#: series: (start level, daily swing (amplitude), rise per hour, noise sd, decimals)
SERIES = {
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
    with (HERE / "apm_app_history.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["date", *SERIES])
        writer.writerows(rows())


if __name__ == "__main__":
    main()
