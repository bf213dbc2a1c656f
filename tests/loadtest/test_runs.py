"""Reading k6, Locust and FreeAgentics-format results, and the capacity at the limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import DataError
from capplan.loadtest import Limits, LoadRun, analyse, capacity_at_limits, parse_k6, read_runs
from capplan.loadtest.runs import parse_locust, parse_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "loadtests"


def run(level: float, rps: float, p95: float, errors: float = 0.0) -> LoadRun:
    return LoadRun(f"n{level:g}", "test", level, rps, p95, errors)


def test_k6_summary_export() -> None:
    text = json.dumps(
        {
            "metrics": {
                "http_reqs": {"count": 1800, "rate": 60.5},
                "http_req_duration": {"avg": 90, "med": 80, "p(90)": 150, "p(95)": 210.5},
                "http_req_failed": {"passes": 18, "fails": 1782, "value": 0.01},
                "vus_max": {"value": 25, "min": 25, "max": 25},
            },
            "root_group": {"name": "", "groups": {}, "checks": {}},
        }
    )
    got = parse_k6(text, "a.json")
    assert (got.level, got.throughput, got.p95_ms, got.error_rate) == (25, 60.5, 210.5, 0.01)
    assert got.p50_ms == 80


def test_k6_handle_summary_json_keeps_figures_under_values() -> None:
    text = json.dumps(
        {
            "metrics": {
                "http_reqs": {"type": "counter", "values": {"count": 10, "rate": 2.0}},
                "http_req_duration": {"values": {"p(95)": 120.0, "med": 50.0}},
                "http_req_failed": {"values": {"rate": 0.5, "passes": 5, "fails": 5}},
                "vus": {"values": {"value": 1, "min": 1, "max": 4}},
            }
        }
    )
    got = parse_run(text, "b.json")
    assert (got.format, got.level, got.throughput, got.p95_ms, got.error_rate) == (
        "k6",
        4,
        2.0,
        120.0,
        0.5,
    )


def test_k6_without_a_level_names_the_file() -> None:
    text = json.dumps({"metrics": {"http_reqs": {"rate": 1}, "http_req_duration": {"avg": 1}}})
    with pytest.raises(DataError, match=r"c\.json.*vus_max"):
        parse_k6(text, "c.json")


def test_locust_stats_take_the_aggregated_row_and_the_history_user_count() -> None:
    stats = (
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
        "GET,/,100,1,50,60,10,300,10,9.5,0.1,50,60,70,80,90,120,150,200,250,300,300\n"
        ",Aggregated,200,4,55,65,10,400,10,19.0,0.4,55,60,70,80,95,130,160,210,260,400,400\n"
    )
    history = "Timestamp,User Count,Type,Name,Requests/s\n1,5,,Aggregated,3\n2,12,,Aggregated,19\n"
    got = parse_locust(stats, "x_stats.csv", history, "x_stats_history.csv")
    assert (got.level, got.throughput, got.p95_ms, got.error_rate) == (12, 19.0, 130, 0.02)


def test_locust_bad_cell_names_file_row_and_column() -> None:
    stats = "Type,Name,Request Count,Failure Count,Requests/s,95%\n,Aggregated,10,0,abc,5\n"
    with pytest.raises(DataError) as info:
        parse_locust(stats, "y_stats.csv", "User Count,Name\n3,Aggregated\n", "h.csv")
    assert str(info.value) == "y_stats.csv:2 column Requests/s: expected a number, got 'abc'"


def test_locust_without_history_says_what_is_missing() -> None:
    stats = "Type,Name,Request Count,Failure Count,Requests/s,95%\n,Aggregated,10,0,1,5\n"
    with pytest.raises(DataError, match=r"_stats_history\.csv"):
        parse_locust(stats, "z_stats.csv", None)


def test_freeagentics_format_as_the_guide_prints_it() -> None:
    text = """\
Test Configuration:
  Duration: 5 minutes
  Concurrent Users: 100
  Target RPS: 200

Results:
  Actual RPS: 195
  Response Times:
    50th: 150ms
    95th: 450ms
    99th: 800ms
  Error Rate: 0.2%
