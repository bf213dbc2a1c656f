"""Plan vs actual: the bundled actuals' comparisons (golden), the re-fit recovering a known
rate from noisy actuals, re-anchoring, and bad actuals refused or stated, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.compare import aggregate_periods, compare_plan, fit_growth
from capplan.data import MetricFrame
from capplan.errors import DataError
from capplan.plan.rewrite import rewrite_plan_text
from capplan.timeline import Timeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CAPPLAN_UPDATE_GOLDEN") == "1"
runner = CliRunner()

CASES = {
    "omniops": ["examples/omniops.yaml", "examples/actuals/omniops.csv", "--today", "2026-08-01"],
    "the_bot": [
        "examples/the_bot.yaml",
        "examples/actuals/the_bot.csv",
        "--today",
        "2026-10-01",
        "--seed",
        "7",
    ],
}


def invoke(*args: str) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        result = runner.invoke(app, list(args))
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_matches_golden(case: str, fmt: str) -> None:
    code, out, err = invoke("compare", *CASES[case], "--format", fmt)
    assert code == 0, err
    path = GOLDEN / f"{case}.{ {'table': 'txt', 'markdown': 'md'}.get(fmt, fmt) }"
    if UPDATE:
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


def test_omniops_runs_below_and_the_bot_above() -> None:
    _, out, _ = invoke("compare", *CASES["omniops"], "--format", "json")
    omni = json.loads(out)
    users = next(f for f in omni["figures"] if f["name"] == "users")
    assert users["refit"]["rate"] < users["refit"]["plan"]  # 11% a month, not 17%
    assert users["refit"]["low"] <= 0.11 <= users["refit"]["high"]
    assert "below the plan since" in users["summary"]
    assert {f["name"] for f in omni["figures"]} == {"users", "daily_requests"}
    moved = " ".join(omni["reanchored"]["moved"])
    assert "redis reaches 8GB in 2026-11, not 2026-07" in moved
    _, out, _ = invoke("compare", *CASES["the_bot"], "--format", "json")
    bot = json.loads(out)
    users = bot["figures"][0]
    assert "above P90 since" in users["summary"]
    assert users["refit"]["low"] <= 0.32 <= users["refit"]["high"]
    # the plan's schedule over the 8 fitted steps: 25% for six months, then 20% for two
    assert users["refit"]["plan"] == pytest.approx((6 * 0.25 + 2 * 0.20) / 8)


@pytest.mark.parametrize("seed", range(20))
def test_refit_recovers_a_known_compound_rate(seed: int) -> None:
    """A 99% interval from 24 noisy months holds the true rate (20 seeds: each would miss
    with 1% odds; the seeds are fixed, so the test is deterministic)."""
    rng = np.random.default_rng(seed)
    rate = 0.07
    t = np.arange(24.0)
    values = 500 * (1 + rate) ** t * np.exp(rng.normal(0, 0.05, t.size))
    fit = fit_growth(t, values, "compound", level=0.99)
    assert fit is not None
    assert fit.low is not None
    assert fit.high is not None
    assert fit.low <= rate <= fit.high
    assert fit.high - fit.low < 0.03


def test_refit_models() -> None:
    t = np.arange(12.0)
    lin = fit_growth(t, 100 + 30 * t, "linear")
    assert lin is not None
    assert lin.rate == pytest.approx(30)
    ann = fit_growth(t, 100 * 1.5 ** (t / 12), "annual")
    assert ann is not None
    assert ann.rate == pytest.approx(0.5)
    weekly = fit_growth(t, 100 * 1.01**t, "compound", months_per_period=12 / 52.1775)
    assert weekly is not None
    assert weekly.rate == pytest.approx(1.01 ** (52.1775 / 12) - 1)
    assert fit_growth(t[:1], t[:1] + 1, "compound") is None
    two = fit_growth(t[:2], np.array([100.0, 110.0]), "compound")
    assert two is not None
    assert two.low is None
    assert two.rate == pytest.approx(0.1)


def _frame(series: dict[str, list[tuple[str, float]]], **labels: dict[str, str]) -> MetricFrame:
    return MetricFrame.from_series(
        {
            name: (np.array([np.datetime64(t, "s") for t, _ in pts]), [v for _, v in pts])
            for name, pts in series.items()
        },
        labels=labels,
    )


def _months(values: list[float], start: str = "2025-11") -> list[tuple[str, float]]:
    y, m = map(int, start.split("-"))
    out = []
    for i, v in enumerate(values):
        mm = m - 1 + i
        out.append((f"{y + mm // 12}-{mm % 12 + 1:02d}-01T00:00:00", v))
    return out


def test_aggregations_per_period() -> None:
    tl = Timeline(dt.date(2026, 1, 1), "month", 3)
    points = [("2026-01-02T00:00:00", 1.0), ("2026-01-20T00:00:00", 3.0)]
    points += [("2026-02-10T00:00:00", 10.0), ("2025-12-31T00:00:00", 99.0)]
    frame = _frame({"x": points})
    mean = aggregate_periods(frame, "x", tl, 2, "mean")
    assert mean.values[0] == 2
    assert mean.values[1] == 10
    assert np.isnan(mean.values[2])
    assert aggregate_periods(frame, "x", tl, 2, "last").values[0] == 3
    assert aggregate_periods(frame, "x", tl, 2, "first").values[0] == 1
    assert aggregate_periods(frame, "x", tl, 2, "p95").values[0] == pytest.approx(2.9)
    assert any("before the plan's start" in n for n in mean.notes)


def omniops() -> capplan.Plan:
    return capplan.load_plan(EXAMPLES / "omniops.yaml")


def test_gaps_are_named_and_left_out_of_the_fit() -> None:
    values = [100 * 1.1**i for i in range(9)]
    pts = [p for i, p in enumerate(_months(values)) if i not in (3, 4)]
    rev = compare_plan(omniops(), _frame({"users": pts}), dt.date(2026, 8, 1))
    users = rev.figures[0]
    assert any("no actuals for 2026-02, 2026-03" in n for n in users.notes)
    assert users.fit is not None
    assert users.fit.periods == 7
    assert users.fit.rate == pytest.approx(0.1)


def test_duplicate_points_keep_the_last() -> None:
    pts = [*_months([100, 110, 121]), ("2026-01-01T00:00:00", 500.0)]
    rev = compare_plan(omniops(), _frame({"users": pts}), dt.date(2026, 2, 1))
    users = rev.figures[0]
    assert users.rows[2].actual == 500
    assert any("already seen" in n for n in users.notes)


def test_a_unit_that_differs_is_refused_unless_scaled() -> None:
    pts = _months([0.1, 0.11, 0.121])
    frame = _frame({"users": pts}, users={"unit": "kusers"})
    with pytest.raises(DataError, match=r"'kusers' but the plan counts 'users'.*actual.scale"):
        compare_plan(omniops(), frame, dt.date(2026, 2, 1))
    scaled = capplan.load_plan(
        EXAMPLES / "omniops.yaml", overrides={"drivers.users.actual": {"scale": 1000}}
    )
    rev = compare_plan(scaled, frame, dt.date(2026, 2, 1))
    assert rev.figures[0].rows[1].actual == pytest.approx(110)


def test_no_actuals_for_any_figure_is_an_error() -> None:
    with pytest.raises(DataError, match=r"no driver or metric .* has actuals"):
        compare_plan(omniops(), _frame({"cpu": _months([1, 2])}), dt.date(2026, 2, 1))


def test_named_series_and_metric_actuals() -> None:
    plan = capplan.load_plan(
        EXAMPLES / "omniops.yaml",
        overrides={"drivers.users.actual": {"series": "registered", "agg": "last"}},
    )
    rev = compare_plan(plan, _frame({"registered": _months([100, 117])}), dt.date(2026, 1, 1))
    assert rev.figures[0].series == ("registered",)
    assert "requests_per_user" in rev.not_compared


def test_reanchored_plan_is_written_with_its_comments(tmp_path: Path) -> None:
    text = (EXAMPLES / "omniops.yaml").read_text(encoding="utf-8")
    code, _, err = invoke("compare", *CASES["omniops"], "--write-plan", str(tmp_path / "new.yaml"))
    assert code == 0, err
    new = (tmp_path / "new.yaml").read_text(encoding="utf-8")
    assert "start: 2026-07" in new
    assert "rate: 0.1891, churn: 0.08" in new
    kept = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert all(line in new for line in kept)
    plan = capplan.load_plan(tmp_path / "new.yaml")
    assert plan.drivers["users"].initial == 234


def test_write_plan_never_overwrites_without_force(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text((EXAMPLES / "omniops.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    actuals = str(EXAMPLES / "actuals" / "omniops.csv")
    args = ["compare", str(plan), actuals, "--today", "2026-08-01", "--write-plan", str(plan)]
    code, _, err = invoke(*args)
    assert code == 2
    assert "is the input plan; use --force" in err
    assert "start: 2025-11" in plan.read_text(encoding="utf-8")
    code, _, err = invoke(*args, "--force")
    assert code == 0, err
    assert "start: 2026-07" in plan.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "10"], "--tolerance: give a percentage"),
        (["--format", "html"], "unknown --format 'html'"),
        (["--today", "2025-01-01"], "before the plan's start"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    code, _, err = invoke("compare", *CASES["omniops"][:2], *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_a_plan_without_start_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "p.yaml"
    plan.write_text("system: s\ndrivers: {users: {initial: 10}}\n", encoding="utf-8")
    actuals = tmp_path / "a.csv"
    actuals.write_text("series,timestamp,value\nusers,2026-01-01,10\n", encoding="utf-8")
    code, _, err = invoke("compare", str(plan), str(actuals), "--today", "2026-03-01")
    assert code == 2
    assert "has no 'start'" in err


def test_rewrite_keeps_json_plans_json() -> None:
    out = rewrite_plan_text(
        '{"system": "s", "drivers": {"u": {"initial": 1}}}', {"start": "2026-01"}
    )
    assert json.loads(out)["start"] == "2026-01"
