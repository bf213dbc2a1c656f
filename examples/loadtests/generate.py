"""Write the synthetic load-test results in this directory (a k6 summary export, Locust CSV
stats and FreeAgentics-format results per concurrency level).

They are a made-up example, not measurements: one backend instance whose throughput follows
the Universal Scalability Law (λ = 12 req/s, σ = 0.1365, κ = 0.001382, so the throughput
peaks near 25 concurrent users at about 59 req/s), with mean latency from Little's law
(N / X), a p95 of 2.5 times the mean, errors that grow past the peak, and a few percent of
seeded noise. At a 500 ms p95 one instance serves about 51 req/s, near the 50 req/s per
instance of the FreeAgentics capacity guide.

    .venv/bin/python examples/loadtests/generate.py   # rewrites the files, same figures
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LAM, SIGMA, KAPPA = 12.0, 0.1365, 0.001382
DURATION_S = 300  # five-minute runs, as the guide's benchmark


def usl(n: float) -> float:
    return LAM * n / (1 + SIGMA * (n - 1) + KAPPA * n * (n - 1))


def figures(n: float, rng: np.random.Generator) -> dict[str, float]:
    rps = usl(n) * (1 + rng.normal(0, 0.02))
    mean_ms = 1000 * n / rps
    p95 = 2.5 * mean_ms * (1 + rng.normal(0, 0.03))
    errors = 0.001 + 0.03 * max(0.0, n - 25) / 25
    return {
        "rps": round(rps, 2),
        "avg": round(mean_ms, 1),
        "p50": round(0.8 * mean_ms, 1),
        "p90": round(2.1 * mean_ms, 1),
        "p95": round(p95, 1),
        "p99": round(4.0 * mean_ms, 1),
        "errors": round(errors, 4),
    }


def k6(n: int, f: dict[str, float]) -> str:
    count = round(f["rps"] * DURATION_S)
    failed = round(count * f["errors"])
    summary = {
        "root_group": {
            "name": "",
            "path": "",
            "id": "d41d8cd98f00b204e9800998ecf8427e",
            "groups": {},
            "checks": {},
        },
        "metrics": {
            "http_reqs": {"count": count, "rate": f["rps"]},
            "http_req_duration": {
                "avg": f["avg"],
                "min": round(0.2 * f["avg"], 1),
                "med": f["p50"],
                "max": round(8 * f["avg"], 1),
                "p(90)": f["p90"],
                "p(95)": f["p95"],
            },
            "http_req_failed": {
                "passes": failed,
                "fails": count - failed,
                "value": round(failed / count, 6),
            },
            "vus": {"value": n, "min": 1, "max": n},
            "vus_max": {"value": n, "min": n, "max": n},
        },
    }
    return json.dumps(summary, indent=2) + "\n"


LOCUST_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
    "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size"
)


def locust(n: int, f: dict[str, float]) -> tuple[str, str]:
    count = round(f["rps"] * DURATION_S)
    failed = round(count * f["errors"])
    p50, p95, p99, avg = (round(f[k]) for k in ("p50", "p95", "p99", "avg"))
    pct = [
        p50,
        round(1.2 * p50),
        round(1.4 * p50),
        round(1.6 * p50),
        round(f["p90"]),
        p95,
        round(0.9 * p99),
        p99,
        round(1.5 * p99),
        round(2 * p99),
        round(8 * f["avg"]),
    ]
    row = (
        f"GET,/api/agents,{count},{failed},{p50},{avg},{round(0.2 * avg)},{round(8 * avg)},"
        f"512,{f['rps']},{round(failed / DURATION_S, 2)},{','.join(map(str, pct))}"
    )
    stats = "\n".join([LOCUST_HEADER, row, ",Aggregated," + row.split(",", 2)[2]]) + "\n"
    history = [HISTORY_HEADER]
    start = 1_767_225_600
    for step in range(1, 6):
        users = min(n, round(n * step / 3))
        done = round(count * step / 5)
        history.append(
            f"{start + 60 * step},{users},,Aggregated,{f['rps']},{round(failed / DURATION_S, 2)},"
            f"{','.join(map(str, pct))},{done},{round(failed * step / 5)},{p50},{avg},"
            f"{round(0.2 * avg)},{round(8 * avg)},512"
        )
    return stats, "\n".join(history) + "\n"


def freeagentics(n: int, f: dict[str, float]) -> str:
    return (
        "# Synthetic example (examples/loadtests/generate.py), in the benchmark result format\n"
        "# of the FreeAgentics capacity guide: one backend instance.\n"
        "Test Configuration:\n"
        "  Duration: 5 minutes\n"
        f"  Concurrent Users: {n}\n"
        f"  Target RPS: {round(usl(n) / 10) * 10}\n"
        "\n"
        "Results:\n"
        f"  Actual RPS: {f['rps']}\n"
        "  Response Times:\n"
        f"    50th: {round(f['p50'])}ms\n"
        f"    95th: {round(f['p95'])}ms\n"
        f"    99th: {round(f['p99'])}ms\n"
        f"  Error Rate: {round(100 * f['errors'], 2)}%\n"
        "\n"
        "Resource Usage:\n"
        f"  CPU: {min(99, round(100 * f['rps'] / 62))}%\n"
        f"  Memory: {min(95, 40 + n)}%\n"
        "  Network: 15%\n"
        "\n"
        + (
            "Bottlenecks:\n  - Database connection pool saturation\n"
            if n >= 20
            else "Bottlenecks: []\n"
        )
    )


def main() -> None:
    rng = np.random.default_rng(2026)
    for sub in ("k6", "locust", "freeagentics"):
        (HERE / sub).mkdir(exist_ok=True)
    for n in (2, 5, 10, 15, 20, 30, 40):
        f = figures(n, rng)
        (HERE / "k6" / f"vus-{n:02d}.json").write_text(k6(n, f))
        stats, history = locust(n, figures(n, rng))
        (HERE / "locust" / f"users-{n:02d}_stats.csv").write_text(stats)
        (HERE / "locust" / f"users-{n:02d}_stats_history.csv").write_text(history)
        (HERE / "freeagentics" / f"users-{n:02d}.yaml").write_text(freeagentics(n, figures(n, rng)))


if __name__ == "__main__":
    main()
