"""The forecast snapshot the service serves: computed in the background, swapped atomically.

A refresh reads the store (:func:`read_store`) and forecasts what it holds
(:func:`forecast_runways`), each a stage of its own: when one fails, the refresh keeps that
stage's last good result (see :mod:`capplan.web.stages`). Both are blocking (DuckDB, NumPy);
the app runs them in a worker thread and requests only ever read the last complete
:class:`Snapshot`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from capplan.data import MetricFrame, Store
from capplan.data.store import SeriesInfo
from capplan.forecast.run import ForecastRun, run_forecast
from capplan.forecast.run_runways import plan_runways
from capplan.formatting import json_float
from capplan.plan.models import Plan, Threshold
from capplan.policy.freshness import Freshness, default_max_age, freshness, instant, longest_for
from capplan.policy.plan_check import thresholds_on

__all__ = [
    "SOON_SECONDS",
    "LastSample",
    "RunwayRow",
    "Snapshot",
    "StoreData",
    "forecast_runways",
    "read_store",
    "snapshot_of",
    "urgency_key",
]


def _iso(t: np.datetime64 | None) -> str | None:
    return None if t is None else str(np.datetime_as_string(t, unit="s")) + "Z"


#: A crossing whose earliest plausible time (p10) is this close is due soon: the README's
#: alert ``capplan_runway_seconds{quantile="0.1"} < 14 * 86400``.
SOON_SECONDS = 14 * 86400.0


@dataclass(frozen=True)
class RunwayRow:
    """When one series crosses one level of one plan threshold (p10 / p50 / p90 dates, None
    beyond the horizon); ``crossed_since``: when the level was crossed, if it already is."""

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
    crossed_since: np.datetime64 | None = None

    def crossing(self, quantile: str) -> np.datetime64 | None:
        """The crossing time of ``quantile`` (``p10``, ``p50`` or ``p90``): ``crossed_since``
        when the level is already crossed, else its date, else None (not within the
        horizon)."""
        if self.crossed_since is not None:
            return self.crossed_since
        at: np.datetime64 | None = getattr(self, quantile)
        return at

    def due(self, now: float, soon_seconds: float = SOON_SECONDS) -> str:
        """How pressing the crossing is at ``now`` (Unix seconds): ``crossed`` (the level
        already is), ``past`` (its likely time, p50, has gone by: a forecast from data that
        stopped arriving), ``soon`` (its earliest plausible time, p10, is within
        ``soon_seconds`` or gone by), ``later`` (within the horizon, not soon) or ``beyond``
        (not within the horizon)."""
        if self.crossed_since is not None:
            return "crossed"
        if self.p50 is not None and _unix(self.p50) <= now:
            return "past"
        if self.p10 is not None and _unix(self.p10) <= now + soon_seconds:
            return "soon"
        if self.p10 is not None or self.p50 is not None or self.p90 is not None:
            return "later"
        return "beyond"

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
            "crossed_since": _iso(self.crossed_since),
            "message": self.message,
        }


def _unix(t: np.datetime64) -> float:
    return float(t.astype("datetime64[s]").astype(np.int64))


def urgency_key(row: RunwayRow) -> tuple[float, float, str, str]:
    """Levels already crossed and the earliest plausible crossing first; rows that never
    cross within the horizon last."""
    far = float("inf")
    times = (row.crossed_since, row.p10, row.p50, row.p90)
    first = min((t for t in times if t is not None), default=None)
    p50 = row.p50.astype("datetime64[s]").astype(np.int64) if row.p50 is not None else far
    start = first.astype("datetime64[s]").astype(np.int64) if first is not None else far
    return float(start), float(p50), row.series, row.threshold


@dataclass(frozen=True)
class LastSample:
    """The newest stored sample of one series and the maximum age it may reach before the
    series is stale (None: not checked)."""

    series: str
    at: np.datetime64
    max_age_seconds: float | None

    @property
    def unix_seconds(self) -> float:
        """``at`` in Unix seconds."""
        return float(self.at.astype("datetime64[s]").astype(np.int64))

    def freshness(self, now: np.datetime64) -> Freshness:
        """The age of the sample at ``now``, and whether the series is stale."""
        return freshness(self.series, self.at, now, self.max_age_seconds)


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
    last_samples: tuple[LastSample, ...] = ()
    infos: tuple[SeriesInfo, ...] = ()
    forecast_at: float = 0.0
    _json: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def cached_json(self, key: str, build: Callable[[], object]) -> bytes:
        """``build()`` as JSON bytes, computed once per snapshot (snapshots never change)."""
        hit = self._json.get(key)
        if hit is None:
            hit = json.dumps(build(), separators=(",", ":"), allow_nan=False).encode()
            self._json[key] = hit
        return hit

    def peek(self, key: str) -> bytes | None:
        """What :meth:`cached` holds for ``key``, or None."""
        return self._json.get(key)

    def cached(self, key: str, build: Callable[[], bytes]) -> bytes:
        """``build()`` computed once per snapshot (a rendered page, an exposition)."""
        hit = self._json.get(key)
        if hit is None:
            hit = build()
            self._json[key] = hit
        return hit

    def freshness(self, now: float | None = None) -> list[Freshness]:
        """Each stored series' newest sample, its age at ``now`` (Unix seconds, default the
        current time) and whether it is stale."""
        at = instant(now)
        return [last.freshness(at) for last in self.last_samples]

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


def _series_listing(infos: list[SeriesInfo]) -> tuple[dict[str, Any], ...]:
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
        for s in infos
    )


def last_samples(
    infos: list[SeriesInfo], plans: Mapping[str, Plan], max_age_seconds: float | None = None
) -> tuple[LastSample, ...]:
    """The newest sample of each stored series with its maximum age: ``max_age_seconds``
    (0: not checked), or by default the larger of 3 steps of the series and the longest
    ``for:`` of the plans' thresholds checked on it (as ``capplan check`` has it)."""
    names = [info.name for info in infos]
    checked: dict[str, list[Threshold]] = {}
    for plan in plans.values():
        for series, found in thresholds_on(plan, names).items():
            checked.setdefault(series, []).extend(found)
    out = []
    for info in infos:
        limit = max_age_seconds
        if limit is None:
            limit = default_max_age(info.step_seconds, longest_for(checked.get(info.name, [])))
        out.append(LastSample(info.name, info.last, limit or None))
    return tuple(out)


