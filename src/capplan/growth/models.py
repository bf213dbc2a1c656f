"""Driver paths: every growth model evaluated for many Monte Carlo paths in one NumPy call.

A path array has shape ``(paths, periods + 1)``; column 0 is period 0 (today). Rates are given
per month in the plan and converted to the timeline's step here.
"""

from __future__ import annotations

import numpy as np

from capplan._types import Array
from capplan.errors import EvaluationError
from capplan.plan.compiled import DriverSpec
from capplan.plan.models import (
    AnnualGrowth,
    CompoundGrowth,
    ConstantGrowth,
    Growth,
    LinearGrowth,
    LogisticGrowth,
    PointsGrowth,
    RatePiece,
    Step,
)
from capplan.timeline import Timeline
from capplan.units import parse_start_date

__all__ = ["central_rate", "project_driver", "resolve_period", "scheduled_rates"]


def _rate_field(growth: Growth) -> float | list[RatePiece] | None:
    if isinstance(growth, CompoundGrowth | AnnualGrowth | LogisticGrowth):
        return growth.rate
    if isinstance(growth, LinearGrowth):
        return growth.per_month
    return None


def central_rate(growth: Growth) -> float | None:
    """The rate parameter that uncertainty applies to (a schedule's first rate), or None for
    models without one."""
    rate = _rate_field(growth)
    return rate[0].value if isinstance(rate, list) else rate


def scheduled_rates(growth: Growth, timeline: Timeline) -> Array | None:
    """A rate schedule's rate for each period 1..horizon, shape (1, periods); None for a
    fixed rate. Period ``t`` (growth from ``t - 1`` to ``t``) takes the first piece whose
    ``until`` is at or after ``t``."""
    rate = _rate_field(growth)
    if not isinstance(rate, list):
        return None
    t = np.arange(1, timeline.periods + 1, dtype=np.float64)
    out = np.full(t.shape, rate[-1].value)
    for piece in reversed(rate[:-1]):
        assert piece.until is not None
        out[t <= resolve_period(piece.until, timeline) + 1e-9] = piece.value
    return out[None, :]


def resolve_period(ref: int | object, timeline: Timeline) -> float:
    """A period number from an int or a date (dates become fractional period numbers)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return float(ref)
    return timeline.period_of(parse_start_date(ref))


def _cumulative_factor(factor: Array, periods: int) -> Array:
    """Growth since period 0 from a per-period factor of shape (P, 1) or (P, T)."""
    if factor.shape[1] == 1:
        t = np.arange(periods + 1, dtype=np.float64)
        return np.asarray(np.power(factor, t), dtype=np.float64)
    out = np.ones((factor.shape[0], periods + 1))
    np.cumprod(factor, axis=1, out=out[:, 1:])
    return out


def _elapsed(rate: Array, periods: int) -> Array:
    """Sum of per-period ``rate`` up to each period (rate × t when constant)."""
    if rate.shape[1] == 1:
        return rate * np.arange(periods + 1, dtype=np.float64)
    out = np.zeros((rate.shape[0], periods + 1))
    np.cumsum(rate, axis=1, out=out[:, 1:])
    return out


def _points(growth: PointsGrowth, initial: float, timeline: Timeline, name: str) -> Array:
    pts = sorted(
        (resolve_period(int(k) if k.lstrip("-").isdigit() else k, timeline), v)
        for k, v in growth.points.items()
    )
    if pts[0][0] > 0:
        pts.insert(0, (0.0, initial))
    xs = np.array([p for p, _ in pts])
    ys = np.array([v for _, v in pts])
    t = np.arange(timeline.periods + 1, dtype=np.float64)
    if growth.interpolation == "step":
        idx = np.clip(np.searchsorted(xs, t, side="right") - 1, 0, len(xs) - 1)
        values = ys[idx]
    elif growth.interpolation == "exponential":
        if np.any(ys <= 0):
            raise EvaluationError.single(
                "exponential interpolation needs every point (and the initial value) > 0",
                path=f"drivers.{name}.growth.points",
            )
        values = np.exp(_interp(t, xs, np.log(ys), growth.after))
    else:
        values = _interp(t, xs, ys, growth.after)
    return np.asarray(values, dtype=np.float64)[None, :]


def _interp(t: Array, xs: Array, ys: Array, after: str) -> Array:
    values = np.interp(t, xs, ys)
    if after == "extrapolate" and len(xs) >= 2 and xs[-1] > xs[-2]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        beyond = t > xs[-1]
        values[beyond] = ys[-1] + slope * (t[beyond] - xs[-1])
    return np.asarray(values, dtype=np.float64)


def _apply_steps(
    values: Array, steps: tuple[Step, ...], factor: Array | None, timeline: Timeline
) -> Array:
    """One-off steps. With a compounding ``factor`` (growth since period 0), added amounts
    grow at the driver's rate after they arrive; otherwise they are a constant offset."""
    t = np.arange(timeline.periods + 1, dtype=np.float64)
    for step in steps:
        start = resolve_period(step.at, timeline)
        mask = t >= start - 1e-9
        if not mask.any():
            continue
        first = int(np.argmax(mask))
        if step.multiply is not None:
            values = values * np.where(mask, step.multiply, 1.0)
        elif step.add is not None:
            if factor is not None:
                base = factor[:, first : first + 1]
                added = step.add * np.divide(
                    factor, base, out=np.zeros_like(factor), where=base > 0
                )
                values = values + np.where(mask, added, 0.0)
            else:
                values = values + np.where(mask, step.add, 0.0)
    return values


