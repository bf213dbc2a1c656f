"""Honest status: each refresh stage reports its own state and last success; a stage that
fails keeps its last good result and makes ``/api/status`` say ``degraded`` with the reason.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import capplan.web.refresh as refresh_module
from capplan.data import MetricFrame
from capplan.errors import ForecastError
from capplan.web import Settings, create_app
from capplan.web.state import AppState

STORED = {"avg_cpu_usage", "avg_memory_usage", "requests_per_second"}


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.capplan  # type: ignore[attr-defined]
    return state


def runways_of(client: TestClient, plan: str) -> list[dict[str, Any]]:
    return [r for r in client.get("/api/forecasts").json()["runway"] if r["plan"] == plan]


def touch_later(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime on, so the change is seen even within one tick."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_all_stages_report_their_state(client: TestClient) -> None:
    body = client.get("/api/status").json()
    stages = body["stages"]
    assert list(stages) == ["plans", "prometheus", "store", "forecasts", "reports"]
    assert stages["prometheus"]["state"] == "off"  # no --prometheus
    assert stages["reports"]["state"] == "off"  # no --report-schedule
    for name in ("plans", "store", "forecasts"):
        assert stages[name]["state"] == "ok", stages[name]
        assert stages[name]["last_success"] is not None
        assert stages[name]["reason"] is None
    assert body["reasons"] == []
    assert body["status"] == "stale"  # the example history is old: stale, not degraded


def test_invalid_plan_keeps_its_last_valid_runways(client: TestClient, plans_dir: Path) -> None:
    """A plan file that becomes invalid keeps the runways of its last valid version, and the
    status names the file and the problem (they used to vanish with status ok)."""
    before = runways_of(client, "svc")
    assert len(before) == 4  # cpu_high and memory_high, warning and critical
    svc = plans_dir / "svc.yaml"
    good = svc.read_text()
    touch_later(svc, good.replace("initial: 1000", "initial: -5"))
    state_of(client).refresh()
    assert runways_of(client, "svc") == before
    body = client.get("/api/status").json()
    assert body["status"] == "degraded"
    assert body["stages"]["plans"]["state"] == "degraded"
    (reason,) = body["reasons"]
    assert reason.startswith("plans: svc.yaml:5 drivers.users.initial")
    assert "the last valid version of svc.yaml (modified " in reason
    listed = {p["name"]: p for p in client.get("/api/plans").json()}
    assert listed["svc"]["valid"] is False  # the file itself is reported as it is
    assert "Last refresh failed in part: plans: svc.yaml:5" in client.get("/").text
    touch_later(svc, good)
    state_of(client).refresh()
    body = client.get("/api/status").json()
    assert (body["status"], body["reasons"]) == ("stale", [])


def test_plan_invalid_from_the_start_is_reported(settings: Settings, plans_dir: Path) -> None:
    (plans_dir / "broken.yaml").write_text("system: x\ndrivers: {}\nnope: 1\n")
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/status").json()
        assert body["status"] == "degraded"
        assert any(r.startswith("plans: broken.yaml") for r in body["reasons"])
        assert "broken.yaml has no runways" in body["reasons"][0]


def test_prometheus_down_at_start_serves_the_store(settings: Settings) -> None:
    """Nothing listens at the Prometheus URL: the store's series are served all the same."""
    down = replace(settings, prometheus_url="http://127.0.0.1:9")
    with TestClient(create_app(down)) as client:
        assert {s["series"] for s in client.get("/api/series").json()} == STORED
        assert runways_of(client, "svc")
        body = client.get("/api/status").json()
        assert body["series"] == 3
        assert body["status"] == "degraded"
        stages = body["stages"]
        assert stages["prometheus"]["state"] == "failed"
        assert stages["prometheus"]["last_success"] is None
        assert "cannot reach Prometheus" in stages["prometheus"]["reason"]
        assert (stages["store"]["state"], stages["forecasts"]["state"]) == ("ok", "ok")
        assert body["reasons"][0].startswith("prometheus: ")


