"""Fuzz: the plan expression compiler on arbitrary text and on near-valid expressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from capplan.plan.expressions import compile_expression

ATOMS = st.sampled_from(["users", "api.cost", "1", "2.5", "1e308", "0", "(", ")", "**", "*"])
OPS = st.sampled_from([" + ", " - ", " * ", " / ", " // ", " % ", " ** ", " if ", " else "])


@given(st.text(max_size=200))
def test_any_text_is_a_clean_answer(clean: Callable[..., Any], text: str) -> None:
    clean(lambda: compile_expression(text, path="fuzz"), repr(text[:60]))


@given(st.lists(st.tuples(ATOMS, OPS), max_size=40))
def test_near_valid_expressions(clean: Callable[..., Any], parts: list[tuple[str, str]]) -> None:
    text = "".join(a + o for a, o in parts) + "1"
    clean(lambda: compile_expression(text, path="fuzz"), text[:60])
