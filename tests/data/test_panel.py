"""Regularization onto a step: aggregations, gaps, alignment, counters, and properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.data import MetricFrame, parse_step, rate, read_file, to_panel
from capplan.data.frame import grouping_order
from capplan.errors import DataError, UsageError

T0 = np.datetime64("2024-01-01T00:00:00", "s")


def at(*seconds: int) -> np.ndarray:
    return T0 + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]")


def one(values: list[float], seconds: list[int], kind: str = "gauge") -> MetricFrame:
    return MetricFrame.from_series(
        {"m": (at(*seconds), values)},
        kinds={"m": "counter" if kind == "counter" else "gauge"},
    )


# --- steps and aggregation names ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), (60, 60)]
)
def test_parse_step(text: str | int, seconds: int) -> None:
    assert parse_step(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "", "m5", "500ms", "0s", 0, -5])
def test_parse_step_rejects(bad: str | int) -> None:
    with pytest.raises(UsageError, match="step"):
        parse_step(bad)


def test_unknown_aggregation_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown aggregation 'avg'; available: mean, max"):
        to_panel(one([1.0], [0]), "5m", "avg")


# --- aggregations, exact --------------------------------------------------------------------
def test_aggregations_on_a_small_case() -> None:
    # bucket 00:00-00:05 holds 1, 2, 3, 10; bucket 00:05-00:10 holds 4
    frame = one([1, 2, 3, 10, 4], [0, 60, 120, 299, 300])
    expect = {
        "mean": [4.0, 4.0],
        "max": [10.0, 4.0],
        "min": [1.0, 4.0],
        "sum": [16.0, 4.0],
        "first": [1.0, 4.0],
        "last": [10.0, 4.0],
        "count": [4.0, 1.0],
        "median": [2.5, 4.0],
        "p95": [float(np.percentile([1, 2, 3, 10], 95)), 4.0],
        "p0": [1.0, 4.0],
        "p100": [10.0, 4.0],
    }
    for agg, values in expect.items():
        panel = to_panel(frame, "5m", agg)
        assert panel.values.tolist() == [values], agg
    assert to_panel(frame, "5m", "p95").values[0, 0] == pytest.approx(8.95)


def test_p95_with_buckets_of_different_sizes() -> None:
    rng = np.random.default_rng(3)
    sizes = [1, 5, 2, 5, 7, 1, 3]
    seconds = [b * 3600 + i for b, n in enumerate(sizes) for i in range(n)]
    values = rng.normal(size=len(seconds)).tolist()
    panel = to_panel(one(values, seconds), "1h", "p95")
    start = 0
    for b, n in enumerate(sizes):
        expect = np.percentile(values[start : start + n], 95)
        assert panel.values[0, b] == pytest.approx(expect)
        start += n


# --- gaps, alignment, duplicates, order ---------------------------------------------------------
def test_gaps_are_nan_and_counted_never_filled() -> None:
    panel = to_panel(one([1, 2, 5], [0, 300, 1200]), "5m")
    assert np.isnan(panel.values[0, 2:4]).all()
    assert panel.values[0, [0, 1, 4]].tolist() == [1.0, 2.0, 5.0]
    assert panel.gaps.tolist() == [2]
    assert panel.counts.tolist() == [[1, 1, 0, 0, 1]]


def test_right_aligned_with_per_series_end() -> None:
    frame = MetricFrame.from_series(
        {
            "long": (at(0, 3600, 7200, 10800), [1, 2, 3, 4]),
            "short": (at(86400, 90000), [7, 8]),
        }
    )
    panel = to_panel(frame, "1h")
    assert panel.ids == ["long", "short"]
    assert panel.n_steps == 4
    assert panel.values[1, -2:].tolist() == [7.0, 8.0]
    assert np.isnan(panel.values[1, :2]).all()
    assert panel.gaps.tolist() == [0, 0]  # leading NaN is not a gap
    assert panel.lengths.tolist() == [4, 2]
    assert panel.end.tolist() == at(10800, 90000).tolist()
    assert panel.timestamps(1).tolist() == at(79200, 82800, 86400, 90000).tolist()
    assert panel.future_timestamps(2).tolist() == [
        at(14400, 18000).tolist(),
        at(93600, 97200).tolist(),
    ]


def test_buckets_align_to_the_epoch_and_max_steps_keeps_the_tail() -> None:
    panel = to_panel(one([1, 2, 3, 4], [90, 400, 700, 1000]), "5m", max_steps=2)
    assert panel.end[0] == at(900)
    assert panel.values.tolist() == [[3.0, 4.0]]


def test_duplicates_are_aggregated_in_their_bucket() -> None:
    frame = one([1, 3], [0, 0])
    assert to_panel(frame, "1m").values.tolist() == [[2.0]]
    assert to_panel(frame, "1m", "last").values.tolist() == [[3.0]]
    deduped, dropped = frame.deduplicated()
    assert dropped == 1
    assert deduped.values.tolist() == [3.0]  # the last row wins


def test_unsorted_input_gives_the_same_panel() -> None:
    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 10_000, 500)
    codes = rng.integers(0, 7, 500)
    values = rng.normal(size=500)
    frame = MetricFrame.from_arrays([f"s{c}" for c in codes], at(*seconds), values)
    ordered = frame.sorted()
    for agg in ("mean", "last", "p90"):
        a, b = to_panel(frame, "5m", agg), to_panel(ordered, "5m", agg)
        np.testing.assert_array_equal(a.values, b.values)


def test_grouping_order_matches_lexsort_and_is_stable() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 50, 20_000).astype(np.int32)
    seconds = rng.integers(1_700_000_000, 1_700_000_000 + 100, 20_000) * 60
    expect = np.lexsort((seconds, codes))
    np.testing.assert_array_equal(grouping_order(codes, seconds), expect)
    wide = np.array([0, 2**62, 5, 0], dtype=np.int64)  # too wide to pack: falls back
    np.testing.assert_array_equal(grouping_order(np.zeros(4, np.int32), wide), [0, 3, 2, 1])


def test_time_zone_offsets_land_in_the_same_bucket(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text(
        "series,timestamp,value\nm,2024-01-01T01:00:00+01:00,1\nm,2024-01-01T00:00:00Z,3\n"
    )
    frame = read_file(path)
    assert [w.code for w in frame.warnings] == ["duplicates"]  # the same instant twice
    panel = to_panel(frame, "1h")
    assert panel.end.tolist() == at(0).tolist()
    assert panel.values.tolist() == [[3.0]]  # the later row wins


def test_a_panel_too_large_is_refused_before_allocating() -> None:
    frame = one([1.0, 2.0], [0, 40 * 365 * 86400])  # 40 years at a 1 s step
    with pytest.raises(
        DataError,
        match=r"series m: spans 2024-01-01T00:00Z to 2063-12-22T00:00Z: 1,261,440,001 steps "
        r"of 1s, over the limit of 5,000,000 steps per series; use a longer --step or a "
        r"shorter --since",
    ):
        to_panel(frame, "1s")
    assert to_panel(frame, "1s", max_steps=10).values.shape == (1, 10)


def test_many_series_too_large_in_all() -> None:
    stamps = T0 + np.array([0, 4_000_000], dtype=np.int64).astype("timedelta64[s]")
    frame = MetricFrame.from_series({f"s{i:02d}": (stamps, [1.0, 2.0]) for i in range(60)})
    with pytest.raises(DataError, match=r"series s00: .* which for 60 series is 240,000,060 "):
        to_panel(frame, "1s")


def test_empty_frame_gives_an_empty_panel() -> None:
    panel = to_panel(MetricFrame.empty(), "5m")
    assert panel.n_series == 0
    assert panel.values.shape == (0, 0)


# --- counters -----------------------------------------------------------------------------------
def test_counter_rate_with_a_reset() -> None:
    # 100 → 160 in 60 s: 1/s; then a reset to 40: the increase is 40 in 60 s
    frame = one([100, 160, 40, 100], [0, 60, 120, 180], kind="counter")
    rates = rate(frame)
    assert rates.kinds == ("gauge",)
    assert rates.values.tolist() == pytest.approx([1.0, 40 / 60, 1.0])
    assert rates.timestamps.tolist() == at(60, 120, 180).tolist()
    panel = to_panel(frame, "1m")
    assert panel.values.tolist() == [pytest.approx([1.0, 40 / 60, 1.0])]
    raw = to_panel(frame, "1m", counters="raw")
    assert raw.values.tolist() == [[100.0, 160.0, 40.0, 100.0]]


def test_rate_leaves_gauges_alone() -> None:
    frame = MetricFrame.from_series(
        {"c": (at(0, 10), [5, 15]), "g": (at(0, 10), [5, 1])}, kinds={"c": "counter"}
    )
    out = rate(frame)
    assert out.get("g")[1].tolist() == [5.0, 1.0]
    assert out.get("c")[1].tolist() == [1.0]


# --- properties ---------------------------------------------------------------------------------
points = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 20_000),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(points, st.sampled_from([1, 60, 300, 3600]))
def test_bucket_counts_add_up_and_mean_lies_within_the_bucket(
    rows: list[tuple[int, int, float]], step: int
) -> None:
    frame = MetricFrame.from_arrays(
        [f"s{c}" for c, _, _ in rows], at(*[t for _, t, _ in rows]), [v for _, _, v in rows]
    )
    mean = to_panel(frame, step, "mean")
    low = to_panel(frame, step, "min")
    high = to_panel(frame, step, "max")
    p95 = to_panel(frame, step, "p95")
    assert int(mean.counts.sum()) == len(rows)
    for i, name in enumerate(mean.ids):
        assert int(mean.counts[i].sum()) == sum(1 for c, _, _ in rows if f"s{c}" == name)
    filled = mean.counts > 0
    assert np.array_equal(filled, ~np.isnan(mean.values))
    tol = 1e-9 * (1 + np.abs(high.values[filled]))
    assert np.all(low.values[filled] - tol <= mean.values[filled])
    assert np.all(mean.values[filled] <= high.values[filled] + tol)
    assert np.all(low.values[filled] <= p95.values[filled] + tol)
    assert np.all(p95.values[filled] <= high.values[filled] + tol)
    spans = (mean.counts > 0).argmax(axis=1)
    assert np.array_equal(mean.gaps, (mean.counts == 0).sum(axis=1) - spans)
