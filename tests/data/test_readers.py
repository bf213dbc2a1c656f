"""Reading CSV (long and wide), Parquet and Prometheus/OpenMetrics files into frames."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest

from capplan.data import read_file, to_panel
from capplan.errors import DataError, UsageError

Write = Callable[[str, str], Path]


def ts(text: str) -> np.datetime64:
    return np.datetime64(text, "s")


# --- layouts ----------------------------------------------------------------------------------
def test_long_csv_labels_become_part_of_the_id(fixtures: Path) -> None:
    frame = read_file(fixtures / "long.csv")
    assert frame.names == (
        'cpu_usage{host="web-1"}',
        'cpu_usage{host="web-2"}',
        'http_requests_total{host="web-1"}',
    )
    assert frame.labels[1] == {"host": "web-2"}
    assert frame.kinds == ("gauge", "gauge", "counter")
    stamps, values = frame.get('cpu_usage{host="web-2"}')
    assert list(values) == [30.0, 40.0]
    assert list(stamps) == [ts("2024-01-01T00:00:00"), ts("2024-01-01T00:05:00")]
    assert frame.warnings == ()


def test_wide_csv_like_the_apm_runbook(fixtures: Path) -> None:
    frame = read_file(fixtures / "historical_metrics.csv")
    assert frame.names == ("requests_per_second", "avg_cpu_usage", "avg_memory_usage")
    assert len(frame) == 12
    stamps, values = frame.get("avg_cpu_usage")
    assert list(values) == [45.5, 47.1, 48.9, 52.3]
    assert stamps[-1] == ts("2024-01-05T00:00:00")
    panel = to_panel(frame, "1d")
    assert list(panel.gaps) == [1, 1, 1]  # 2024-01-04 is missing, and stays missing
    assert np.isnan(panel.values[0, -2])


def test_forced_columns_and_layout(write: Write) -> None:
    path = write("x.csv", "when,metric,reading\n2024-01-01 00:00,a,1\n2024-01-01 00:01,b,2\n")
    frame = read_file(path, timestamp_column="when", series_column="metric", value_column="reading")
    assert frame.names == ("a", "b")
    with pytest.raises(DataError, match="has no timestamp column 'nope'"):
        read_file(path, timestamp_column="nope")


def test_parquet_written_by_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'api_cpu' AS series, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) MINUTE "
        "AS timestamp, CAST(i AS DOUBLE) AS value FROM range(5) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    con.close()
    frame = read_file(path)
    assert frame.names == ("api_cpu",)
    assert list(frame.values) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert frame.timestamps[-1] == ts("2024-01-01T00:04:00")


def test_parquet_bad_value_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('2024-01-01', '1'), ('2024-01-02', 'x')) t(date, load)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    con.close()
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value) == f"{path}:2 column load: expected a number, got 'x'"


def test_openmetrics(fixtures: Path) -> None:
    frame = read_file(fixtures / "metrics.om")
    get = 'http_requests_total{code="200",method="get"}'
    assert get in frame.names
    assert frame.kinds[frame.index(get)] == "counter"
    assert not any("_created" in n for n in frame.names)
    mem = 'node_memory_used_bytes{instance="db-1"}'
    assert frame.kinds[frame.index(mem)] == "gauge"
    assert list(frame.get(mem)[0]) == [ts("2024-01-01T00:00:00"), ts("2024-01-01T00:01:00")]
    assert frame.kinds[frame.index('request_seconds_bucket{le="+Inf"}')] == "counter"
    assert frame.labels[frame.index(get)] == {"code": "200", "method": "get"}


def test_prometheus_text_with_millisecond_timestamps(fixtures: Path) -> None:
    frame = read_file(fixtures / "metrics.prom")
    post = 'http_requests_total{code="200",method="post"}'
    stamps, values = frame.get(post)
    assert list(values) == [10.0, 25.0]
    assert stamps[0] == ts("2024-01-01T00:00:00")
    assert list(frame.get("queue_depth")[1]) == [7.0, 9.0]  # the NaN staleness marker skipped
    assert [w.code for w in frame.warnings] == ["non_finite"]


def test_prometheus_sample_without_timestamp_names_series(write: Write) -> None:
    with pytest.raises(DataError, match="series up: a sample has no timestamp"):
        read_file(write("now.prom", "# TYPE up gauge\nup 1\n"))


def test_prometheus_syntax_error_names_the_line(write: Write) -> None:
    path = write("bad.prom", "# TYPE up gauge\nup 1 1000\nup abc 2000\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert err.value.row == 3
    assert str(err.value).startswith(f"{path}:3: not valid Prometheus text")


# --- time stamps and zones ----------------------------------------------------------------------
def test_offsets_are_converted_to_utc(write: Write) -> None:
    path = write(
        "tz.csv",
        "series,timestamp,value\n"
        "a,2024-01-01T01:00:00+01:00,1\n"
        "b,2024-01-01T00:00:00Z,2\n"
        "c,2024-01-01 00:00:00,3\n",
    )
    frame = read_file(path)
    assert set(frame.timestamps.tolist()) == {ts("2024-01-01T00:00:00").item()}


def test_naive_times_in_a_named_zone(write: Write) -> None:
    path = write("paris.csv", "timestamp,value\n2024-01-01 01:00:00,1\n2024-07-01 02:00:00,2\n")
    frame = read_file(path, tz="Europe/Paris")
    assert list(frame.timestamps) == [ts("2024-01-01T00:00:00"), ts("2024-07-01T00:00:00")]
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        read_file(path, tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("stamps", "unit"),
    [(["1704067200", "1704067500"], "s"), (["1704067200000", "1704067500000"], "ms")],
)
def test_epoch_seconds_and_milliseconds(write: Write, stamps: list[str], unit: str) -> None:
    path = write(f"epoch_{unit}.csv", "timestamp,value\n" + "".join(f"{t},1\n" for t in stamps))
    frame = read_file(path)
    assert list(frame.timestamps) == [ts("2024-01-01T00:00:00"), ts("2024-01-01T00:05:00")]


# --- real data: NAB -----------------------------------------------------------------------------
def test_nab_file_with_real_gaps(nab: Path) -> None:
    frame = read_file(nab / "ec2_cpu_utilization_ac20cd.csv")
    assert frame.names == ("ec2_cpu_utilization_ac20cd",)
    assert len(frame) == 4032
    assert frame.timestamps[0] == ts("2014-04-02T14:29:00")
    assert frame.timestamps[-1] == ts("2014-04-16T14:49:00")
    assert frame.warnings == ()
    panel = to_panel(frame, "5m")
    assert panel.gaps.tolist() == [5]
    assert panel.n_steps == 4037
    assert int(panel.counts.sum()) == 4032
    assert panel.end[0] == ts("2014-04-16T14:45:00")
    assert np.nanmean(panel.values) == pytest.approx(40.985085193452385)


def test_nab_file_with_duplicates_and_jitter(nab: Path) -> None:
    frame = read_file(nab / "ec2_disk_write_bytes_1ef3de.csv")
    assert len(frame) == 4719  # 4730 rows, 11 repeats of one timestamp merged
    [dupes] = [w for w in frame.warnings if w.code == "duplicates"]
    assert dupes.count == 11
    panel = to_panel(frame, "5m")
    assert panel.gaps.tolist() == [12]
    assert int(panel.counts.sum()) == 4719
    assert int(panel.counts.max()) == 2  # two samples jittered into one 5-minute bucket


def test_nab_unsorted_file_is_sorted_with_a_warning(nab: Path) -> None:
    frame = read_file(nab / "machine_temperature_system_failure.csv")
    codes = [w.code for w in frame.warnings]
    assert codes == ["unsorted", "duplicates"]
    assert len(frame) == 22683
    assert bool(np.all(np.diff(frame.timestamps.astype(np.int64)) > 0))


# --- bad input ----------------------------------------------------------------------------------
def test_non_numeric_value_names_file_row_and_column(write: Write) -> None:
    rows = "".join(f"2024-01-01 00:{m:02d}:00,{m}\n" for m in range(5))
    path = write("nab.csv", "timestamp,value\n" + rows + "2024-01-01 00:05:00,abc\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value) == f"{path}:7 column value: expected a number, got 'abc'"
    assert (err.value.row, err.value.column) == (7, "value")


def test_row_numbers_count_blank_lines(write: Write) -> None:
    path = write("gappy.csv", "timestamp,value\n\n2024-01-01,1\n\n2024-01-02,oops\n")
    with pytest.raises(DataError, match=r"gappy.csv:5 column value: expected a number, got 'oops'"):
        read_file(path)


def test_unparseable_timestamp(write: Write) -> None:
    path = write("t.csv", "timestamp,value\n2015-01-01 00:00,1\n2015-13-45 99:00,2\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value).startswith(
        f"{path}:3 column timestamp: cannot parse '2015-13-45 99:00' as a time"
    )


def test_empty_timestamp_cell(write: Write) -> None:
    with pytest.raises(DataError, match=r":3 column timestamp: expected a time, got an empty"):
        read_file(write("e.csv", "timestamp,value\n2024-01-01,1\n,2\n"))


def test_wide_non_numeric_names_the_right_column(write: Write) -> None:
    path = write("w.csv", "date,a,b\n2024-01-01,1,2\n2024-01-02,3,n/a\n2024-01-03,4,x1\n")
    with pytest.raises(DataError, match=r"w.csv:4 column b: expected a number, got 'x1'"):
        read_file(path)


def test_infinite_value_is_an_error(write: Write) -> None:
    with pytest.raises(DataError, match=r":2 column value: expected a number, got 'inf'"):
        read_file(write("inf.csv", "timestamp,value\n2024-01-01,inf\n"))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.csv", "", "is empty"),
        ("header.csv", "timestamp,value\n", "has no data rows"),
        ("empty.prom", "\n\n", "is empty"),
        ("notime.csv", "a,b\n1,2\n", "has no timestamp column"),
        ("data.xlsx", "x", "unknown file type"),
    ],
)
def test_files_without_usable_data(write: Write, name: str, text: str, message: str) -> None:
    path = write(name, text)
    with pytest.raises(DataError, match=message) as err:
        read_file(path)
    assert err.value.file == str(path)


def test_missing_file() -> None:
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file"):
        read_file("nowhere.csv")


def test_not_a_parquet_file(write: Write) -> None:
    with pytest.raises(DataError, match="cannot read as PARQUET"):
        read_file(write("fake.parquet", "timestamp,value\n"))


def test_all_missing_series_is_dropped_with_a_warning(write: Write) -> None:
    path = write("nan.csv", "date,good,bad\n2024-01-01,1,NaN\n2024-01-02,2,\n2024-01-03,,NA\n")
    frame = read_file(path)
    assert frame.names == ("good",)
    assert [(w.code, w.series, w.count) for w in frame.warnings] == [
        ("missing", None, 1),
        ("all_missing", "bad", 0),
    ]


def test_constant_and_negative_series_warn(write: Write) -> None:
    path = write("q.csv", "date,flat,cpu\n2024-01-01,5,1\n2024-01-02,5,-2\n2024-01-03,5,-1\n")
    frame = read_file(path)
    found = {(w.code, w.series, w.count) for w in frame.warnings}
    assert found == {("constant", "flat", 3), ("negative", "cpu", 2)}
    assert "series cpu: 2 negative values" in str(
        next(w for w in frame.warnings if w.code == "negative")
    )


def test_all_nan_file_leaves_an_empty_frame(write: Write) -> None:
    frame = read_file(write("allnan.csv", "timestamp,value\n2024-01-01,NaN\n2024-01-02,\n"))
    assert len(frame) == 0
    assert [w.code for w in frame.warnings] == ["all_missing"]


def test_ragged_row_names_its_line(write: Write) -> None:
    path = write("ragged.csv", "timestamp,value\n2024-01-01,1\n2024-01-02,2,3\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    assert str(err.value) == f"{path}:3: cannot read as CSV: expected 2 columns, found 3"


def test_duplicate_header_column(write: Write) -> None:
    with pytest.raises(DataError, match=r"d\.csv:1: column 'cpu' appears twice"):
        read_file(write("d.csv", "timestamp,cpu,cpu\n2024-01-01,1,2\n"))


def test_semicolons_and_gzip(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("timestamp;value\n2024-01-01;1.5\n")
    assert read_file(semi).values.tolist() == [1.5]
    packed = tmp_path / "packed.csv.gz"
    with gzip.open(packed, "wt") as fh:
        fh.write("timestamp,value\n2024-01-01,1\n2024-01-02,oops\n")
    assert read_file(tmp_path / "semi.csv").names == ("semi",)
    with pytest.raises(DataError, match=r"packed\.csv\.gz:3 column value"):
        read_file(packed)


def test_long_file_ordered_by_time_is_not_reported_unsorted(write: Write) -> None:
    rows = "".join(f"{s},2024-01-01 00:0{m}:00,{m}\n" for m in range(3) for s in ("a", "b"))
    frame = read_file(write("interleaved.csv", "series,timestamp,value\n" + rows))
    assert frame.warnings == ()
    assert frame.get("b")[1].tolist() == [0.0, 1.0, 2.0]
    backwards = write("back.csv", "series,timestamp,value\na,2024-01-02,1\na,2024-01-01,2\n")
    assert [w.code for w in read_file(backwards).warnings] == ["unsorted"]