def project_driver(spec: DriverSpec, timeline: Timeline, rate: Array | None) -> Array:
    """The driver's values, shape ``(paths, periods + 1)``.

    ``rate`` holds the (possibly sampled) rate per path, shape (P, 1), or per path and period,
    shape (P, T); None means one path at the central rate.
    """
    g, x0, periods = spec.growth, spec.initial, timeline.periods
    mpp = timeline.months_per_period
    central = central_rate(g)
    r = rate if rate is not None else np.array([[central if central is not None else 0.0]])
    schedule = scheduled_rates(g, timeline)
    if schedule is not None and central is not None:
        # a sampled rate shifts the whole schedule: its draw minus the first rate
        r = r + (schedule - central)
    factor: Array | None = None
    if isinstance(g, CompoundGrowth):
        factor = _cumulative_factor(np.maximum(1.0 + r - g.churn, 0.0) ** mpp, periods)
        values = x0 * factor
    elif isinstance(g, AnnualGrowth):
        factor = _cumulative_factor(np.maximum(1.0 + r, 0.0) ** (mpp / 12.0), periods)
        values = x0 * factor
    elif isinstance(g, ConstantGrowth):
        factor = np.ones((r.shape[0], periods + 1))
        values = x0 * factor
    elif isinstance(g, LinearGrowth):
        values = x0 + _elapsed(r * mpp, periods)
    elif isinstance(g, LogisticGrowth):
        if x0 <= 0:
            values = np.zeros((r.shape[0], periods + 1))
        else:
            ratio = (g.capacity - x0) / x0
            values = g.capacity / (1.0 + ratio * np.exp(-_elapsed(r * mpp, periods)))
    else:
        values = np.repeat(_points(g, x0, timeline, spec.name), r.shape[0], axis=0)
    values = _apply_steps(values, spec.steps, factor, timeline)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        period = int(np.argmax(bad.any(axis=0)))
        got = values[:, period][bad[:, period]][0]
        raise EvaluationError.single(
            f"falls to {got:.6g} in period {period}; a driver must stay finite and >= 0 "
            f"(check the growth of '{spec.name}')",
            path=f"drivers.{spec.name}.growth",
        )
    return values
