"""Connection pools, read replicas, rate-limit tiers, caches and what tiers serve, with the
figures of the capacity documents computed here from their own formulas."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from capplan import PlanError, run_plan
from capplan.engine.projection import Projection
from capplan.plan.loader import validate_plan_data
from capplan.report.formats import PROJECTION_FORMATS, over_capacity_note


def plan_with(components: dict[str, Any], **extra: Any) -> Any:
    data = {
        "system": "t",
        "start": "2026-01",
        "horizon": 3,
        "drivers": {"users": {"initial": 1000, "growth": {"model": "compound", "rate": 0.5}}},
        "components": components,
        **extra,
    }
    return validate_plan_data(data, "plan.yaml", {})


def run(components: dict[str, Any], **extra: Any) -> Projection:
    return run_plan(plan_with(components, **extra))


def col(p: Projection, name: str) -> list[float]:
    return [float(v) for v in p.values[name]]


# --- connection pools -------------------------------------------------------------------------


def test_pgbouncer_pool_of_20_for_100_clients() -> None:
    """The Claude Code Manager guide's PgBouncer: default_pool_size = 20, max_client_conn =
    100. 100 clients share 20 server connections (80 wait); 150 clients: 50 are refused."""
    pool_size, max_client_conn = 20, 100
    p = run(
        {
            "pgbouncer": {
                "kind": "pool",
                "clients": "users / 10",  # 100, 150, 225, 337.5
                "size": pool_size,
                "max_clients": max_client_conn,
                "max_connections": 100,
            }
        }
    )
    clients = [1000 * 1.5**t / 10 for t in range(4)]
    assert col(p, "pgbouncer.clients") == pytest.approx(clients)
    assert col(p, "pgbouncer.pool_connections") == [pool_size] * 4
    assert col(p, "pgbouncer.waiting") == pytest.approx([c - pool_size for c in clients])
    assert col(p, "pgbouncer.refused") == pytest.approx(
        [max(0.0, c - max_client_conn) for c in clients]
    )
    # 20 connections open of PostgreSQL's 100
    assert col(p, "pgbouncer.utilization") == pytest.approx([pool_size / 100] * 4)
    kinds = {(e.kind, e.period, e.severity) for e in p.events}
    assert ("pool_queueing", 0, "warning") in kinds
    assert ("pool_refused", 1, "critical") in kinds  # 150 > 100 in period 1
    assert not p.over_capacity_components  # 20 connections fit in 100


def test_omniops_pool_sized_by_time_of_day() -> None:
    """The Omniops guide's pg Pool: min 2, max 20, dynamicMax 50 from 9 to 17 h; the peak
    size counts. Per app instance, against Supabase Pro's 200 connections."""
    size = [{"hours": "9-17", "size": 50}, {"size": 20}]
    p = run(
        {
            "app": {"kind": "horizontal", "demand": "users", "capacity_per_instance": 500},
            "db_pool": {
                "kind": "pool",
                "clients": "app.instances * 40",
                "pools": "app.instances",
                "size": size,
                "min_size": 2,
                "max_connections": 200,
            },
        }
    )
    instances = [math.ceil(1000 * 1.5**t / 500) for t in range(4)]  # 2, 3, 5, 7
    assert col(p, "app.instances") == instances
    assert col(p, "db_pool.pool_size") == [50 * n for n in instances]
    assert col(p, "db_pool.pool_connections") == [min(40 * n, 50 * n) for n in instances]
    assert col(p, "db_pool.waiting") == [0.0] * 4  # 40 clients per pool of 50
    # 5 pools of 50 may open 250 connections, above max_connections 200
    first = next(t for t, n in enumerate(instances) if 50 * n > 200)
    assert p.over_capacity_from("db_pool") == first
    exceeded = [e for e in p.events if e.kind == "capacity_exceeded"]
    assert [(e.period, e.component) for e in exceeded] == [(first, "db_pool")]
    assert "250 connections, above max_connections 200" in exceeded[0].message
    note = over_capacity_note(p)
    assert note is not None
    assert "pools that may open more connections than max_connections" in note


