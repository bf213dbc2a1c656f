"""What the service keeps between requests: plans and projections cached by file mtime, and
the forecast :class:`~capplan.web.snapshot.Snapshot` replaced by each background refresh."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from capplan.data import Store
from capplan.data.ingest import ingest_frame
from capplan.data.prometheus import make_client, pull_plan_metrics
from capplan.errors import CapplanError, PlanError
from capplan.plan import Plan, load_plan
from capplan.plan.loader import parse_plan_text, validate_plan_data
from capplan.planner import run_plan, run_scenarios
from capplan.projection import Projection
from capplan.web.errors import ApiError
from capplan.web.security import PLAN_NAME_RE, PLAN_SUFFIXES, plan_path
from capplan.web.settings import Settings
from capplan.web.snapshot import Snapshot, compute_snapshot

__all__ = ["AppState", "PlanEntry"]

log = logging.getLogger("capplan.web")
_MAX_CACHED = 256


@dataclass(frozen=True)
class PlanEntry:
    """One plan file of the plans directory: its plan, or the error loading it."""

    name: str
    path: Path
    mtime_ns: int
    plan: Plan | None
    error: PlanError | None


class AppState:
    """Caches of one app; thread-safe (sync routes run in a thread pool)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plans_dir = Path(settings.plans_dir)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._plans: dict[str, PlanEntry] = {}
        self._projections: OrderedDict[tuple[object, ...], tuple[int, object]] = OrderedDict()
        self.snapshot = Snapshot()
        self.refresh_error: str | None = None
        self.refreshes = 0
        self.last_success: float | None = None  # Unix time the last refresh completed

    # plans ------------------------------------------------------------------------------------
    def plan_names(self) -> list[str]:
        """Names of the plan files of the plans directory, sorted."""
        if not self.plans_dir.is_dir():
            return []
        names = {
            p.stem
            for p in self.plans_dir.iterdir()
            if p.suffix in PLAN_SUFFIXES and PLAN_NAME_RE.fullmatch(p.stem) and p.is_file()
        }
        return sorted(names)

    def entry(self, name: str) -> PlanEntry:
        """The (cached) plan ``name``; 400 for a bad name, 404 when there is no such file."""
        path = plan_path(self.plans_dir, name)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            raise ApiError(404, "not_found", f"no plan named '{name}'") from None
        with self._lock:
            cached = self._plans.get(name)
        if cached is not None and cached.mtime_ns == mtime and cached.path == path:
            return cached
        try:
            entry = PlanEntry(name, path, mtime, load_plan(path), None)
        except PlanError as exc:
            entry = PlanEntry(name, path, mtime, None, exc.with_file(path.name))
        with self._lock:
            self._plans[name] = entry
        return entry

    def plan(self, name: str) -> Plan:
        """The valid plan ``name``, or its PlanError (422)."""
        entry = self.entry(name)
        if entry.error is not None:
            raise entry.error
        assert entry.plan is not None
        return entry.plan

    def valid_plans(self) -> dict[str, Plan]:
        """Every plan of the directory that loads."""
        out = {}
        for name in self.plan_names():
            try:
                entry = self.entry(name)
            except ApiError:
                continue
            if entry.plan is not None:
                out[name] = entry.plan
        return out

    def write_plan(self, name: str, text: str) -> Plan:
        """Validate ``text`` and write it atomically as plan ``name`` (YAML)."""
        target = plan_path(self.plans_dir, name, must_exist=False)
        plan = validate_text(text, f"{name}.yaml")
        self.plans_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return plan

    # projections ------------------------------------------------------------------------------
    def _cached(self, key: tuple[object, ...], mtime: int) -> object | None:
        with self._lock:
            hit = self._projections.get(key)
            if hit is not None and hit[0] == mtime:
                self._projections.move_to_end(key)
                return hit[1]
        return None

    def _store(self, key: tuple[object, ...], mtime: int, value: object) -> None:
        with self._lock:
            self._projections[key] = (mtime, value)
            while len(self._projections) > _MAX_CACHED:
                self._projections.popitem(last=False)

    def projection(
        self, name: str, scenario: str | None, months: int | None, simulations: int = 0
    ) -> Projection:
        """Plan ``name`` projected (cached until the plan file changes)."""
        entry = self.entry(name)
        plan = self.plan(name)
        if scenario is not None and scenario not in plan.scenario_names():
            raise ApiError(
                404,
                "not_found",
                f"plan '{name}' has no scenario '{scenario}'; available: "
                + ", ".join(plan.scenario_names()),
            )
        key = ("p", name, scenario, months, simulations)
        hit = self._cached(key, entry.mtime_ns)
        if isinstance(hit, Projection):
            return hit
        seed = plan.simulation.seed if simulations else None
        result = run_plan(plan, scenario, months, simulations, seed)
        self._store(key, entry.mtime_ns, result)
        return result

    def projection_json(
        self, name: str, scenario: str | None, months: int | None, simulations: int = 0
    ) -> bytes:
        """``projection(...).to_dict()`` as JSON bytes, serialized once per cached projection."""
        return self.cached_json(
            name,
            ("pj", scenario, months, simulations),
            lambda: self.projection(name, scenario, months, simulations).to_dict(),
        )

    def peek_json(self, name: str, what: tuple[object, ...]) -> bytes | None:
        """The cached JSON of plan ``name`` when it is still fresh, else None: a check cheap
        enough for the event loop (one stat, no parsing, no computing)."""
        with self._lock:
            cached = self._plans.get(name)
        if cached is None:
            return None
        try:
            mtime = cached.path.stat().st_mtime_ns
        except OSError:
            return None
        hit = self._cached(("json", name, *what), mtime) if mtime == cached.mtime_ns else None
        return hit if isinstance(hit, bytes) else None

    def cached_json(
        self, name: str, what: tuple[object, ...], build: Callable[[], object]
    ) -> bytes:
        """``build()`` of plan ``name`` as JSON bytes, cached until the plan file changes."""
        entry = self.entry(name)
        key = ("json", name, *what)
        hit = self._cached(key, entry.mtime_ns)
        if isinstance(hit, bytes):
            return hit
        data = to_json(build())
        self._store(key, entry.mtime_ns, data)
        return data

    def scenarios(self, name: str, months: int | None) -> dict[str, Projection]:
        """Every scenario of plan ``name`` projected (cached until the plan file changes)."""
        entry = self.entry(name)
        key = ("s", name, months)
        hit = self._cached(key, entry.mtime_ns)
        if isinstance(hit, dict):
            return hit
        result = run_scenarios(self.plan(name), months)
        self._store(key, entry.mtime_ns, result)
        return result

    # background refresh -----------------------------------------------------------------------
    def refresh(self) -> bool:
        """Pull new data (when a Prometheus URL is set), recompute forecasts and swap the
        snapshot. Blocking: run it in a thread. False when a refresh was already running or
        failed (the last good snapshot stays)."""
        if not self._refresh_lock.acquire(blocking=False):
            return False
        try:
            plans = self.valid_plans()
            if self.settings.prometheus_url:
                self._pull(plans)
            snap = compute_snapshot(
                self.settings.store,
                plans,
                self.settings.forecast_horizon,
                self.snapshot.generation + 1,
                self.settings.max_age_seconds,
            )
            self.snapshot = snap  # one reference assignment: readers see old or new
            self.refresh_error = None
            self.refreshes += 1
            self.last_success = time.time()
            return True
        except CapplanError as exc:
            self.refresh_error = str(exc)
            log.warning("refresh failed: %s", exc)
            return False
        except Exception as exc:  # I/O or a bug: log it, keep serving the last snapshot
            self.refresh_error = f"internal error during refresh ({type(exc).__name__})"
            log.exception("refresh failed")
            return False
        finally:
            self._refresh_lock.release()

    def _pull(self, plans: dict[str, Plan]) -> None:
        store_path = self.settings.store
        url = self.settings.prometheus_url
        if store_path is None or url is None:
            return
        with make_client(url) as client, Store(store_path) as store:
            for name, plan in plans.items():
                if not any(m.query and m.expr is None for m in plan.metrics.values()):
                    continue
                frame = pull_plan_metrics(plan, client, self.settings.history)
                if frame.values.size:
                    ingest_frame(store, frame, f"prometheus:{name}")


def to_json(data: object) -> bytes:
    """Compact JSON bytes (no NaN: figures are already JSON-safe)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, default=str).encode()


def validate_text(text: str, file: str) -> Plan:
    """A plan from request text (YAML or JSON), or a PlanError whose issues carry lines."""
    data, lines = parse_plan_text(text, file)
    return validate_plan_data(data, file, lines)
