"""The JSON API: happy paths of every route and the documented error statuses."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

TOKEN = "s3cret-token"  # the token of the token_client fixture (conftest.py)

BAD_PLAN = """system: broken
drivers:
  users:
    initial: -5
"""


def test_list_plans(client: TestClient) -> None:
    r = client.get("/api/plans")
    assert r.status_code == 200
    names = {p["name"]: p for p in r.json()}
    assert set(names) == {"apm", "the_bot", "svc"}
    assert all(p["valid"] for p in names.values())


def test_read_plan(client: TestClient) -> None:
    body = client.get("/api/plans/the_bot").json()
    assert body["system"]
    assert body["scenarios"] == ["conservative", "moderate", "aggressive"] or body["scenarios"]
    assert body["components"]
    assert client.get("/api/plans/svc").json()["thresholds"]["cpu_high"]["levels"] == {
        "warning": 40.0,
        "critical": 60.0,
    }


def test_projection(client: TestClient) -> None:
    r = client.get("/api/plans/apm/projection", params={"months": 6})
    assert r.status_code == 200
    body = r.json()
    assert body["system"] == "APM"
    assert body["horizon"] == 6
    assert len(body["rows"]) == 7
    scen = client.get("/api/plans/the_bot").json()["scenarios"][0]
    r = client.get("/api/plans/the_bot/projection", params={"scenario": scen})
    assert r.status_code == 200
    assert r.json()["scenario"] == scen


def test_projection_monte_carlo(client: TestClient) -> None:
    r = client.get("/api/plans/the_bot/projection", params={"simulations": 50, "months": 6})
    assert r.status_code == 200
    assert r.json()["simulations"] == 50


def test_projection_bounds(client: TestClient) -> None:
    for params in ({"months": 0}, {"months": 121}, {"simulations": -1}, {"simulations": 20001}):
        r = client.get("/api/plans/apm/projection", params=params)
        assert r.status_code == 422, params
        assert r.json()["error"] == "invalid_request"
    assert client.get("/api/plans/apm/projection", params={"simulations": 1}).status_code == 400
    r = client.get("/api/plans/apm/projection", params={"scenario": "nope"})
    assert r.status_code == 404


def test_scenarios(client: TestClient) -> None:
    body = client.get("/api/plans/the_bot/scenarios", params={"months": 12}).json()
    assert body["summary"][0]["figure"]
    assert len(body["scenarios"]) >= 2


def test_validate_ok_and_bad(client: TestClient, plans_dir: Path) -> None:
    text = (plans_dir / "svc.yaml").read_text()
    r = client.post("/api/plans/validate", content=text, headers={"content-type": "text/plain"})
    assert r.status_code == 200
    assert r.json()["valid"] is True
    r = client.post("/api/plans/validate", content=BAD_PLAN)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "plan_error"
    issue = next(i for i in body["issues"] if i["path"] == "drivers.users.initial")
    assert issue["line"] == 4
    r = client.post("/api/plans/validate", content="system: [unclosed\n")
    assert r.status_code == 422
    assert r.json()["issues"][0]["line"] is not None
    assert client.post("/api/plans/validate", content=b"\xff\xfe").status_code == 422
    assert client.post("/api/plans/validate", content="- a list\n").status_code == 422


def test_put_plan(client: TestClient, plans_dir: Path) -> None:
    text = (plans_dir / "svc.yaml").read_text()
    r = client.put("/api/plans/new_plan", content=text)
    assert r.status_code == 201
    assert (plans_dir / "new_plan.yaml").read_text() == text
    assert client.put("/api/plans/new_plan", content=text).status_code == 200
    assert client.get("/api/plans/new_plan").status_code == 200
    r = client.put("/api/plans/broken", content=BAD_PLAN)
    assert r.status_code == 422
    assert not (plans_dir / "broken.yaml").exists()


def test_put_plan_gets_the_umasks_mode(client: TestClient, plans_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        text = (plans_dir / "svc.yaml").read_text()
        assert client.put("/api/plans/shared_plan", content=text).status_code == 201
    finally:
        os.umask(old)
    assert stat.S_IMODE((plans_dir / "shared_plan.yaml").stat().st_mode) == 0o644


def test_put_plan_updates_cache(client: TestClient, plans_dir: Path) -> None:
    before = client.get("/api/plans/svc/projection").json()["total_cost"]
    text = (plans_dir / "svc.yaml").read_text().replace("per_instance: 100", "per_instance: 200")
    assert client.put("/api/plans/svc", content=text).status_code == 200
    after = client.get("/api/plans/svc/projection").json()["total_cost"]
    assert after == 2 * before


def test_token(token_client: TestClient, plans_dir: Path) -> None:
    text = (plans_dir / "svc.yaml").read_text()
    r = token_client.put("/api/plans/x", content=text)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = token_client.put("/api/plans/x", content=text, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = token_client.put("/api/plans/x", content=text, headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status_code == 401
    assert not (plans_dir / "x.yaml").exists()
    ok = token_client.put(
        "/api/plans/x", content=text, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert ok.status_code == 201
    assert token_client.get("/api/plans/x").status_code == 200  # reads need no token


def test_oversize_body(client: TestClient) -> None:
    big = "x" * 70_000
    r = client.post("/api/plans/validate", content=big)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    r = client.put("/api/plans/big", content=big)
    assert r.status_code == 413


def test_oversize_streamed_body(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 10_000

    r = client.post("/api/plans/validate", content=chunks())
    assert r.status_code == 413


def test_unknown(client: TestClient) -> None:
    for url in (
        "/api/plans/nope",
        "/api/plans/nope/projection",
        "/api/plans/nope/scenarios",
        "/api/plans/nope/check",
        "/api/plans/apm/exports/nope",
        "/api/forecasts/nope",
        "/api/nothing",
    ):
        r = client.get(url)
        assert r.status_code == 404, url
        assert r.json()["error"] == "not_found"


def test_exports_and_check(client: TestClient) -> None:
    r = client.get("/api/plans/apm/exports/prometheus-rules")
    assert r.status_code == 200
    files = r.json()["files"]
    assert files
    assert all(isinstance(v, str) for v in files.values())
    r = client.get("/api/plans/svc/check")
    assert r.status_code == 200
    body = r.json()
    # the stored history (examples/metrics/apm_history.csv) ended weeks ago
    assert (body["status"], body["exit_code"]) == ("stale", 1)
    assert {x["series"] for x in body["results"]} >= {"avg_cpu_usage"}
    cpu = next(x for x in body["results"] if x["series"] == "avg_cpu_usage")
    assert (cpu["status"], cpu["stale"], cpu["last_sample"]) == (
        "stale",
        True,
        "2026-10-12T23:00:00Z",
    )


def test_series_and_forecasts(client: TestClient) -> None:
    series = client.get("/api/series").json()
    assert {s["series"] for s in series} == {
        "avg_cpu_usage",
        "avg_memory_usage",
        "requests_per_second",
    }
    body = client.get("/api/forecasts").json()
    assert set(body["series"]) == {s["series"] for s in series}
    runway = body["runway"]
    assert {r["series"] for r in runway} == {"avg_cpu_usage", "avg_memory_usage"}
    firsts = [r["p10"] or r["p50"] or r["p90"] for r in runway]
    dated = [f for f in firsts if f is not None]
    assert dated == sorted(dated)
    assert firsts[: len(dated)] == dated
    one = client.get("/api/forecasts/avg_cpu_usage").json()
    assert one["series"] == "avg_cpu_usage"
    assert one["forecast"]
    assert {"mean", "lo80", "hi80", "lo95", "hi95"} <= set(one["forecast"][0])
    assert {r["level"] for r in one["runway"]} == {"warning", "critical"}


def test_status(client: TestClient) -> None:
    body = client.get("/api/status").json()
    assert body["status"] == "stale"  # the stored history ended weeks ago: see test_freshness
    assert body["plans"] == 3
    assert body["series"] == 3
    assert len(body["freshness"]) == 3
    assert body["refresh_error"] is None
    assert body["last_success"] is not None


def test_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/plans",
        "/api/plans/{name}",
        "/api/plans/validate",
        "/api/plans/{name}/projection",
        "/api/plans/{name}/scenarios",
        "/api/plans/{name}/exports/{kind}",
        "/api/plans/{name}/check",
        "/api/series",
        "/api/forecasts",
        "/metrics",
    ):
        assert path in paths, path
    assert "put" in paths["/api/plans/{name}"]
    assert client.get("/docs").status_code == 200
