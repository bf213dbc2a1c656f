"""Plan schema of the service components: connection pools, read replicas, rate-limit tiers
and caches. Each is a mixin of its own fields; :mod:`capplan.plan.components` joins it with the
fields every component shares (price, lead time, deploy)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from capplan.plan.base import Strict
from capplan.plan.fields import Expr, Fraction, NonNeg, Positive

__all__ = [
    "CacheFields",
    "LoadFactor",
    "PoolFields",
    "PoolWindow",
    "RateLimitFields",
    "RateTier",
    "ReplicasFields",
    "service_expressions",
    "service_outputs",
]

_HOURS = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


def hour_range(text: str) -> tuple[int, int]:
    """``"9-17"`` → (9, 17), both hours included (as ``hour >= 9 && hour <= 17``)."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"hours must be written 'first-last' (9-17), got {text!r}")
    first, last = int(match[1]), int(match[2])
    if not 0 <= first <= last <= 23:
        raise ValueError(f"hours must run from 0 to 23, first <= last, got {text!r}")
    return first, last


class PoolWindow(Strict):
    """A pool size for some hours of the day, or (without ``hours``) for the rest of it."""

    hours: str | None = Field(None, description="Hours of the day, both included: '9-17'.")
    size: Annotated[int, Field(ge=1)] = Field(description="Connections the pool may open.")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            hour_range(value)
        return value


def _size_form(value: object) -> str:
    return "union-by-hours" if isinstance(value, list) else "union-fixed"


#: A fixed pool size or sizes by hour, told apart by the value's form so that an error names
#: only the form given (the tags start with "union", which error paths leave out).
PoolSize = Annotated[
    Annotated[Annotated[int, Field(ge=1)], Tag("union-fixed")]
    | Annotated[list[PoolWindow], Tag("union-by-hours")],
    Discriminator(_size_form),
]


class PoolFields(Strict):
    """A connection pool (PgBouncer, an application's pg Pool) in front of a database:
    clients share ``pools`` pools of ``size`` server connections each; clients beyond the
    pools' size wait (queueing), the pools' connections count against ``max_connections``."""

    kind: Literal["pool"]
    clients: Expr = Field(
        description="Client connections demanded (app instances × connections per instance)."
    )
    pools: Expr = Field(
        "1", description="Number of pools (one per app instance for an in-process pool)."
    )
    size: PoolSize = Field(
        description="Server connections per pool, or sizes by time of day "
        "[{hours: '9-17', size: 50}, {size: 20}]: the peak size counts for capacity."
    )
    min_size: Annotated[int, Field(ge=0)] = Field(
        0, description="Connections a pool keeps open even when idle (pg Pool min)."
    )
    max_clients: Positive | None = Field(
        None, description="Client connections the pooler accepts (PgBouncer max_client_conn)."
    )
    max_connections: Expr | None = Field(
        None, description="The server's max_connections (expression or number)."
    )

    @field_validator("size")
    @classmethod
    def _by_hour(cls, size: int | list[PoolWindow]) -> int | list[PoolWindow]:
        if isinstance(size, list):
            defaults = [w for w in size if w.hours is None]
            if len(defaults) != 1:
                raise ValueError(
                    "sizes by time of day need exactly one entry without hours (the size for "
                    f"the other hours), got {len(defaults)}"
                )
        return size

    @model_validator(mode="after")
    def _sizes(self) -> PoolFields:
        if self.min_size > self.peak_size:
            raise ValueError(
                f"min_size ({self.min_size}) must not exceed the pool size ({self.peak_size})"
            )
        return self

    @property
    def peak_size(self) -> int:
        """The largest size of a pool over the day: the one capacity is planned for."""
        if isinstance(self.size, int):
            return self.size
        return max(w.size for w in self.size)

    @property
    def base_size(self) -> int:
        """The size outside the listed hours (the fixed size when there is one)."""
        if isinstance(self.size, int):
            return self.size
        return next(w.size for w in self.size if w.hours is None)


class ReplicasFields(Strict):
    """Read replicas of a database: the read share of the query rate spread over replicas of
    ``capacity_per_replica`` reads/s each (``ceil(reads / (capacity × target))``)."""

    kind: Literal["replicas"]
    queries: Expr = Field(description="Queries per second on the database (reads and writes).")
    read_share: Fraction = Field(description="Share of the queries that are reads, 0.8 = 80%.")
    capacity_per_replica: Positive = Field(description="Reads per second one replica serves.")
    target_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="Share of a replica's capacity to plan for: 0.7 runs them at 70%."
    )
    primary_reads: NonNeg = Field(
        0.0, description="Reads per second the primary keeps serving itself (none go to replicas)."
    )
    min_replicas: Annotated[int, Field(ge=0)] = Field(0, description="Never fewer replicas.")
    max_replicas: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Never more replicas: past it the replicas' utilization rises."
    )

    @model_validator(mode="after")
    def _bounds(self) -> ReplicasFields:
        if self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed max_replicas "
                f"({self.max_replicas})"
            )
        return self


