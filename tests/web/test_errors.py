"""The one mapping from capplan errors to HTTP statuses, and the shape of error bodies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from capplan.errors import (
    CapplanError,
    DataError,
    EvaluationError,
    ForecastError,
    PlanSyntaxError,
    SourceError,
    StoreError,
    UsageError,
)
from capplan.web.errors import ApiError, status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PlanSyntaxError.single("bad"), 422),
        (EvaluationError.single("nan"), 422),
        (UsageError("bad arg"), 400),
        (DataError("bad value"), 422),
        (ForecastError("horizon"), 422),
        (StoreError("locked"), 503),
        (SourceError("down"), 502),
        (ApiError(404, "not_found", "x"), 404),
        (CapplanError("other"), 400),
    ],
)
def test_status_for(error: CapplanError, status: int) -> None:
    assert status_for(error)[0] == status


def test_error_body_shape(client: TestClient) -> None:
    r = client.post("/api/plans/validate", content="system: x\n")
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"error", "message", "issues"}
    assert all(set(i) == {"file", "line", "path", "message"} for i in body["issues"])
    assert r.headers["x-content-type-options"] == "nosniff"


def test_page_errors_are_html(client: TestClient) -> None:
    r = client.get("/plans/apm", params={"months": 0})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    r = client.get("/plans/apm", params={"scenario": "<b>x</b>"})
    assert r.status_code == 404
    assert "<b>x</b>" not in r.text
