"""What the service keeps between requests: plans and projections cached by file mtime, and
the forecast :class:`~capplan.web.snapshot.Snapshot` replaced by each background refresh.

A refresh (:mod:`capplan.web.refresh`) runs its stages one after the other and keeps the last
good result of any stage that fails; ``/api/status`` names each such problem.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from capplan.engine.planner import run_plan, run_scenarios
from capplan.engine.projection import Projection
from capplan.errors import PlanError
from capplan.files import write_atomic
from capplan.plan import Plan, load_plan
from capplan.plan.loader import parse_plan_text, validate_plan_data
from capplan.policy.freshness import instant, iso_time
from capplan.web.errors import ApiError
from capplan.web.refresh import Refresher
from capplan.web.reports import ReportScheduler
from capplan.web.security import plan_files, plan_path
from capplan.web.settings import Settings
from capplan.web.snapshot import Snapshot
from capplan.web.stages import Stages
from capplan.web.work import Workers

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


def _named(error: PlanError, file: str) -> PlanError:
    """``error`` with each issue's file given as ``file`` (the plans directory's path is the
    server's business, not its clients')."""
    issues = [replace(i, file=file) for i in error.issues]
    return type(error)(issues)


def _first_issue(error: PlanError) -> str:
    issues = error.issues
    if not issues:
        return str(error)
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{issues[0]}{more}"


class AppState:
    """Caches of one app; thread-safe (computing requests run in the worker threads)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.plans_dir = Path(settings.plans_dir)
        self.workers = Workers(settings.workers, settings.request_seconds)
        self._lock = threading.Lock()
        self._plans: dict[str, PlanEntry] = {}
        self._last_valid: dict[str, PlanEntry] = {}
        self._projections: OrderedDict[tuple[object, ...], tuple[int, object]] = OrderedDict()
        self.skipped: dict[str, str] = {}  # plan name → why its file is not served
        self.listing: tuple[tuple[tuple[str, int], ...], bytes] | None = None  # GET /api/plans
        self.snapshot = Snapshot()
        off = () if settings.prometheus_url else ("prometheus",)
        self.stages = Stages(off=off if settings.report_schedules else (*off, "reports"))
        self.store_lock = threading.Lock()  # one connection to the store file at a time
        self.reports = ReportScheduler(
            settings.report_schedules,
            settings.store,
            self.stages,
            self.store_lock,
            clock,
            settings.report_horizon,
        )
        self.refresh_error: str | None = None
        self.refreshes = 0
        self.last_success: float | None = None  # Unix time of the last refresh without problem
        self._refresher = Refresher(self)

    # plans ------------------------------------------------------------------------------------
    def plan_names(self) -> list[str]:
        """Names of the plan files of the plans directory and its folders, sorted. A file
        that resolves outside the directory (a symlink) is skipped with a warning, in
        ``skipped``."""
        if not self.plans_dir.is_dir():
            return []
        root = self.plans_dir.resolve()
        names, skipped = [], {}
        for stem, path in sorted(plan_files(self.plans_dir).items()):
            if not path.is_file():
                continue
            if not path.resolve().is_relative_to(root):
                shown = path.relative_to(self.plans_dir)
                skipped[stem] = f"{shown} points outside the plans directory; skipped"
                continue
            names.append(stem)
        for stem in skipped.keys() - self.skipped.keys():
            log.warning("plan file %s", skipped[stem])
        self.skipped = skipped
        return names

    def plan_versions(self) -> tuple[tuple[str, int], ...]:
        """(name, mtime) of every plan file: what answers built from every plan depend on,
        cheap enough to check on the event loop (no parsing)."""
        out = []
        for name in self.plan_names():
            try:
                out.append((name, plan_path(self.plans_dir, name).stat().st_mtime_ns))
            except (ApiError, OSError):
                continue  # removed meanwhile
        return tuple(out)

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
            entry = PlanEntry(name, path, mtime, None, _named(exc, path.name))
        with self._lock:
            self._plans[name] = entry
            if entry.plan is not None:
                self._last_valid[name] = entry
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

    def refresh_plans(self) -> tuple[dict[str, Plan], list[str]]:
        """The plans a refresh forecasts for, and a line per problem: each valid plan, and
        for a plan file that is invalid now, the last valid version it had (if any)."""
        plans: dict[str, Plan] = {}
        problems: list[str] = []
        for name in self.plan_names():
            try:
                entry = self.entry(name)
            except ApiError:
                continue  # removed meanwhile
            if entry.plan is not None:
                plans[name] = entry.plan
                continue
            assert entry.error is not None
            with self._lock:
                last = self._last_valid.get(name)
            if last is not None and last.plan is not None:
                plans[name] = last.plan
                modified = iso_time(instant(last.mtime_ns / 1e9))
                problems.append(
                    f"{_first_issue(entry.error)}; the last valid version of "
                    f"{entry.path.name} (modified {modified}) is used meanwhile"
                )
            else:
                problems.append(f"{_first_issue(entry.error)}; {entry.path.name} has no runways")
        problems.extend(self.skipped.values())
        return plans, problems

    def write_plan(self, name: str, text: str) -> tuple[Plan, bool]:
        """Validate ``text`` and write it atomically as plan ``name`` (YAML); True when the
        plan is new."""
        target = plan_path(self.plans_dir, name, must_exist=False)
        plan = validate_text(text, f"{name}.yaml")
        existed = name in self.plan_names()
        write_atomic(target, text)  # the umask's mode, as a plan written by hand
        return plan, not existed

    # projections and rendered answers ---------------------------------------------------------
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

    def peek_bytes(self, name: str, what: tuple[object, ...]) -> bytes | None:
        """The cached answer ``what`` of plan ``name`` when it is still fresh, else None: a
        check cheap enough for the event loop (one stat, no parsing, no computing)."""
        with self._lock:
            cached = self._plans.get(name)
        if cached is None:
            return None
        try:
            mtime = cached.path.stat().st_mtime_ns
        except OSError:
            return None
        hit = self._cached(("b", name, *what), mtime) if mtime == cached.mtime_ns else None
        return hit if isinstance(hit, bytes) else None

    def cached_bytes(
        self, name: str, what: tuple[object, ...], build: Callable[[], bytes]
    ) -> bytes:
        """``build()`` of plan ``name`` (a JSON body, a page), cached until the plan file
        changes."""
        entry = self.entry(name)
        key = ("b", name, *what)
        hit = self._cached(key, entry.mtime_ns)
        if isinstance(hit, bytes):
            return hit
        data = build()
        self._store(key, entry.mtime_ns, data)
        return data

    def cached_json(
        self, name: str, what: tuple[object, ...], build: Callable[[], object]
    ) -> bytes:
        """``build()`` of plan ``name`` as JSON bytes, cached until the plan file changes."""
        return self.cached_bytes(name, what, lambda: to_json(build()))

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

    # status -----------------------------------------------------------------------------------
    def problems(self, now: float | None = None) -> list[str]:
        """Why the service is degraded: each degraded or failed refresh stage, an internal
        error of the last refresh, forecasts older than ``stale_refreshes`` refresh
        intervals."""
        out = self.stages.problems()
        if self.refresh_error is not None and not out:
            out.append(self.refresh_error)
        interval = self.settings.refresh_seconds
        computed = self.snapshot.computed_at
        if interval > 0 and computed > 0:
            age = (time.time() if now is None else now) - computed
            limit = self.settings.stale_refreshes * interval
            if age > limit:
                out.append(
                    f"snapshot: the forecasts are {age:.0f} s old; no refresh has completed "
                    f"within {self.settings.stale_refreshes:g} refresh intervals "
                    f"({limit:g} s)"
                )
        return out

    # background refresh -----------------------------------------------------------------------
    def refresh(self, pull: bool = True) -> bool:
        """Run the refresh stages (the Prometheus pull when a URL is set and ``pull``) and
        swap in the new snapshot. Blocking: run it in a thread. False when a refresh was
        already running or any stage had a problem (its last good state is kept)."""
        return self._refresher.run(pull)


def to_json(data: object) -> bytes:
    """Compact JSON bytes (no NaN: figures are already JSON-safe)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, default=str).encode()


def validate_text(text: str, file: str) -> Plan:
    """A plan from request text (YAML or JSON), or a PlanError whose issues carry lines."""
    data, lines = parse_plan_text(text, file)
    return validate_plan_data(data, file, lines)
