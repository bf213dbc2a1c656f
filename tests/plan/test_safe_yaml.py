"""Hostile plan text: alias bombs, deep nesting, huge integers, impossible dates and years.

Each is refused quickly with a clean error naming the file, the line and the field (exit 2 on
the command line, never a traceback); ordinary plans, aliases included, load as before.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import PlanError, PlanSyntaxError
from capplan.plan.loader import load_plan, parse_plan_text, parse_set_option
from capplan.plan.safe_yaml import DEFAULT_LIMITS, YamlLimits, check_limits, load_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
THE_BOT = (ROOT / "examples" / "the_bot.yaml").read_text(encoding="utf-8")
runner = CliRunner()


def bomb(levels: int) -> str:
    """``a: &a [l,l,...]``, ``b: &b [*a,*a,...]``, ...: nine to the power ``levels`` nodes."""
    names = "abcdefghijklmnop"
    lines = ["a: &a [l,l,l,l,l,l,l,l,l]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [{','.join([f'*{names[i - 1]}'] * 9)}]")
    return "\n".join(lines) + "\n"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def refused(text: str, file: str = "bomb.yaml", limits: YamlLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(PlanSyntaxError) as info:
        parse_plan_text(text, file, limits)
    (issue,) = info.value.issues
    assert issue.file == file
    assert issue.line is not None
    return str(issue)


def cli(*args: str) -> tuple[int, str, float]:
    start = time.perf_counter()
    result = runner.invoke(app, list(args))
    took = time.perf_counter() - start
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "internal error" not in output
    return result.exit_code, output, took


# -- alias bombs ---------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [6, 7, 9])
def test_alias_bomb_is_refused_fast_without_growing(levels: int) -> None:
    text = bomb(levels)
    assert len(text) < 400
    before, start = rss_mb(), time.perf_counter()
    message = refused(text)
    took, grew = time.perf_counter() - start, rss_mb() - before
    assert took < 1.0, took
    assert grew < 50, grew
    # the alias that passes the limit is on line 6 (f: &f [*e, ...]), with its field path
    assert message.startswith("bomb.yaml:6 f[0] alias *e expands the plan past 100,000 nodes")


def test_alias_bomb_file_is_refused_by_load_plan(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(9))
    start = time.perf_counter()
    with pytest.raises(PlanSyntaxError) as info:
        load_plan(path)
    assert time.perf_counter() - start < 1.0
    assert str(info.value).startswith(f"{path}:6 f[0] alias *e")


def test_validate_exits_2_on_a_nine_level_bomb_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(9))
    code, output, took = cli("validate", str(path))
    assert code == 2
    assert f"{path}:6" in output
    assert "100,000 nodes" in output
    assert took < 1.0, took


def test_alias_count_limit_names_the_alias() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    message = refused(text)
    assert message.startswith("bomb.yaml:2 b[100] alias *a is one too many")
    assert "at most 100 aliases" in message


def test_depth_through_aliases_is_bounded() -> None:
    deep = "[" * 40 + "1" + "]" * 40
    text = f"a: &a {deep}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    message = refused(text)
    assert "bomb.yaml:2" in message
    assert "alias *a nests the plan 71 levels deep; at most 64 levels are allowed" in message


def test_recursive_alias_is_refused() -> None:
    message = refused("system: x\ndrivers: &d {users: *d}\n")
    assert message == "bomb.yaml:2 drivers.users alias *d refers to the node that contains it"


def test_limits_are_arguments() -> None:
    small = YamlLimits(aliases=2, nodes=20, depth=3)
    assert "at most 2 aliases" in refused("a: &a 1\nb: [*a, *a, *a]\n", limits=small)
    assert "more than 20 nodes" in refused("a: [" + ", ".join("x" * 30) + "]\n", limits=small)
    assert "more than 3 levels" in refused("a: [[[1]]]\n", limits=small)
    check_limits([], "empty.yaml", small)  # no events: nothing to refuse


def test_ordinary_aliases_and_merge_keys_still_load() -> None:
    text = (
        "base: &base {initial: 100, growth: {model: compound, rate: 0.1}}\n"
        "other: {<<: *base, initial: 5}\n"
        "list: [*base, *base]\n"
    )
    data, _ = parse_plan_text(text)
    assert data["other"] == {"initial": 5, "growth": {"model": "compound", "rate": 0.1}}
    assert data["list"] == [data["base"], data["base"]]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_well_within_the_limits(path: Path) -> None:
    plan = load_plan(path)
    assert plan.system
    _, lines = parse_plan_text(path.read_text(encoding="utf-8"), path.name)
    assert len(lines) < DEFAULT_LIMITS.nodes // 100


def test_api_text_goes_through_the_same_limits() -> None:
    # the service validates uploaded text with parse_plan_text, JSON included
    assert "nests more than 64 levels" in refused('{"a": ' * 1000 + "1" + "}" * 1000)
    assert "alias *e expands" in refused(bomb(7))


# -- inputs that used to end in a traceback --------------------------------------------------


def nested(levels: int, style: str) -> str:
    if style == "flow":
        return "system: x\ndrivers: " + "[" * levels + "]" * levels + "\n"
    if style == "json":
        return '{"system": "x", "drivers": ' + '{"a": ' * levels + "1" + "}" * (levels + 1)
    return "system: x\ndrivers:\n" + "".join(f"{'  ' * (i + 1)}k:\n" for i in range(levels))


@pytest.mark.parametrize(
    ("name", "text", "line", "expected"),
    [
        ("flow250", nested(250, "flow"), 2, "nests more than 64 levels deep, the limit"),
        ("flow5000", nested(5000, "flow"), 2, "nests more than 64 levels deep, the limit"),
        ("json1000", nested(1000, "json"), 1, "nests more than 64 levels deep, the limit"),
        ("block300", nested(300, "block"), 66, "nests more than 64 levels deep, the limit"),
        (
            "month13",
            THE_BOT.replace("start: 2026-01", "start: 2026-13-01"),
            9,
            "start expected a date such as 2026-01 or 2026-01-15, got '2026-13-01'",
        ),
        (
            "day30",
            THE_BOT.replace("start: 2026-01", "start: 2026-02-30"),
            9,
            "start expected a date such as 2026-01 or 2026-01-15, got '2026-02-30'",
        ),
        (
            "digits",
            THE_BOT.replace("horizon: 24", "horizon: 1" + "0" * 4400),
            10,
            "horizon is an integer of 4,401 digits; numbers must lie within ±1.8e308",
        ),
        (
            "hex",
            THE_BOT.replace("horizon: 24", "horizon: 0x" + "f" * 5000),
            10,
            "horizon is an integer of about 6,021 digits; numbers must lie within ±1.8e308",
        ),
        (
            "year9999",
            THE_BOT.replace("start: 2026-01", "start: 9999-06"),
            9,
            "start must be a date in the years 1900 to 9000",
        ),
        (
            "year0",
            THE_BOT.replace("start: 2026-01", "start: 0001-01-01"),
            9,
            "start must be a date in the years 1900 to 9000",
        ),
        (
            "bool",
            THE_BOT.replace("horizon: 24", "horizon: !!bool maybe"),
            10,
            "horizon cannot be read as bool, got 'maybe'",
        ),
        (
            "recursive",
            THE_BOT.replace("step: month", "step: &s [*s]"),
            11,
            "step[0] alias *s refers to the node that contains it",
        ),
    ],
)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_former_internal_errors_exit_2_naming_file_line_and_field(
    tmp_path: Path, command: str, name: str, text: str, line: int, expected: str
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    code, output, took = cli(command, str(path))
    assert code == 2, output
    assert f"{path}:{line} {expected}" in output.replace("\n", " ") or (
        f"{path}:{line}" in output and expected in output
    ), output
    assert took < 1.0


def test_start_year_bounds_are_inclusive() -> None:
    for start in ("1900-01", "9000-12-31"):
        data, lines = parse_plan_text(THE_BOT.replace("start: 2026-01", f"start: {start}"))
        from capplan.engine.planner import run_plan
        from capplan.plan.loader import validate_plan_data

        plan = validate_plan_data(data, "<plan>", lines)
        assert run_plan(plan, months=120).timeline.dates()[-1].year in (1910, 9010)


def test_set_option_values_are_bounded_too() -> None:
    assert parse_set_option("a.b=&x [1, 2]") == ("a.b", [1, 2])
    with pytest.raises(ValueError, match="nests more than 64 levels"):
        parse_set_option("a=" + "[" * 300 + "]" * 300)
    with pytest.raises(ValueError, match="integer of 5,000 digits"):
        parse_set_option("a=" + "7" * 5000)
    code, output, _ = cli("validate", str(EXAMPLES[0]), "--set", "horizon=" + "[" * 500)
    assert code == 2
    assert "--set" in output


def test_load_yaml_reports_plain_syntax_errors_with_lines() -> None:
    with pytest.raises(PlanError) as info:
        load_yaml("a: [1, 2\nb: 3\n", "x.yaml")
    assert str(info.value).startswith("x.yaml:")
    assert "is not valid YAML or JSON" in str(info.value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_read_as_the_stock_round_trip_loader_reads_them(path: Path) -> None:
    from ruamel.yaml import YAML

    from capplan.plan.loader import _plain

    text = path.read_text(encoding="utf-8")
    stock_lines: dict[str, int] = {}
    stock = _plain(YAML(typ="rt").load(text), (), stock_lines)
    assert parse_plan_text(text, path.name) == (stock, stock_lines)


def test_deep_flow_text_is_read_in_linear_time() -> None:
    for levels in (1_000, 100_000):
        start = time.perf_counter()
        assert "nests more than 64" in refused("a: " + "[" * levels + "]" * levels)
        assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a: 1}: 2}", "bomb.yaml:1 has a mapping or list as a key"),
        ("? [a, {b: c}]\n: 1\n", "bomb.yaml:1 has a mapping or list as a key"),
        ("a: &a {x: 1}\nb: {*a : 2}\n", "bomb.yaml:2 b has a mapping or list as a key"),
        ('system: "\\ud800"\n', "bomb.yaml:1 system holds '\\ud800', which is not a character"),
        ('a: {"k\\udfff": 1}\n', "bomb.yaml:1 a holds '\\udfff', which is not a character"),
    ],
)
def test_keys_and_text_no_validator_can_hold_are_refused(text: str, expected: str) -> None:
    assert refused(text).startswith(expected)
