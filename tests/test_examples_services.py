"""The service components of the example plans reproduce their documents' figures: Omniops'
pg Pool and response cache, Claude Code Manager's PgBouncer, FreeAgentics' read replicas and
THE_BOT's registered users per tier (each computed here from the document's formula)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import capplan
from capplan.plan.loader import load_plan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, scenario: str | None = None) -> capplan.Projection:
    return capplan.run_plan(load_plan(EXAMPLES / f"{name}.yaml"), scenario)


def col(p: capplan.Projection, column: str) -> list[float]:
    return [float(v) for v in p.values[column]]


def test_omniops_cache_saves_what_cost_optimizer_computes() -> None:
    """monthlyRequests × cacheHitRate 0.3 × apiCostPerRequest 0.02 ($600 on 100,000)."""
    p = run("omniops")
    requests = col(p, "monthly_requests")
    assert col(p, "ai_cache.savings") == pytest.approx([r * 0.3 * 0.02 for r in requests])
    # Savings are their own column: the OpenAI cost is still 0.02 on every request.
    assert col(p, "openai.cost") == pytest.approx([r * 0.02 for r in requests])


def test_omniops_pool_queues_past_its_peak_size_of_50() -> None:
    """min 2, max 20, 50 from 9 to 17 h: the 50 counts; db_connections = users × 0.2."""
    p = run("omniops")
    clients = [u * 0.2 for u in col(p, "users")]
    assert col(p, "db_pool.pool_size") == [50.0] * len(clients)
    assert col(p, "db_pool.pool_connections") == pytest.approx([min(c, 50) for c in clients])
    assert col(p, "db_pool.utilization") == pytest.approx([min(c, 50) / 200 for c in clients])
    first = next(t for t, c in enumerate(clients) if c > 50)
    (queueing,) = [e for e in p.events if e.kind == "pool_queueing"]
    assert queueing.period == first == 6  # 257 users, 51.3 clients


def test_omniops_rate_limits_and_redis_limits() -> None:
    p = run("omniops", "aggressive")
    load = [d / 100_000 for d in col(p, "daily_requests")]
    factor = [0.5 if x > 0.8 else 0.75 if x > 0.6 else 1.0 for x in load]
    assert col(p, "api_limits.limit_factor") == factor
    assert col(p, "redis.connections_limit") == [100.0] * len(load)
    assert col(p, "redis.connections_demand") == pytest.approx([u * 0.1 for u in col(p, "users")])


def test_claude_manager_pgbouncer() -> None:
    """default_pool_size = 20, max_client_conn = 100, 5 connections per app instance."""
    p = run("claude_manager")
    clients = [n * 5 for n in col(p, "app.instances")]
    assert col(p, "pgbouncer.pool_connections") == [min(c, 20) for c in clients]
    assert col(p, "pgbouncer.waiting") == [max(0, c - 20) for c in clients]
    assert col(p, "pgbouncer.refused") == [max(0, c - 100) for c in clients]
    (queueing,) = [e for e in p.events if e.kind == "pool_queueing"]
    assert queueing.period == next(t for t, c in enumerate(clients) if c > 20)


def test_freeagentics_read_replicas() -> None:
    """16 queries/s per 100 requests/s, 80% reads, 2 cores / 50 ms = 40 reads/s a replica at
    70%, beyond the 24 reads/s the primary keeps."""
    p = run("freeagentics")
    reads = [r * 0.16 * 0.8 for r in col(p, "rps")]
    needed = [math.ceil(max(0.0, x - 24) / (40 * 0.7) - 1e-9) for x in reads]
    assert col(p, "db_replicas.replicas") == needed
    assert needed[0] == 0  # none today, as the runbook runs
    assert needed[-1] >= 1


def test_the_bot_tiers_serve_the_documents_registered_users() -> None:
    p = run("the_bot")
    tiers = p.to_dict()["tiers"]["platform"]
    assert [t["serves"]["registered_users"] for t in tiers] == pytest.approx(
        [6_700, 67_000, 670_000]
    )
    assert [t["capacity"] for t in tiers] == [1_000, 10_000, 100_000]
    levels = p.levels["platform"]
    served = {t["name"]: t["serves"]["registered_users"] for t in tiers}
    assert col(p, "platform.registered_users_served") == pytest.approx([served[x] for x in levels])


def test_omniops_redis_limits_beyond_memory() -> None:
    """scaling_triggers.redis: connection_threshold 90%, eviction_rate 5%;
    redis_scaling.thresholds: ops_per_second 10000, connection_count 100."""
    plan = load_plan(EXAMPLES / "omniops.yaml")
    levels = {
        name: (t.metric, t.critical.value if t.critical else None)
        for name, t in plan.thresholds.items()
        if name.startswith("redis")
    }
    assert levels == {
        "redis_connections": ("redis.connections_utilization", 0.9),
        "redis_evictions": ("redis_eviction_rate", 5),
        "redis_ops": ("redis_ops_per_second", 10_000),
        "redis_connection_count": ("redis_connection_count", 100),
    }
    p = capplan.run_plan(plan)
    users = col(p, "users")
    connections = [u * 0.1 for u in users]  # 10 per 100 users, 100 on every size
    assert col(p, "redis.connections_utilization") == pytest.approx([c / 100 for c in connections])
    memory = [u * 0.01 / gb for u, gb in zip(users, col(p, "redis.memory_gb_limit"), strict=True)]
    assert col(p, "redis.utilization") == pytest.approx(
        [max(m, c / 100) for m, c in zip(memory, connections, strict=True)]
    )
