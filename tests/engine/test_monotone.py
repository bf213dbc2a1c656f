"""Which expressions the fast engine treats as non-decreasing in the one name they read."""

from __future__ import annotations

import pytest

from capplan.engine.montecarlo.monotone import rising_in
from capplan.plan.expressions import compile_expression


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users", "users"),
        ("users * 0.15", "users"),
        ("0.15 * users + 3", "users"),
        ("users / 40 - 2", "users"),
        ("max(2, ceil(rps / 40))", "rps"),
        ("min(users, 1000) + floor(users / 7)", "users"),
        ("clip(users * 2, 0, 500)", "users"),
        ("round(api.vcpu)", "api.vcpu"),
        ("+users", "users"),
        ("users * (2 - 1)", "users"),
        ("users * -1", None),  # decreasing
        ("-users", None),
        ("100 - users", None),
        ("users / (1 - 1)", None),  # a constant that cannot be evaluated
        ("users ** 2", None),  # not exactly rounded
        ("users * rps", None),  # two names
        ("sqrt(users)", None),
        ("users if users > 3 else 0", None),
        ("clip(users, 0, rps)", None),
        ("42", None),  # no name
    ],
)
def test_rising_in(text: str, expected: str | None) -> None:
    assert rising_in(compile_expression(text)) == expected
