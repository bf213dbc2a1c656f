"""``capplan check --probes`` / ``--probes-only`` against a real HTTP server started here:
a healthy endpoint, a slow one (sleeps past the latency limit), a failing one (500), one that
never answers in time, and a port nothing listens on. Each gives its verdict, the measured
latency and the status and exit code of ``check``'s scale."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.errors import PlanError

runner = CliRunner()
SLOW_SECONDS = 0.6
HANG_SECONDS = 2.5
PAIR = threading.Barrier(2, timeout=5)


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012  (the paths asked for, shared by the tests)

    def do_GET(self) -> None:
        Handler.requests.append(self.path)
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        if self.path == "/hang":
            time.sleep(HANG_SECONDS)
        if self.path.startswith("/pair"):  # answers once two requests are in at once
            try:
                PAIR.wait()
            except threading.BrokenBarrierError:
                return
        code = 500 if self.path == "/broken" else 200
        body = b"ok\n" if code == 200 else b"boom\n"
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (the timeout case)
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plan_file(tmp_path: Path, probes: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(
        f"system: Shop\ndrivers: {{users: {{initial: 1}}}}\nprobes:\n{probes}", encoding="utf-8"
    )
    return path


def run_json(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["check", *args, "--format", "json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def probe_rows(data: dict[str, object]) -> dict[str, dict[str, object]]:
    rows = data["probes"]
    assert isinstance(rows, list)
    return {str(r["probe"]): r for r in rows}


def test_healthy_probe_is_ok_with_its_latency(server: str, tmp_path: Path) -> None:
    plan = plan_file(tmp_path, f"  health: {{url: '{server}/health', latency: 2s}}\n")
    code, data = run_json(str(plan), "--probes-only")
    row = probe_rows(data)["health"]
    assert code == 0
    assert data["status"] == "ok"
    assert row["verdict"] == "ok"
    assert row["http_status"] == 200
    latency = row["latency_seconds"]
    assert isinstance(latency, float)
    assert 0 < latency < 2


def test_each_kind_of_trouble(server: str, tmp_path: Path) -> None:
    port = closed_port()
    plan = plan_file(
        tmp_path,
        f"  health: {{url: '{server}/health', latency: 2s}}\n"
        f"  slow: {{url: '{server}/slow', latency: 300ms, timeout: 5s}}\n"
        f"  broken: {{url: '{server}/broken', severity: warning}}\n"
        f"  hang: {{url: '{server}/hang', timeout: 1s}}\n"
        f"  refused: {{url: 'http://127.0.0.1:{port}/health', timeout: 2s}}\n",
    )
    code, data = run_json(str(plan), "--probes-only")
    rows = probe_rows(data)
    assert [r["verdict"] for r in rows.values()] == ["ok", "slow", "failing", "failing", "failing"]
    slow = rows["slow"]
    assert slow["status"] == "warning"  # slow_severity's default
    assert isinstance(slow["latency_seconds"], float)
    assert slow["latency_seconds"] >= SLOW_SECONDS
    assert "above the limit of 300ms" in str(slow["message"])
    assert rows["broken"]["http_status"] == 500
    assert rows["broken"]["status"] == "warning"  # its severity
    assert "status 500, expected 200" in str(rows["broken"]["message"])
    assert rows["hang"]["status"] == "critical"
    assert "no answer within 1s (timeout)" in str(rows["hang"]["message"])
    hang_latency = rows["hang"]["latency_seconds"]
    assert isinstance(hang_latency, float)
    assert 1 <= hang_latency < HANG_SECONDS
    assert rows["refused"]["http_status"] is None
    assert "cannot connect" in str(rows["refused"]["message"])
    assert data["status"] == "critical"
    assert code == 2


def test_slow_only_is_a_warning_exit_1(server: str, tmp_path: Path) -> None:
    plan = plan_file(tmp_path, f"  slow: {{url: '{server}/slow', latency: 100ms}}\n")
    code, data = run_json(str(plan), "--probes-only")
    assert probe_rows(data)["slow"]["verdict"] == "slow"
    assert code == 1


def test_table_shows_the_probes(server: str, tmp_path: Path) -> None:
    plan = plan_file(tmp_path, f"  broken: {{url: '{server}/broken'}}\n")
    result = runner.invoke(app, ["check", str(plan), "--probes-only"])
    assert result.exit_code == 2
    assert "HTTP probes" in result.stdout
    assert "status 500, expected 200" in result.stdout
    assert "Status: critical (exit 2)" in result.stdout


def test_probes_join_the_threshold_check(server: str, tmp_path: Path) -> None:
    history = tmp_path / "cpu.csv"
    history.write_text(
        "timestamp,series,value\n2026-01-01T00:00:00Z,cpu,10\n2026-01-01T00:05:00Z,cpu,12\n",
        encoding="utf-8",
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: Shop\ndrivers: {users: {initial: 1}}\nmetrics: {cpu: {unit: '%'}}\n"
        "thresholds: {cpu: {metric: cpu, warning: 80}}\n"
        f"probes: {{broken: {{url: '{server}/broken'}}}}\n",
        encoding="utf-8",
    )
    args = [str(plan), str(history), "--now", "2026-01-01T00:06:00Z"]
    code, data = run_json(*args)
    assert code == 0  # no probe is made without --probes
    assert data["probes"] == []
    code, data = run_json(*args, "--probes")
    assert code == 2
    assert probe_rows(data)["broken"]["verdict"] == "failing"
    results = data["results"]
    assert isinstance(results, list)
    assert results[0]["status"] == "ok"


def test_only_declared_urls_are_requested(server: str, tmp_path: Path) -> None:
    Handler.requests.clear()
    plan = plan_file(tmp_path, f"  health: {{url: '{server}/health?from=plan'}}\n")
    run_json(str(plan), "--probes-only")
    assert Handler.requests == ["/health?from=plan"]


def test_probes_without_any_declared_is_an_error(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("system: Shop\ndrivers: {users: {initial: 1}}\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(plan), "--probes-only"])
    assert result.exit_code == 3
    assert "declares no probes" in result.output


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ("{url: 'ftp://host/x'}", "http:// or https:// URL"),
        ("{url: 'http://u:secret@host/'}", "must not hold a password"),
        ("{url: 'http://host/', latency: 20s, timeout: 10s}", "must not exceed timeout"),
        ("{url: 'http://host/', status: 999}", "less than or equal to 599"),
        ("{url: 'http://host/', latency: 0s}", "must be a duration > 0"),
    ],
)
def test_bad_probes_are_clear_errors(tmp_path: Path, probe: str, expected: str) -> None:
    plan = plan_file(tmp_path, f"  health: {probe}\n")
    with pytest.raises(PlanError) as info:
        capplan.load_plan(plan)
    assert expected in str(info.value)
    assert "probes.health" in str(info.value)
    assert "secret" not in str(info.value)  # the URL with a password is not echoed


def test_probes_are_made_at_the_same_time(server: str, tmp_path: Path) -> None:
    """Each of two probes is answered only while the other is waiting too: one after the
    other, the first would time out."""
    plan = plan_file(
        tmp_path,
        f"  a: {{url: '{server}/pair?a', timeout: 4s}}\n"
        f"  b: {{url: '{server}/pair?b', timeout: 4s}}\n",
    )
    code, data = run_json(str(plan), "--probes-only")
    assert [r["verdict"] for r in probe_rows(data).values()] == ["ok", "ok"]
    assert code == 0
