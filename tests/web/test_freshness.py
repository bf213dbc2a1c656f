"""Stale data never reads as fresh in the service: ``/api/status`` says ``stale``, ``/metrics``
publishes each series' last sample time and the last refresh, and runways count from now
(negative once past, +Inf beyond the horizon)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

import capplan.cli.serve  # noqa: F401  (registers the command)
from capplan.cli.app import app
from capplan.data import MetricFrame, Store
from capplan.data.ingest import ingest_frame
from capplan.web import Settings, create_app
from capplan.web.metrics import runway_seconds
from capplan.web.snapshot import RunwayRow

END = np.datetime64("2026-10-12T23:00:00", "s")  # the last sample of apm_history.csv
END_UNIX = float(END.astype(np.int64))
HOUR = np.timedelta64(3600, "s")


def samples(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


@pytest.fixture
def fresh_store(tmp_path: Path) -> Path:
    """Hourly ``avg_cpu_usage`` and ``avg_memory_usage`` for 10 days, the last ten minutes ago."""
    last = np.datetime64(int(time.time()) - 600, "s")
    t = last - np.arange(240)[::-1] * HOUR
    frame = MetricFrame.from_series(
        {
            "avg_cpu_usage": (t, np.linspace(20, 30, 240)),
            "avg_memory_usage": (t, np.linspace(40, 45, 240)),
        }
    )
    path = tmp_path / "fresh.duckdb"
    with Store(path) as store:
        ingest_frame(store, frame, "test")
    return path


@pytest.fixture
def fresh_client(settings: Settings, fresh_store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(**{**settings.__dict__, "store": fresh_store}))) as c:
        yield c


def test_status_is_stale_for_old_data(client: TestClient) -> None:
    body = client.get("/api/status").json()
    assert body["status"] == "stale"
    assert sorted(body["stale_series"]) == [
        "avg_cpu_usage",
        "avg_memory_usage",
        "requests_per_second",
    ]
    by = {f["series"]: f for f in body["freshness"]}
    cpu = by["avg_cpu_usage"]
    assert cpu["last_sample"] == "2026-10-12T23:00:00Z"
    assert cpu["stale"] is True
    assert cpu["max_age_seconds"] == 3 * 3600  # 3 hourly steps; svc's thresholds have no for:
    assert abs(cpu["age_seconds"] - (time.time() - END_UNIX)) < 60
    assert body["max_age_seconds"] is None  # the default rule


def test_status_is_ok_for_fresh_data(fresh_client: TestClient) -> None:
    body = fresh_client.get("/api/status").json()
    assert body["status"] == "ok"
    assert body["stale_series"] == []
    ages = {f["series"]: f["age_seconds"] for f in body["freshness"]}
    assert set(ages) == {"avg_cpu_usage", "avg_memory_usage"}
    assert all(590 <= age < 700 for age in ages.values())


def test_max_age_setting(settings: Settings, fresh_store: Path) -> None:
    off = Settings(**{**settings.__dict__, "max_age_seconds": 0})
    with TestClient(create_app(off)) as client:
        body = client.get("/api/status").json()
        assert (body["status"], body["stale_series"]) == ("ok", [])
        assert all(f["max_age_seconds"] is None for f in body["freshness"])
        assert all(f["age_seconds"] > 86400 for f in body["freshness"])  # still shown
        assert client.get("/api/plans/svc/check").json()["status"] != "stale"
    strict = Settings(**{**settings.__dict__, "store": fresh_store, "max_age_seconds": 300})
    with TestClient(create_app(strict)) as client:  # the last sample is ten minutes old
        body = client.get("/api/status").json()
        assert body["status"] == "stale"
        assert body["max_age_seconds"] == 300


def test_index_page_names_the_stale_series(client: TestClient, fresh_client: TestClient) -> None:
    page = client.get("/").text
    assert 'id="stale"' in page
    assert "avg_cpu_usage (last sample 2026-10-12T23:00:00Z" in page
    assert 'id="stale"' not in fresh_client.get("/").text


def test_last_sample_and_refresh_gauges(client: TestClient) -> None:
    before = time.time()
    got = samples(client)
    last = {lb["series"]: v for lb, v in got["capplan_series_last_sample_timestamp_seconds"]}
    assert last == {
        "avg_cpu_usage": END_UNIX,
        "avg_memory_usage": END_UNIX,
        "requests_per_second": END_UNIX,
    }
    ((labels, refreshed),) = got["capplan_refresh_last_success_timestamp_seconds"]
    assert labels == {}
    status = client.get("/api/status").json()
    assert refreshed == status["last_success"]
    assert before - 600 < refreshed <= time.time()


def test_refresh_gauge_is_zero_before_any_success(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("capplan.web.refresh.forecast_runways", broken)
    with TestClient(create_app(settings)) as client:
        got = samples(client)
        assert got["capplan_refresh_last_success_timestamp_seconds"] == [({}, 0.0)]
        assert client.get("/api/status").json()["status"] == "degraded"


def test_runways_count_from_now(client: TestClient) -> None:
    """The forecasts of the old export end in October 2026: every crossing is in the past
    (negative), and every quantile without a crossing is +Inf, never 0 and never missing."""
    now = time.time()
    got = samples(client)
    published = {
        (lb["series"], lb["plan"], lb["threshold"], lb["level"], lb["quantile"]): v
        for lb, v in got["capplan_runway_seconds"]
    }
    rows = client.get("/api/forecasts").json()["runway"]
    assert rows
    crossing = missing = 0
    for row in rows:
        for attr, q in (("p10", "0.1"), ("p50", "0.5"), ("p90", "0.9")):
            value = published[row["series"], row["plan"], row["threshold"], row["level"], q]
            at = row.get("crossed_since") or row[attr]
            if at is None:
                missing += 1
                assert value == math.inf
            else:
                crossing += 1
                when = float(np.datetime64(at.rstrip("Z"), "s").astype(np.int64))
                assert value < 0
                assert abs(value - (when - now)) < 60
    assert crossing + missing == 3 * len(rows) == len(published)


def test_runway_gauge_for_past_future_and_no_crossing(client: TestClient) -> None:
    state = client.app.state.capplan  # type: ignore[attr-defined]
    now = np.datetime64(int(time.time()), "s")
    day = np.timedelta64(86400, "s")
    soon = row(p10=str(now + day), p50=str(now + 2 * day))  # p90 beyond the horizon
    past = row(p10=str(now - 2 * day), p50=str(now - day), p90=str(now - day))
    past = replace(past, series="mem")
    state.snapshot = replace(state.snapshot, runways=(soon, past))
    text = client.get("/metrics").text
    runway = {
        (lb["series"], lb["quantile"]): v for lb, v in samples(client)["capplan_runway_seconds"]
    }
    assert abs(runway["cpu", "0.1"] - 86400) < 60
    assert abs(runway["cpu", "0.5"] - 2 * 86400) < 60
    assert runway["cpu", "0.9"] == math.inf
    assert (
        'level="warning",plan="svc",quantile="0.9",series="cpu",threshold="cpu_high"} +Inf' in text
    )
    assert abs(runway["mem", "0.1"] + 2 * 86400) < 60
    assert abs(runway["mem", "0.9"] + 86400) < 60


def row(**dates: str | None) -> RunwayRow:
    def t(key: str) -> np.datetime64 | None:
        value = dates.get(key)
        return None if value is None else np.datetime64(value, "s")

    return RunwayRow(
        "cpu", "svc", "cpu_high", "warning", 40.0, "above", t("p10"), t("p50"), t("p90"), "",
        t("crossed_since"),
    )  # fmt: skip


def test_runway_seconds() -> None:
    now = float(np.datetime64("2026-12-01T00:00:00", "s").astype(np.int64))
    r = row(p10="2026-12-02T00:00:00", p50="2026-11-30T00:00:00")
    assert runway_seconds(r, "p10", now) == 86400
    assert runway_seconds(r, "p50", now) == -86400
    assert runway_seconds(r, "p90", now) == math.inf
    crossed = row(crossed_since="2026-11-30T12:00:00")
    assert runway_seconds(crossed, "p10", now) == -43200
    assert runway_seconds(crossed, "p90", now) == -43200
    # already crossed: the crossing is behind, whatever the forecast's dates say
    again = row(p10="2026-12-01T01:00:00", p50="2026-12-01T01:00:00", crossed_since="2026-11-30")
    assert [runway_seconds(again, q, now) for q in ("p10", "p50", "p90")] == [-86400] * 3


def test_serve_max_age_option(monkeypatch: pytest.MonkeyPatch, plans_dir: Path) -> None:
    seen: dict[str, Settings] = {}

    def fake_run(application: object, **kw: object) -> None:
        seen["settings"] = application.state.capplan.settings  # type: ignore[attr-defined]

    monkeypatch.setattr("uvicorn.run", fake_run)
    runner = CliRunner()
    for text, seconds in (("2h", 7200.0), ("off", 0.0), (None, None)):
        args = ["serve", "--plans", str(plans_dir), "--refresh", "0"]
        result = runner.invoke(app, [*args, "--max-age", text] if text else args)
        assert result.exit_code == 0, result.output
        assert seen["settings"].max_age_seconds == seconds
    result = runner.invoke(app, ["serve", "--plans", str(plans_dir), "--max-age", "2 hours"])
    assert result.exit_code == 2
    assert "--max-age: expected a duration such as 30m, 3h or 2d, or 'off'" in result.output
    assert "Traceback" not in result.output
