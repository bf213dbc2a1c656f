"""A stepped Locust test (a load shape holding several user counts in turn) as one run per
step, read from its ``*_stats_history.csv``: each row holds the user count and the
current requests per second, failures per second and response-time percentiles."""

from __future__ import annotations

import csv
import io
import itertools
import statistics

from capplan.loadtest.runs import LoadRun, optional_number

__all__ = ["MIN_STEP_ROWS", "locust_steps"]

#: Rows a user count must hold for in a row to count as a step (shorter ones are the ramp).
MIN_STEP_ROWS = 3
_NEEDED = ("User Count", "Name", "Requests/s", "Failures/s", "95%")


def locust_steps(history: str, file: str, source: str) -> list[LoadRun] | None:
    """One run per step of the history's ``Aggregated`` rows (a user count held for at
    least :data:`MIN_STEP_ROWS` rows; its first row, still settling, is left out): the
    median requests per second and p95, failures over requests. None when the history
    holds fewer than two steps: the stats file then gives the one run."""
    reader = csv.DictReader(io.StringIO(history))
    if any(column not in (reader.fieldnames or []) for column in _NEEDED):
        return None  # an older layout: the stats file gives the run
    rows = [
        (line, row)
        for line, row in enumerate(reader, start=2)
        if (row.get("Name") or "") == "Aggregated"
    ]
    steps = []
    for users_text, group in itertools.groupby(rows, key=lambda r: r[1].get("User Count")):
        held = list(group)
        if len(held) < MIN_STEP_ROWS:
            continue
        settled = held[1:]
        users = optional_number(users_text, file, held[0][0], "User Count")
        rps = [optional_number(r.get("Requests/s"), file, i, "Requests/s") for i, r in settled]
        fails = [optional_number(r.get("Failures/s"), file, i, "Failures/s") for i, r in settled]
        p95 = [optional_number(r.get("95%"), file, i, "95%") for i, r in settled]
        rps_known = [v for v in rps if v is not None]
        p95_known = [v for v in p95 if v is not None]
        if users is None or users <= 0 or not rps_known or not p95_known:
            continue
        total = sum(rps_known)
        failed = sum(v for v in fails if v is not None)
        steps.append(
            LoadRun(
                source=f"{source} ({users:g} users)",
                format="locust",
                level=users,
                throughput=statistics.median(rps_known),
                p95_ms=statistics.median(p95_known),
                error_rate=failed / total if total > 0 else 0.0,
            )
        )
    return steps if len({s.level for s in steps}) >= 2 else None
