"""Reading Prometheus text exposition and OpenMetrics files (with sample timestamps).

Parsing is prometheus_client's (``prometheus_client.parser`` for the Prometheus text format,
``prometheus_client.openmetrics.parser`` for OpenMetrics, chosen by a ``.om`` suffix or a
closing ``# EOF`` line): those are the reference parsers, so nothing here re-implements the
grammar. This module turns their samples into a :class:`MetricFrame`:

* the series id is the sample name and its sorted labels, ``http_requests_total{method="get"}``;
* samples of counter families, and the cumulative ``_bucket``/``_count``/``_sum`` samples of
  histograms and summaries, are counters; everything else is a gauge; ``_created`` samples
  (creation times, not measurements) are skipped;
* every sample needs a timestamp (history, e.g. ``promtool tsdb dump-openmetrics``), and a
  real one (after 1970 and before 2200, see :mod:`capplan.data.times`): a sample without
  one, or with ``NaN``, ``1e400``, a 400-digit number or a 20-digit OpenMetrics timestamp,
  is an error naming the line and the series. NaN (staleness markers) and ±Inf values are
  skipped with a warning.

The parsers do not report line numbers; on a parse error the failing line is found again by
looking for the text the parser quotes, else by parsing line by line (only on the error path).
They raise more than ``ValueError`` on hostile input (``OverflowError`` on a 400-digit value,
others inside the OpenMetrics parser): every exception of a parse is a :class:`DataError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as prometheus_families

from capplan.data.cleaning import prepare
from capplan.data.frame import FrameWarning, MetricFrame, MetricKind, series_id
from capplan.data.times import EARLIEST_SECONDS, LATEST_SECONDS, TIME_RANGE
from capplan.errors import DataError

__all__ = ["read_exposition"]

_CUMULATIVE_SUFFIXES = ("_bucket", "_count", "_sum")
Parser = Callable[[str], Iterable[Any]]
SampleTest = Callable[[Any], bool]


def read_exposition(path: Path, text: str | None = None) -> MetricFrame:
    """A frame from a Prometheus/OpenMetrics text file (``text`` overrides reading ``path``)."""
    name = str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"is not UTF-8 text ({exc.reason})", file=name) from None
    if not text.strip():
        raise DataError("is empty", file=name)
    is_openmetrics = path.suffix.lower() in (".om", ".openmetrics") or text.rstrip().endswith(
        "# EOF"
    )
    parser: Parser = openmetrics_families if is_openmetrics else prometheus_families
    fmt = "OpenMetrics" if is_openmetrics else "Prometheus text"
    try:
        families = list(parser(text))
    except Exception as exc:  # the reference parsers raise more than ValueError
        line = _find_line(text, str(exc), parser, is_openmetrics)
        problem = str(exc)[:200] or type(exc).__name__
        raise DataError(f"not valid {fmt}: {problem}", file=name, row=line) from None

    samples = _Samples(name, text, parser, is_openmetrics)
    for family in families:
        for sample in family.samples:
            samples.add(family.type, sample)
    return samples.frame()


class _Samples:
    """The samples of one file, checked and gathered into the columns of a frame."""

    def __init__(self, name: str, text: str, parser: Parser, is_openmetrics: bool) -> None:
        self.name, self.text, self.parser, self.is_openmetrics = name, text, parser, is_openmetrics
        self.position: dict[str, int] = {}
        self.kinds: list[MetricKind] = []
        self.labels: list[dict[str, str]] = []
        self.codes: list[int] = []
        self.stamps: list[int] = []
        self.values: list[float] = []
        self.non_finite = 0

    def _line(self, test: SampleTest) -> int | None:
        return _sample_line(self.text, self.parser, self.is_openmetrics, test)

    def add(self, family_type: str, sample: Any) -> None:
        """One sample of a family of type ``family_type``; a bad one is a DataError."""
        seconds = _seconds(sample.timestamp)
        if sample.timestamp is not None and seconds is None:
            unit = "s" if self.is_openmetrics else "s (Prometheus text timestamps are in ms)"
            raise DataError(
                f"the timestamp is not {TIME_RANGE}; got {_shown(sample.timestamp)} {unit}",
                file=self.name,
                row=self._line(_bad_time),
                series=series_id(sample.name, sample.labels),
            )
        if sample.name.endswith("_created") and family_type in ("counter", "histogram", "summary"):
            return
        sid = series_id(sample.name, sample.labels)
        if seconds is None:
            raise DataError(
                "a sample has no timestamp; capplan ingests history, so every sample needs "
                "one (export with e.g. promtool tsdb dump-openmetrics)",
                file=self.name,
                row=self._line(_no_time),
                series=sid,
            )
        code = self.position.get(sid)
        if code is None:
            code = self.position[sid] = len(self.kinds)
            self.kinds.append(_kind(family_type, sample.name))
            self.labels.append(dict(sample.labels))
        value = _value(sample.value)
        if value is None:
            raise DataError(
                f"the value is not a number that fits a float; got {_shown(sample.value)}",
                file=self.name,
                row=self._line(_bad_value),
                series=sid,
            )
        if not math.isfinite(value):
            self.non_finite += 1
            return
        self.codes.append(code)
        self.stamps.append(math.floor(seconds))
        self.values.append(value)

    def frame(self) -> MetricFrame:
        """The samples added, as a prepared frame."""
        name, non_finite = self.name, self.non_finite
        if not self.position:
            raise DataError("has no samples", file=name)
        frame = MetricFrame(
            np.asarray(self.codes, dtype=np.int32),
            tuple(self.position),
            np.asarray(self.stamps, dtype=np.int64).astype("datetime64[s]"),
            np.asarray(self.values, dtype=np.float64),
            tuple(self.labels),
            tuple(self.kinds),
        ).compact()
        if non_finite:
            frame = frame.with_warnings(
                FrameWarning(
                    "non_finite",
                    f"{non_finite} NaN or Inf samples (staleness markers) skipped",
                    file=name,
                    count=non_finite,
                )
            )
        if frame.n_series == 0:
            raise DataError("has no finite sample values", file=name)
        return prepare(frame, source=name)


def _kind(family_type: str, sample_name: str) -> MetricKind:
    if family_type == "counter":
        return "counter"
    if family_type in ("histogram", "summary") and sample_name.endswith(_CUMULATIVE_SUFFIXES):
        return "counter"
    return "gauge"


def _seconds(stamp: object) -> float | None:
    """Epoch seconds of a sample's timestamp (a float, or an OpenMetrics ``Timestamp``), or
    None when there is none or it is not a real time."""
    if stamp is None:
        return None
    try:
        seconds = float(stamp)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if EARLIEST_SECONDS < seconds < LATEST_SECONDS else None


def _value(value: object) -> float | None:
    """A sample value as a float (NaN and ±Inf included), or None when it does not fit one."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _bad_value(sample: Any) -> bool:
    return _value(sample.value) is None


