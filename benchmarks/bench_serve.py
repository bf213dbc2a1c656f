"""Benchmark: latency and throughput of ``capplan serve`` on loopback: the JSON API, the
dashboard pages and ``/metrics``, each at 10 and at 50 concurrent connections.

Requirements checked: *p95 under 50 ms for reading a computed plan or forecast* with 50
concurrent clients; *a dashboard plan page at 200 requests/s or more*; */metrics p95 under
50 ms at 10 connections*. The service runs under Uvicorn in a subprocess on a free loopback
port, over a temporary plans directory (the example plans) and a store holding
``examples/metrics/apm_history.csv``. Each route is warmed once (so plans, pages and
forecasts are computed and cached), then, for each concurrency (``--clients``, default 10
and 50), ``--requests`` requests are made by that many concurrent ``httpx`` clients over
keep-alive connections opened beforehand (connection set-up is not timed). The clients run
in this one process and share the machine with the server: on a small machine the client
side dominates, so the server's own CPU time per request is printed too. Printed per route
and concurrency: p50 / p95 latency and throughput; the machine's load average is printed
before and after (other processes on a shared machine slow both sides).

With ``wrk`` installed (Debian package ``wrk``), it is the load generator (``--client
auto``, the default): a C client that costs the server's machine little, for ``--seconds``
per route; ``--client python`` forces the httpx clients.

Baseline, measured in the same run: ``/api/status``, a route that computes nothing; the
ratio printed is the route's p95 over the baseline's p95 at the same concurrency (the cost
above the HTTP floor). Exit 0 unless ``--strict`` and a target is missed.

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
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from capplan.data import Store
from capplan.data.ingest import ingest_files

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
TARGET_PAGE_RATE = 200.0
BASELINE = "/api/status"


@dataclass(frozen=True)
class Target:
    """What a route must reach: p95 under ``p95_ms`` or at least ``rate`` requests/s, at
    ``clients`` concurrent connections."""

    clients: int
    p95_ms: float | None = None
    rate: float | None = None

    def check(self, p95: float, rate: float) -> bool:
        ok_p95 = self.p95_ms is None or p95 < self.p95_ms
        return ok_p95 and (self.rate is None or rate >= self.rate)

    def __str__(self) -> str:
        what = f"p95 < {self.p95_ms:g} ms" if self.p95_ms is not None else ""
        if self.rate is not None:
            what = f"{self.rate:g} req/s"
        return f"{what} at {self.clients}"


READ = Target(50, p95_ms=TARGET_P95_MS)
ROUTES: list[tuple[str, str, Target | None]] = [
    ("api", BASELINE, None),
    ("api", "/api/plans", None),
    ("api", "/api/plans/apm", READ),
    ("api", "/api/plans/apm/projection", READ),
    ("api", "/api/plans/the_bot/projection?scenario=aggressive&months=24", READ),
    ("api", "/api/plans/the_bot/scenarios", None),
    ("api", "/api/forecasts", READ),
    ("api", "/api/forecasts/avg_cpu_usage", READ),
    ("page", "/", None),
    ("page", "/plans/apm", Target(10, rate=TARGET_PAGE_RATE)),
    ("page", "/plans/the_bot", Target(10, rate=TARGET_PAGE_RATE)),
    ("page", "/plans/the_bot/scenarios", None),
    ("page", "/forecasts", None),
    ("page", "/forecasts/view?series=avg_cpu_usage", None),
    ("metrics", "/metrics", Target(10, p95_ms=TARGET_P95_MS)),
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


def measure(
    args: argparse.Namespace,
    wrk: str | None,
    base_url: str,
    route: str,
    clients: int,
    script: Path,
    pid: int,
) -> tuple[tuple[float, float, float], float, float]:
    """(p50, p95, p99) in ms, requests/s and the server's CPU ms per request."""
    before = cpu_seconds(pid)
    if wrk is not None:
        quantiles, rate, errors = wrk_run(wrk, base_url, route, args.seconds, clients, script)
        count = rate * args.seconds
        if errors:
            print(f"  {route} at {clients}: {errors} errors or non-2xx answers")
    else:
        lat, wall = asyncio.run(hammer(base_url, route, args.requests, clients))
        pct = [float(np.percentile(lat, q)) * 1000 for q in (50, 95, 99)]
        quantiles, rate, count = (pct[0], pct[1], pct[2]), len(lat) / wall, len(lat)
    server_ms = (cpu_seconds(pid) - before) / max(count, 1) * 1000
    return quantiles, rate, server_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per route.")
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[10, 50],
        help="Concurrent connections, one measure each (default: 10 50).",
    )
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a target is missed.")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=int, default=5, help="Seconds per route (wrk).")
    args = parser.parse_args()
    wrk = shutil.which("wrk") if args.client != "python" else None
    if args.client == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()
    stats: dict[tuple[str, int], tuple[tuple[float, float, float], float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plans, store = prepare(Path(tmp))
        proc = start_server(plans, store, port)
        try:
            wait_ready(base_url, proc)
            for _, route, _ in ROUTES:
                httpx.get(base_url + route, timeout=120.0).raise_for_status()
            script = Path(tmp) / "report.lua"
            script.write_text(WRK_SCRIPT)
            for _, route, _ in ROUTES:
                for clients in args.clients:
                    stats[route, clients] = measure(
                        args, wrk, base_url, route, clients, script, proc.pid
                    )
        finally:
            proc.terminate()
            proc.wait(10)
    load = f"wrk, {args.seconds} s per route" if wrk else f"{args.requests} requests per route"
    print(f"{load} and concurrency, loopback; server CPU ms/req in brackets")
    print(
        f"machine: {os.cpu_count()} CPUs, load average (1, 5, 15 min) "
        f"{' '.join(f'{x:.1f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} after"
    )
    head = "".join(f"{f'p50/p95 ms, req/s, ×base @{c}':>36}" for c in args.clients)
    print(f"{'':6} {'route':56}{head}")
    missed = False
    for kind, route, target in ROUTES:
        cells = ""
        for clients in args.clients:
            (p50, p95, _), rate, server_ms = stats[route, clients]
            ratio = p95 / stats[BASELINE, clients][0][1]
            text = f"{p50:.1f}/{p95:.1f}, {rate:.0f}, {ratio:.1f} [{server_ms:.2f}]"
            cells += f"{text:>36}"
        mark = ""
        if target is not None and target.clients in args.clients:
            (_, p95, _), rate, _ = stats[route, target.clients]
            ok = target.check(p95, rate)
            missed |= not ok
            mark = f"  target {target}: {'ok' if ok else 'MISSED'}"
        print(f"{kind:6} {route:56}{cells}{mark}")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
