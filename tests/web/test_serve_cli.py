"""``capplan serve``: options become Settings; uvicorn runs the app built by the factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import capplan.cli.serve  # noqa: F401  (registers the command)
from capplan.cli.app import app
from capplan.web import Settings

runner = CliRunner()


def test_serve_runs_uvicorn(monkeypatch: pytest.MonkeyPatch, plans_dir: Path) -> None:
    seen: dict[str, Any] = {}

    def fake_run(application: Any, **kw: Any) -> None:
        seen["app"] = application
        seen.update(kw)

    monkeypatch.setattr("uvicorn.run", fake_run)
    result = runner.invoke(
        app,
        ["serve", "--plans", str(plans_dir), "--port", "9099", "--refresh", "0"],
        env={"CAPPLAN_TOKEN": "tok"},
    )
    assert result.exit_code == 0, result.output
    assert seen["port"] == 9099
    assert seen["host"] == "127.0.0.1"
    state = seen["app"].state.capplan
    assert isinstance(state.settings, Settings)
    assert state.settings.token == "tok"
    assert state.settings.refresh_seconds == 0


def test_serve_bad_options(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--plans", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "not a directory" in result.output
    result = runner.invoke(app, ["serve", "--plans", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["serve", "--plans", str(tmp_path), "--refresh", "-1"])
    assert result.exit_code == 2
