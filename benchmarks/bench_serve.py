"""Benchmark: latency and throughput of the main API routes of ``capplan serve`` on loopback.

Requirement checked: *p95 under 50 ms for reading a computed plan or forecast* with 50
concurrent clients. The service runs under Uvicorn in a subprocess on a free loopback port,
over a temporary plans directory (the example plans) and a store holding
``examples/metrics/apm_history.csv``. Each route is warmed once (so plans and forecasts are
computed and cached), then ``--requests`` requests are made by 50 concurrent ``httpx``
clients (``--clients``) over keep-alive connections opened beforehand (connection set-up is
not timed). The clients run in this one process and share the machine with the server: on a
small machine the client side dominates, so the server's own CPU time per request is printed
too. Printed per route: p50 / p95 / p99 latency and throughput.

With ``wrk`` installed (Debian package ``wrk``), it is the load generator (``--client
auto``, the default): a C client that costs the server's machine little, for ``--seconds``
per route; ``--client python`` forces the httpx clients.

Baseline, measured in the same run: ``/api/status``, a route that computes nothing; the
ratio printed is the route's p95 over the baseline's p95 (the cost above the HTTP floor).
Exit 0 unless ``--strict`` and a target is missed.

Run with ``.venv/bin/python benchmarks/bench_serve.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from capplan.data import Store
from capplan.data.ingest import ingest_files

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
BASELINE = "/api/status"
ROUTES = [
    (BASELINE, False),
    ("/api/plans", False),
    ("/api/plans/apm", True),
    ("/api/plans/apm/projection", True),
    ("/api/plans/the_bot/projection?scenario=aggressive&months=24", True),
    ("/api/plans/the_bot/scenarios", False),
    ("/api/forecasts", True),
    ("/api/forecasts/avg_cpu_usage", True),
    ("/metrics", False),
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(base: Path) -> tuple[Path, Path]:
    plans = base / "plans"
    plans.mkdir()
    for name in ("apm.yaml", "the_bot.yaml"):
        shutil.copy(ROOT / "examples" / name, plans / name)
    store = base / "metrics.duckdb"
    with Store(store) as db:
        ingest_files(db, [ROOT / "examples" / "metrics" / "apm_history.csv"])
    return plans, store


def start_server(plans: Path, store: Path, port: int) -> subprocess.Popen[bytes]:
    code = "import capplan.cli.serve; from capplan.cli.app import app; app()"
    args = ["serve", "--plans", str(plans), "--store", str(store), "--port", str(port)]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args, "--refresh", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(base_url + BASELINE, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start within 60 s")


async def hammer(
    base_url: str, route: str, requests: int, clients: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(requests))
    errors = 0

    ready = asyncio.Event()
    connected = 0

    async def worker() -> None:
        nonlocal errors, connected
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
            await client.get(BASELINE)  # open the keep-alive connection first (not timed)
            connected += 1
            if connected == clients:
                ready.set()
            await ready.wait()
            for _ in counter:
                t0 = time.perf_counter()
                r = await client.get(route)
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code != 200

    tasks = [asyncio.ensure_future(worker()) for _ in range(clients)]
    await ready.wait()
    start = time.perf_counter()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    if errors:
        print(f"  {route}: {errors} non-200 answers")
    return latencies, wall


WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d\\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk_run(
    wrk: str, base_url: str, route: str, seconds: int, clients: int, script: Path
) -> tuple[tuple[float, float, float], float, int]:
    """(p50, p95, p99) in ms, requests per second and errors, from one bounded wrk run."""
    out = subprocess.run(
        [wrk, "-t2", f"-c{clients}", f"-d{seconds}s", "-s", str(script), base_url + route],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, errors = line.split()[1:]
    rate = int(requests) / (int(duration_us) / 1e6)
    return (float(p50), float(p95), float(p99)), rate, int(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per route.")
    parser.add_argument("--clients", type=int, default=50, help="Concurrent clients.")
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a target is missed.")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=int, default=8, help="Seconds per route (wrk).")
    args = parser.parse_args()
    wrk = shutil.which("wrk") if args.client != "python" else None
    if args.client == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        plans, store = prepare(Path(tmp))
        proc = start_server(plans, store, port)
        try:
            wait_ready(base_url, proc)
            for route, _ in ROUTES:
                httpx.get(base_url + route, timeout=120.0).raise_for_status()
            stats: dict[str, tuple[tuple[float, float, float], float]] = {}
            server_cpu = {}
            script = Path(tmp) / "report.lua"
            script.write_text(WRK_SCRIPT)
            for route, _ in ROUTES:
                before = cpu_seconds(proc.pid)
                if wrk is not None:
                    quantiles, rate, errors = wrk_run(
                        wrk, base_url, route, args.seconds, args.clients, script
                    )
                    count = rate * args.seconds
                    if errors:
                        print(f"  {route}: {errors} errors or non-2xx answers")
                else:
                    lat, wall = asyncio.run(hammer(base_url, route, args.requests, args.clients))
                    pct = [float(np.percentile(lat, q)) * 1000 for q in (50, 95, 99)]
                    quantiles, rate, count = (pct[0], pct[1], pct[2]), len(lat) / wall, len(lat)
                stats[route] = (quantiles, rate)
                server_cpu[route] = (cpu_seconds(proc.pid) - before) / max(count, 1) * 1000
        finally:
            proc.terminate()
            proc.wait(10)
    base_p95 = stats[BASELINE][0][1]
    load = f"wrk, {args.seconds} s per route" if wrk else f"{args.requests} requests per route"
    print(f"{load}, {args.clients} concurrent clients, loopback")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"{'route':62} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'×base':>6} "
        f"{'srv cpu ms/req':>14}"
    )
    missed = False
    for route, targeted in ROUTES:
        (p50, p95, p99), rate = stats[route]
        mark = ""
        if targeted:
            ok = p95 < TARGET_P95_MS
            missed |= not ok
            mark = f"  target p95 < {TARGET_P95_MS:g} ms: {'ok' if ok else 'MISSED'}"
        print(
            f"{route:62} {p50:8.1f} {p95:8.1f} {p99:8.1f} {rate:8.0f} "
            f"{p95 / base_p95:6.1f} {server_cpu[route]:14.2f}{mark}"
        )
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