def _time(text: str | None) -> np.datetime64 | None:
    return None if text is None else np.datetime64(text.rstrip("Z"), "s")


def plans_runway_rows(run: ForecastRun, plans: Mapping[str, Plan]) -> list[RunwayRow]:
    """Runways of every observed threshold level of every plan on its matching series
    (matching as :func:`capplan.forecast.run_runways.plan_runways` does), most urgent first."""
    rows = [
        RunwayRow(
            str(r["series"]),
            plan_name,
            str(r["threshold"]),
            str(r["level"]),
            float(r["value"]),
            str(r["direction"]),
            _time(r.get("p10")),
            _time(r.get("p50")),
            _time(r.get("p90")),
            str(r.get("message", "")),
            _time(r.get("crossed_since")),
        )
        for plan_name, plan in plans.items()
        for r in plan_runways(run, plan)
    ]
    return sorted(rows, key=urgency_key)


@dataclass(frozen=True)
class StoreData:
    """What the store held at one read: every point, and the listing of its series."""

    frame: MetricFrame
    infos: tuple[SeriesInfo, ...]


def read_store(store_path: Path | None) -> StoreData:
    """Every point of the store and its series listing (empty when there is no store file
    yet); a :class:`~capplan.errors.StoreError` when it cannot be read."""
    if store_path is None or not store_path.is_file():
        return StoreData(MetricFrame.empty(), ())
    with Store(store_path, read_only=True) as store:
        return StoreData(store.load(), tuple(store.list_series()))


def forecast_runways(
    frame: MetricFrame, plans: Mapping[str, Plan], horizon: str, now: float
) -> tuple[ForecastRun | None, tuple[RunwayRow, ...]]:
    """Every series of ``frame`` forecast ``horizon`` ahead of ``now`` (Unix seconds) and the
    runways of the plans' thresholds on them; (None, ()) for an empty frame. The plans'
    metric units and bounds clip the forecasts (a % stays within 0-100)."""
    if frame.values.size == 0:
        return None, ()
    run = run_forecast(
        frame,
        horizon,
        plans=list(plans.values()),
        now=instant(now),
        with_plan_runways=False,
    )
    return run, tuple(plans_runway_rows(run, plans))


def snapshot_of(
    data: StoreData,
    plans: Mapping[str, Plan],
    forecasts: tuple[ForecastRun | None, tuple[RunwayRow, ...]],
    *,
    now: float,
    forecast_at: float,
    generation: int,
    max_age_seconds: float | None = None,
    error: str | None = None,
) -> Snapshot:
    """A snapshot of ``data`` and its forecasts: the listing and each series' last sample
    (its maximum age as in :func:`last_samples`)."""
    run, runways = forecasts
    infos = list(data.infos)
    return Snapshot(
        computed_at=now,
        frame=data.frame,
        run=run,
        runways=runways,
        series=_series_listing(infos),
        error=error,
        generation=generation,
        last_samples=last_samples(infos, plans, max_age_seconds),
        infos=data.infos,
        forecast_at=forecast_at,
    )
