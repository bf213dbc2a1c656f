"""Prometheus ``query_range`` answers read into metric frames, trusting nothing in them.

An answer must be JSON ``{"status": "success", "data": {"resultType": "matrix", "result":
[...]}}`` whose every item has a ``metric`` of string labels and ``values`` of ``[time,
"value"]`` pairs: times finite numbers within the range asked (one step of slack either
side), values numbers or numeric strings (``"NaN"`` and ``"+Inf"`` included), and no series
with more than ``points_ratio`` times the points asked for. Anything else is a
:class:`~capplan.errors.SourceError` naming the query and what was wrong, never another
exception.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from capplan.data.frame import MetricFrame, series_id
from capplan.errors import SourceError

__all__ = ["AskedRange", "read_answer"]

_MAX_WARNINGS = 20
_SHOWN = 200  # characters of a bad piece of the answer shown in a message


@dataclass(frozen=True)
class AskedRange:
    """What one request asked for: the query, ``[start, end]`` every ``step`` seconds, and
    the name replacing the series' metric name (if any)."""

    query: str
    start: float
    end: float
    step: float
    name: str | None = None

    @property
    def points(self) -> int:
        """Points per series asked for."""
        return math.floor((self.end - self.start) / self.step + 1e-9) + 1


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."


def read_answer(
    status: int, body: bytes, asked: AskedRange, *, where: str, points_ratio: float = 2.0
) -> tuple[MetricFrame, list[str]]:
    """The frame of a ``query_range`` answer and the warnings Prometheus attached to it (set
    when the answer is partial, e.g. a Thanos store or a Mimir ingester did not respond)."""
    data, warnings = _payload(status, body, where, asked.query)
    return _matrix(data, asked, points_ratio), warnings


def _payload(status: int, body: bytes, where: str, query: str) -> tuple[dict[str, Any], list[str]]:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        snippet = body[:_SHOWN].decode("utf-8", "replace").replace("\n", " ")
        raise SourceError(
            f"Prometheus at {where} answered HTTP {status} with something that is not JSON "
            f"(query {query}): {snippet!r}"
        ) from None
    if not isinstance(parsed, dict):
        raise SourceError(
            f"Prometheus at {where} answered with unexpected JSON (query {query}): {_short(parsed)}"
        )
    if parsed.get("status") != "success":
        kind, error = parsed.get("errorType", "error"), parsed.get("error", parsed)
        raise SourceError(
            f"Prometheus rejected the query ({str(kind)[:_SHOWN]}): "
            f"{str(error)[: 2 * _SHOWN]} (query {query})"
        )
    data = parsed.get("data")
    if not isinstance(data, dict) or "result" not in data:
        raise SourceError(
            f"Prometheus at {where} answered without data.result (query {query}): {_short(parsed)}"
        )
    raw = parsed.get("warnings") or []
    items = raw if isinstance(raw, list) else [raw]
    warnings = [str(w)[: 2 * _SHOWN] for w in items[:_MAX_WARNINGS]]
    return data, warnings


def _matrix(data: dict[str, Any], asked: AskedRange, points_ratio: float) -> MetricFrame:
    kind = data.get("resultType")
    if kind != "matrix":
        raise SourceError(
            f"query_range returned a {_short(kind)}, expected a matrix: {asked.query}"
        )
    result = data["result"]
    if not isinstance(result, list):
        raise SourceError(
            f"the answer to {asked.query} has a result that is not a list: {_short(result)}"
        )
    most = math.ceil(points_ratio * asked.points)
    series: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    labels: dict[str, dict[str, str]] = {}
    for index, item in enumerate(result):
        where = f"series {index + 1} of the answer to {asked.query}"
        metric, pairs = _item(item, where)
        if len(pairs) > most:
            raise SourceError(
                f"{where} has {len(pairs):,} points, more than the {most:,} allowed "
                f"({points_ratio:g} x the {asked.points:,} asked for: {_when(asked.start)} to "
                f"{_when(asked.end)} every {asked.step:g} s); nothing was stored"
            )
        stamps, values = _points(pairs, asked, where)
        name = asked.name or metric.pop("__name__", None) or "value"
        metric.pop("__name__", None)
        sid = series_id(name, metric)
        if sid in series:
            raise SourceError(f"{where} repeats the labels of an earlier series: {sid}")
        series[sid] = (stamps, values)
        labels[sid] = metric
    if not series:
        return MetricFrame.empty()
    return MetricFrame.from_series(series, labels=labels)


def _item(item: object, where: str) -> tuple[dict[str, str], list[Any]]:
    if not isinstance(item, dict):
        raise SourceError(f"{where} is not an object with metric and values: {_short(item)}")
    if "metric" not in item or "values" not in item:
        missing = " and ".join(k for k in ("metric", "values") if k not in item)
        raise SourceError(f"{where} has no {missing}: {_short(item)}")
    metric, pairs = item["metric"], item["values"]
    if not isinstance(metric, dict):
        raise SourceError(f"{where} has labels that are not an object: {_short(metric)}")
    for key, value in metric.items():
        if not isinstance(value, str) or not (_text_ok(key) and _text_ok(value)):
            raise SourceError(
                f"{where} has label {_short(key)} = {_short(value)}: expected a string"
            )
    if not isinstance(pairs, list):
        raise SourceError(f"{where} has values that are not a list: {_short(pairs)}")
    return dict(metric), pairs


def _text_ok(text: str) -> bool:
    """Text that can be stored: valid Unicode (no lone surrogate) and no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _points(
    pairs: list[Any], asked: AskedRange, where: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    stamps = np.empty(len(pairs), dtype=np.float64)
    values = np.empty(len(pairs), dtype=np.float64)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise SourceError(f"{where}: point {i + 1} is not a [time, value] pair: {_short(pair)}")
        stamps[i] = _number(pair[0], "time", where, i, text=False)
        values[i] = _number(pair[1], "value", where, i, text=True)
    if stamps.size:
        low, high = asked.start - asked.step, asked.end + asked.step
        if not np.isfinite(stamps).all():
            i = int(np.argmin(np.isfinite(stamps)))
            raise SourceError(f"{where}: point {i + 1} has time {stamps[i]}, not a finite time")
        outside = (stamps < low) | (stamps > high)
        if outside.any():
            i = int(np.argmax(outside))
            raise SourceError(
                f"{where}: point {i + 1} has time {_short(pairs[i][0])}, outside the range "
                f"asked for ({_when(asked.start)} to {_when(asked.end)})"
            )
    return np.floor(stamps).astype(np.int64), values


def _number(item: object, what: str, where: str, i: int, *, text: bool) -> float:
    """A JSON number (or, for a value, the numeric string Prometheus sends) as a float."""
    if _is_number(item) or (text and isinstance(item, str)):
        try:
            return float(item)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            pass
    raise SourceError(f"{where}: point {i + 1} has a {what} that is not a number: {_short(item)}")


def _when(seconds: float) -> str:
    """Unix seconds as ISO 8601 UTC (``2026-03-01T12:00:00Z``)."""
    try:
        stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return f"{seconds:g}"
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
