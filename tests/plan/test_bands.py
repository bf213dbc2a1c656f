"""Threshold bands: more grades than alert levels (the APM runbook's five response-time and
error-rate bands), ordered from the best, shown by ``capplan check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError
from capplan.plan.bands import band_of

ROOT = Path(__file__).resolve().parents[2]
RESPONSE = {"excellent": 200.0, "good": 500.0, "acceptable": 1000.0, "poor": 2000.0}


@pytest.mark.parametrize(
    ("value", "band"),
    [(0, "excellent"), (199.9, "excellent"), (200, "good"), (750, "acceptable"), (1999, "poor")],
)
def test_a_value_falls_in_the_first_band_it_has_not_reached(value: float, band: str) -> None:
    assert band_of({**RESPONSE, "unacceptable": None}, value, "above") == band


def test_past_every_limit_is_the_open_band_or_none() -> None:
    assert band_of({**RESPONSE, "unacceptable": None}, 2000, "above") == "unacceptable"
    assert band_of(RESPONSE, 2500, "above") is None
    assert band_of({"plenty": 50, "low": 10, "empty": None}, 30, "below") == "low"
    assert band_of(RESPONSE, float("nan"), "above") is None


def test_the_apm_runbooks_bands_are_all_in_its_plan() -> None:
    plan = capplan.load_plan(ROOT / "examples" / "apm.yaml")
    th = plan.thresholds
    assert th["response_time"].bands == {**RESPONSE, "unacceptable": None}
    assert th["error_rate"].bands == {
        "excellent": 0.1,
        "good": 0.5,
        "acceptable": 1,
        "poor": 5,
        "unacceptable": None,
    }
    assert list(th["throughput"].bands) == ["low", "normal", "high", "peak"]
    assert th["query_time"].bands["very_slow"] == 5000


def plan_text(bands: str, levels: str = "warning: 1000\n    critical: 2000\n") -> str:
    return (
        "system: S\ndrivers: {users: {initial: 1}}\nmetrics: {rt: {unit: ms}}\n"
        f"thresholds:\n  rt:\n    metric: rt\n    bands: {bands}\n    {levels}"
    )


@pytest.mark.parametrize(
    ("bands", "levels", "expected"),
    [
        ("{a: 500, b: 200, c: null}", "warning: 1000\n", "must be ascending"),
        ("{a: null, b: 200}", "warning: 1000\n", "only the last band may have no limit"),
        ("{a: 200, b: null}", "runway: {}\n", "or bands, without runway"),
    ],
)
def test_bad_bands_are_clear_errors(tmp_path: Path, bands: str, levels: str, expected: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text(bands, levels), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        capplan.load_plan(path)
    assert expected in str(info.value)
    assert "thresholds.rt" in str(info.value)


def test_check_shows_the_band_of_the_last_value(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        plan_text("{excellent: 200, good: 500, acceptable: 1000, poor: null}"), encoding="utf-8"
    )
    history = tmp_path / "rt.csv"
    history.write_text(
        "timestamp,series,value\n2026-01-01T00:00:00Z,rt,150\n2026-01-01T00:05:00Z,rt,640\n",
        encoding="utf-8",
    )
    args = ["check", str(path), str(history), "--now", "2026-01-01T00:06:00Z"]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["results"]
    assert row["band"] == "acceptable"
    table = CliRunner().invoke(app, args, terminal_width=200)
    assert "640ms (acceptable)" in table.stdout
