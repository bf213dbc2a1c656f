"""Only real times are read, and stray points far from the rest of a series are set aside."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest

from capplan.data import MetricFrame, read_file, to_panel
from capplan.data.cleaning import drop_strays
from capplan.data.times import find_strays
from capplan.errors import DataError

Write = Callable[[str, str], Path]
RANGE = "a time after 1970-01-01T00:00:00Z and before 2200-01-01T00:00:00Z"
T0 = np.datetime64("2024-03-01T00:00:00", "s")


def minutes(n: int, start: np.datetime64 = T0) -> np.ndarray:
    return start + np.arange(n, dtype=np.int64) * np.timedelta64(60, "s")


def csv_rows(n: int) -> list[str]:
    return [f"{t}Z,{50 + i % 7}" for i, t in enumerate(minutes(n))]


# --- words, infinities and numbers out of range -------------------------------------------------
@pytest.mark.parametrize("bad", ["inf", "infinity", "-infinity", "epoch", "nan", "+Inf", "now"])
def test_words_are_not_times(write: Write, bad: str) -> None:
    rows = csv_rows(5)
    path = write("w.csv", "\n".join(["timestamp,value", *rows[:2], f"{bad},1", *rows[2:]]) + "\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value).startswith(f"{path}:4 column timestamp: cannot parse '{bad}' as a time")


@pytest.mark.parametrize(
    ("bad", "unit"),
    [
        ("1e30", "seconds"),
        ("-1", "seconds"),
        ("0", "seconds"),
        ("7258118400", "seconds"),  # 2200-01-01 itself
        ("1e15", "seconds"),
    ],
)
def test_numbers_out_of_range(write: Write, bad: str, unit: str) -> None:
    path = write("n.csv", f"timestamp,value\n1709251200,1\n1709251260,2\n{bad},3\n1709251320,4\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value) == (
        f"{path}:4 column timestamp: '{bad}' is out of range as epoch {unit} (the unit of the "
        f"column's typical value): expected {RANGE}"
    )


def test_one_wild_number_does_not_rescale_the_others(write: Write) -> None:
    path = write("two.csv", "timestamp,value\n1709251200,1\n1e30,2\n")  # the median row decides
    with pytest.raises(DataError, match=r"two\.csv:3 column timestamp: '1e30' is out of range"):
        read_file(path)
    millis = write("ms.csv", "timestamp,value\n1709251200000,1\n1709251260000,2\n")
    assert read_file(millis).timestamps[-1] == np.datetime64("2024-03-01T00:01:00")


@pytest.mark.parametrize(
    "bad",
    ["10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2200-01-01"],
)
def test_iso_years_out_of_range(write: Write, bad: str) -> None:
    path = write("y.csv", f"series,timestamp,value\na,2024-01-01T00:00:00Z,1\na,{bad},2\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value) == (
        f"{path}:3 column timestamp: '{bad}' is out of range: expected {RANGE}"
    )


def test_400_digits_are_named_and_shortened(write: Write) -> None:
    digits = "9" * 400
    with pytest.raises(DataError) as err:
        read_file(write("t.csv", f"timestamp,value\n2024-01-01,1\n{digits},2\n"))
    assert str(err.value).endswith(f"t.csv:3 column timestamp: cannot parse '{'9' * 40}…' as "
                                   "a time; expected ISO 8601 such as 2024-01-01T00:00:00Z or "
                                   "epoch seconds")  # fmt: skip
    with pytest.raises(DataError, match=r"v.csv:3 column value: expected a number, got '9{40}…'$"):
        read_file(write("v.csv", f"timestamp,value\n2024-01-01,1\n2024-01-02,{digits}\n"))


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("'infinity'::TIMESTAMP", "cannot parse 'infinity' as a time"),
        ("'epoch'::TIMESTAMP", "'1970-01-01 00:00:00' is out of range"),
        ("'inf'::DOUBLE", "cannot parse 'inf' as a time"),
        ("1e30::DOUBLE", "'1e+30' is out of range"),
    ],
)
def test_parquet_times(tmp_path: Path, sql: str, message: str) -> None:
    path = tmp_path / "t.parquet"
    good = "'2024-01-01'::TIMESTAMP" if "TIMESTAMP" in sql else "1704067200::DOUBLE"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM (VALUES ({good}, 1.0), ({sql}, 2.0)) t(timestamp, value)) "
            f"TO '{path}' (FORMAT parquet)"
        )
    with pytest.raises(DataError, match=r"t\.parquet:2 column timestamp: " + re.escape(message)):
        read_file(path)


# --- Prometheus text and OpenMetrics ------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "row", "message"),
    [
        ("a.prom", "up 1 1709251200000\nup 1 NaN\n", 2, "the timestamp is not a time after"),
        ("b.prom", "up 1 1709251200000\nup 1 1e400\n", 2, "the timestamp is not a time after"),
        ("c.prom", "up 1 1709251200000\nup 1 " + "9" * 400 + "\n", 2, "not valid Prometheus"),
        ("d.prom", "up " + "9" * 400 + " 1709251200000\n", 1, "the value is not a number"),
        ("e.om", "# TYPE up gauge\nup 1 " + "1" * 20 + "\n# EOF\n", 2, "the timestamp is not"),
        ("f.om", "# TYPE up gauge\nup 1 1e30\n# EOF\n", 2, "the timestamp is not a time after"),
        ("g.om", "# TYPE up gauge\nup 1 0\n# EOF\n", 2, "the timestamp is not a time after"),
        ("h.om", "# TYPE up gauge\nup 1 NaN\n# EOF\n", 2, "not valid OpenMetrics"),
        ("i.prom", "# TYPE up gauge\nup 1 1709251200000\nup 2\n", 3, "a sample has no timestamp"),
    ],
)
def test_exposition_times_and_values(
    write: Write, name: str, text: str, row: int, message: str
) -> None:
    path = write(name, text)
    with pytest.raises(DataError) as err:
        read_file(path)
    assert err.value.row == row, str(err.value)
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}:{row}")


# --- line ends and compression ------------------------------------------------------------------
def test_bare_cr_line_ends(write: Write) -> None:
    path = write("cr.csv", "timestamp,value\r2024-01-01T00:00:00Z,1\r2024-01-01T00:01:00Z,2\r")
    assert read_file(path).values.tolist() == [1.0, 2.0]
    bad = write("crbad.csv", "timestamp,value\r2024-01-01,1\r\r2024-01-02,x\r")
    with pytest.raises(DataError, match=r"crbad\.csv:4 column value: expected a number, got 'x'"):
        read_file(bad)


def test_compression_is_told_by_content_not_name(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv.gz"
    plain.write_text("timestamp,value\n2024-01-01,1\n2024-01-02,oops\n")
    with pytest.raises(DataError, match=r"plain\.csv\.gz:3 column value: expected a number"):
        read_file(plain)
    plain.write_text("timestamp,value\n2024-01-01,1\n")
    assert read_file(plain).values.tolist() == [1.0]
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(b"timestamp,value\r\n2024-01-01,1\r\n2024-01-02,2\r\n"))
    assert read_file(packed).values.tolist() == [1.0, 2.0]
    cut = tmp_path / "cut.csv.gz"
    rows = "".join(f"{1709251200 + 60 * i},{i * 7919 % 1000}\n" for i in range(5000))
    cut.write_bytes(gzip.compress(f"timestamp,value\n{rows}".encode())[:2000])
    with pytest.raises(DataError, match=r"cut\.csv\.gz"):
        read_file(cut)


# --- stray points -------------------------------------------------------------------------------
def test_a_point_decades_before_the_rest_is_dropped_with_a_warning(write: Write) -> None:
    rows = csv_rows(3000)
    rows.insert(1500, "1971-06-01T00:00:00Z,55")
    frame = read_file(write("cpu.csv", "timestamp,value\n" + "\n".join(rows) + "\n"))
    assert len(frame) == 3000
    assert frame.timestamps.min() == T0
    stray = next(w for w in frame.warnings if w.code == "stray")
    assert str(stray).endswith(
        "cpu.csv series cpu: 1 point at 1971-06-01T00:00:00Z (value 55) lies 53 years before the "
        "rest of the series (2024-03-01T00:00Z to 2024-03-03T01:59Z); dropped as implausible"
    )


def test_strays_at_both_ends_and_runs_of_several() -> None:
    stamps = np.concatenate(
        [
            np.array(["1980-01-01T00:00", "1980-01-01T00:01"], dtype="datetime64[s]"),
            minutes(500),
            np.array(["2150-01-01T00:00"], dtype="datetime64[s]"),
        ]
    )
    frame = MetricFrame.from_series({"m": (stamps, np.arange(len(stamps), dtype=float))})
    kept = drop_strays(frame)
    assert len(kept) == 500
    messages = [w.message for w in kept.warnings]
    assert messages[0].startswith("2 points from 1980-01-01T00:00:00Z to 1980-01-01T00:01:00Z lie")
    assert messages[1].startswith(
        "1 point at 2150-01-01T00:00:00Z (value 502) lies 126 years after"
    )


@pytest.mark.parametrize(
    "stamps",
    [
        # two large parts far apart: neither is a few stray points
        np.concatenate([minutes(300, np.datetime64("2000-01-01T00:00", "s")), minutes(300)]),
        # fewer than ten points tell nothing
        np.array(["1975-01-01", "2024-03-01", "2024-03-02"], dtype="datetime64[s]"),
        # a month-long outage in a daily series of a year is data, not a stray
        np.concatenate(
            [
                np.datetime64("2023-01-01", "s") + np.arange(200) * np.timedelta64(86400, "s"),
                np.datetime64("2023-09-01", "s") + np.arange(100) * np.timedelta64(86400, "s"),
            ]
        ),
    ],
)
def test_what_is_not_a_stray(stamps: np.ndarray) -> None:
    codes = np.zeros(len(stamps), dtype=np.int32)
    assert find_strays(codes, np.sort(stamps).view(np.int64), 1) == []


def test_the_panel_sets_strays_aside_and_says_so() -> None:
    stamps = np.concatenate([np.array(["1970-01-01T00:00:00"], "datetime64[s]"), minutes(3000)])
    frame = MetricFrame.from_series({"cpu": (stamps, np.ones(len(stamps)))})
    panel = to_panel(frame, "1m")  # 56 years of minutes would be 29 million cells
    assert panel.values.shape == (1, 3000)
    assert [(w.code, w.series, w.count) for w in panel.warnings] == [("stray", "cpu", 1)]


def test_two_parts_decades_apart_are_refused_with_advice() -> None:
    stamps = np.concatenate([minutes(300, np.datetime64("1990-01-01T00:00", "s")), minutes(300)])
    frame = MetricFrame.from_series({"cpu": (stamps, np.ones(len(stamps)))})
    with pytest.raises(DataError) as err:
        to_panel(frame, "1m")
    assert str(err.value).startswith(
        "series cpu: spans 1990-01-01T00:00Z to 2024-03-01T04:59Z: 17,968,620 steps of 60s, "
        "over the limit of 5,000,000 steps per series; use a longer --step or a shorter --since"
    )
    assert to_panel(frame, "1d").n_steps == 12_479
