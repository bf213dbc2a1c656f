"""End-to-end tests of the dashboard in headless Chromium, driven by Playwright.

Each test opens one page of the real service (see ``conftest.py``) in Debian's Chromium
(``/usr/bin/chromium``), waits for its Plotly charts, checks they were drawn from non-empty
data, checks key text, asserts the page logged no console or script error and requested
nothing outside the server, and saves a full-page screenshot to ``tests/artifacts/``.
"""

from __future__ import annotations

from typing import Any

# Every Plotly div has drawn its SVG and holds its figure (data and full layout).
CHARTS_DRAWN = """() => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return divs.every(el => el._fullLayout && el.data && el.querySelector('.main-svg'));
}"""

# What each chart was drawn from: traces, their points, and the SVG marks Plotly drew.
CHART_SUMMARY = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(el => {
  const size = a => (a && typeof a.length === 'number') ? a.length : 0;
  const traces = Array.from(el.data || []);
  return {
    id: el.id,
    plotted: el.classList.contains('js-plotly-plot'),
    title: (el._fullLayout && el._fullLayout.title && el._fullLayout.title.text) || '',
    traces: traces.length,
    points: traces.map(t => Math.max(size(t.x), size(t.y))),
    marks: el.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
    width: el.getBoundingClientRect().width,
    height: el.getBoundingClientRect().height,
  };
})"""


def _charts(seen: Any, expected: int) -> list[dict[str, Any]]:
    """Wait for the page's Plotly charts; check there are ``expected`` and each shows data."""
    page = seen.page
    assert page.evaluate("typeof window.Plotly") == "object", "plotly.js did not load"
    page.wait_for_function(CHARTS_DRAWN)
    charts: list[dict[str, Any]] = page.evaluate(CHART_SUMMARY)
    assert len(charts) == expected, f"expected {expected} charts, found {charts}"
    for chart in charts:
        assert chart["plotted"], f"Plotly did not draw chart {chart}"
        assert chart["traces"] > 0, f"chart has no traces: {chart}"
        assert max(chart["points"]) > 0, f"no trace of the chart has points: {chart}"
        assert chart["marks"] > 0, f"chart drew no bars or lines: {chart}"
        assert chart["width"] > 100, f"chart has no width: {chart}"
        assert chart["height"] > 100, f"chart has no height: {chart}"
    return charts


def _finish(seen: Any, name: str) -> None:
    """No refresh failure shown, no error on the page; the full-page screenshot saved."""
    body = seen.page.inner_text("body")
    assert "Last refresh failed" not in body, body
    seen.finish(name)


def _row(seen: Any, *texts: str) -> str:
    """The text of the first table row containing every one of ``texts`` (fails if none)."""
    rows = seen.page.locator("tr")
    for text in texts:
        rows = rows.filter(has_text=text)
    assert rows.count() > 0, f"no table row contains {texts}"
    return str(rows.first.inner_text())


def test_index(visit: Any) -> None:
    seen = visit("/")
    page = seen.page
    assert page.title() == "Overview · capplan"
    for plan, system in (("the_bot", "THE_BOT platform"), ("apm", "APM")):
        row = _row(seen, system)
        assert plan in row, row
        assert "valid" in row, row
    runway = _row(seen, "avg_cpu_usage", "apm_checks")
    assert "cpu" in runway, runway
    assert _charts(seen, 0) == []  # the overview is tables only
    _finish(seen, "index")


def test_plan(visit: Any) -> None:
    seen = visit("/plans/the_bot")
    page = seen.page
    assert "THE_BOT platform" in page.inner_text("h1")
    assert page.get_by_text("tier_100k").count() > 0
    charts = _charts(seen, 2)
    assert charts[0]["title"].startswith("Cost per period"), charts[0]
    badge = page.locator("#over-capacity .badge")
    assert badge.inner_text() == "platform from 2027-09 (period 20)"
    assert badge.is_visible()
    assert page.locator("tr.over").count() == 5
    _finish(seen, "plan_the_bot")


def test_plan_apm(visit: Any) -> None:
    seen = visit("/plans/apm")
    assert "APM" in seen.page.inner_text("h1")
    _charts(seen, 2)
    _finish(seen, "plan_apm")


def test_scenarios(visit: Any) -> None:
    seen = visit("/plans/the_bot/scenarios")
    page = seen.page
    assert "THE_BOT platform" in page.inner_text("h1")
    assert page.get_by_text("tier_100k").count() > 0
    _charts(seen, 1)
    assert page.locator("#over-capacity .badge").count() == 3  # two over, one "none"
    _finish(seen, "scenarios_the_bot")


def test_forecasts(visit: Any) -> None:
    seen = visit("/forecasts")
    page = seen.page
    assert "Runway" in page.inner_text("h1")
    _row(seen, "avg_cpu_usage", "apm_checks", "cpu")
    for series in ("avg_cpu_usage", "avg_memory_usage", "requests_per_second"):
        assert page.locator(f'li a[href="/forecasts/view?series={series}"]').count() == 1
    assert _charts(seen, 0) == []  # runway table and series list only
    _finish(seen, "forecasts")


def test_forecast_view(visit: Any) -> None:
    seen = visit("/forecasts/view?series=avg_cpu_usage")
    page = seen.page
    assert "Forecast of avg_cpu_usage" in page.inner_text("h1")
    _row(seen, "avg_cpu_usage", "apm_checks", "cpu")
    charts = _charts(seen, 1)
    assert charts[0]["traces"] >= 2, f"expected history and forecast traces: {charts[0]}"
    _finish(seen, "forecast_avg_cpu_usage")


def test_offline(visit: Any, base_url: str) -> None:
    """Every page loads only from the server itself: no CDN, fonts or other outside URL."""
    paths = [
        "/",
        "/plans/the_bot",
        "/plans/the_bot/scenarios",
        "/forecasts",
        "/forecasts/view?series=avg_cpu_usage",
    ]
    outside: list[str] = []
    for path in paths:
        seen = visit(path)
        seen.page.wait_for_load_state("networkidle")
        assert any(u.endswith("/static/plotly.min.js") for u in seen.requests), seen.requests
        outside += [
            f"{path}: {url}"
            for url in seen.requests
            if not url.startswith((base_url + "/", "data:", "blob:"))
        ]
        assert not seen.errors, f"{path} reported errors:\n" + "\n".join(seen.errors)
    assert not outside, "requests outside the server:\n" + "\n".join(outside)


def test_rightsize(visit: Any) -> None:
    """The stored container (1 core and 512 MiB requested, 0.2 cores and ~200 MiB used) is
    over-provisioned: its row says so, with KRR's recommendation and a blue badge."""
    seen = visit("/rightsize")
    page = seen.page
    assert page.inner_text("h1") == "Right-sizing"
    assert page.locator('nav a[href="/rightsize"]').count() == 1
    rows = page.locator("#recommendations tbody tr")
    assert rows.count() == 1
    row = _row(seen, "shop", "api", "Deployment")
    assert "over" in row, row
    assert "512Mi" in row, row
    badge = rows.first.locator(".badge")
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(21, 101, 192)"
    assert _charts(seen, 0) == []
    _finish(seen, "rightsize")