def _bad_time(sample: Any) -> bool:
    return sample.timestamp is not None and _seconds(sample.timestamp) is None


def _no_time(sample: Any) -> bool:
    return sample.timestamp is None


def _shown(stamp: object) -> str:
    """A timestamp as quoted in a message, cut to 40 characters."""
    try:
        text = str(stamp)
    except ValueError:  # str() of an int over 4,300 digits
        text = "(a number too long to show)"
    return text if len(text) <= 40 else text[:40] + "…"


def _find_line(text: str, message: str, parser: Parser, is_openmetrics: bool) -> int | None:
    """The 1-based line a parse error is about, or None when it cannot be told."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped in message:
            return number
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            list(parser(line + "\n# EOF\n" if is_openmetrics else line + "\n"))
        except Exception:  # the reference parsers raise more than ValueError
            return number
    return None


def _sample_line(text: str, parser: Parser, is_openmetrics: bool, test: SampleTest) -> int | None:
    """The 1-based line of the first sample passing ``test``, parsing line by line (only on
    the error path); None when it cannot be told."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            families = list(parser(line + "\n# EOF\n" if is_openmetrics else line + "\n"))
        except Exception:  # the whole text parsed: a lone line may not (no # TYPE)
            continue
        if any(test(sample) for family in families for sample in family.samples):
            return number
    return None
