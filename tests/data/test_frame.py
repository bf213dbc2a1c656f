"""MetricFrame: construction, selection, concatenation, sorting and deduplication."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.data import MetricFrame, concat, series_id
from capplan.data.cleaning import prepare
from capplan.errors import DataError

T0 = np.datetime64("2024-01-01T00:00:00", "s")


def at(*seconds: int) -> np.ndarray:
    return T0 + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]")


def test_series_id_sorts_and_escapes_labels() -> None:
    assert series_id("up") == "up"
    assert (
        series_id("http_requests_total", {"method": "get", "code": 'a"b'})
        == 'http_requests_total{code="a\\"b",method="get"}'
    )


def test_from_arrays_factorizes_series() -> None:
    frame = MetricFrame.from_arrays(["b", "a", "b"], at(0, 0, 60), [1, 2, 3])
    assert frame.names == ("a", "b")
    assert frame.codes.tolist() == [1, 0, 1]
    assert frame.series.tolist() == ["b", "a", "b"]
    assert frame.point_counts().tolist() == [1, 2]
    assert frame.timestamps.dtype == np.dtype("datetime64[s]")


def test_timestamps_accept_epoch_seconds_and_finer_units() -> None:
    a = MetricFrame.from_arrays(["x"], [1704067200], [1.0])
    b = MetricFrame.from_arrays(["x"], np.array(["2024-01-01T00:00:00.900"], "datetime64[ms]"), [1])
    assert a.timestamps.tolist() == b.timestamps.tolist() == [T0.item()]


def test_invariants_are_checked() -> None:
    with pytest.raises(ValueError, match="same length"):
        MetricFrame(np.zeros(2, np.int32), ("a",), at(0), np.zeros(2), ({},), ("gauge",))
    with pytest.raises(ValueError, match="out of range"):
        MetricFrame(np.ones(1, np.int32), ("a",), at(0), np.zeros(1), ({},), ("gauge",))
    with pytest.raises(ValueError, match="kind must be one of"):
        MetricFrame(np.zeros(1, np.int32), ("a",), at(0), np.zeros(1), ({},), ("histo",))  # type: ignore[arg-type]


def test_select_by_glob() -> None:
    frame = MetricFrame.from_arrays(
        ["api_cpu", "api_mem", "db_cpu", 'x{a="1"}'], at(0, 0, 0, 0), [1, 2, 3, 4]
    )
    assert frame.select("api_*").names == ("api_cpu", "api_mem")
    assert frame.select("*_cpu").values.tolist() == [1.0, 3.0]
    assert frame.select("api_cpu", "db_*").names == ("api_cpu", "db_cpu")
    assert frame.select("nothing*").n_series == 0
    assert frame.select('x{a="1"}').names == ('x{a="1"}',)
    assert frame.select() is frame


def test_concat_merges_series_and_keeps_warnings() -> None:
    a = MetricFrame.from_series({"x": (at(0), [1]), "y": (at(0), [2])})
    b = MetricFrame.from_series({"y": (at(60), [3]), "z": (at(0), [4])})
    both = concat([a, b])
    assert both.names == ("x", "y", "z")
    assert both.get("y")[1].tolist() == [2.0, 3.0]
    assert concat([]).n_series == 0


def test_concat_refuses_a_gauge_and_a_counter_with_one_name() -> None:
    a = MetricFrame.from_series({"x": (at(0), [1])})
    b = MetricFrame.from_series({"x": (at(60), [3])}, kinds={"x": "counter"})
    with pytest.raises(DataError, match="series x: is a gauge in one source and a counter"):
        concat([a, b])


def test_sorted_is_stable_and_dedupe_keeps_the_last_row() -> None:
    frame = MetricFrame.from_arrays(
        ["b", "a", "b", "a", "a"], at(60, 60, 0, 0, 60), [1.0, 2.0, 3.0, 4.0, 5.0]
    )
    assert not frame.is_sorted
    ordered = frame.sorted()
    assert ordered.is_sorted
    assert ordered.values.tolist() == [4.0, 2.0, 5.0, 3.0, 1.0]
    deduped, dropped = frame.deduplicated()
    assert dropped == 1
    assert deduped.values.tolist() == [4.0, 5.0, 3.0, 1.0]


def test_prepare_reports_what_it_changed() -> None:
    frame = MetricFrame.from_arrays(["a", "a", "a", "b"], at(60, 0, 60, 0), [1.0, 2.0, 3.0, np.nan])
    out = prepare(frame, source="f.csv")
    assert out.names == ("a",)
    assert out.values.tolist() == [2.0, 3.0]
    assert [w.code for w in out.warnings] == ["all_missing", "unsorted", "duplicates"]
    assert (
        str(out.warnings[0])
        == "f.csv series b: has no numeric values (all missing or NaN); dropped"
    )
