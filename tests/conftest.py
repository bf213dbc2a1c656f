"""Fixtures shared by several test modules: a real Prometheus server with backfilled history.

``prometheus_url`` writes six hours of ``cpu_usage{job="api"|"worker"}`` history as
OpenMetrics (ending two hours ago), backfills it with ``promtool tsdb create-blocks-from
openmetrics``, starts ``prometheus`` on a free loopback port and stops it at the end of the
session. The Debian package ``prometheus`` provides both binaries (``.ci/run`` installs it);
without them the tests that use it fail rather than skip.

``offline_page`` opens a local HTML file in headless Chromium with every other request
blocked, recording what the page asked for and every error it reported.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HOURS = 6
STEP = 60


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: install the Debian package 'prometheus'")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def history_end() -> int:
    # Whole minutes, two hours back: the head block is not involved, only backfilled blocks.
    return (int(time.time()) // 3600 - 2) * 3600


def wait_ready(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Wait up to 30 s for ``url/-/ready`` (Prometheus, Alertmanager) to answer 200."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"{what} did not become ready within 30 s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killing it if it does not stop within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def backfilled_prometheus(
    work: Path, openmetrics: list[str], block_hours: int | None = None
) -> Iterator[str]:
    """A real Prometheus on a free loopback port serving ``openmetrics`` (lines, without the
    final ``# EOF``), backfilled with promtool into ``work``; its URL while in the block.
    ``block_hours`` widens promtool's blocks (2 h by default): days of history for hundreds
    of series backfill 15 times faster in one block than in 2-hour ones."""
    promtool, prometheus = _binary("promtool"), _binary("prometheus")
    source = work / "history.om"
    source.write_text("\n".join([*openmetrics, "# EOF"]) + "\n")
    data = work / "data"
    widths = [f"--max-block-duration={block_hours}h"] if block_hours else []
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", *widths, str(source), str(data)],
        check=True,
        capture_output=True,
    )
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, "prometheus")
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory, history_end: int) -> Iterator[str]:
    start = history_end - HOURS * 3600
    lines = ["# TYPE cpu_usage gauge"]
    for job, base in (("api", 40.0), ("worker", 10.0)):
        for i, ts in enumerate(range(start, history_end + 1, STEP)):
            lines.append(f'cpu_usage{{job="{job}"}} {base + i * 0.01:.2f} {ts}')
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), lines) as url:
        yield url


@dataclass
class OfflinePage:
    """A page open on a local file: the Playwright page, the URLs it asked for beyond the
    file (all blocked) and the errors it reported (console, page errors, failed requests)."""

    page: Any
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def offline_page(file: Path, width: int = 1200) -> Iterator[OfflinePage]:
    """``file`` opened in headless Chromium (the Debian package) with every other request
    blocked; fails, not skips, without Playwright or Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the 'playwright' package is not installed: pip install -e '.[dev]'")
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        pytest.fail(f"{chromium} is missing: install the Debian package 'chromium'")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            seen = OfflinePage(page)

            def block(route: Any) -> None:
                if route.request.url != file.as_uri():
                    seen.outside.append(route.request.url)
                    route.abort("blockedbyclient")
                else:
                    route.continue_()

            page.route("**/*", block)
            page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
            page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda req: seen.errors.append(f"failed: {req.url}"))
            page.goto(file.as_uri(), wait_until="load")
            yield seen
        finally:
            browser.close()
