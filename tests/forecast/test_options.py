"""Typed forecast options: the horizon, the step inferred from the data, the panel a run uses;
their messages name the parameter, and the CLI's name the flag."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from capplan.cli.forecast_flags import history_panel, horizon_steps, parse_horizon
from capplan.data import MetricFrame, parse_step
from capplan.errors import UsageError
from capplan.forecast.options import Horizon, infer_step
from capplan.forecast.run import ForecastOptions, panel_of, run_forecast, run_on_panel
from capplan.units import number_or_duration

FORECAST_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "capplan" / "forecast"


def hourly(n: int = 48) -> MetricFrame:
    t = np.datetime64("2026-01-01T00:00", "s") + np.arange(n) * np.timedelta64(3600, "s")
    return MetricFrame.from_series({"cpu": (t, 50.0 + np.arange(n, dtype=float))})


@pytest.mark.parametrize(
    ("text", "value"), [("48", 48), (" 7 ", 7), ("2d", 172800.0), ("1h30m", 5400.0)]
)
def test_number_or_duration(text: str, value: float) -> None:
    got = number_or_duration(text)
    assert got == value
    assert isinstance(got, int) == text.strip().isdigit()


@pytest.mark.parametrize("text", ["", "soon", "1.5", "-3", "5m1h"])
def test_number_or_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        number_or_duration(text)


def test_step_and_horizon_read_a_bare_number_their_own_way() -> None:
    assert parse_step("300") == 300  # seconds
    assert Horizon.parse("300").steps(3600) == 300  # steps
    assert Horizon.parse("14d").steps(3600) == 336
    with pytest.raises(ValueError, match="shorter than one step of 3600s"):
        Horizon.parse("10m").steps(3600)
    with pytest.raises(ValueError, match="at most 100,000"):
        Horizon.parse("200000").steps(3600)


def test_library_messages_name_the_parameter_and_the_cli_the_flag() -> None:
    frame = hourly()
    with pytest.raises(UsageError, match=r"^horizon: 'soon' is not a duration"):
        run_forecast(frame, "soon")
    with pytest.raises(UsageError, match=r"^--horizon: 'soon' is not a duration"):
        parse_horizon("soon")
    with pytest.raises(UsageError, match=r"^--horizon '10m' is shorter than one step"):
        horizon_steps(parse_horizon("10m"), 3600)
    single = hourly(1)
    with pytest.raises(ValueError, match="single point"):
        infer_step(single)
    with pytest.raises(UsageError, match=r"^cannot infer the step: every series has a single"):
        panel_of(single)
    with pytest.raises(UsageError, match=r"^cannot infer --step: every series has a single"):
        history_panel(single, None, "mean")
    with pytest.raises(UsageError, match="no metric data"):
        history_panel(MetricFrame.empty(), None, "mean")


def test_run_on_a_panel_is_the_run_from_the_frame() -> None:
    frame = hourly()
    panel = panel_of(frame)
    assert panel.step_seconds == 3600
    on_panel = run_on_panel(panel, ForecastOptions(12, model="naive"))
    from_frame = run_forecast(frame, "12h", model="naive")
    assert on_panel.h == from_frame.h == 12
    np.testing.assert_array_equal(on_panel.result.mean, from_frame.result.mean)


def test_the_forecast_package_knows_no_command_line() -> None:
    for path in FORECAST_PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (typer|rich)\b", text, re.M), path.name
        assert not re.search(r"--[a-z]", text), path.name
