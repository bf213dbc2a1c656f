"""``GET /api/plans/{name}/compare`` and the plan-vs-actual page, on THE_BOT's bundled actuals
in the service's store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from capplan.data import Store
from capplan.data.ingest import ingest_files
from capplan.web import Settings, create_app

from .conftest import HOSTS, ROOT


@pytest.fixture
def actuals_client(tmp_path: Path) -> Iterator[TestClient]:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(ROOT / "examples" / "the_bot.yaml", plans / "the_bot.yaml")
    shutil.copy(ROOT / "examples" / "omniops.yaml", plans / "omniops.yaml")
    store = tmp_path / "actuals.duckdb"
    with Store(store) as db:
        ingest_files(db, [ROOT / "examples" / "actuals" / "the_bot.csv"])
    settings = Settings(
        plans_dir=plans, store=store, refresh_seconds=0, allowed_hosts=HOSTS, max_body_bytes=64_000
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_compare_api(actuals_client: TestClient) -> None:
    answer = actuals_client.get(
        "/api/plans/the_bot/compare", params={"today": "2026-10-01", "tolerance": 0.1}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    users = body["figures"][0]
    assert users["name"] == "users"
    assert "above P90 since 2026-02" in users["summary"]
    assert users["refit"]["low"] <= 0.32 <= users["refit"]["high"]
    assert body["reanchored"]["changes"]["drivers.users.growth.rate"] == pytest.approx(0.316)


def test_compare_api_without_actuals_is_a_data_error(actuals_client: TestClient) -> None:
    answer = actuals_client.get("/api/plans/omniops/compare", params={"today": "2025-01-01"})
    assert answer.status_code == 422
    assert "before the plan's start" in answer.text
    assert actuals_client.get("/api/plans/nope/compare").status_code == 404


def test_plan_actual_page(actuals_client: TestClient) -> None:
    page = actuals_client.get("/plans/the_bot/compare")
    assert page.status_code == 200
    assert "plan vs actual" in page.text
    assert 'id="figure-users"' in page.text
    assert "Re-anchored from" in page.text
    assert "plotly-graph-div" in page.text
    link = actuals_client.get("/plans/the_bot")
    assert "/plans/the_bot/compare" in link.text
