"""Fuzz: plan text through the loader, validation, the whole-plan checks and a projection.

Inputs: arbitrary text, YAML token soup, the bundled examples with one line's value or one
field's value replaced (wrong types, huge and odd numbers, impossible dates, tags, aliases),
deep nesting and alias structures. Every input ends in a valid plan (whose projection then
runs) or a :class:`~capplan.errors.CapplanError`, within the budget of ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from capplan.engine.planner import run_plan
from capplan.errors import PlanError, PlanSyntaxError
from capplan.plan.loader import parse_plan_text, validate_plan_data

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
NAMES = st.sampled_from([p.name for p in EXAMPLES])


def example_file(name: str) -> str:
    """The example's path: a plan read from its file finds the load tests it names."""
    return str(EXAMPLES[0].parent / name)


@cache
def example_text(name: str) -> str:
    return (EXAMPLES[0].parent / name).read_text(encoding="utf-8")


@cache
def example_data(name: str) -> dict[str, Any]:
    return parse_plan_text(example_text(name), name)[0]


def load_and_run(text: str, file: str = "fuzz.yaml") -> None:
    """The loader, validation and cross-checks, then (for a valid plan) a projection."""
    data, lines = parse_plan_text(text, file)
    plan = validate_plan_data(data, file, lines)
    run_plan(plan)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Import and compile everything once, so the first input's budget is its own."""
    for path in EXAMPLES:
        load_and_run(example_text(path.name), str(path))


# -- scalars as YAML text: the odd, the huge and the impossible --------------------------

