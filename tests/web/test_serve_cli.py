"""``capplan serve``: options become Settings; uvicorn runs the app built by the factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
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


def test_serve_hosts_and_request_timeout(monkeypatch: pytest.MonkeyPatch, plans_dir: Path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda application, **kw: seen.update(app=application))
    args = ["serve", "--plans", str(plans_dir), "--refresh", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = seen["app"].state.capplan.settings
    assert settings.allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert settings.request_seconds == 30
    more = ["--allowed-host", "capplan.internal", "--allowed-host", "*.example.com"]
    more += ["--host", "10.0.0.5", "--request-timeout", "2.5", "--token", "t"]
    result = runner.invoke(app, [*args, *more])
    assert result.exit_code == 0, result.output
    settings = seen["app"].state.capplan.settings
    assert settings.allowed_hosts == (
        "localhost", "127.0.0.1", "::1", "capplan.internal", "*.example.com", "10.0.0.5",
    )  # fmt: skip
    assert settings.request_seconds == 2.5
    result = runner.invoke(app, [*args, "--host", "0.0.0.0", "--allowed-host", "*", "--token", "t"])
    assert seen["app"].state.capplan.settings.allowed_hosts[-1] == "*"
    result = runner.invoke(app, [*args, "--request-timeout", "0"])
    assert result.exit_code == 2
    assert "--request-timeout must be a positive number of seconds" in result.output


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``capplan serve`` would run: ``served["app"]`` (Uvicorn is not started)."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda application, **kw: seen.update(app=application))
    return seen


def test_serving_other_machines_needs_a_token(served: dict[str, Any], plans_dir: Path) -> None:
    args = ["serve", "--plans", str(plans_dir), "--refresh", "0"]
    for host in ("0.0.0.0", "::", "10.0.0.5", "capplan.internal"):
        result = runner.invoke(app, [*args, "--host", host])
        assert result.exit_code == 2, host
        assert f"--host {host} serves other machines, but no --token" in result.output
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert runner.invoke(app, [*args, "--host", host]).exit_code == 0, host
    result = runner.invoke(app, [*args, "--host", "0.0.0.0", "--allow-anonymous"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*args, "--host", "0.0.0.0"], env={"CAPPLAN_TOKEN": "t"})
    assert result.exit_code == 0, result.output


def test_anonymous_writes_are_off_unless_allowed(served: dict[str, Any], plans_dir: Path) -> None:
    seen = served
    args = ["serve", "--plans", str(plans_dir), "--refresh", "0"]
    assert runner.invoke(app, args).exit_code == 0
    with TestClient(seen["app"], base_url="http://localhost") as client:
        r = client.put("/api/plans/mine", content="system: x\ndrivers: {users: {initial: 1}}\n")
    assert r.status_code == 403
    assert r.json()["error"] == "writes_off"
    assert "--allow-anonymous-writes" in r.json()["message"]
    assert not (plans_dir / "mine.yaml").exists()
    assert runner.invoke(app, [*args, "--allow-anonymous-writes"]).exit_code == 0
    with TestClient(seen["app"], base_url="http://localhost") as client:
        r = client.put("/api/plans/mine", content="system: x\ndrivers: {users: {initial: 1}}\n")
    assert r.status_code == 201, r.text


def test_serve_report_schedules(
    monkeypatch: pytest.MonkeyPatch, plans_dir: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda application, **kw: seen.update(app=application))
    base = ["serve", "--plans", str(plans_dir), "--store", str(tmp_path / "s.duckdb")]
    args = [*base, "--report-schedule", "weekly mon 08:00", "--report-schedule", "monthly 1 08:00"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = seen["app"].state.capplan.settings
    assert [s.spec for s in settings.report_schedules] == ["weekly mon 08:00", "monthly 1 08:00"]
    result = runner.invoke(app, [*base, "--report-schedule", "weekly someday 08:00"])
    assert result.exit_code == 2
    assert "no weekday 'someday'" in result.output
    result = runner.invoke(app, [*base, "--refresh", "0", "--report-schedule", "weekly mon 08:00"])
    assert result.exit_code == 2
    assert "needs a background refresh" in result.output
    no_store = ["serve", "--plans", str(plans_dir), "--report-schedule", "weekly mon 08:00"]
    result = runner.invoke(app, no_store)
    assert result.exit_code == 2
    assert "needs --store" in result.output