@pytest.fixture
def hanging_prometheus(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every pull blocks until the event is set (a Prometheus that never answers), then
    returns nothing."""
    release = threading.Event()

    def hang(*args: object, **kwargs: object) -> MetricFrame:
        release.wait(30)
        return MetricFrame.empty()

    monkeypatch.setattr(refresh_module, "pull_plan_metrics", hang)
    yield release
    release.set()


def test_hanging_prometheus_times_out(settings: Settings, hanging_prometheus: Any) -> None:
    """A pull that does not finish within its deadline fails; the store is served; the next
    refresh does not start a second pull while the first still hangs."""
    hung = replace(settings, prometheus_url="http://127.0.0.1:9", pull_timeout_seconds=0.2)
    t0 = time.perf_counter()
    with TestClient(create_app(hung)) as client:
        assert time.perf_counter() - t0 < 10
        body = client.get("/api/status").json()
        assert body["status"] == "degraded"
        assert body["series"] == 3
        reason = body["stages"]["prometheus"]["reason"]
        assert reason.startswith("Prometheus did not answer within 0.2 s")
        t1 = time.perf_counter()
        assert state_of(client).refresh() is False
        assert time.perf_counter() - t1 < 5  # no second wait
        stage = client.get("/api/status").json()["stages"]["prometheus"]
        assert stage["reason"] == "the previous pull has not finished yet"


def test_aging_snapshot_is_degraded(settings: Settings, hanging_prometheus: Any) -> None:
    """A pull that hangs longer than 3 refresh intervals: the snapshot ages and the status
    says so (it used to stay ok), with the pull shown running; when it ends, all is well."""
    aging = replace(
        settings,
        prometheus_url="http://127.0.0.1:9",
        refresh_seconds=0.1,
        pull_timeout_seconds=20,
    )
    with TestClient(create_app(aging)) as client:
        deadline = time.time() + 10
        body = client.get("/api/status").json()
        while body["status"] != "degraded" and time.time() < deadline:
            time.sleep(0.05)
            body = client.get("/api/status").json()
        assert body["status"] == "degraded"
        (reason,) = body["reasons"]
        assert reason.startswith("snapshot: the forecasts are")
        assert "within 3 refresh intervals (0.3 s)" in reason
        assert body["stages"]["prometheus"]["running_since"] is not None
        assert body["series"] == 3  # still served
        hanging_prometheus.set()
        deadline = time.time() + 10
        while body["status"] == "degraded" and time.time() < deadline:
            time.sleep(0.05)
            body = client.get("/api/status").json()
        assert body["status"] == "stale", body["reasons"]
        assert body["stages"]["prometheus"]["state"] == "ok"


def test_unreadable_store_keeps_the_last_data(
    settings: Settings, store_file: Path, tmp_path: Path
) -> None:
    store = tmp_path / "copy.duckdb"
    shutil.copy(store_file, store)
    with TestClient(create_app(replace(settings, store=store))) as client:
        store.write_bytes(b"not a database at all")
        state_of(client).refresh()
        body = client.get("/api/status").json()
        assert body["status"] == "degraded"
        assert body["stages"]["store"]["state"] == "failed"
        assert body["reasons"][0].startswith("store: cannot read the store")
        assert body["series"] == 3
        assert runways_of(client, "svc")


def test_failed_forecast_keeps_the_last_forecasts(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = client.get("/api/forecasts").json()["runway"]

    def failing(*args: object, **kwargs: object) -> None:
        raise ForecastError("the panel is empty")

    monkeypatch.setattr(refresh_module, "forecast_runways", failing)
    state_of(client).refresh()
    after = client.get("/api/forecasts").json()
    assert after["runway"] == before
    body = client.get("/api/status").json()
    assert body["status"] == "degraded"
    assert body["stages"]["forecasts"]["state"] == "failed"
    assert body["reasons"] == [
        "forecasts: forecast failed: the panel is empty; the last forecasts are kept"
    ]


def test_stage_gauges(client: TestClient) -> None:
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    stage = families["capplan_refresh_stage_last_success_timestamp_seconds"]
    values = {s.labels["stage"]: s.value for s in stage.samples}
    assert set(values) == {"plans", "store", "forecasts"}  # prometheus is off
    assert all(time.time() - 600 < v <= time.time() for v in values.values())
