"""``capplan report weekly|monthly`` on the APM example: Markdown, HTML and PDF files, the
HTML's charts drawn offline in Chromium, the PDF rendered with pdftoppm, and ``--send`` /
``check --notify`` delivered to a local SMTP server and a local webhook receiver.

Chromium, playwright and pdftoppm are required: without them these tests fail, they do not
skip (``scripts/system-deps.sh`` installs chromium and poppler-utils).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import offline_page
from typer.testing import CliRunner

from capplan.cli import app

ROOT = Path(__file__).resolve().parents[2]
PLAN = str(ROOT / "examples" / "apm.yaml")
CHECKS = str(ROOT / "examples" / "metrics" / "apm_checks.yaml")
HISTORY = str(ROOT / "examples" / "metrics" / "apm_history.csv")
NOW = "2026-10-13T00:00:00Z"
MONTHLY = ["report", "monthly", PLAN, HISTORY, "--checks", CHECKS, "--now", NOW]
MONTHLY += ["--set", "budget.monthly_limit=2000"]
ARTIFACTS = ROOT / "tests" / "artifacts"

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The monthly report of the APM example in Markdown, HTML and PDF."""
    out = tmp_path_factory.mktemp("report")
    args = [*MONTHLY, "-o", str(out / "m.md"), "-o", str(out / "m.html"), "-o", str(out / "m.pdf")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_markdown_has_every_section(written: Path) -> None:
    text = (written / "m.md").read_text()
    assert text.startswith("# Monthly Capacity Review - APM - 2026-10")
    for heading in (
        "Executive Summary",
        "Resource Utilization Summary",
        "Threshold Firings",
        "Runway",
        "Scaling Activities",
        "Budget",
        "Plan vs Actual",
        "Recommendations",
    ):
        assert f"\n## {heading}\n" in text
    # average, peak and p95 over 30 days, the trend against the 30 days before
    assert "| avg_cpu_usage | 719 | 50.22% | 77.28% | 2026-10-09 14:00 | 71.42% | 44.86% |" in text
    assert "up 12.0%" in text
    # the cpu warning (> 70% for 10m) fired 10 times, 38 hours in all
    assert "| cpu | avg_cpu_usage | warning (> 70%) | 10 | 38h | ok |" in text
    assert "| avg_cpu_usage | cpu > 80 | critical | 2026-10-22 (2026-10-16 - 2026-10-30)" in text
    assert "compute scales up from 6 to 7 instances in 2026-12" in text
    # October's planned cost $1,844 is 92% of the $2,000 limit: past the runbook's 80% alert
    assert "| planned cost of the month | $1,844 |" in text
    assert "**Warning: the month's planned cost is 92% of the monthly limit" in text
    assert "Scaling events planned in 2026-10: 0" in text


def test_weekly_to_stdout_and_json() -> None:
    result = runner.invoke(
        app, ["report", "weekly", PLAN, HISTORY, "--checks", CHECKS, "--now", NOW]
    )
    assert result.exit_code == 0, result.output
    assert "# Weekly Capacity Report - APM - 2026-10-13" in result.stdout
    assert "## Budget" not in result.stdout
    result = runner.invoke(
        app, ["report", "weekly", CHECKS, HISTORY, "--now", NOW, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == "2026-10-06T00:00:00Z"
    assert {m["series"] for m in data["metrics"]} == {
        "avg_cpu_usage",
        "avg_memory_usage",
        "requests_per_second",
    }


def test_bad_kind_and_suffix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "hourly", PLAN, HISTORY])
    assert result.exit_code == 2
    assert "available: daily, monthly, quarterly, weekly" in result.output
    result = runner.invoke(app, [*MONTHLY, "-o", str(tmp_path / "r.txt")])
    assert result.exit_code == 2
    assert ".md, .html, .pdf or .json" in result.output


def test_html_charts_draw_offline(written: Path) -> None:
    """Every chart of the HTML is drawn in Chromium with every request blocked."""
    with offline_page(written / "m.html") as seen:
        count = seen.page.locator(".plotly-graph-div").count()
        drawn = seen.page.evaluate(
            "() => [...document.querySelectorAll('.plotly-graph-div')].map(d => "
            "d.querySelectorAll('.main-svg .trace, .main-svg .bars .point').length)"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        seen.page.screenshot(path=str(ARTIFACTS / "report-monthly.png"), full_page=True)
    assert not seen.outside, f"the report asked the network for {seen.outside}"
    assert not seen.errors, seen.errors
    assert count == 4  # three series and the cost per month
    assert all(n > 0 for n in drawn), drawn


def test_pdf_renders(written: Path, tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm is missing: install the Debian package 'poppler-utils'")
    pdf = written / "m.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    png = next(tmp_path.glob("p*.png"))
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # text and charts, not a blank page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, ARTIFACTS / "report-monthly-pdf-page1.png")
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Monthly Capacity Review - APM - 2026-10" in text
    assert "Resource Utilization Summary" in text


def test_pdf_without_chromium_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPPLAN_CHROMIUM", str(tmp_path / "no-chromium"))
    out = tmp_path / "r.pdf"
    result = runner.invoke(app, [*MONTHLY, "-o", str(out)])
    assert result.exit_code == 2
    assert "Chromium is not installed" in result.output
    assert "apt-get install chromium" in result.output
    assert not out.exists()


# --- delivery ----------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP receiver: its json:// URL and the JSON bodies posted to it."""
    received: list[dict[str, Any]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[str, list[str]]]:
    """A local SMTP server (aiosmtpd): its mailto:// URL and the messages it took."""
    from aiosmtpd.controller import Controller

    messages: list[str] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        url = f"mailto://127.0.0.1:{port}?to=ops@example.com&from=capplan@example.com"
        yield url + "&mode=insecure", messages
    finally:
        controller.stop()


def test_report_sent_to_webhook_and_email(
    tmp_path: Path,
    webhook: tuple[str, list[dict[str, Any]]],
    smtp: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook_url, posted = webhook
    mail_url, mails = smtp
    monkeypatch.setenv("CAPPLAN_NOTIFY_URLS", mail_url)
    out = tmp_path / "m.md"
    args = [*MONTHLY, "-o", str(out), "--send", hook_url, "--send", "env"]
    args += ["--link", "https://capacity.example/reports/2026-10"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert "sent the summary to 2 targets" in result.output
    assert len(posted) == 1
    assert posted[0]["title"] == "Monthly Capacity Review - APM - 2026-10"
    body = posted[0]["message"]
    assert "cpu warning (> 70%) on avg_cpu_usage: fired 10x, 38h firing" in body
    assert "Budget: the month's planned cost is 92% of the monthly limit" in body
    assert "https://capacity.example/reports/2026-10" in body
    assert len(mails) == 1
    assert "Subject: Monthly Capacity Review - APM - 2026-10" in mails[0]
    assert "fired 10x" in mails[0].replace("=\r\n", "")


def test_unreachable_target_is_exit_2_and_the_report_is_written(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    secret = "s3cr3t-t0ken-value"
    out = tmp_path / "m.md"
    url = f"json://hookuser:{secret}@127.0.0.1:{port}/hook"
    result = runner.invoke(app, [*MONTHLY, "-o", str(out), "--send", url])
    assert result.exit_code == 2, result.output
    assert out.is_file()
    assert "could not deliver the notification" in result.output
    assert secret not in result.output
    assert "hookuser" not in result.output


def test_unknown_scheme_is_exit_2_masked() -> None:
    result = runner.invoke(app, [*MONTHLY, "--send", "nosuch://tok3n-abcdef/xyz"])
    assert result.exit_code == 2
    assert "not a notification URL Apprise knows" in result.output
    assert "tok3n-abcdef" not in result.output


def test_check_notifies_the_firing_thresholds(
    webhook: tuple[str, list[dict[str, Any]]], smtp: tuple[str, list[str]]
) -> None:
    hook_url, posted = webhook
    mail_url, mails = smtp
    # as of 2026-10-09 15:00 the cpu warning (> 70% for 10m) is firing
    args = ["check", CHECKS, HISTORY, "--now", "2026-10-09T15:00:00Z", "--since", "1d"]
    args += ["--notify", hook_url, "--notify", mail_url, "--link", "http://localhost:8000/"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output  # warning
    assert "notified 2 targets" in result.output
    assert posted[0]["title"] == "capplan check: WARNING - APM service monitoring"
    assert "cpu warning on avg_cpu_usage" in posted[0]["message"]
    assert "(warning > 70%)" in posted[0]["message"]
    assert "http://localhost:8000/" in posted[0]["message"]
    assert "Subject: capplan check: WARNING - APM service monitoring" in mails[0]


def test_check_ok_sends_nothing(webhook: tuple[str, list[dict[str, Any]]]) -> None:
    hook_url, posted = webhook
    args = ["check", CHECKS, HISTORY, "--now", NOW, "--since", "1h", "--notify", hook_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert posted == []


def test_check_unreachable_target_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "targets.txt"
    config.write_text(f"json://admin:hunter2-secret@127.0.0.1:{_free_port()}/x\n")
    args = ["check", CHECKS, HISTORY, "--now", "2026-10-09T15:00:00Z", "--since", "1d"]
    result = runner.invoke(app, [*args, "--notify-config", str(config)])
    assert result.exit_code == 3, result.output  # check's errors are 3: its 2 means critical
    assert "could not deliver the notification" in result.output
    assert "hunter2-secret" not in result.output
