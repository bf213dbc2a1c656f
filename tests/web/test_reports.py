"""Reports built on a schedule by the service: a fake clock moves past the slot, each refresh
builds what is due, keeps it in the store, lists it and serves its files; a failed build
shows on ``/api/status`` and is tried again at the next refresh."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from capplan.data import Store
from capplan.errors import DataError
from capplan.report.schedule import parse_schedule
from capplan.web import Settings, create_app
from capplan.web.state import AppState

from .conftest import HOSTS


def unix(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: str) -> None:
        self.now = unix(at)

    def __call__(self) -> float:
        return self.now

    def set(self, at: str) -> None:
        self.now = unix(at)


@pytest.fixture
def clock() -> Clock:
    return Clock("2026-10-12T07:00:00Z")  # a Monday, an hour before the weekly slot


@pytest.fixture
def app_client(tmp_path: Path, store_file: Path, clock: Clock) -> Iterator[TestClient]:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(Path(__file__).parents[2] / "examples" / "apm.yaml", plans / "apm.yaml")
    store = tmp_path / "metrics.duckdb"
    shutil.copy(store_file, store)  # the reports are written: a store of this test's own
    settings = Settings(
        plans_dir=plans,
        store=store,
        refresh_seconds=0,
        allowed_hosts=HOSTS,
        report_schedules=(parse_schedule("weekly mon 08:00"),),
        report_horizon="14d",
    )
    with TestClient(create_app(settings, clock=clock)) as c:
        state: AppState = c.app.state.capplan  # type: ignore[attr-defined]
        state.reports.printer = lambda html: (None, "PDF skipped: Chromium is not installed")
        yield c


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.capplan  # type: ignore[attr-defined]
    return state


def test_report_built_when_its_slot_passes(app_client: TestClient, clock: Clock) -> None:
    state = state_of(app_client)
    assert app_client.get("/api/status").json()["stages"]["reports"]["state"] == "ok"
    assert app_client.get("/api/reports").json() == []  # the start: no slot has passed
    clock.set("2026-10-12T07:59:59Z")
    state.refresh()
    assert app_client.get("/api/reports").json() == []
    clock.set("2026-10-12T08:05:00Z")
    state.refresh()
    listing = app_client.get("/api/reports").json()
    assert [(r["plan"], r["kind"], r["period_end"]) for r in listing] == [
        ("apm", "weekly", "2026-10-12T08:00:00Z")
    ]
    first = listing[0]
    assert first["formats"] == ["md", "html"]
    assert first["pdf_note"] == "PDF skipped: Chromium is not installed"
    md = app_client.get(first["links"]["md"])
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# ")
    assert "2026-10-12" in md.text
    html = app_client.get(first["links"]["html"])
    assert html.status_code == 200
    assert "<html" in html.text
    assert "attachment" in html.headers["content-disposition"]
    assert app_client.get(f"/api/reports/{first['id']}.pdf").status_code == 404
    assert app_client.get("/api/reports/999.md").status_code == 404
    assert app_client.get("/api/reports/x.exe").status_code == 404
    state.refresh()  # the same slot is not built twice
    assert len(app_client.get("/api/reports").json()) == 1
    clock.set("2026-10-19T08:00:00Z")  # the next slot: newest first
    state.refresh()
    listing = app_client.get("/api/reports").json()
    assert [r["period_end"] for r in listing] == ["2026-10-19T08:00:00Z", "2026-10-12T08:00:00Z"]
    page = app_client.get("/reports")
    assert page.status_code == 200
    assert f'href="/api/reports/{listing[0]["id"]}.md"' in page.text
    assert "weekly mon 08:00" in page.text
    assert 'href="/reports"' in app_client.get("/").text  # in the navigation bar


def test_a_pdf_is_kept_when_it_prints(app_client: TestClient, clock: Clock) -> None:
    state = state_of(app_client)
    state.reports.printer = lambda html: (b"%PDF-1.7 fake", None)
    clock.set("2026-10-12T08:00:00Z")
    state.refresh()
    (only,) = app_client.get("/api/reports").json()
    assert only["formats"] == ["md", "html", "pdf"]
    assert only["pdf_note"] is None
    pdf = app_client.get(only["links"]["pdf"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == b"%PDF-1.7 fake"


def test_failed_build_shows_on_status_and_is_retried(app_client: TestClient, clock: Clock) -> None:
    state = state_of(app_client)
    real = state.reports.build
    calls: list[Any] = []

    def failing(*args: Any) -> Any:
        calls.append(args[0])
        raise DataError("the history of apm is missing")

    state.reports.build = failing
    clock.set("2026-10-12T08:01:00Z")
    assert state.refresh() is False
    status = app_client.get("/api/status").json()
    stage = status["stages"]["reports"]
    assert stage["state"] == "failed"
    assert "apm weekly report of 2026-10-12T08:00:00Z" in stage["reason"]
    assert "the history of apm is missing" in stage["reason"]
    assert status["status"] == "degraded"
    assert any(r.startswith("reports: ") for r in status["reasons"])
    assert "Last build failed" in app_client.get("/reports").text
    assert app_client.get("/api/reports").json() == []
    # the next refresh, well before the next slot, tries again: still failing, then built
    clock.set("2026-10-12T08:06:00Z")
    state.refresh()
    assert len(calls) == 2
    assert app_client.get("/api/status").json()["stages"]["reports"]["state"] == "failed"
    state.reports.build = real
    clock.set("2026-10-12T08:11:00Z")
    state.refresh()
    stage = app_client.get("/api/status").json()["stages"]["reports"]
    assert stage["state"] == "ok"
    assert stage["reason"] is None
    listing = app_client.get("/api/reports").json()
    assert [r["period_end"] for r in listing] == ["2026-10-12T08:00:00Z"]
    assert "Last build failed" not in app_client.get("/reports").text


def test_reports_are_kept_whole(tmp_path: Path) -> None:
    """The store keeps a report in one transaction: a write that fails leaves nothing."""
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        assert store.list_reports() == []  # a store from before reports reads as none
        with pytest.raises(Exception):  # noqa: B017, PT011
            store.add_report("p", "weekly", "t", 0.0, 1.0, "md", None, None, None)  # type: ignore[arg-type]
        assert store.list_reports() == []
        rid = store.add_report("p", "weekly", "t", 0.0, 1.0, "# md", "<p>", b"%PDF", None)
        assert store.report_content(rid, "pdf") == b"%PDF"
        assert store.report_content(rid, "md") == "# md"


def test_bad_schedules() -> None:
    from capplan.errors import UsageError

    assert parse_schedule("monthly 1 08:00").spec == "monthly 1 08:00"
    assert parse_schedule("Weekly Monday 8:30").spec == "weekly mon 08:30"
    for bad in ("weekly 08:00", "weekly xyz 08:00", "monthly 31 08:00", "daily mon 08:00"):
        with pytest.raises(UsageError, match="'weekly DAY HH:MM'"):
            parse_schedule(bad)
    monthly = parse_schedule("monthly 1 08:00")
    assert monthly.last_slot(unix("2026-01-01T07:59:00Z")) == unix("2025-12-01T08:00:00Z")
    assert monthly.last_slot(unix("2026-01-01T08:00:00Z")) == unix("2026-01-01T08:00:00Z")
