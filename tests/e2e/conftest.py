"""Fixtures of the browser tests: the real service and Debian's headless Chromium.

``base_url`` starts the real service (``python -m capplan serve``) on a free loopback port
with a temp plans directory (``the_bot``, ``apm``, ``apm_checks``) and a store built by
``capplan ingest`` from ``examples/metrics/apm_history.csv`` and one container's cAdvisor and
kube-state-metrics series (:func:`container_csv`, for the right-sizing page), and waits for
the first forecast refresh; one server serves the whole session. ``visit`` opens a page in a
fresh browser context that answers no request outside the server (each is aborted, and so
counted as a failed request), and records console errors, page errors, failed requests and every URL
requested; :meth:`Visit.finish` saves a full-page screenshot to ``tests/artifacts/`` and
fails on any of those errors.

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
import numpy as np
import pytest
from tests.conftest import stop

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def container_csv(path: Path) -> Path:
    """One container (``shop/api``, one pod) over the last day of the APM history, 5-minute
    samples: 0.2 cores ± 10% and about 200 MiB used, requests of 1 core and 512 MiB."""
    end = 1_791_846_000  # 2026-10-12T23:00:00Z, the APM history's last hour
    stamps = range(end - 86400, end + 1, 300)
    rng = np.random.default_rng(3)
    labels = "shop,api-7d9f8c6b5-x2x7q,api"
    lines = ["series,timestamp,value,namespace,pod,container,resource"]
    counter = 0.0
    for t in stamps:
        counter += 300 * 0.2 * (1 + 0.1 * rng.standard_normal())
        lines.append(f"container_cpu_usage_seconds_total,{t},{counter!r},{labels},")
        memory = 200 * 2**20 * (1 + 0.03 * rng.standard_normal())
        lines.append(f"container_memory_working_set_bytes,{t},{memory!r},{labels},")
    for resource, amount in (("cpu", 1), ("memory", 512 * 2**20)):
        lines.append(f"kube_pod_container_resource_requests,{end},{amount},{labels},{resource}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real ``capplan serve`` on a free loopback port, after its first forecast refresh."""
    work = tmp_path_factory.mktemp("e2e")
    plans = work / "plans"
    plans.mkdir()
    for src in ("the_bot.yaml", "apm.yaml", "metrics/apm_checks.yaml"):
        shutil.copy(ROOT / "examples" / src, plans)
    store = work / "m.duckdb"
    csv = ROOT / "examples" / "metrics" / "apm_history.csv"
    containers = container_csv(work / "containers.csv")
    files = [str(csv), str(containers)]
    ingest = subprocess.run(
        [sys.executable, "-m", "capplan", "ingest", *files, "--store", str(store)],
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
        stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright (a fresh temp profile per launch). Per
    module: Playwright's sync API keeps an event loop running in this thread while it is
    open, and tests elsewhere that call ``asyncio.run`` must not meet it."""
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
    """What one page load did: problems reported by the page, every URL it requested and
    every request to outside the server (aborted)."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def finish(self, name: str, full_page: bool = True) -> None:
        """Save the screenshot ``tests/artifacts/<name>.png`` (the whole page, or what the
        window shows); fail on any error the page reported and on any request to outside
        the server."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
        assert not self.outside, "requests outside the server:\n" + "\n".join(self.outside)
        assert not self.errors, "the page reported errors:\n" + "\n".join(self.errors)


def _on_console(seen: Visit, msg: Any) -> None:
    # Every console error fails the test (pages declare an inline icon, so Chromium asks for
    # no /favicon.ico).
    if msg.type != "error":
        return
    seen.errors.append(f"console {msg.type}: {msg.text} at {msg.location.get('url', '')}")


@pytest.fixture
def visit(browser: Any, base_url: str) -> Iterator[Any]:
    """Open a path of the service in a fresh browser context that reaches nothing else
    (every other request is aborted), recording errors and requests."""
    contexts: list[Any] = []

    def open_page(path: str, wait_until: str = "load") -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        seen = Visit(page)

        def only_the_server(route: Any) -> None:
            url = route.request.url
            if url.startswith(base_url + "/"):
                route.continue_()
            else:
                seen.outside.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", only_the_server)
        page.on("console", lambda msg: _on_console(seen, msg))
        page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
        page.on("request", lambda req: seen.requests.append(req.url))
        page.on(
            "requestfailed",
            lambda req: seen.errors.append(f"request failed: {req.url} ({req.failure})"),
        )
        response = page.goto(base_url + path, wait_until=wait_until)
        assert response is not None, f"no response for {path}"
        assert response.status == 200, f"{path} answered {response.status}"
        return seen

    yield open_page
    for context in contexts:
        context.close()
