"""Every page the service serves, in headless Chromium, with nothing reachable but the server.

The pages are listed from the service itself (its plans and its series), so a new plan or
series is visited too. Each page must load with no console error, no page (script) error, no
failed request and no request outside the server, must say how old its data is, and leaves
a full-page screenshot in ``tests/artifacts/`` (named after its path: ``plan_apm.png``,
``scenarios_apm.png``, ``forecast_avg_cpu_usage.png``, ``docs.png``, ...).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

# Plotly's charts are drawn (the dashboard pages), or there are none.
CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('.plotly-graph-div'))
  .every(el => el._fullLayout && el.querySelector('.main-svg'))"""


def dashboard_paths(base_url: str) -> list[str]:
    """Every dashboard page: the overview, each plan and its scenarios, the forecasts,
    each series' forecast, the reports and the right-sizing."""
    plans = httpx.get(f"{base_url}/api/plans", timeout=10).json()
    series = httpx.get(f"{base_url}/api/series", timeout=10).json()
    names = [p["name"] for p in plans if p["valid"]]
    ids = [s["series"] for s in series]
    assert names, plans
    assert ids, series
    paths = ["/"]
    for name in names:
        paths += [f"/plans/{name}", f"/plans/{name}/scenarios", f"/plans/{name}/compare"]
    paths.append("/forecasts")
    paths += [f"/forecasts/view?series={s}" for s in ids]
    paths += ["/reports", "/rightsize"]
    return paths


def shot_name(path: str) -> str:
    """The screenshot name of a page: ``/`` → ``index``, ``/plans/a`` → ``plan_a``,
    ``/plans/a/scenarios`` → ``scenarios_a``, ``/plans/a/compare`` → ``compare_a``,
    ``/forecasts/view?series=s`` → ``forecast_s``."""
    if path == "/":
        return "index"
    if path.startswith("/forecasts/view?series="):
        return "forecast_" + re.sub(r"\W+", "_", path.partition("=")[2])
    parts = path.strip("/").split("/")
    if parts[0] == "plans":
        prefix = {"scenarios": "scenarios_", "compare": "compare_"}.get(parts[-1], "plan_")
        return prefix + parts[1]
    return "_".join(parts)


def test_shot_names() -> None:
    assert shot_name("/") == "index"
    assert shot_name("/plans/the_bot") == "plan_the_bot"
    assert shot_name("/plans/the_bot/scenarios") == "scenarios_the_bot"
    assert shot_name("/plans/the_bot/compare") == "compare_the_bot"
    assert shot_name("/forecasts") == "forecasts"
    assert shot_name("/forecasts/view?series=avg_cpu_usage") == "forecast_avg_cpu_usage"
    assert shot_name("/docs") == "docs"
    assert shot_name("/reports") == "reports"
    assert shot_name("/rightsize") == "rightsize"


def test_every_dashboard_page_is_clean(visit: Any, base_url: str) -> None:
    paths = dashboard_paths(base_url)
    assert len(paths) >= 10, paths
    for path in paths:
        seen = visit(path, wait_until="networkidle")
        seen.page.wait_for_function(CHARTS_DRAWN)
        age = seen.page.locator("#data-age")
        assert age.count() == 1, f"{path} does not say how old its data is"
        assert re.search(r"data as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", age.inner_text()), path
        seen.finish(shot_name(path))


def test_swagger_ui_offline(visit: Any) -> None:
    """``/docs`` draws every operation with Swagger UI's files served by the service (any
    request elsewhere is aborted and fails the test)."""
    seen = visit("/docs", wait_until="networkidle")
    page = seen.page
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 10
    assert page.locator(".opblock-summary-path", has_text="/api/plans/{name}").count() > 0
    assert any(u.endswith("/static/docs/swagger-ui-bundle.js") for u in seen.requests)
    assert any(u.endswith("/openapi.json") for u in seen.requests)
    seen.finish("docs")


def test_redoc_offline(visit: Any) -> None:
    """``/redoc`` draws the API reference with ReDoc's file served by the service."""
    seen = visit("/redoc", wait_until="networkidle")
    page = seen.page
    page.wait_for_selector(".api-content h1")
    assert "capplan" in page.inner_text(".api-content h1")
    assert page.locator("[data-section-id^='operation/']").count() >= 10
    assert any(u.endswith("/static/docs/redoc.standalone.js") for u in seen.requests)
    seen.finish("redoc", full_page=False)  # the whole reference is 8,000 pixels long
