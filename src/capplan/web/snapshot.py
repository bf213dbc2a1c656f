"""The forecast snapshot the service serves: computed in the background, swapped atomically.

:func:`compute_snapshot` is blocking (DuckDB, NumPy); the app runs it in a worker thread and
requests only ever read the last complete :class:`Snapshot`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from capplan.data import MetricFrame, Store
from capplan.errors import CapplanError
from capplan.forecasting import ForecastRun, run_forecast
from capplan.forecasting import plan_runways as forecast_plan_runways
from capplan.formatting import json_float
from capplan.plan.models import Plan

__all__ = ["RunwayRow", "Snapshot", "compute_snapshot", "urgency_key"]


def _iso(t: np.datetime64 | None) -> str | None:
    return None if t is None else str(np.datetime_as_string(t, unit="s")) + "Z"


@dataclass(frozen=True)
class RunwayRow:
    """When one series crosses one level of one plan threshold (p10 / p50 / p90 dates)."""

    series: str
    plan: str
    threshold: str
    level: str
    value: float
    direction: str
    p10: np.datetime64 | None
    p50: np.datetime64 | None
    p90: np.datetime64 | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "series": self.series,
            "plan": self.plan,
            "threshold": self.threshold,
            "level": self.level,
            "value": json_float(self.value),
            "direction": self.direction,
            "p10": _iso(self.p10),
            "p50": _iso(self.p50),
            "p90": _iso(self.p90),
            "message": self.message,
        }


def urgency_key(row: RunwayRow) -> tuple[float, float, str, str]:
    """Earliest plausible crossing first; rows that never cross within the horizon last."""
    far = float("inf")
    first = min((t for t in (row.p10, row.p50, row.p90) if t is not None), default=None)
    p50 = row.p50.astype("datetime64[s]").astype(np.int64) if row.p50 is not None else far
    start = first.astype("datetime64[s]").astype(np.int64) if first is not None else far
    return float(start), float(p50), row.series, row.threshold


@dataclass(frozen=True)
class Snapshot:
    """Forecasts of every stored series, their runways and the store listing, at one time."""

    computed_at: float = 0.0
    frame: MetricFrame = field(default_factory=MetricFrame.empty)
    run: ForecastRun | None = None
    runways: tuple[RunwayRow, ...] = ()
    series: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    generation: int = 0
    _json: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def cached_json(self, key: str, build: Callable[[], object]) -> bytes:
        """``build()`` as JSON bytes, computed once per snapshot (snapshots never change)."""
        hit = self._json.get(key)
        if hit is None:
            hit = json.dumps(build(), separators=(",", ":"), allow_nan=False).encode()
            self._json[key] = hit
        return hit

    def has_series(self, series: str) -> bool:
        """Whether ``series`` is stored (and so forecast)."""
        return self.run is not None and series in self.run.panel.ids

    def forecast_of(self, series: str) -> dict[str, Any]:
        """The forecast rows and runways of one series (caller checks ``has_series``)."""
        assert self.run is not None
        run = self.run
        i = run.panel.index(series)
        return {
            "series": series,
            "model": self.run.result.model[i],
            "step_seconds": self.run.panel.step_seconds,
            "levels": list(self.run.levels),
            "forecast": run.series_rows(i),
            "runway": [r.to_dict() for r in self.runways if r.series == series],
        }


def _series_listing(store: Store) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "series": s.name,
            "labels": s.labels,
            "kind": s.kind,
            "points": s.points,
            "first": _iso(s.first),
            "last": _iso(s.last),
            "step_seconds": s.step_seconds,
            "gaps": s.gaps,
        }
        for s in store.list_series()
    )


def _time(text: str | None) -> np.datetime64 | None:
    return None if text is None else np.datetime64(text.rstrip("Z"), "s")


def plan_runways(run: ForecastRun, plans: Mapping[str, Plan]) -> list[RunwayRow]:
    """Runways of every observed threshold level of every plan on its matching series
    (matching as :func:`capplan.forecasting.plan_runways` does), most urgent first."""
    rows = [
        RunwayRow(
            str(r["series"]),
            plan_name,
            str(r["threshold"]),
            str(r["level"]),
            float(r["value"]),
            str(r["direction"]),
            _time(r["p10"]),
            _time(r["p50"]),
            _time(r["p90"]),
            str(r["message"]),
        )
        for plan_name, plan in plans.items()
        for r in forecast_plan_runways(run, plan)
    ]
    return sorted(rows, key=urgency_key)


def compute_snapshot(
    store_path: Path | None, plans: Mapping[str, Plan], horizon: str, generation: int = 0
) -> Snapshot:
    """Load the store, forecast every series ``horizon`` ahead and compute the runways."""
    now = time.time()
    if store_path is None or not store_path.is_file():
        return Snapshot(computed_at=now, generation=generation)
    with Store(store_path, read_only=True) as store:
        frame = store.load()
        listing = _series_listing(store)
    if frame.values.size == 0:
        return Snapshot(computed_at=now, frame=frame, series=listing, generation=generation)
    try:
        run = run_forecast(frame, horizon)
    except CapplanError as exc:
        return Snapshot(now, frame, None, (), listing, f"forecast failed: {exc}", generation)
    runways = tuple(plan_runways(run, plans))
    return Snapshot(now, frame, run, runways, listing, None, generation)