def test_pool_minimum_connections_stay_open() -> None:
    p = run({"db_pool": {"kind": "pool", "clients": 0, "size": 20, "min_size": 2}})
    assert col(p, "db_pool.pool_connections") == [2.0] * 4


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ([{"hours": "9-17", "size": 50}], "need exactly one entry without hours"),
        ([{"hours": "17-9", "size": 50}, {"size": 20}], "first <= last"),
        ([{"hours": "nine", "size": 50}, {"size": 20}], "'first-last'"),
        ([{"hours": "9-17", "size": 0}, {"size": 20}], "greater than or equal to 1"),
        (0, "greater than or equal to 1"),
    ],
)
def test_pool_sizes_are_checked(size: object, message: str) -> None:
    with pytest.raises(PlanError, match=message) as raised:
        plan_with({"db_pool": {"kind": "pool", "clients": 10, "size": size}})
    (issue,) = raised.value.issues  # only the form given is reported, at its own path
    assert issue.path.startswith("components.db_pool.size")
    assert "union" not in issue.path


# --- read replicas ----------------------------------------------------------------------------


def test_freeagentics_read_replicas() -> None:
    """The FreeAgentics runbook: 100 requests/s, queries of 50 ms on 2-core PostgreSQL, so one
    server answers 2 / 0.05 = 40 queries/s; reads (the plan's share) go to replicas run at
    the runbook's 70% CPU warning level."""
    per_replica = 2 / 0.050
    read_share, target = 0.8, 0.7
    p = run(
        {
            "replicas": {
                "kind": "replicas",
                "queries": "users / 10",  # 100 queries/s today
                "read_share": read_share,
                "capacity_per_replica": per_replica,
                "target_utilization": target,
                "max_replicas": 5,
                "price": {"per_instance": 60},
                "instance": {"vcpu": 2, "memory_gb": 4},  # as the primary
            }
        }
    )
    queries = [100 * 1.5**t for t in range(4)]
    needed = [math.ceil(q * read_share / (per_replica * target)) for q in queries]
    assert needed[0] == 3  # 80 reads/s over 28 per replica
    assert col(p, "replicas.replicas_needed") == needed
    assert col(p, "replicas.replicas") == [min(n, 5) for n in needed]
    assert col(p, "replicas.cost") == [60 * min(n, 5) for n in needed]
    assert col(p, "replicas.vcpu") == [2 * min(n, 5) for n in needed]
    assert col(p, "total.memory_gb") == [4 * min(n, 5) for n in needed]
    assert col(p, "replicas.writes") == pytest.approx([q * (1 - read_share) for q in queries])
    first = next(t for t, n in enumerate(needed) if n > 5)
    assert p.over_capacity_from("replicas") == first


# --- rate limits ------------------------------------------------------------------------------


def dynamic_limit(base: int, load: float) -> int:
    """The Omniops guide's getDynamicLimit."""
    if load > 0.8:
        return math.floor(base * 0.5)
    if load > 0.6:
        return math.floor(base * 0.75)
    return base


