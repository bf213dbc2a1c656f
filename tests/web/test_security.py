"""No path parameter reaches a file outside the plans directory; names are strict."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from capplan.web.errors import ApiError
from capplan.web.security import check_token, plan_path

ATTEMPTS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2Fsecret",
    "%2E%2E%2Fsecret",
    "%2e%2e",
    "..",
    "%2Fetc%2Fpasswd",
    "%252e%252e%252fsecret",
    "..%5Csecret",
    "secret%00",
    "C:%5Cwindows",
    "%2F%2Fetc",
    "~",
    "the_bot.yaml",
]


@pytest.mark.parametrize("name", ATTEMPTS)
def test_traversal_get(client: TestClient, name: str) -> None:
    for suffix in ("", "/projection", "/scenarios", "/check", "/exports/grafana"):
        r = client.get(f"/api/plans/{name}{suffix}")
        assert r.status_code in (400, 404), (name, suffix, r.status_code)
        assert "outside" not in r.text
        assert "root:" not in r.text
    r = client.get(f"/plans/{name}")
    # the client itself normalises a bare ".." away (to "/"), which is the index page
    assert r.status_code in (400, 404) or r.url.path == "/", (name, r.status_code)


@pytest.mark.parametrize("name", ATTEMPTS)
def test_traversal_put(client: TestClient, plans_dir: Path, name: str) -> None:
    text = (plans_dir / "svc.yaml").read_text()
    before = sorted(p.name for p in plans_dir.parent.rglob("*"))
    r = client.put(f"/api/plans/{name}", content=text)
    assert r.status_code in (400, 404, 405), (name, r.status_code)
    assert sorted(p.name for p in plans_dir.parent.rglob("*")) == before


def test_symlink_out_of_plans_dir(plans_dir: Path) -> None:
    (plans_dir / "link.yaml").symlink_to(plans_dir.parent / "secret.yaml")
    with pytest.raises(ApiError) as err:
        plan_path(plans_dir, "link")
    assert err.value.status == 404


def test_plan_path_rules(plans_dir: Path) -> None:
    assert plan_path(plans_dir, "apm") == (plans_dir / "apm.yaml").resolve()
    for bad in ("", "a/b", "../x", "a.b", "x" * 101, "é"):
        with pytest.raises(ApiError) as err:
            plan_path(plans_dir, bad)
        assert err.value.status == 400


def test_check_token() -> None:
    check_token(None, None, anonymous_writes=True)
    with pytest.raises(ApiError) as refused:
        check_token(None, "Bearer anything")
    assert refused.value.status == 403
    check_token("t", "Bearer t")
    check_token("t", "bearer t")
    for header in (None, "", "Bearer", "Bearer x", "Token t", "t"):
        with pytest.raises(ApiError) as err:
            check_token("t", header)
        assert err.value.status == 401


def test_no_traceback_in_errors(client: TestClient) -> None:
    for r in (
        client.get("/api/plans/apm/projection", params={"months": "abc"}),
        client.post("/api/plans/validate", content="drivers: {x: {initial: nope}}"),
        client.get("/api/forecasts/%7Bjob%3D%22x%22%7D"),
        client.delete("/api/plans/apm"),
    ):
        assert r.status_code < 500
        assert "Traceback" not in r.text
        assert 'File "' not in r.text
