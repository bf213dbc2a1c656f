"""Field types shared by the plan models: durations, expressions, bounded numbers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

from capplan.units import duration_seconds

__all__ = ["Duration", "Expr", "Finite", "Fraction", "NonNeg", "PeriodRef", "Positive"]


def _check_duration(text: str) -> str:
    duration_seconds(text)
    return text.strip()


def _number_or_text(value: Any) -> Any:
    """Expressions may be written as bare numbers; keep them as text for one code path."""
    if isinstance(value, bool):
        raise ValueError(f"expected an expression or a number, got {value!r}")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Expr = Annotated[str, BeforeValidator(_number_or_text), Field(min_length=1)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
PeriodRef = int | dt.date | str
