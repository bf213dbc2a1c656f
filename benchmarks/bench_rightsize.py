"""Benchmark: right-sizing a fleet in one process and on a Dask LocalCluster.

A synthetic fleet (``--containers``, default 10,000, one pod each; 14 days at 5 minutes of
CPU counter and working-set memory, plus CPU and memory requests) is generated with NumPy
and written to Parquet files in a temporary folder (``--files``, default 8). Then:

* one process: every file read (``read_file``) and joined, then ``container_usage``, the
  ``simple`` strategy and ``recommend`` — what ``capplan rightsize FILES`` runs;
* a ``LocalCluster`` of ``--workers`` (default 2) worker processes of one thread: the files
  read on the workers, split by partition there, each partition right-sized there — what
  ``capplan rightsize FILES --cluster local:2`` runs;

and checks the two give the same recommendations (their JSON, byte for byte). It prints the
throughput (containers/s, samples/s), the scaling efficiency (speed-up / workers), the cost
of a partition and of a file read on a worker (from Dask's task stream), each worker's peak
RSS, a projection for 100,000 containers (time and memory per worker, linear in the
containers from the measured costs) and, as a baseline from the same process, the series/s
of the single-process forecast (``auto``, 1-hour steps, 4 weeks of history, 7 days ahead, as
``bench_forecast.py --scale`` measures it) next to right-sizing's series/s.

Run with ``.venv/bin/python benchmarks/bench_rightsize.py`` (``--containers 1000`` for a
quick run; ``--help`` for the rest). It needs the ``dask`` extra.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np

from capplan.data import concat, read_file
from capplan.forecast import forecast
from capplan.rightsize import Prices, StrategySettings, container_usage, recommend, simple_sizes
from capplan.scale import Cluster, ClusterSpec, RightsizeJob, rightsize_on_cluster
from forecast_data import scale_params, scale_series

STEP = 300
DAYS = 14
START = 1_790_000_000 - 1_790_000_000 % 86400
MIB = 2.0**20
PRICES = Prices(25.0, 3.0)
T = TypeVar("T")


def write_fleet(folder: Path, containers: int, files: int, seed: int = 11) -> list[Path]:
    """The fleet as ``files`` Parquet files (containers dealt round-robin, 50 namespaces);
    long layout: series, timestamp, value, namespace, pod, container, resource."""
    rng = np.random.default_rng(seed)
    t = START + STEP * np.arange(DAYS * 86400 // STEP, dtype=np.int64)
    day = np.sin(2 * np.pi * (t % 86400) / 86400)
    paths = []
    with duckdb.connect() as con:
        for f in range(files):
            ids = np.arange(f, containers, files, dtype=np.int64)
            n = ids.size
            base_cpu = rng.uniform(0.05, 2.0, n)
            base_mem = rng.uniform(100, 4000, n) * MIB
            noise = rng.standard_normal((n, t.size))
            rate = np.clip(base_cpu[:, None] * (1 + 0.3 * day[None, :] + 0.1 * noise), 0.001, None)
            counter = np.cumsum(rate * STEP, axis=1)
            memory = base_mem[:, None] * (1 + 0.05 * rng.standard_normal((n, t.size)))
            samples = {
                "c": np.repeat(ids, t.size),
                "t": np.tile(t, n),
                "cpu": counter.ravel(),
                "mem": memory.ravel(),
            }
            asked = {"c": ids, "cpu": base_cpu * 1.5, "mem": base_mem * 1.5}
            con.register("samples", samples)
            con.register("asked", asked)
            labels = (
                "printf('ns-%02d', c % 50) AS namespace, "
                "printf('wl-%05d-7d9f8c6b5-x2x7q', c) AS pod, 'app' AS container"
            )
            path = folder / f"fleet-{f:02d}.parquet"
            con.execute(
                f"""COPY (
                  SELECT 'container_cpu_usage_seconds_total' AS series, t AS timestamp,
                         cpu AS value, {labels}, NULL::VARCHAR AS resource FROM samples
                  UNION ALL
                  SELECT 'container_memory_working_set_bytes', t, mem, {labels}, NULL
                  FROM samples
                  UNION ALL
                  SELECT 'kube_pod_container_resource_requests', {int(t[-1])}, cpu, {labels},
                         'cpu' FROM asked
                  UNION ALL
                  SELECT 'kube_pod_container_resource_requests', {int(t[-1])}, mem, {labels},
                         'memory' FROM asked
                ) TO '{path}' (FORMAT parquet)"""
            )
            con.unregister("samples")
            con.unregister("asked")
            paths.append(path)
    return paths


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def peak_rss_mb() -> float:
    """This process' peak resident set size in MiB: ``VmHWM``, which (unlike ``ru_maxrss``,
    which a spawned worker inherits from its parent) starts afresh in a new program."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_process(paths: list[Path]) -> tuple[str, dict[str, float]]:
    """Read, join and right-size in this process; the JSON rows and the timings."""
    frame, read_s = timed(lambda: concat([read_file(p) for p in paths]))

    def size() -> str:
        containers = container_usage(frame)
        recs = recommend(containers, simple_sizes(containers, StrategySettings()), PRICES)
        return json.dumps([r.row() for r in recs])

    rows, size_s = timed(size)
    return rows, {"read": read_s, "size": size_s, "total": read_s + size_s, "points": len(frame)}


