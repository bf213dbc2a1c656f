"""The background refresh against a real Prometheus server (the ``prometheus_url`` fixture
of ``tests/conftest.py`` backfills history with promtool and starts ``prometheus``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from capplan.web import Settings, create_app

PLAN = """system: api
drivers: {users: {initial: 1}}
metrics:
  api_cpu: {unit: '%', query: 'cpu_usage{job="api"}'}
thresholds:
  cpu: {metric: api_cpu, warning: 44, critical: 60}
"""


def test_refresh_pulls_plan_metrics(prometheus_url: str, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "api.yaml").write_text(PLAN, encoding="utf-8")
    settings = Settings(
        plans_dir=plans,
        store=tmp_path / "store.duckdb",
        refresh_seconds=0,
        prometheus_url=prometheus_url,
        history="1d",
        forecast_horizon="1d",
        allowed_hosts=("testserver",),
    )
    with TestClient(create_app(settings)) as client:
        status = client.get("/api/status").json()
        assert status["refresh_error"] is None
        series = {s["series"] for s in client.get("/api/series").json()}
        assert series == {'api_cpu{job="api"}'}
        body = client.get("/api/forecasts/api_cpu%7Bjob%3D%22api%22%7D").json()
        assert body["forecast"]
        assert {r["level"] for r in body["runway"]} == {"warning", "critical"}
        metrics = client.get("/metrics").text
        assert 'capplan_forecast_value{quantile="mean",series="api_cpu{job=\\"api\\"}"}' in metrics
        page = client.get("/forecasts/view", params={"series": 'api_cpu{job="api"}'})
        assert page.status_code == 200
        assert "api_cpu{job=&#34;api&#34;}" in page.text