SCALAR_TEXT = st.one_of(
    st.sampled_from(
        [
            "2026-13-01",
            "9999-06",
            "9999-12-31",
            "0001-01-01",
            "0000-01-01",
            "2026-02-30",
            "2026-01-01T25:00:00",
            "2026-01-01 10:00:00+99:00",
            "1" * 4_400,
            "-" + "9" * 5_000,
            "0x" + "f" * 3_000,
            "0o" + "7" * 3_000,
            "0b" + "1" * 5_000,
            "1e400",
            "-1e400",
            ".nan",
            ".inf",
            "-.inf",
            "1_000_000",
            "1:30",
            "!!int abc",
            "!!float abc",
            "!!bool maybe",
            "!!binary '%%%'",
            "!!timestamp nope",
            "!!set {a, b}",
            "!!omap [a: 1, b: 2]",
            "!!python/object:os.system ls",
            "!custom value",
            "*nowhere",
            "&anchor 5",
            "[",
            "{a: 1",
            "[1, [2, [3]]]",
            "{a: {b: {c: 1}}}",
            "null",
            "~",
            "true",
            "''",
            '"\\u0000"',
            "|\n  block",
            "-1",
            "0",
            "1e-320",
            "1e308",
            "-0.0",
            "5m",
            "1h30m",
            "10y",
            "99999999999999999999w",
            "users * 1e308 * 1e308",
            "users / 0",
            "users ** 1000",
            "(((((((((((1)))))))))))",
            "api.cost + users",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=30).map(json.dumps),
)


@given(st.text(max_size=300))
def test_any_text_is_a_clean_answer(clean: Callable[..., Any], text: str) -> None:
    clean(lambda: load_and_run(text), repr(text[:60]))


TOKENS = st.sampled_from(
    [
        "a",
        "b",
        "system",
        "drivers",
        ":",
        ": ",
        "- ",
        "\n",
        "\n  ",
        "\n    ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&a ",
        "&b ",
        "*a",
        "*b",
        "<<: ",
        "? ",
        "!!int ",
        "!!str ",
        "!!map ",
        "!t ",
        "---\n",
        "...\n",
        "'",
        '"',
        "#",
        "|",
        ">",
        "1",
        "1e999",
        "2026-13-01",
        "%YAML 1.1\n",
        "\t",
        "\r",
        "\x00",
        "\ufeff",
    ]
)


@given(st.lists(TOKENS, max_size=120))
def test_yaml_token_soup(clean: Callable[..., Any], tokens: list[str]) -> None:
    text = "".join(tokens)
    clean(lambda: load_and_run(text), repr(text[:60]))


# -- near-valid plans: the examples with one thing changed -------------------------------


@given(NAMES, st.integers(min_value=0, max_value=400), SCALAR_TEXT)
def test_example_with_one_line_changed(
    clean: Callable[..., Any], name: str, index: int, value: str
) -> None:
    lines = example_text(name).splitlines()
    fields = [
        i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")
    ]
    at = fields[index % len(fields)]
    key, _, _ = lines[at].partition(":")
    lines[at] = f"{key}: {value}"
    text = "\n".join(lines) + "\n"
    clean(lambda: load_and_run(text, example_file(name)), f"{name}:{at + 1} {lines[at][:60]!r}")


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.sampled_from(["users", "users * 2", "5m", "2026-01", "horizontal", "compound", "x.y"]),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
MUTATIONS = st.sampled_from(["replace", "delete", "add", "wrap"])


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value if how == "replace" else [data] if how == "wrap" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent.append(value)
    return data


def _dump(data: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(data, default=str)
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


@given(NAMES, st.integers(min_value=0), MUTATIONS, JSON_VALUES, st.booleans())
def test_example_with_one_field_changed(
    clean: Callable[..., Any], name: str, index: int, how: str, value: Any, as_json: bool
) -> None:
    data = json.loads(json.dumps(example_data(name), default=str))
    paths = _paths(data)
    path = paths[index % len(paths)]
    text = _dump(_mutate(data, path, how, value), as_json)
    clean(lambda: load_and_run(text, example_file(name)), f"{name} {how} {path} {value!r:.60}")


# -- deep nesting and aliases ------------------------------------------------------------


@given(st.integers(min_value=1, max_value=400), st.lists(st.sampled_from("[{-k"), min_size=1))
def test_deep_nesting(clean: Callable[..., Any], depth: int, kinds: list[str]) -> None:
    parts, closing, indent = [], [], ""
    for i in range(depth):
        kind = kinds[i % len(kinds)]
        if kind == "[":
            parts.append("[")
            closing.append("]")
        elif kind == "{":
            parts.append("{a: ")
            closing.append("}")
        elif not closing:  # block style only while no flow collection is open
            indent += "  "
            parts.append(f"\n{indent}- " if kind == "-" else f"\n{indent}k: ")
    text = "system: x\ndrivers: " + "".join(parts) + "1" + "".join(reversed(closing)) + "\n"
    clean(lambda: load_and_run(text), f"{depth} levels")


@given(
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["flow", "block", "merge", "deep"]),
    st.sampled_from(["system: x\n", "", "drivers: {users: {initial: 1}}\n"]),
)
def test_alias_structures(
    clean: Callable[..., Any], levels: int, fanout: int, style: str, head: str
) -> None:
    lines = ["l0: &l0 [" + ", ".join(["x"] * fanout) + "]"]
    for i in range(1, levels):
        refs = [f"*l{i - 1}"] * fanout
        if style == "flow":
            lines.append(f"l{i}: &l{i} [{', '.join(refs)}]")
        elif style == "block":
            lines.append(f"l{i}: &l{i}\n" + "".join(f"  - {r}\n" for r in refs).rstrip())
        elif style == "merge":
            lines.append(f"l{i}: &l{i} {{<<: *l{i - 1}, k{i}: [{', '.join(refs)}]}}")
        else:
            lines.append(f"l{i}: &l{i} [[[[{', '.join(refs)}]]]]")
    if style == "merge":
        lines[0] = "l0: &l0 {" + ", ".join(f"x{j}: 1" for j in range(fanout)) + "}"
    text = head + "\n".join(lines) + "\n"
    size = sum(fanout**k for k in range(levels + 1))

    def call() -> None:
        with pytest.raises(PlanError) as info:  # the l0, l1, ... fields are unknown
            load_and_run(text)
        if isinstance(info.value, PlanSyntaxError):  # a limit: named with its line
            assert info.value.issues[0].line is not None

    clean(call, f"{levels} levels of {fanout} ({style}, about {size:,} nodes)")