def task_seconds(stream: list[dict[str, Any]], prefix: str) -> list[float]:
    """Compute seconds of each task whose key starts with ``prefix`` (Dask's task stream)."""
    out = []
    for task in stream:
        if str(task["key"]).startswith(prefix):
            out += [s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute"]
    return out


def on_cluster(paths: list[Path], workers: int, partitions: int | None) -> dict[str, Any]:
    """Right-size on a LocalCluster of ``workers`` processes; results and measurements."""
    from distributed import get_task_stream

    with Cluster.connect(ClusterSpec(workers=workers)) as cluster:
        client = cluster.client
        baseline = client.run(peak_rss_mb)  # each worker's peak RSS before any work
        n = partitions or 4 * cluster.threads
        with get_task_stream(client) as stream:
            recs, seconds = timed(
                lambda: rightsize_on_cluster(
                    cluster, RightsizeJob(), PRICES, files=paths, partitions=n
                )
            )
        peaks = client.run(peak_rss_mb)
    return {
        "rows": json.dumps([r.row() for r in recs]),
        "seconds": seconds,
        "partitions": n,
        "partition_s": task_seconds(stream.data, "rightsize_partition"),
        "read_s": task_seconds(stream.data, "read_split"),
        "baseline_mb": max(baseline.values()),
        "peak_mb": max(peaks.values()),
    }


def forecast_rate(series: int) -> tuple[float, float]:
    """Series per second of the single-process forecast: ``auto``, hourly, 4 weeks of
    history, 7 days ahead (``bench_forecast.py``'s scale section, fewer series)."""
    history, h = 28 * 24, 7 * 24
    y = scale_series(scale_params(series, 5), 0, history, history, 6)
    forecast(y[:50], h, model="auto")  # warm-up: imports and first calls
    _, seconds = timed(lambda: forecast(y, h, model="auto", levels=(80, 95)))
    return series / seconds, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=10_000, help="containers (pods)")
    parser.add_argument("--files", type=int, default=8, help="Parquet files to spread them in")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--partitions", type=int, default=None, help="default: 4 per worker")
    parser.add_argument("--forecast-series", type=int, default=2_000, help="baseline size")
    args = parser.parse_args()
    n = args.containers
    print(f"Fleet: {n:,} containers x {DAYS} days at {STEP // 60} min, CPU and memory")
    with tempfile.TemporaryDirectory(prefix="bench-rightsize-") as tmp:
        paths, gen_s = timed(lambda: write_fleet(Path(tmp), n, min(args.files, n)))
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"generated and written in {gen_s:.1f} s: {len(paths)} Parquet files, {size_mb:.0f} MiB"
        )
        cluster = on_cluster(paths, args.workers, args.partitions)
        single_rows, one = single_process(paths)
        one_rss = peak_rss_mb()
    samples = one["points"]
    same = cluster["rows"] == single_rows
    count = len(json.loads(single_rows))
    speedup = one["total"] / cluster["seconds"]
    parts = np.array(cluster["partition_s"])
    reads = np.array(cluster["read_s"])
    w = args.workers
    print()
    print(f"{'':28}{'one process':>14}{'cluster':>14}")
    print(f"{'wall seconds':28}{one['total']:>14.1f}{cluster['seconds']:>14.1f}")
    print(f"{'  of which reading':28}{one['read']:>14.1f}{'(on workers)':>14}")
    print(f"{'containers/s':28}{n / one['total']:>14,.0f}{n / cluster['seconds']:>14,.0f}")
    print(f"{'samples/s':28}{samples / one['total']:>14,.0f}{samples / cluster['seconds']:>14,.0f}")
    print(
        f"{'series/s (2 per container)':28}{2 * n / one['total']:>14,.0f}"
        f"{2 * n / cluster['seconds']:>14,.0f}"
    )
    print(f"{'peak RSS MiB (per worker)':28}{one_rss:>14,.0f}{cluster['peak_mb']:>14,.0f}")
    print()
    print(f"identical results: {same} ({count:,} containers, {samples:,} samples)")
    print(f"speed-up {speedup:.2f}x on {w} workers: scaling efficiency {speedup / w:.0%}")
    print(f"right-sizing without reading, one process: {n / one['size']:,.0f} containers/s")
    print(
        f"per partition ({cluster['partitions']}, ~{n / cluster['partitions']:,.0f} containers): "
        f"median {np.median(parts):.2f} s, max {parts.max():.2f} s; per file read+split "
        f"({len(reads)}, ~{n / len(reads):,.0f} containers): median {np.median(reads):.2f} s"
    )
    # projection: the measured per-container cost of reads and partitions, spread on w workers
    per_container_s = (reads.sum() + parts.sum()) / n
    grown = 100_000
    busy_mb = max(cluster["peak_mb"] - cluster["baseline_mb"], 0.0)
    per_container_mb = busy_mb / (n / w)

    def memory_gib(workers: int) -> float:
        return (cluster["baseline_mb"] + per_container_mb * grown / workers) / 1024

    print(
        f"projection for {grown:,} containers: on {w} workers ~"
        f"{per_container_s * grown / w / 60:.1f} min and ~{memory_gib(w):.1f} GiB per worker; "
        f"on 8 workers ~{per_container_s * grown / 8 / 60:.1f} min and ~{memory_gib(8):.1f} "
        f"GiB each ({per_container_mb * 1024:.0f} KiB per container over a worker's "
        f"{cluster['baseline_mb']:.0f} MiB at rest)"
    )
    rate, fc_s = forecast_rate(args.forecast_series)
    rs_rate = 2 * n / one["size"]
    print(
        f"baseline, same process: forecast auto {args.forecast_series:,} hourly series in "
        f"{fc_s:.1f} s = {rate:,.0f} series/s; right-sizing {rs_rate:,.0f} series/s "
        f"(without reading) = {rs_rate / rate:.1f}x the forecast's"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
