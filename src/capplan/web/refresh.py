"""The background refresh of the service: its stages (:mod:`capplan.web.stages`) run one
after the other, and the last good result of any stage that fails is kept.

A plan file that became invalid keeps its last valid version's runways, a Prometheus that is
down or hangs leaves the store as it was (and its series served), a store that cannot be
read leaves the last data read, a forecast that fails leaves the last forecasts.
``/api/status`` names each such problem.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from capplan.data import MetricFrame, Store
from capplan.data.ingest import ingest_frame
from capplan.data.prometheus import pull_plan_metrics
from capplan.errors import CapplanError
from capplan.plan import Plan
from capplan.web.snapshot import Snapshot, StoreData, forecast_runways, read_store, snapshot_of

if TYPE_CHECKING:
    from capplan.web.state import AppState

__all__ = ["Refresher"]

log = logging.getLogger("capplan.web")


class Refresher:
    """Runs the refresh of an app's state, one at a time, and swaps in each new snapshot
    (``state.snapshot``), with the status of the refresh on the state too."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.stages = state.stages
        self._lock = threading.Lock()
        self._pull_thread: threading.Thread | None = None

    def run(self, pull: bool) -> bool:
        """See :meth:`AppState.refresh`."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self._refresh(pull)
        except Exception as exc:  # a bug: log it, keep serving the last snapshot
            self.state.refresh_error = f"internal error during refresh ({type(exc).__name__})"
            log.exception("refresh failed")
            return False
        finally:
            self._lock.release()

    def _refresh(self, pull: bool) -> bool:
        previous = self.state.snapshot
        plans = self._stage_plans()
        if self.settings.prometheus_url and pull:
            self._stage_pull(plans)
        data = self._stage_store(previous)
        now = time.time()
        self.stages.start("forecasts", now)
        try:
            forecasts = forecast_runways(data.frame, plans, self.settings.forecast_horizon, now)
            forecast_at, error = now, None
            self.stages.ok("forecasts", time.time())
        except Exception as exc:
            error = _problem("forecast failed", exc)
            forecasts, forecast_at = (previous.run, previous.runways), previous.forecast_at
            self.stages.failed("forecasts", time.time(), f"{error}; the last forecasts are kept")
        self.state.snapshot = snapshot = snapshot_of(
            data,
            plans,
            forecasts,
            now=time.time(),
            forecast_at=forecast_at,
            generation=previous.generation + 1,
            max_age_seconds=self.settings.max_age_seconds,
            error=error,
        )  # one reference assignment: readers see the old snapshot or the new one
        self.state.reports.run(plans, snapshot.frame)
        self.state.refreshes += 1
        problems = self.stages.problems()
        self.state.refresh_error = "; ".join(problems) if problems else None
        if not problems:
            self.state.last_success = time.time()
        return not problems

    def _stage_plans(self) -> dict[str, Plan]:
        self.stages.start("plans", time.time())
        plans, problems = self.state.refresh_plans()
        if problems:
            for problem in problems:
                log.warning("plan: %s", problem)
            self.stages.degraded("plans", time.time(), "; ".join(problems))
        else:
            self.stages.ok("plans", time.time())
        return plans

    def _stage_store(self, previous: Snapshot) -> StoreData:
        self.stages.start("store", time.time())
        try:
            with self.state.store_lock:
                data = read_store(self.settings.store)
        except Exception as exc:
            reason = _problem("cannot read the store", exc)
            log.warning("refresh: %s", reason)
            self.stages.failed("store", time.time(), f"{reason}; the last data read is kept")
            return StoreData(previous.frame, previous.infos)
        self.stages.ok("store", time.time())
        return data

    def _stage_pull(self, plans: dict[str, Plan]) -> None:
        """Pull every plan's metric queries, within ``pull_timeout_seconds`` in all, and
        ingest what came; the store is left as it was for a plan whose pull failed."""
        stage = "prometheus"
        started = time.time()
        self.stages.start(stage, started)
        wanted = {
            name: plan
            for name, plan in plans.items()
            if any(m.query and m.expr is None for m in plan.metrics.values())
        }
        if self._pull_thread is not None and self._pull_thread.is_alive():
            self.stages.failed(stage, started, "the previous pull has not finished yet")
            return
        pulled: dict[str, MetricFrame | str] = {}
        thread = threading.Thread(
            target=self._pull_all, args=(wanted, pulled), name="capplan-pull", daemon=True
        )
        thread.start()
        thread.join(self.settings.pull_timeout_seconds)
        if thread.is_alive():
            self._pull_thread = thread  # abandoned: it ends on its own (client deadlines)
            self.stages.failed(
                stage,
                time.time(),
                f"Prometheus did not answer within {self.settings.pull_timeout_seconds:g} s; "
                "the store keeps the data pulled before",
            )
            return
        failures = [f"{name}: {r}" for name, r in pulled.items() if isinstance(r, str)]
        frames = {n: r for n, r in pulled.items() if isinstance(r, MetricFrame) and r.values.size}
        if frames and self.settings.store is not None:
            try:
                with self.state.store_lock, Store(self.settings.store) as store:
                    for name, frame in frames.items():
                        ingest_frame(store, frame, f"prometheus:{name}")
            except Exception as exc:
                failures = [_problem("cannot write the pulled data to the store", exc)]
        now = time.time()
        if not failures:
            self.stages.ok(stage, now)
        elif len(failures) < len(wanted):
            self.stages.degraded(stage, now, "; ".join(failures))
        else:
            self.stages.failed(stage, now, "; ".join(failures))

    def _pull_all(self, plans: dict[str, Plan], out: dict[str, MetricFrame | str]) -> None:
        url = self.settings.prometheus_url
        if url is None or not plans:
            return
        try:
            options = self.settings.prometheus_options
            with options.client(url) as client:
                for name, plan in plans.items():
                    try:
                        out[name] = pull_plan_metrics(
                            plan, client, self.settings.history, limits=options.limits
                        )
                    except Exception as exc:
                        out[name] = _problem("pull failed", exc)
        except Exception as exc:
            for name in plans:
                out.setdefault(name, _problem("pull failed", exc))


def _problem(what: str, exc: Exception) -> str:
    """``what: message`` for a capplan error; a bug's message is logged, not shown."""
    if isinstance(exc, CapplanError):
        return f"{what}: {exc}"
    log.error("%s", what, exc_info=exc)
    return f"{what}: internal error ({type(exc).__name__})"
