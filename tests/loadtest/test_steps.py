"""A stepped Locust test read as one run per user count it held."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan.errors import DataError
from capplan.loadtest import Limits, analyse, read_runs, usl_throughput

HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%\n"
STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    ",Aggregated,9000,9,50,60,10,900,10,40,0.04,50,60,70,80,90,300,400,500,600,800,900\n"
)


def write_step_test(tmp_path: Path, rows: list[tuple[int, str, str, str]]) -> Path:
    (tmp_path / "step_stats.csv").write_text(STATS)
    body = "".join(
        f"{1000 + i},{users},,Aggregated,{rps},{fails},1,1,1,1,1,{p95}\n"
        for i, (users, rps, fails, p95) in enumerate(rows)
    )
    (tmp_path / "step_stats_history.csv").write_text(HEADER + body)
    return tmp_path / "step_stats.csv"


def test_each_step_is_a_run(tmp_path: Path) -> None:
    rows = [
        (1, "0", "0", "N/A"),  # the first user still starting
        (5, "30", "0", "100"),
        (5, "40", "0", "110"),
        (5, "42", "0", "130"),
        (5, "41", "0.4", "120"),
        (12, "60", "0", "300"),  # ramping: a count held for one row is no step
        (20, "80", "0", "400"),
        (20, "90", "0.9", "600"),
        (20, "94", "0.9", "640"),
        (20, "92", "0", "620"),
    ]
    runs = read_runs([write_step_test(tmp_path, rows)])
    assert [r.level for r in runs] == [5, 20]
    first, second = runs
    # medians of the rows after each step's first: 40, 42, 41 → 41; 110, 130, 120 → 120
    assert (first.throughput, first.p95_ms) == (41, 120)
    assert first.error_rate == pytest.approx(0.4 / 123)
    assert (second.throughput, second.p95_ms) == (92, 620)
    assert second.error_rate == pytest.approx(1.8 / 276)
    assert first.source.endswith("step_stats.csv (5 users)")


def test_a_step_load_gives_the_usl_from_one_test(tmp_path: Path) -> None:
    rows = []
    for users in (1, 2, 4, 8, 16, 32):
        x = float(usl_throughput(users, 10.0, 0.05, 0.001))
        rows += [(users, f"{x:.4f}", "0", f"{1000 * users / x:.1f}")] * 4
    a = analyse(read_runs([write_step_test(tmp_path, rows)]), Limits(2000, 0.01))
    assert a.fit is not None
    assert a.fit.sigma == pytest.approx(0.05, abs=1e-3)
    assert a.fit.kappa == pytest.approx(0.001, rel=0.02)


def test_a_single_user_count_keeps_the_stats_file(tmp_path: Path) -> None:
    rows = [(2, "10", "0", "50"), (4, "20", "0", "60")] + [(8, "30", "0", "80")] * 5
    (run,) = read_runs([write_step_test(tmp_path, rows)])
    assert (run.level, run.throughput, run.p95_ms) == (8, 40, 300)


def test_a_bad_cell_names_file_row_and_column(tmp_path: Path) -> None:
    rows = [(5, "1", "0", "9")] * 3 + [(9, "x", "0", "9")] * 3
    with pytest.raises(DataError) as info:
        read_runs([write_step_test(tmp_path, rows)])
    assert "step_stats_history.csv:6 column Requests/s" in str(info.value)
