"""The background refresh: recomputes forecasts in a thread and swaps the cache atomically;
requests keep reading the last good snapshot meanwhile."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import capplan.web.refresh as refresh_module
from capplan.data import MetricFrame, Store
from capplan.data.ingest import ingest_frame
from capplan.web import Settings, create_app
from capplan.web.snapshot import forecast_runways
from capplan.web.state import AppState


def _add_series(store_path: Path, name: str) -> None:
    t = np.datetime64("2026-09-01T00:00:00") + np.arange(200) * np.timedelta64(3600, "s")
    frame = MetricFrame.from_series({name: (t, np.linspace(10, 50, 200))})
    with Store(store_path) as store:
        ingest_frame(store, frame, "test")


def test_refresh_picks_up_new_data(tmp_path: Path, plans_dir: Path, store_file: Path) -> None:
    store = tmp_path / "copy.duckdb"
    shutil.copy(store_file, store)
    state = AppState(Settings(plans_dir=plans_dir, store=store))
    assert state.refresh()
    first = state.snapshot
    assert first.generation == 1
    assert not first.has_series("new_series")
    _add_series(store, "new_series")
    assert state.refresh()
    assert state.snapshot.generation == 2
    assert state.snapshot.has_series("new_series")
    assert first.has_series("avg_cpu_usage")  # the old snapshot is untouched


def test_refresh_failure_keeps_last_data(tmp_path: Path, plans_dir: Path, store_file: Path) -> None:
    store = tmp_path / "copy.duckdb"
    shutil.copy(store_file, store)
    state = AppState(Settings(plans_dir=plans_dir, store=store))
    assert state.refresh()
    before = state.snapshot
    store.write_text("not a database", encoding="utf-8")
    assert state.refresh() is False
    assert state.snapshot.generation == before.generation + 1
    assert state.snapshot.frame is before.frame  # the last data read is kept
    assert state.snapshot.has_series("avg_cpu_usage")
    assert state.stages.get("store").state == "failed"
    assert state.stages.get("forecasts").state == "ok"
    assert state.refresh_error is not None
    assert state.refresh_error.startswith("store: ")


def test_background_refresh_does_not_block_requests(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    release = threading.Event()
    started = threading.Event()
    calls = {"n": 0}
    real = forecast_runways

    def slow(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the first background refresh hangs until released
            started.set()
            release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(refresh_module, "forecast_runways", slow)
    fast = Settings(**{**settings.__dict__, "refresh_seconds": 0.05})
    with TestClient(create_app(fast)) as client:
        assert started.wait(5), "the background refresh did not start"
        t0 = time.perf_counter()
        r = client.get("/api/forecasts")
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200
        assert r.json()["runway"]
        assert elapsed < 2.0
        state: AppState = client.app.state.capplan  # type: ignore[attr-defined]
        assert state.snapshot.generation == 1
        release.set()
        deadline = time.time() + 10
        while state.snapshot.generation < 2 and time.time() < deadline:
            time.sleep(0.02)
        assert state.snapshot.generation >= 2
        assert client.get("/api/status").json()["refreshes"] >= 2


def test_prometheus_pull(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plans_dir: Path, store_file: Path
) -> None:
    """With a Prometheus URL, each observed metric with a query is pulled into the store."""
    store = tmp_path / "copy.duckdb"
    shutil.copy(store_file, store)
    pulled: list[tuple[list[str], str | None]] = []

    def fake_pull(client: Any, queries: list[str], **kw: Any) -> MetricFrame:
        pulled.append((list(queries), kw.get("name")))
        t = np.datetime64("2026-09-01T00:00:00") + np.arange(100) * np.timedelta64(3600, "s")
        return MetricFrame.from_series({str(kw.get("name")): (t, np.linspace(1, 90, 100))})

    monkeypatch.setattr("capplan.data.prometheus.pull_history", fake_pull)
    state = AppState(
        Settings(plans_dir=plans_dir, store=store, prometheus_url="http://127.0.0.1:1")
    )
    assert state.refresh(), state.refresh_error
    assert "pod_cpu_utilization" in {name for _, name in pulled}
    assert state.snapshot.has_series("pod_cpu_utilization")


def test_unexpected_refresh_error_keeps_serving(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(refresh_module, "forecast_runways", broken)
    with TestClient(create_app(settings)) as client:
        status = client.get("/api/status").json()
        assert status["status"] == "degraded"
        assert "RuntimeError" in status["refresh_error"]
        assert status["stages"]["forecasts"]["state"] == "failed"
        assert status["series"] == 3  # the store was read
        assert "boom" not in client.get("/api/forecasts").text
        assert client.get("/api/plans/apm").status_code == 200