def test_omniops_rate_limit_tiers_under_load() -> None:
    """requests_per_minute 60 / 300 / 1,000 for free / pro / enterprise, × 0.75 above 60%
    load and × 0.5 above 80%; users want 50 / 250 / 900 a minute."""
    tiers = {"free": (60, 50, 0.8), "pro": (300, 250, 0.15), "enterprise": (1000, 900, 0.05)}
    loads = [0.5, 0.7, 0.9, 0.6]
    p = run(
        {
            "api_limits": {
                "kind": "rate_limit",
                "window": "minute",
                # 1,000 / 1,500 / 2,250 / 3,375 users: loads 0.5, 0.7, 0.9, 0.6
                "load": "where(users < 1200, 0.5, where(users < 2000, 0.7, "
                "where(users < 3000, 0.9, 0.6)))",
                "load_factors": [{"above": 0.6, "factor": 0.75}, {"above": 0.8, "factor": 0.5}],
                "tiers": {
                    name: {"users": f"users * {share}", "limit": limit, "demand": want}
                    for name, (limit, want, share) in tiers.items()
                },
                "max_rejected_share": 0.1,
            }
        }
    )
    users = [1000 * 1.5**t for t in range(4)]
    for t, load in enumerate(loads):
        demand = admitted = 0.0
        for name, (limit, want, share) in tiers.items():
            n = users[t] * share
            demand += n * want
            admitted += n * min(want, dynamic_limit(limit, load))
            assert p.values[f"api_limits.{name}.admitted"][t] == pytest.approx(
                n * min(want, dynamic_limit(limit, load))
            )
        assert p.values["api_limits.demand"][t] == pytest.approx(demand)
        assert p.values["api_limits.admitted"][t] == pytest.approx(admitted)
        assert p.values["api_limits.rejected_share"][t] == pytest.approx(1 - admitted / demand)
    assert col(p, "api_limits.limit_factor") == [1.0, 0.75, 0.5, 1.0]
    # At 0.75 the free tier's 45 and pro's 225 are below what users want: 1 - admitted /
    # demand is above 10% from period 1.
    limited = [e for e in p.events if e.kind == "rate_limited"]
    assert [e.period for e in limited] == [1]
    assert "limits × 0.75 under load" in limited[0].message


def test_load_factors_need_a_load() -> None:
    with pytest.raises(PlanError, match="load_factors need a load expression"):
        plan_with(
            {
                "lim": {
                    "kind": "rate_limit",
                    "tiers": {"free": {"users": 1, "limit": 60, "demand": 1}},
                    "load_factors": [{"above": 0.6, "factor": 0.75}],
                }
            }
        )


# --- cache ------------------------------------------------------------------------------------


def test_omniops_cache_saves_600_a_month() -> None:
    """CostOptimizer.cacheAIResponses: monthlyRequests × cacheHitRate × apiCostPerRequest."""
    monthly_requests, hit_rate, cost = 100_000, 0.3, 0.02
    p = run(
        {
            "ai_cache": {
                "kind": "cache",
                "requests": monthly_requests,
                "hit_rate": hit_rate,
                "cost_per_request": cost,
                "latency_saved_ms": 1800,
                "price": {"fixed": 10},
            }
        }
    )
    saved = monthly_requests * hit_rate * cost
    assert saved == pytest.approx(600)
    assert col(p, "ai_cache.savings") == pytest.approx([saved] * 4)
    assert col(p, "ai_cache.hits") == pytest.approx([monthly_requests * hit_rate] * 4)
    assert col(p, "ai_cache.misses") == pytest.approx([monthly_requests * (1 - hit_rate)] * 4)
    assert col(p, "ai_cache.time_saved_hours") == pytest.approx([30_000 * 1.8 / 3600] * 4)
    # The savings are a column of their own: the cost is the cache's price only.
    assert col(p, "total.cost") == [10.0] * 4
    compact = PROJECTION_FORMATS.get("csv")(p, ["ai_cache saved/mo"])
    assert compact.splitlines()[1].split(",")[2] == "600"


# --- what tiers serve -------------------------------------------------------------------------


