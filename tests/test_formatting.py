"""Figures as people read them: money with its currency, small amounts not rounded away."""

from __future__ import annotations

import pytest

from capplan.formatting import fmt_money


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (3500, "$3,500"),
        (2.8, "$2.80"),
        (0.1, "$0.10"),
        (0.0035, "$0.0035"),  # a cost per user: two significant digits, not $0.00
        (0.012, "$0.012"),
        (1e-9, "$0"),
        (float("nan"), "-"),
    ],
)
def test_fmt_money(value: float, text: str) -> None:
    assert fmt_money(value) == text


def test_other_currencies_are_suffixed() -> None:
    assert fmt_money(3500, "CHF") == "3,500 CHF"
