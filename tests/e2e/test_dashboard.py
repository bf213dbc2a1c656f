"""End-to-end tests of the dashboard in headless Chromium, driven by Playwright.

A module fixture starts the real service (``python -m capplan serve``) on a free loopback port
with a temp plans directory (``the_bot``, ``apm``, ``apm_checks``) and a store built by
``capplan ingest`` from ``examples/metrics/apm_history.csv``, and waits for the first forecast
refresh. Each test opens one page in Debian's Chromium (``/usr/bin/chromium``), waits for its
Plotly charts, checks they were drawn from non-empty data, checks key text, asserts the page
logged no console or script error and saves a full-page screenshot to ``tests/artifacts/``.
A last test checks the dashboard works offline: every request goes to the server itself.

Without Chromium or the ``playwright`` package the tests fail, they do not skip: ``.ci/run``
installs the Debian package ``chromium``, and ``playwright`` is a dev dependency. Playwright's
own browser downloads are not used (``playwright install`` is never needed).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 20_000

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real ``capplan serve`` on a free loopback port, after its first forecast refresh."""
    work = tmp_path_factory.mktemp("e2e")
    plans = work / "plans"
    plans.mkdir()
    for src in ("the_bot.yaml", "apm.yaml", "metrics/apm_checks.yaml"):
        shutil.copy(ROOT / "examples" / src, plans)
    store = work / "m.duckdb"
    csv = ROOT / "examples" / "metrics" / "apm_history.csv"
    ingest = subprocess.run(
        [sys.executable, "-m", "capplan", "ingest", str(csv), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if ingest.returncode != 0:
        pytest.fail(f"capplan ingest failed ({ingest.returncode}):\n{ingest.stderr}")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    cmd = [sys.executable, "-m", "capplan", "serve", "--plans", str(plans), "--store", str(store)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--refresh", "0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"capplan serve exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                status = httpx.get(f"{url}/api/status", timeout=2).json()
            except (httpx.HTTPError, ValueError):
                status = {}
            if status.get("refreshes", 0) >= 1:
                break
            time.sleep(0.2)
        else:
            pytest.fail(
                f"capplan serve gave no refreshed /api/status within {STARTUP_TIMEOUT:.0f} s "
                f"(last: {status}):\n{_log_tail(log)}"
            )
        if status.get("refresh_error") or status.get("series", 0) < 1:
            pytest.fail(f"the first forecast refresh did not produce series: {status}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright (a fresh temp profile per launch)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the 'playwright' package is not installed: pip install -e '.[dev]'")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium'")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """What one page load did: problems reported by the page, and every URL it requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _on_console(seen: Visit, msg: Any) -> None:
    # Every console error fails the test (pages declare an inline icon, so Chromium asks for
    # no /favicon.ico).
    if msg.type != "error":
        return
    seen.errors.append(f"console {msg.type}: {msg.text} at {msg.location.get('url', '')}")


@pytest.fixture
def visit(browser: Any, base_url: str) -> Iterator[Any]:
    """Open a dashboard path in a fresh browser context, recording errors and requests."""
    contexts: list[Any] = []

    def open_page(path: str) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        seen = Visit(page)
        page.on("console", lambda msg: _on_console(seen, msg))
        page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
        page.on("request", lambda req: seen.requests.append(req.url))
        page.on(
            "requestfailed",
            lambda req: seen.errors.append(f"request failed: {req.url} ({req.failure})"),
        )
        response = page.goto(base_url + path, wait_until="load")
        assert response is not None, f"no response for {path}"
        assert response.status == 200, f"{path} answered {response.status}"
        return seen

    yield open_page
    for context in contexts:
        context.close()


def _charts(seen: Visit, expected: int) -> list[dict[str, Any]]:
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


def _finish(seen: Visit, name: str) -> None:
    """No error on the page, no refresh failure shown; save the full-page screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    body = seen.page.inner_text("body")
    assert "Last refresh failed" not in body, body
    assert not seen.errors, "the page reported errors:\n" + "\n".join(seen.errors)


def _row(seen: Visit, *texts: str) -> str:
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