def test_the_bot_tiers_serve_registered_users() -> None:
    """THE_BOT's tier table: Starter 1K, Growth 10K, Enterprise 100K concurrent serve 6,700,
    67,000 and 670,000 registered users: concurrent = 15% of registered, 1 / 0.15 = 6.67
    taken as 6.7."""
    ratio = round(1 / 0.15, 1)
    p = run(
        {
            "platform": {
                "kind": "tiers",
                "demand": "users * 0.15",
                "serves": {
                    "registered_users": "capacity * round(1 / 0.15, 1)",
                    "daily_active_users": "capacity / 0.15 * 0.2",
                },
                "tiers": [
                    {"name": "tier_1k", "capacity": 1000, "price": 500},
                    {"name": "tier_10k", "capacity": 10000, "price": 3500},
                    {"name": "tier_100k", "capacity": 100000, "price": 25000},
                ],
            }
        }
    )
    registered = [c * ratio for c in (1000, 10000, 100000)]
    assert registered == pytest.approx([6700, 67000, 670000])
    summary = p.to_dict()["tiers"]["platform"]
    assert [t["serves"]["registered_users"] for t in summary] == pytest.approx(registered)
    assert [t["serves"]["daily_active_users"] for t in summary] == pytest.approx(
        [c / 0.15 * 0.2 for c in (1000, 10000, 100000)]
    )
    assert [t["next_tier_at"] for t in summary] == pytest.approx([700, 7000, 70000])
    # Per period, what the current tier serves (demand 150 → 506 concurrent: tier_1k).
    assert col(p, "platform.registered_users_served") == pytest.approx([registered[0]] * 4)
    json.loads(PROJECTION_FORMATS.get("json")(p, None))


def test_serves_may_read_only_capacity_and_price() -> None:
    with pytest.raises(PlanError, match="may use only its 'capacity' and 'price'") as raised:
        plan_with(
            {
                "platform": {
                    "kind": "tiers",
                    "demand": "users",
                    "serves": {"registered": "users / 0.15"},
                    "tiers": [{"name": "a", "capacity": 10}],
                }
            }
        )
    assert "components.platform.serves.registered" in str(raised.value)


# --- the outputs flow on ----------------------------------------------------------------------


def test_thresholds_watch_service_outputs() -> None:
    p = run(
        {
            "db_pool": {"kind": "pool", "clients": "users / 100", "size": 20},
        },
        thresholds={
            "pool_busy": {"metric": "db_pool.pool_utilization", "warning": 0.7, "critical": 1}
        },
    )
    utilization = [1000 * 1.5**t / 100 / 20 for t in range(4)]  # 0.5, 0.75, 1.125, ...
    hits = {e.detail["level"]: e.period for e in p.events if e.kind == "threshold"}
    assert hits == {
        "warning": next(t for t, u in enumerate(utilization) if u > 0.7),
        "critical": next(t for t, u in enumerate(utilization) if u > 1),
    }
    rows = p.rows()
    assert rows[1]["db_pool.pool_utilization"] == pytest.approx(utilization[1])
    header = PROJECTION_FORMATS.get("csv")(p, None).splitlines()[0].split(",")
    assert {"db_pool.waiting", "db_pool.pool_connections", "db_pool.clients"} <= set(header)


def test_fast_and_reference_engines_agree_on_service_kinds() -> None:
    components = {
        "app": {"kind": "horizontal", "demand": "users", "capacity_per_instance": 400},
        "db_pool": {
            "kind": "pool",
            "clients": "app.instances * 10",
            "pools": "app.instances",
            "size": [{"hours": "9-17", "size": 50}, {"size": 20}],
            "max_connections": 200,
        },
        "replicas": {
            "kind": "replicas",
            "queries": "users / 10",
            "read_share": 0.8,
            "capacity_per_replica": 40,
        },
        "lim": {
            "kind": "rate_limit",
            "load": "app.utilization",
            "load_factors": [{"above": 0.6, "factor": 0.75}],
            "tiers": {"free": {"users": "users", "limit": 60, "demand": 50}},
        },
        "cache": {"kind": "cache", "requests": "users * 100", "hit_rate": 0.3},
    }
    plan = plan_with(
        components,
        drivers={
            "users": {
                "initial": 1000,
                "growth": {
                    "model": "compound",
                    "rate": 0.2,
                    "uncertainty": {"dist": "triangular", "low": 0.1, "high": 0.3},
                },
            }
        },
    )
    fast = run_plan(plan, simulations=500, seed=3)
    reference = run_plan(plan, simulations=500, seed=3, engine="reference")
    assert fast.values.keys() == reference.values.keys()
    for name, values in reference.values.items():
        assert fast.values[name] == pytest.approx(values, rel=1e-12), name
    assert fast.events == reference.events
    for name, q in reference.quantiles.items():
        assert fast.quantiles[name] == pytest.approx(q, rel=1e-12, nan_ok=True), name


