"""The dashboard: server-rendered HTML with Plotly charts, everything escaped, offline."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

SCRIPT = "<script>alert(1)</script>"


def check_page(client: TestClient, url: str, chart: bool = True) -> str:
    r = client.get(url)
    assert r.status_code == 200, url
    assert r.headers["content-type"].startswith("text/html")
    html: str = r.text
    assert '<script src="/static/plotly.min.js"></script>' in html
    assert "cdn." not in html
    assert "https://cdn" not in html
    if chart:
        assert 'class="plotly-graph-div"' in html
    assert SCRIPT not in html  # the svc plan's system name is hostile HTML
    return html


def test_index(client: TestClient) -> None:
    html = check_page(client, "/", chart=False)
    assert "the_bot" in html
    assert "&lt;script&gt;" in html
    assert "avg_cpu_usage" in html


def test_plan_page(client: TestClient) -> None:
    html = check_page(client, "/plans/apm")
    assert "Month by month" in html
    assert "Scaling events" in html
    assert html.count('class="plotly-graph-div"') == 2
    html = check_page(client, "/plans/svc")
    assert "Svc &lt;script&gt;" in html


def test_scenarios_page(client: TestClient) -> None:
    html = check_page(client, "/plans/the_bot/scenarios")
    assert "total cost over horizon" in html


def test_forecast_pages(client: TestClient) -> None:
    html = check_page(client, "/forecasts", chart=False)
    assert "/forecasts/view?series=avg_cpu_usage" in html
    html = check_page(client, "/forecasts/view?series=avg_cpu_usage")
    assert "80% interval" in html
    assert "warning 40" in html


def test_page_errors(client: TestClient) -> None:
    assert client.get("/plans/nope").status_code == 404
    r = client.get("/forecasts/view?series=" + quote(SCRIPT))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert SCRIPT not in r.text
    assert "&lt;script&gt;" in r.text
    assert client.get("/forecasts/view").status_code == 422


def test_static(client: TestClient) -> None:
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200
    assert len(js.text) > 1_000_000
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/static/%2e%2e/settings.py").status_code == 404
