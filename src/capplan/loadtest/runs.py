"""Load-test results as runs: one concurrency level, its throughput, p95 latency and errors.

Three formats are read from their text (no I/O here): a k6 ``--summary-export`` JSON (or the
``handleSummary`` JSON, whose metrics keep their figures under ``values``), a Locust
``*_stats.csv`` (with the user count from its ``*_stats_history.csv``), and the benchmark
result format of the FreeAgentics capacity guide (YAML or JSON: ``Test Configuration`` /
``Results``). Every problem is a :class:`~capplan.errors.DataError` naming the file and the
field or column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capplan.errors import DataError, PlanError
from capplan.plan.safe_yaml import load_yaml

__all__ = [
    "LoadRun",
    "optional_number",
    "parse_freeagentics",
    "parse_k6",
    "parse_locust",
    "parse_run",
]


@dataclass(frozen=True)
class LoadRun:
    """One load-test run at one concurrency level ``level`` (virtual users, users):
    ``throughput`` in requests per second, latencies in milliseconds, ``error_rate`` a
    share (0.01 = 1%)."""

    source: str
    format: str
    level: float
    throughput: float
    p95_ms: float
    error_rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    target_rps: float | None = None
    """The rate the run aimed at, when its format says (FreeAgentics' ``Target RPS``)."""
    duration_s: float | None = None
    """How long the run lasted, in seconds, when its format says (``Duration``)."""
    resource_usage: tuple[tuple[str, float], ...] = ()
    """Resource use during the run as shares (``cpu``: 0.65), when its format says."""
    bottlenecks: tuple[str, ...] = ()
    """What the run's report names as its bottlenecks, as written."""


def _number(value: Any, file: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{field}: expected a finite number, got {value!r}", file=file)
    return float(value)


# --- k6 -------------------------------------------------------------------------------------


def _k6_metric(metrics: Mapping[str, Any], name: str, file: str) -> Mapping[str, Any] | None:
    metric = metrics.get(name)
    if metric is None:
        return None
    if not isinstance(metric, Mapping):
        raise DataError(f"metrics.{name}: expected an object, got {metric!r}", file=file)
    values = metric.get("values")  # handleSummary's JSON keeps the figures under "values"
    return values if isinstance(values, Mapping) else metric


def parse_k6(text: str, file: str) -> LoadRun:
    """A run from k6's ``--summary-export`` JSON: ``http_reqs`` rate, ``http_req_duration``
    p(95) (p(90), med or avg when it has none, with the name of what was taken), the
    ``http_req_failed`` rate and ``vus_max`` (else ``vus``) max as the level."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"is not JSON: {exc.msg}", file=file, row=exc.lineno) from None
    metrics = data.get("metrics") if isinstance(data, Mapping) else None
    if not isinstance(metrics, Mapping):
        raise DataError("expected a k6 summary with a 'metrics' object", file=file)
    reqs = _k6_metric(metrics, "http_reqs", file)
    if reqs is None or "rate" not in reqs:
        raise DataError(
            "metrics.http_reqs.rate is missing; expected requests per second", file=file
        )
    throughput = _number(reqs["rate"], file, "metrics.http_reqs.rate")
    duration = _k6_metric(metrics, "http_req_duration", file)
    if duration is None:
        raise DataError("metrics.http_req_duration is missing", file=file)
    key = next((k for k in ("p(95)", "p(90)", "med", "avg") if k in duration), None)
    if key is None:
        raise DataError("metrics.http_req_duration has none of p(95), p(90), med, avg", file=file)
    p95 = _number(duration[key], file, f"metrics.http_req_duration.{key}")
    failed = _k6_metric(metrics, "http_req_failed", file)
    error_rate = 0.0
    if failed is not None:
        rate_key = "rate" if "rate" in failed else "value"
        if rate_key not in failed:
            raise DataError("metrics.http_req_failed has no rate (or value)", file=file)
        error_rate = _number(failed[rate_key], file, f"metrics.http_req_failed.{rate_key}")
    level = None
    for name in ("vus_max", "vus"):
        metric = _k6_metric(metrics, name, file)
        if metric is not None:
            got = metric.get("max", metric.get("value"))
            level = _number(got, file, f"metrics.{name}.max")
            break
    if level is None:
        raise DataError(
            "has neither metrics.vus_max nor metrics.vus: no concurrency level", file=file
        )
    p50 = duration.get("med", duration.get("p(50)"))
    p99 = duration.get("p(99)")
    return LoadRun(
        source=file,
        format="k6",
        level=level,
        throughput=throughput,
        p95_ms=p95,
        error_rate=error_rate,
        p50_ms=_number(p50, file, "metrics.http_req_duration.med") if p50 is not None else None,
        p99_ms=_number(p99, file, "metrics.http_req_duration.p(99)") if p99 is not None else None,
    )


# --- Locust ---------------------------------------------------------------------------------

_LOCUST_NEEDED = ("Name", "Request Count", "Failure Count", "Requests/s", "95%")


def _csv_rows(text: str, file: str, needed: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(
            f"is not a Locust stats file: no column {', '.join(missing)} "
            f"(header: {', '.join(header) or 'empty'})",
            file=file,
            row=1,
        )
    return list(reader)


def optional_number(text: str | None, file: str, line: int, column: str) -> float | None:
    """A CSV cell as a finite number; None for an empty or ``N/A`` cell."""
    raw = (text or "").strip()
    if raw in ("", "N/A"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise DataError(
            f"expected a number, got {raw!r}", file=file, row=line, column=column
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"expected a finite number, got {raw!r}", file=file, row=line, column=column
        )
    return value


def _cell(row: Mapping[str, str], column: str, file: str, line: int) -> float:
    value = optional_number(row.get(column), file, line, column)
    if value is None:
        text = (row.get(column) or "").strip()
        raise DataError(f"expected a number, got {text!r}", file=file, row=line, column=column)
    return value


def parse_locust(text: str, file: str, history: str | None, history_file: str = "") -> LoadRun:
    """A run from a Locust ``*_stats.csv``: its ``Aggregated`` row's Requests/s, 95% and
    failures over requests; the level is the largest User Count of the ``Aggregated`` rows of
    ``history`` (the ``*_stats_history.csv`` written beside it)."""
    rows = _csv_rows(text, file, _LOCUST_NEEDED)
    found = [(i, r) for i, r in enumerate(rows, start=2) if (r.get("Name") or "") == "Aggregated"]
    if not found:
        raise DataError("has no 'Aggregated' row", file=file)
    line, row = found[-1]
    requests = _cell(row, "Request Count", file, line)
    failures = _cell(row, "Failure Count", file, line)
    if history is None:
        raise DataError(
            "gives no user count: expected its *_stats_history.csv beside it "
            "(locust --csv writes both)",
            file=file,
        )
    hist_rows = _csv_rows(history, history_file, ("User Count", "Name"))
    users = [
        _cell(r, "User Count", history_file, i)
        for i, r in enumerate(hist_rows, start=2)
        if (r.get("Name") or "") == "Aggregated"
    ]
    if not users:
        raise DataError("has no 'Aggregated' row with a User Count", file=history_file)
    p50 = row.get("50%")
    p99 = row.get("99%")
    return LoadRun(
        source=file,
        format="locust",
        level=max(users),
        throughput=_cell(row, "Requests/s", file, line),
        p95_ms=_cell(row, "95%", file, line),
        error_rate=failures / requests if requests > 0 else 0.0,
        p50_ms=_cell(row, "50%", file, line) if p50 not in (None, "", "N/A") else None,
        p99_ms=_cell(row, "99%", file, line) if p99 not in (None, "", "N/A") else None,
    )


# --- the FreeAgentics benchmark result format -----------------------------------------------

_TIME = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*$")


def _milliseconds(value: Any, file: str, field: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value, file, field)  # a bare number is milliseconds
    match = _TIME.match(str(value))
    if match is None:
        raise DataError(f"{field}: expected a time such as 450ms or 1.2s, got {value!r}", file=file)
    number = float(match.group(1))
    return number * 1000 if match.group(2) == "s" else number


_SPAN = re.compile(
    r"^\s*([0-9]*\.?[0-9]+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hours?)?\s*$", re.I
)
_SPAN_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: Any, file: str, field: str) -> float:
    """``5 minutes``, ``300s``, ``5m`` or ``1 hour`` in seconds; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value, file, field)
    match = _SPAN.match(str(value))
    if match is None:
        raise DataError(
            f"{field}: expected a duration such as 5 minutes or 300s, got {value!r}", file=file
        )
    unit = (match.group(2) or "s")[0].lower()
    return float(match.group(1)) * _SPAN_SECONDS[unit]


def _share(value: Any, file: str, field: str) -> float:
    """``0.2%`` → 0.002; a bare number is a share (0.002)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value, file, field)
    text = str(value).strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise DataError(
            f"{field}: expected a percentage such as 0.2%, got {value!r}", file=file
        ) from None


def _get(data: Mapping[str, Any], path: tuple[str, ...], file: str) -> Any:
    node: Any = data
    for i, key in enumerate(path):
        if not isinstance(node, Mapping) or key not in node:
            raise DataError(f"'{': '.join(path[: i + 1])}' is missing", file=file)
        node = node[key]
    return node


def parse_freeagentics(data: Mapping[str, Any], file: str) -> LoadRun:
    """A run from the FreeAgentics capacity guide's benchmark result format (already read
    from YAML or JSON): ``Test Configuration: Concurrent Users`` is the level, ``Results:
    Actual RPS``, ``Response Times: 95th`` and ``Error Rate`` the figures; ``Target RPS``,
    ``Duration``, ``Resource Usage`` and ``Bottlenecks`` are kept when given."""
    results = _get(data, ("Results",), file)
    times = _get(data, ("Results", "Response Times"), file)
    level = _number(
        _get(data, ("Test Configuration", "Concurrent Users"), file),
        file,
        "Test Configuration: Concurrent Users",
    )
    p50 = times.get("50th") if isinstance(times, Mapping) else None
    p99 = times.get("99th") if isinstance(times, Mapping) else None
    config = _get(data, ("Test Configuration",), file)
    target = config.get("Target RPS") if isinstance(config, Mapping) else None
    duration = config.get("Duration") if isinstance(config, Mapping) else None
    usage = data.get("Resource Usage") or {}
    if not isinstance(usage, Mapping):
        raise DataError(f"Resource Usage: expected a mapping, got {usage!r}", file=file)
    bottlenecks = data.get("Bottlenecks") or []
    if not isinstance(bottlenecks, list) or not all(isinstance(b, str) for b in bottlenecks):
        raise DataError(f"Bottlenecks: expected a list of texts, got {bottlenecks!r}", file=file)
    return LoadRun(
        source=file,
        format="freeagentics",
        level=level,
        throughput=_number(
            _get(data, ("Results", "Actual RPS"), file), file, "Results: Actual RPS"
        ),
        p95_ms=_milliseconds(
            _get(data, ("Results", "Response Times", "95th"), file),
            file,
            "Results: Response Times: 95th",
        ),
        error_rate=_share(results.get("Error Rate", 0), file, "Results: Error Rate"),
        p50_ms=_milliseconds(p50, file, "Response Times: 50th") if p50 is not None else None,
        p99_ms=_milliseconds(p99, file, "Response Times: 99th") if p99 is not None else None,
        target_rps=(
            _number(target, file, "Test Configuration: Target RPS") if target is not None else None
        ),
        duration_s=(
            _seconds(duration, file, "Test Configuration: Duration")
            if duration is not None
            else None
        ),
        resource_usage=tuple(
            (str(name).lower(), _share(value, file, f"Resource Usage: {name}"))
            for name, value in usage.items()
        ),
        bottlenecks=tuple(bottlenecks),
    )


def parse_run(text: str, file: str, history: str | None = None, history_file: str = "") -> LoadRun:
    """A run in whichever format ``text`` is: a Locust CSV (by its header), a k6 summary
    (JSON with ``metrics``) or the FreeAgentics format (YAML or JSON with ``Results``)."""
    first = text.lstrip().split("\n", 1)[0]
    if first.startswith("Type,") or ",Request Count," in first:
        return parse_locust(text, file, history, history_file)
    data: Any = None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"is not JSON: {exc.msg}", file=file, row=exc.lineno) from None
        if isinstance(data, Mapping) and "metrics" in data:
            return parse_k6(text, file)
    else:
        try:
            data = load_yaml(text, file)
        except PlanError as exc:
            raise DataError(f"is not YAML: {exc}", file=file) from None
    if isinstance(data, Mapping) and "Results" in data:
        return parse_freeagentics(data, file)
    raise DataError(
        "is not a load-test result: expected a k6 summary (JSON with 'metrics'), a Locust "
        "*_stats.csv or the FreeAgentics benchmark format ('Test Configuration', 'Results')",
        file=file,
    )