"""
    got = parse_run(text, "guide.yaml")
    assert got.format == "freeagentics"
    assert (got.level, got.throughput, got.p95_ms, got.p99_ms) == (100, 195, 450, 800)
    assert got.error_rate == pytest.approx(0.002)


def test_freeagentics_missing_field_is_named() -> None:
    with pytest.raises(DataError, match=r"f\.yaml: 'Results: Response Times' is missing"):
        parse_run("Test Configuration: {Concurrent Users: 3}\nResults: {}\n", "f.yaml")


def test_unknown_text_lists_the_formats() -> None:
    with pytest.raises(DataError, match=r"k6 summary.*Locust.*FreeAgentics"):
        parse_run('{"a": 1}', "u.json")


def test_capacity_interpolates_to_the_latency_limit() -> None:
    runs = [run(5, 40, 300), run(10, 50, 400), run(15, 56, 600), run(20, 58, 900)]
    cap = capacity_at_limits(runs, Limits(500, 0.01))
    assert cap is not None
    # p95 400 → 600 between 10 and 15 users: 500 ms halfway, throughput 50 → 56 gives 53.
    assert cap.throughput == pytest.approx(53.0)
    assert cap.level == pytest.approx(12.5)
    assert cap.bound_by == "n15"


def test_capacity_interpolates_to_the_first_limit_met() -> None:
    # Errors cross 1% a quarter of the way (0.5% → 2.5%), latency only halfway.
    runs = [run(10, 50, 400, 0.005), run(20, 70, 600, 0.025)]
    cap = capacity_at_limits(runs, Limits(500, 0.01))
    assert cap is not None
    assert cap.throughput == pytest.approx(55.0)
    assert "errors" in cap.reason


def test_no_run_within_the_limits_gives_no_capacity() -> None:
    a = analyse([run(5, 10, 900), run(10, 12, 1200)], Limits(500, 0.01))
    assert a.capacity is None
    assert any("every run breaks the limits" in w for w in a.warnings)


def test_two_levels_warn_that_the_usl_is_not_fitted() -> None:
    a = analyse([run(5, 40, 300), run(10, 50, 450)], Limits(500, 0.01))
    assert a.fit is None
    assert a.capacity is not None
    assert a.capacity.throughput == 50
    assert any("at least 3" in w for w in a.warnings)
    assert any("no run reached the limits" in w for w in a.warnings)


def test_warnings_for_error_dominated_and_non_monotonic_runs() -> None:
    runs = [run(1, 10, 100), run(2, 20, 150), run(4, 15, 200), run(8, 30, 300, 0.8)]
    a = analyse(runs, Limits(500, 1.0))
    assert any("80% of requests failed" in w for w in a.warnings)
    assert any("not monotonic" in w for w in a.warnings)


@pytest.mark.parametrize("sub", ["k6", "locust", "freeagentics"])
def test_bundled_examples_read_at_every_level(sub: str) -> None:
    runs = read_runs([EXAMPLES / sub])
    assert sorted(r.level for r in runs) == [2, 5, 10, 15, 20, 30, 40]
    assert {r.format for r in runs} == {sub}
    a = analyse(runs, Limits(500, 0.01))
    assert a.fit is not None
    assert a.fit.r_squared > 0.99
    # The generator's law: λ 12, σ 0.1365, κ 0.001382, with a few percent of noise.
    assert a.fit.sigma == pytest.approx(0.1365, abs=0.03)
    assert a.fit.peak_level == pytest.approx(25, abs=4)
    assert a.capacity is not None
    assert 45 < a.capacity.throughput < 56
    assert not a.warnings


@settings(max_examples=50, deadline=None)
@given(
    users=st.integers(min_value=1, max_value=10_000),
    rps=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    p95=st.integers(min_value=1, max_value=60_000),
    errors=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_freeagentics_format_round_trips(users: int, rps: float, p95: int, errors: float) -> None:
    text = (
        f"Test Configuration:\n  Concurrent Users: {users}\n"
        f"Results:\n  Actual RPS: {rps!r}\n  Response Times:\n    95th: {p95}ms\n"
        f"  Error Rate: {errors!r}%\n"
    )
    got = parse_run(text, "r.yaml")
    assert (got.level, got.throughput, got.p95_ms) == (users, rps, p95)
    assert got.error_rate == pytest.approx(errors / 100)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1, max_value=1000),
            st.floats(min_value=0.1, max_value=1000),
            st.floats(min_value=1, max_value=2000),
            st.floats(min_value=0, max_value=0.05),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_capacity_lies_between_the_runs_within_and_the_best_run(
    points: list[tuple[float, float, float, float]],
) -> None:
    runs = [run(*p) for p in points]
    limits = Limits(500, 0.01)
    cap = capacity_at_limits(runs, limits)
    within = [r.throughput for r in runs if r.p95_ms <= 500 and r.error_rate <= 0.01]
    if not within:
        assert cap is None
        return
    assert cap is not None
    assert max(within) <= cap.throughput <= max(r.throughput for r in runs) + 1e-9