class RateTier(Strict):
    """One rate-limit tier (free, pro, enterprise): its users and its per-user limit."""

    users: Expr = Field(description="Users on this tier (expression).")
    limit: Positive = Field(description="Requests one user may make per window.")
    demand: Expr = Field(description="Requests one user of the tier wants per window.")
    concurrent: Positive | None = Field(
        None, description="Requests one user may have in flight at once (concurrent_requests)."
    )
    concurrency: Expr | None = Field(
        None, description="Requests one user of the tier has in flight at its busiest."
    )
    burst: NonNeg | None = Field(
        None, description="Requests above the limit one user may send in a burst (burst_allowance)."
    )
    peak_demand: Expr | None = Field(
        None, description="Requests one user of the tier sends in its busiest window."
    )

    @model_validator(mode="after")
    def _pairs(self) -> RateTier:
        for limit, wanted in (("concurrent", "concurrency"), ("burst", "peak_demand")):
            if (getattr(self, limit) is None) != (getattr(self, wanted) is None):
                raise ValueError(f"'{limit}' and '{wanted}' go together: give both or neither")
        return self


class LoadFactor(Strict):
    """Limits are multiplied by ``factor`` while the system load is above ``above``."""

    above: Fraction = Field(description="Load (0-1) above which the factor applies.")
    factor: Fraction = Field(description="What the limits are multiplied by, 0.5 halves them.")


class RateLimitFields(Strict):
    """Per-tier request limits: each tier's users make ``demand`` requests a window and may
    make ``limit`` (times the factor of the current load); what is above is rejected."""

    kind: Literal["rate_limit"]
    window: str = Field("minute", description="The window the limits count over (minute, day).")
    tiers: dict[str, RateTier] = Field(min_length=1, description="Tier name → users and limit.")
    load: Expr | None = Field(
        None, description="System load 0-1 (an expression, api.utilization) for load_factors."
    )
    load_factors: list[LoadFactor] = Field(
        default_factory=list,
        description="Limits × factor above a load: [{above: 0.6, factor: 0.75}, {above: 0.8, "
        "factor: 0.5}]; the highest level crossed applies.",
    )
    floor: bool = Field(True, description="Round the reduced limits down (Math.floor).")
    max_rejected_share: Fraction | None = Field(
        None, description="An event when the share of requests rejected goes above this."
    )

    @model_validator(mode="after")
    def _load(self) -> RateLimitFields:
        if self.load_factors and self.load is None:
            raise ValueError("load_factors need a load expression (load: api.utilization)")
        for name in self.tiers:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"tier names must be identifiers, got {name!r}")
        return self


class CacheFields(Strict):
    """A cache in front of a paid or slow backend: ``requests × hit_rate`` never reach it,
    saving ``cost_per_request`` (and ``latency_saved_ms``) each."""

    kind: Literal["cache"]
    requests: Expr = Field(description="Requests per month to the backend behind the cache.")
    hit_rate: Fraction = Field(description="Share of requests the cache answers, 0.3 = 30%.")
    cost_per_request: NonNeg = Field(0.0, description="What one backend request costs.")
    latency_saved_ms: NonNeg = Field(0.0, description="Time one cache hit saves, ms.")


_ServiceFields = PoolFields | ReplicasFields | RateLimitFields | CacheFields


def service_expressions(comp: _ServiceFields) -> dict[str, str]:
    """The expressions of a service component by key (``clients``, ``tiers.free.users``)."""
    if isinstance(comp, PoolFields):
        out = {"clients": comp.clients, "pools": comp.pools}
        if comp.max_connections is not None:
            out["max_connections"] = comp.max_connections
        return out
    if isinstance(comp, ReplicasFields):
        return {"queries": comp.queries}
    if isinstance(comp, RateLimitFields):
        out = {}
        if comp.load is not None:
            out["load"] = comp.load
        for name, tier in comp.tiers.items():
            out[f"tiers.{name}.users"] = tier.users
            out[f"tiers.{name}.demand"] = tier.demand
            if tier.concurrency is not None:
                out[f"tiers.{name}.concurrency"] = tier.concurrency
            if tier.peak_demand is not None:
                out[f"tiers.{name}.peak_demand"] = tier.peak_demand
        return out
    return {"requests": comp.requests}


def service_outputs(comp: _ServiceFields) -> list[str]:
    """The outputs of a service component beyond the common ones (``db_pool.waiting``)."""
    if isinstance(comp, PoolFields):
        out = ["clients", "pools", "pool_size", "pool_connections", "waiting"]
        out += ["pool_utilization"]
        if comp.max_connections is not None:
            out += ["max_connections"]
        if comp.max_clients is not None:
            out += ["refused"]
        return out
    if isinstance(comp, ReplicasFields):
        return ["queries", "reads", "writes", "replicas", "capacity", "replicas_needed"]
    if isinstance(comp, RateLimitFields):
        out = ["demand", "admitted", "rejected", "rejected_share", "limit_factor"]
        for name, tier in comp.tiers.items():
            out += [f"{name}.demand", f"{name}.admitted", f"{name}.rejected_share"]
            if tier.concurrent is not None:
                out += [f"{name}.concurrency_rejected_share"]
            if tier.burst is not None:
                out += [f"{name}.peak_admitted", f"{name}.peak_rejected_share"]
        return out
    return ["requests", "hits", "misses", "savings", "time_saved_hours"]