def test_rate_limit_concurrency_and_burst() -> None:
    """Omniops' free tier: 5 requests in flight and a burst of 10 above its 60 a minute. A
    user with 8 in flight has 3 of 8 refused; a busiest minute of 90 admits 70 (60 + 10), and
    one of 65 all of them; under a 0.5 load factor the burst rides on the reduced 30."""
    p = run(
        {
            "api": {
                "kind": "rate_limit",
                "window": "minute",
                "load": "where(users < 2000, 0.1, 0.9)",  # periods 0-1 normal, 2-3 at 0.5
                "load_factors": [{"above": 0.8, "factor": 0.5}],
                "tiers": {
                    "free": {
                        "users": "users",
                        "limit": 60,
                        "demand": 20,
                        "concurrent": 5,
                        "concurrency": "where(users < 1200, 8, 4)",
                        "burst": 10,
                        "peak_demand": "where(users < 1200, 90, 65)",
                    }
                },
            }
        }
    )
    assert col(p, "api.free.concurrency_rejected_share") == pytest.approx([3 / 8, 0, 0, 0])
    assert col(p, "api.free.peak_admitted") == [70.0, 65.0, 40.0, 40.0]
    assert col(p, "api.free.peak_rejected_share") == pytest.approx([20 / 90, 0, 25 / 65, 25 / 65])


def test_rate_limit_tier_limits_come_with_their_demand() -> None:
    with pytest.raises(PlanError, match="'burst' and 'peak_demand' go together"):
        plan_with(
            {
                "api": {
                    "kind": "rate_limit",
                    "tiers": {"free": {"users": 1, "limit": 60, "demand": 1, "burst": 10}},
                }
            }
        )


def test_pool_and_rate_limit_events_come_with_advice() -> None:
    p = run({"pgbouncer": {"kind": "pool", "clients": "users / 10", "size": 20}})
    (advice,) = [r for r in p.recommendations if r.startswith("Connections:")]
    assert "pgbouncer has 100 clients for 20 pool connections" in advice
    assert "raise the pool size" in advice


def test_markdown_shows_what_each_tier_serves() -> None:
    p = run(
        {
            "platform": {
                "kind": "tiers",
                "demand": "users * 0.15",
                "serves": {"registered_users": "capacity / 0.15"},
                "tiers": [{"name": "small", "capacity": 1500}, {"name": "large", "capacity": 3000}],
            }
        }
    )
    text = PROJECTION_FORMATS.get("markdown")(p, None)
    assert "## platform: tiers" in text
    assert f"| small | 1,500 | 1,050 | $0 | {1500 / 0.15:,.0f} |" in text


def test_only_reduced_limits_are_rounded_down() -> None:
    """getDynamicLimit returns baseLimit itself below 60% load, Math.floor(baseLimit × f)
    above: a limit of 0.5 a minute stays 0.5 unreduced."""
    tiers = {"free": {"users": 1, "limit": 0.5, "demand": 1}}
    calm = run({"lim": {"kind": "rate_limit", "tiers": tiers}})
    assert col(calm, "lim.admitted") == [0.5] * 4
    busy = run(
        {
            "lim": {
                "kind": "rate_limit",
                "tiers": {"free": {"users": 1, "limit": 7, "demand": 10}},
                "load": 0.9,
                "load_factors": [{"above": 0.8, "factor": 0.5}],
            }
        }
    )
    assert col(busy, "lim.admitted") == [math.floor(7 * 0.5)] * 4
