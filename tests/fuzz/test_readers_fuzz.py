"""Fuzz: the metric file readers (CSV, Parquet, Prometheus text, OpenMetrics) on arbitrary text
and bytes and on near-valid files with mutated timestamps, values, labels and line ends.

Every input must give a clean :class:`~capplan.errors.DataError` (or another CapplanError)
or a valid frame: sorted, real times only, finite values; a valid frame must regularize
onto a daily panel too. Files are written to one session folder and overwritten per example.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from capplan.data import MetricFrame, read_file, to_panel
from capplan.data.times import EARLIEST_SECONDS, LATEST_SECONDS

SUFFIXES = [".csv", ".tsv", ".csv.gz", ".prom", ".om", ".txt", ".parquet"]
HOSTILE_TIMES = [
    "inf", "-inf", "infinity", "-infinity", "+Infinity", "epoch", "now", "nan", "NaN", "1e30",
    "-1e30", "1e400", "9" * 400, "1" * 20, "0", "-1", "10000-01-01T00:00:00Z",
    "0000-01-01", "-0044-03-15", "1969-12-31T23:59:59Z", "2199-12-31T23:59:59Z",
    "294247-01-10T04:00:54Z", "2024-13-01", "2024-02-30", "", " ", "1709251200.5",
    "1709251200000", "1709251200000000", "1709251200000000000", "2024-03-01 00:00:00+14:00",
    "2024-03-01T00:00:00-12:00", "1970-01-01T00:00:01Z", "\x00", "é", '"', "2024-03-01\r",
]  # fmt: skip
HOSTILE_VALUES = [
    "inf", "-inf", "nan", "NaN", "1e400", "-1e400", "9" * 400, "1e308", "-1e308", "", "NA",
    "null", "0x10", "1_000", "abc", "5e-324", "-0", '"1"', "1,5", "\x00", "+Inf", "١٢",
]  # fmt: skip
HOSTILE_LABELS = ["", " ", "a", '"', "\\", "\n", "é", "a=b", "{}", ",", "\x00", "le"]
LINE_ENDS = ["\n", "\r\n", "\r"]


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, ``bad`` otherwise."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: good if ok else bad)


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readers_fuzz")


def valid_frame(frame: MetricFrame) -> None:
    """What every frame a reader returns must be (and regularizable onto days)."""
    assert frame.is_sorted
    seconds = frame.timestamps.view(np.int64)
    assert bool(np.all((seconds > EARLIEST_SECONDS) & (seconds < LATEST_SECONDS)))
    assert bool(np.all(np.isfinite(frame.values)))
    if len(frame):
        to_panel(frame, "1d")


def read_and_check(path: Path) -> MetricFrame:
    frame = read_file(path)
    valid_frame(frame)
    return frame


def outcome(clean: Callable[..., Any], path: Path) -> None:
    got = clean(lambda: read_and_check(path), f"{path.name}: {path.read_bytes()[:80]!r}")
    event("valid frame" if got is not None else "clean error")


GOOD_SECONDS = st.integers(min_value=1_700_000_000, max_value=1_700_000_000 + 86_400 * 30)
TIME_FORMATS = {
    "iso": lambda s: str(np.datetime64(s, "s")) + "Z",
    "naive": lambda s: str(np.datetime64(s, "s")).replace("T", " "),
    "seconds": str,
    "milliseconds": lambda s: str(s * 1000),
}
BAD_TIME = st.sampled_from(HOSTILE_TIMES) | st.text(max_size=30)
GOOD_VALUE = st.floats(-1e6, 1e6, allow_nan=False).map(repr)
BAD_VALUE = st.sampled_from(HOSTILE_VALUES) | st.text(max_size=20)
GOOD_LABEL = st.sampled_from(["a", "b", "web-1"])
BAD_LABEL = st.sampled_from(HOSTILE_LABELS) | st.text(max_size=8)
VALUE_TEXT = mostly(GOOD_VALUE, BAD_VALUE)
LABEL_TEXT = mostly(GOOD_LABEL, BAD_LABEL)
GOOD_ROWS = st.lists(st.tuples(GOOD_SECONDS, GOOD_VALUE, GOOD_LABEL), min_size=1, max_size=40)
# (row, field, text): at most a few rows of a good file made hostile
MUTATIONS = st.lists(
    st.integers(0, 39).flatmap(
        lambda row: st.one_of(
            st.tuples(st.just(row), st.just(0), BAD_TIME),
            st.tuples(st.just(row), st.just(1), BAD_VALUE),
            st.tuples(st.just(row), st.just(2), BAD_LABEL),
        )
    ),
    max_size=3,
)


def mutated(rows: list[tuple[Any, ...]], mutations: list[tuple[int, int, Any]]) -> list[list[Any]]:
    out = [list(r) for r in rows]
    for row, field, text in mutations:
        out[row % len(out)][field] = text
    return out


# --- anything at all ----------------------------------------------------------------------------
@given(st.sampled_from(SUFFIXES), st.text(max_size=400))
def test_any_text(clean: Callable[..., Any], folder: Path, suffix: str, text: str) -> None:
    path = folder / f"text{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(clean, path)


@given(st.sampled_from(SUFFIXES), st.binary(max_size=400), st.booleans())
def test_any_bytes(
    clean: Callable[..., Any], folder: Path, suffix: str, data: bytes, packed: bool
) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(gzip.compress(data) if packed else data)
    outcome(clean, path)


# --- near-valid CSV -----------------------------------------------------------------------------
@given(
    layout=st.sampled_from(["long", "wide"]),
    rows=GOOD_ROWS,
    time_format=st.sampled_from(sorted(TIME_FORMATS)),
    mutations=MUTATIONS,
    end=st.sampled_from(LINE_ENDS),
    delimiter=st.sampled_from([",", ";", "\t"]),
    packed=st.booleans(),
    name=st.sampled_from(["m.csv", "m.csv.gz", "m.txt.csv"]),
)
def test_near_valid_csv(
    clean: Callable[..., Any],
    folder: Path,
    layout: str,
    rows: list[tuple[int, str, str]],
    time_format: str,
    mutations: list[tuple[int, int, str]],
    end: str,
    delimiter: str,
    packed: bool,
    name: str,
) -> None:
    shown = TIME_FORMATS[time_format]
    cells = mutated([(shown(t), v, label) for t, v, label in rows], mutations)
    if layout == "long":
        lines = ["series,timestamp,value,host"]
        lines += [f"cpu,{t},{v},{label}" for t, v, label in cells]
    else:
        lines = ["timestamp,cpu_total,mem"]
        lines += [f"{t},{v},{label}" for t, v, label in cells]
    text = end.join(line.replace(",", delimiter) for line in lines) + end
    data = text.encode("utf-8", errors="surrogatepass")
    path = folder / name
    path.write_bytes(gzip.compress(data) if packed else data)
    outcome(clean, path)


# --- near-valid Parquet -------------------------------------------------------------------------
PARQUET_TIMES = mostly(
    GOOD_SECONDS.map(lambda s: ("seconds", float(s))),
    st.sampled_from(
        [
            ("seconds", float("inf")),
            ("seconds", float("nan")),
            ("seconds", 1e30),
            ("seconds", -1.0),
            ("seconds", 0.0),
            ("sql", "'infinity'::TIMESTAMP"),
            ("sql", "'-infinity'::TIMESTAMP"),
            ("sql", "'epoch'::TIMESTAMP"),
            ("sql", "'0001-01-01'::TIMESTAMP"),
            ("sql", "'9999-12-31'::TIMESTAMP"),
            ("sql", "NULL"),
        ]
    ),
)


def parquet_time(kind: str, stamp: object, typed: str) -> str:
    if kind == "sql":
        return str(stamp) if typed == "TIMESTAMP" else f"CAST({stamp} AS VARCHAR)"
    number = float(stamp)  # type: ignore[arg-type]
    if typed == "DOUBLE":
        return f"'{number!r}'::DOUBLE"
    if typed == "TIMESTAMP":
        return f"TRY_CAST(to_timestamp('{number!r}'::DOUBLE) AS TIMESTAMP)"
    return f"'{number!r}'"


@given(
    rows=st.lists(st.tuples(PARQUET_TIMES, VALUE_TEXT, LABEL_TEXT), min_size=1, max_size=20),
    typed=st.sampled_from(["DOUBLE", "TIMESTAMP", "VARCHAR"]),
)
def test_near_valid_parquet(
    clean: Callable[..., Any],
    folder: Path,
    rows: list[tuple[tuple[str, object], str, str]],
    typed: str,
) -> None:
    path = folder / "m.parquet"

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''").replace("\x00", "") + "'"

    values = ", ".join(
        f"({parquet_time(kind, stamp, typed)}, {quoted(v)}, {quoted(label)})"
        for (kind, stamp), v, label in rows
    )
    with duckdb.connect() as con:
        try:
            con.execute(
                f"COPY (SELECT 'cpu' AS series, * FROM (VALUES {values}) t(timestamp, value, "
                f"host)) TO '{path}' (FORMAT parquet)"
            )
        except duckdb.Error:  # a row DuckDB itself will not write: nothing to read
            return
    outcome(clean, path)


# --- near-valid Prometheus text and OpenMetrics -------------------------------------------------
BAD_EXPOSITION_TIME = st.sampled_from(
    [
        "NaN", "+Inf", "-Inf", "1e400", "9" * 400, "1" * 20, "1" * 20 + ".5", "1e30", "-1",
        "0", "", "1.5e3", "0x10", "1_0", "12345678901234567890123",
    ]
) | st.text(max_size=12)  # fmt: skip
BAD_EXPOSITION_VALUE = st.sampled_from(
    ["NaN", "+Inf", "-Inf", "1e400", "9" * 400, "x", "", "1_0", "0x1"]
) | st.text(max_size=12)
GOOD_SAMPLES = st.lists(st.tuples(GOOD_SECONDS, GOOD_VALUE, GOOD_LABEL), min_size=1, max_size=30)
EXPOSITION_MUTATIONS = st.lists(
    st.integers(0, 29).flatmap(
        lambda row: st.one_of(
            st.tuples(st.just(row), st.just(0), BAD_EXPOSITION_TIME),
            st.tuples(st.just(row), st.just(1), BAD_EXPOSITION_VALUE),
            st.tuples(st.just(row), st.just(2), BAD_LABEL),
        )
    ),
    max_size=3,
)


@given(
    samples=GOOD_SAMPLES,
    mutations=EXPOSITION_MUTATIONS,
    openmetrics=st.booleans(),
    kind=st.sampled_from(["gauge", "counter", "untyped", "histogram"]),
    end=st.sampled_from(LINE_ENDS),
)
def test_near_valid_exposition(
    clean: Callable[..., Any],
    folder: Path,
    samples: list[tuple[object, str, str]],
    mutations: list[tuple[int, int, str]],
    openmetrics: bool,
    kind: str,
    end: str,
) -> None:
    name = "http_requests_total" if kind == "counter" else "queue_depth"
    lines = [f"# TYPE {name.removesuffix('_total')} {kind}"]
    for stamp, value, label in mutated(samples, mutations):
        if isinstance(stamp, int):  # seconds in OpenMetrics, milliseconds in Prometheus text
            stamp = stamp if openmetrics else stamp * 1000
        escaped = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{name}{{host="{escaped}"}} {value} {stamp}')
    if openmetrics:
        lines.append("# EOF")
    path = folder / ("m.om" if openmetrics else "m.prom")
    path.write_text(end.join(lines) + end, encoding="utf-8", errors="surrogatepass")
    outcome(clean, path)
