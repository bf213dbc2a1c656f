"""The state of each stage of the background refresh, as ``/api/status`` reports it.

A refresh runs five stages: ``plans`` (load the plan files), ``prometheus`` (pull the plans'
metric queries into the store), ``store`` (read the store), ``forecasts`` (forecast every
series, compute the runways) and ``reports`` (build the scheduled reports that are due,
:mod:`capplan.web.reports`). Each records its own outcome:

- ``ok``: it ran and everything in it worked;
- ``degraded``: it ran, part of it failed, and that part's last good state was kept (a plan
  file that became invalid: its last valid version is used);
- ``failed``: it failed as a whole; the last good result of the stage was kept;
- ``off``: not configured (no Prometheus URL, no report schedule); ``pending``: not run yet.

``running_since`` is set while a stage runs. Each stage keeps the time of its last attempt
and of its last success, so a reader can tell how old the part it serves is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from capplan.policy.freshness import instant, iso_time

__all__ = ["STAGES", "StageState", "Stages"]

STAGES = ("plans", "prometheus", "store", "forecasts", "reports")
_PROBLEMS = ("degraded", "failed")


def _iso(unix: float | None) -> str | None:
    return None if unix is None else iso_time(instant(unix))


@dataclass(frozen=True)
class StageState:
    """The outcome of the last run of one stage (see the module docstring)."""

    name: str
    state: str = "pending"
    reason: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    running_since: float | None = None

    @property
    def problem(self) -> str | None:
        """``name: reason`` when the stage is degraded or failed, else None."""
        if self.state not in _PROBLEMS:
            return None
        return f"{self.name}: {self.reason or self.state}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (Unix times, and the same times in ISO 8601)."""
        return {
            "state": self.state,
            "reason": self.reason,
            "last_attempt": self.last_attempt,
            "last_success": self.last_success,
            "last_success_time": _iso(self.last_success),
            "running_since": self.running_since,
        }


class Stages:
    """The states of the refresh stages; written by the refresh thread, read by requests
    (each change replaces one immutable :class:`StageState`)."""

    def __init__(self, off: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._states = {
            name: StageState(name, "off" if name in off else "pending") for name in STAGES
        }

    def get(self, name: str) -> StageState:
        """The state of stage ``name``."""
        return self._states[name]

    def all(self) -> dict[str, StageState]:
        """Every stage's state, in refresh order."""
        with self._lock:
            return dict(self._states)

    def start(self, name: str, now: float) -> None:
        """Stage ``name`` starts running (its last outcome stays until it ends)."""
        self._set(name, running_since=now)

    def ok(self, name: str, now: float) -> None:
        """Stage ``name`` ran and everything in it worked."""
        self._set(name, state="ok", reason=None, last_attempt=now, last_success=now)

    def degraded(self, name: str, now: float, reason: str) -> None:
        """Stage ``name`` ran; part of it failed and that part's last good state is kept."""
        self._set(name, state="degraded", reason=reason, last_attempt=now, last_success=now)

    def failed(self, name: str, now: float, reason: str) -> None:
        """Stage ``name`` failed; its last good result is kept."""
        self._set(name, state="failed", reason=reason, last_attempt=now)

    def problems(self) -> list[str]:
        """``stage: reason`` of every degraded or failed stage."""
        return [p for s in self.all().values() if (p := s.problem) is not None]

    def _set(self, name: str, **changes: object) -> None:
        with self._lock:
            current = self._states[name]
            if "state" in changes:
                changes["running_since"] = None
            self._states[name] = replace(current, **changes)  # type: ignore[arg-type]
