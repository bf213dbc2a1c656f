"""Values a plan accepts but that are most likely typos: warnings, each with its field and
line (``rate: 8`` is 800% a month; ``0.08`` was probably meant)."""

from __future__ import annotations

from capplan.errors import Issue
from capplan.plan.models import Plan, RatePiece

__all__ = ["plausibility_warnings"]

#: A compound growth rate above this (per month) is 100% a month or more.
MONTHLY_RATE = 1.0
#: An annual growth rate above this is 1,000% a year or more.
ANNUAL_RATE = 10.0


def _rate_warning(model: str | None, rate: float | list[RatePiece] | None, path: str) -> str | None:
    if isinstance(rate, list):  # a schedule: the first implausible piece
        found = (_rate_warning(model, piece.value, path) for piece in rate)
        return next((message for message in found if message is not None), None)
    if rate is None:
        return None
    if model == "compound" and rate > MONTHLY_RATE:
        return (
            f"is {rate:g}, {rate:.0%} growth a month (it more than doubles every month); "
            f"a rate is a fraction: 0.08 for 8%"
        )
    if model == "annual" and rate > ANNUAL_RATE:
        return f"is {rate:g}, {rate:.0%} growth a year; a rate is a fraction: 0.3 for 30%"
    return None


def plausibility_warnings(plan: Plan) -> list[Issue]:
    """The plan's implausible values, each an :class:`Issue` with its file and line."""
    found: list[tuple[str, str]] = []
    for name, driver in plan.drivers.items():
        growth = driver.growth
        model = getattr(growth, "model", None)
        path = f"drivers.{name}.growth.rate"
        if (message := _rate_warning(model, getattr(growth, "rate", None), path)) is not None:
            found.append((path, message))
        for scenario, override in driver.scenarios.items():
            if override.growth is None:
                continue
            over_model = override.growth.model or model
            path = f"drivers.{name}.scenarios.{scenario}.growth.rate"
            if (message := _rate_warning(over_model, override.growth.rate, path)) is not None:
                found.append((path, message))
    return [
        Issue(message, path=path, file=plan.source, line=plan.line_of(path))
        for path, message in found
    ]
