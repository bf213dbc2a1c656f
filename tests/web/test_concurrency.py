"""One request must not stall the others: a real ``capplan serve`` (Uvicorn, in a process of
its own) is sent hostile and expensive requests while ``/api/status`` is timed beside them.

The server runs with a 0.5 s request budget (``--request-timeout``): validation, projections
and pages run in worker threads, so the event loop keeps answering, and a request whose
work outlasts the budget is answered 503 at once.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import stop

HERE = Path(__file__).resolve().parent
BUDGET = 0.5
STATUS_LIMIT = 0.1  # seconds: /api/status while the server is busy elsewhere


def alias_bomb(levels: int = 7, width: int = 9) -> str:
    """``a: &a [l,l,...]``, ``b: &b [*a,*a,...]``... : ``width ** levels`` nodes once
    expanded, in a few hundred bytes."""
    names = "abcdefghij"
    lines = [f"{names[0]}: &{names[0]} [{','.join(['l'] * width)}]"]
    for i in range(1, levels):
        refs = ",".join([f"*{names[i - 1]}"] * width)
        lines.append(f"{names[i]}: &{names[i]} [{refs}]")
    return "\n".join(lines) + "\n"


def large_plan(components: int) -> str:
    """A valid plan with many components: about 3 ms of validation each."""
    text = (HERE / "fixtures" / "svc.yaml").read_text()
    extra = "".join(
        f"  api{i}:\n    kind: horizontal\n    demand: users / {i + 10}\n"
        f"    capacity_per_instance: 50\n    price: {{per_instance: 100}}\n"
        for i in range(components)
    )
    return text.replace("components:\n", "components:\n" + extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_file: Path) -> Iterator[str]:
    """``capplan serve`` on a free loopback port with a 0.5 s request budget."""
    plans = tmp_path_factory.mktemp("live") / "plans"
    plans.mkdir()
    shutil.copy(HERE / "fixtures" / "svc.yaml", plans / "svc.yaml")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "capplan", "serve", "--plans", str(plans), "--store"]
    cmd += [str(store_file), "--port", str(port), "--refresh", "0"]
    cmd += ["--request-timeout", str(BUDGET), "--allow-anonymous-writes"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"capplan serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/api/status", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("capplan serve did not answer within 60 s")
        yield url
    finally:
        stop(proc)


async def _beside(
    url: str, attacks: list[tuple[str, str, bytes]]
) -> tuple[list[httpx.Response], list[float], list[float]]:
    """Send ``attacks`` (method, path, body) at once and time ``/api/status`` until they are
    all answered; (answers, their durations, status durations)."""
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as watcher,
        httpx.AsyncClient(base_url=url, timeout=30) as attacker,
    ):
        await watcher.get("/api/status")  # the watcher's connection is open before timing

        async def timed(method: str, path: str, body: bytes) -> tuple[httpx.Response, float]:
            t0 = time.perf_counter()
            response = await attacker.request(method, path, content=body)
            return response, time.perf_counter() - t0

        tasks = [asyncio.ensure_future(timed(*a)) for a in attacks]
        status_times: list[float] = []
        while not all(t.done() for t in tasks) or len(status_times) < 5:
            t0 = time.perf_counter()
            r = await watcher.get("/api/status")
            status_times.append(time.perf_counter() - t0)
            assert r.status_code == 200
            await asyncio.sleep(0.01)
        done = [t.result() for t in tasks]
    return [r for r, _ in done], [d for _, d in done], status_times


def test_alias_bombs_refused_while_status_answers(server: str) -> None:
    """Eight alias bombs at once, unauthenticated: each 422 within 1 s, status < 100 ms."""
    bomb = alias_bomb().encode()
    assert len(bomb) < 300
    attacks = [("POST", "/api/plans/validate", bomb)] * 8
    answers, durations, status_times = asyncio.run(_beside(server, attacks))
    for r in answers:
        assert r.status_code == 422, r.text
        assert "alias" in r.json()["message"]
    assert max(durations) < 1.0, durations
    assert max(status_times) < STATUS_LIMIT, status_times


def test_deep_json_refused_at_once(server: str) -> None:
    """A 100,000-deep JSON body is refused in milliseconds, before any parser walks it."""
    deep = b"[" * 100_000 + b"]" * 100_000
    attacks = [("POST", "/api/plans/validate", deep), ("PUT", "/api/plans/deep", deep)]
    answers, durations, status_times = asyncio.run(_beside(server, attacks))
    for r in answers:
        assert r.status_code == 422, r.text
        assert "deeper than 64 levels" in r.json()["message"]
    assert max(durations) < 0.3, durations
    assert max(status_times) < STATUS_LIMIT, status_times


def test_monte_carlo_projection_does_not_stall_status(server: str) -> None:
    """A heavy projection (20,000 paths over 120 months) against the budget: status stays
    fast; the answer is 200 when it fits the budget, else 503 over_budget."""
    path = "/api/plans/svc/projection?simulations=20000&months=120"
    answers, durations, status_times = asyncio.run(_beside(server, [("GET", path, b"")]))
    assert answers[0].status_code in (200, 503), answers[0].text
    # Status answers all along. Nearly every answer is quick; on a shared 2-core machine one
    # may wait for the processor a little longer, but never for the projection itself.
    quick = sorted(status_times)[int(0.95 * (len(status_times) - 1))]
    assert quick < STATUS_LIMIT, status_times
    assert max(status_times) < min(0.5, durations[0]), (status_times, durations)


def test_slow_plan_runs_off_the_loop_within_its_budget(server: str) -> None:
    """A valid plan that takes ~2 s to validate: 503 at the 0.5 s budget, and status
    keeps answering meanwhile (the validation runs in a worker thread). Last of the module:
    the validation goes on in its thread after the 503 (threads cannot be stopped)."""
    plan = large_plan(3000).encode()
    attacks = [("POST", "/api/plans/validate", plan)]
    answers, durations, status_times = asyncio.run(_beside(server, attacks))
    (r,) = answers
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "over_budget"
    assert "0.5 s budget" in r.json()["message"]
    assert BUDGET <= durations[0] < BUDGET + 0.5, durations
    assert max(status_times) < STATUS_LIMIT, status_times
