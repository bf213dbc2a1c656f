"""Tests for capplan.plan.loader: every bad input names its file, line and field path, and says
what was expected and what was got."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capplan.errors import (
    ExpressionError,
    Issue,
    PlanError,
    PlanSyntaxError,
    PlanValidationError,
)
from capplan.plan.loader import (
    apply_overrides,
    load_plan,
    parse_plan_text,
    parse_set_option,
    validate_plan_data,
)

BASE = """\
system: demo
start: 2026-01
horizon: 12
drivers:
  users:
    initial: 1000
    growth: {model: compound, rate: 0.1}
metrics:
  rps: users * 0.01
components:
  api:
    kind: horizontal
    demand: rps
    capacity_per_instance: 50
thresholds:
  api_util:
    metric: api.utilization
    warning: 0.7
    critical: 0.9
"""

TIERS = """\
  platform:
    kind: tiers
    demand: users
    tiers:
      - name: small
        capacity: 1000
      - name: big
        capacity: 10000
        lead_time: 4h
"""

RUNGS = """\
  db:
    kind: vertical
    demand: {storage: users * 0.001}
    rungs:
      - name: free
        limits: {storage: 1}
      - name: pro
        limits: {storage: 8}
        price: 25
"""


def variant(old: str, new: str, text: str = BASE) -> str:
    """``text`` with ``old`` replaced by ``new`` (which must be there, once)."""
    assert text.count(old) == 1, f"{old!r} is not in the plan exactly once"
    return text.replace(old, new)


def with_components(extra: str) -> str:
    return variant("thresholds:\n", extra + "thresholds:\n")


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the plan")


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, name: str = "plan.yaml") -> PlanError:
    path = write(tmp_path, text, name)
    with pytest.raises(PlanError) as info:
        load_plan(path)
    for issue in info.value.issues:
        assert issue.file == str(path)
    return info.value


def only_issue(error: PlanError) -> Issue:
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


def issue_at(error: PlanError, path: str) -> Issue:
    found = [i for i in error.issues if i.path == path]
    assert found, f"no issue at {path}: {error.issues}"
    return found[0]


# -- the good case -----------------------------------------------------------------------


def test_valid_plan_loads_with_its_source_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    plan = load_plan(path)
    assert plan.system == "demo"
    assert plan.source == str(path)
    assert plan.line_of("components.api.capacity_per_instance") == 14
    assert plan.line_of("components.api.no_such_field") == line_of(BASE, "  api:")


def test_parse_plan_text_records_line_of_every_key_and_list_item() -> None:
    text = with_components(TIERS)
    data, lines = parse_plan_text(text, "plan.yaml")
    assert data["components"]["platform"]["tiers"][1]["capacity"] == 10000
    assert lines["components.platform.tiers[1]"] == line_of(text, "- name: big")
    assert lines["components.platform.tiers[1].lead_time"] == line_of(text, "lead_time: 4h")


# -- not YAML at all ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("system: demo\ndrivers:\n  users:\n    initial: 1000: 3\n", 4, "mapping values"),
        ("system: demo\ndrivers:\n  users:\n\tinitial: 1000\n", 4, "'\\t'"),
        (
            "system: demo\ndrivers:\n  users:\n    initial: 1000\n    initial: 2000\n",
            5,
            'duplicate key "initial"',
        ),
        ("system: demo\ndrivers:\n  users:\n    initial: 1000\n   growth: 3\n", 5, "expected"),
    ],
    ids=["colon-in-value", "tab", "duplicate-key", "bad-indent"],
)
def test_malformed_yaml_names_file_and_line_of_the_problem(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanSyntaxError)
    issue = only_issue(error)
    assert issue.line == line
    assert "is not valid YAML or JSON" in issue.message
    assert words in issue.message
    assert str(error).startswith(f"{tmp_path / 'plan.yaml'}:{line} ")


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "list"), ("just text\n", "str")])
def test_top_level_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str, got: str) -> None:
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanSyntaxError)
    issue = only_issue(error)
    assert issue.line == 1
    assert "must be a mapping at the top level" in issue.message
    assert f"got {got}" in issue.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_file_is_rejected_saying_what_is_expected(tmp_path: Path, text: str) -> None:
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanSyntaxError)
    issue = only_issue(error)
    assert "is empty" in issue.message
    assert "'system' and 'drivers'" in issue.message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PlanSyntaxError) as info:
        load_plan(path)
    issue = only_issue(info.value)
    assert issue.file == str(path)
    assert "does not exist" in issue.message
    assert str(info.value) == f"{path} does not exist"


def test_missing_required_fields_are_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, "description: nothing else\n")
    assert isinstance(error, PlanValidationError)
    missing = {i.path for i in error.issues if i.message == "is required but missing"}
    assert missing == {"system", "drivers"}


# -- unknown fields, with "did you mean" -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "needle", "suggestion"),
    [
        (
            variant("capacity_per_instance", "capacity_per_instanse"),
            "components.api.capacity_per_instanse",
            "capacity_per_instanse",
            "capacity_per_instance",
        ),
        (variant("growth:", "growht:"), "drivers.users.growht", "growht:", "growth"),
        (variant("horizon:", "horizn:"), "horizn", "horizn:", "horizon"),
        (variant("critical:", "critcal:"), "thresholds.api_util.critcal", "critcal", "critical"),
        (
            with_components(variant("lead_time: 4h", "lead_tme: 4h", TIERS)),
            "components.platform.tiers[1].lead_tme",
            "lead_tme",
            "lead_time",
        ),
        (
            with_components(variant("price: 25", "prise: 25", RUNGS)),
            "components.db.rungs[1].prise",
            "prise",
            "price",
        ),
        (
            variant("rate: 0.1}", "rate: 0.1, chrun: 0.01}"),
            "drivers.users.growth.chrun",
            "chrun",
            "churn",
        ),
    ],
    ids=["component", "driver", "top-level", "threshold", "tier-in-list", "rung-in-list", "growth"],
)
def test_unknown_field_suggests_the_closest_known_one(
    tmp_path: Path, text: str, path: str, needle: str, suggestion: str
) -> None:
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = issue_at(error, path)
    assert issue.line == line_of(text, needle)
    assert "is not a known field" in issue.message
    assert f"(did you mean '{suggestion}'?)" in issue.message
    assert "expected one of:" in issue.message
    assert suggestion in issue.message.split("expected one of:")[1]


def test_unknown_field_far_from_every_known_one_has_no_suggestion(tmp_path: Path) -> None:
    text = variant("horizon:", "zzzzzz:")
    issue = issue_at(load_error(tmp_path, text), "zzzzzz")
    assert "did you mean" not in issue.message
    assert "expected one of:" in issue.message


def test_misspelt_required_field_reports_it_missing_and_unknown(tmp_path: Path) -> None:
    text = variant("capacity_per_instance", "capacity_per_instanse")
    error = load_error(tmp_path, text)
    missing = issue_at(error, "components.api.capacity_per_instance")
    assert missing.message == "is required but missing"
    assert missing.line == line_of(text, "  api:")
    assert len(error.issues) == 2


def test_missing_field_of_a_union_member_keeps_its_name(tmp_path: Path) -> None:
    text = variant(
        "growth: {model: compound, rate: 0.1}", "growth: {model: points, pionts: {3: 5}}"
    )
    error = load_error(tmp_path, text)
    missing = issue_at(error, "drivers.users.growth.points")
    assert missing.message == "is required but missing"
    assert "did you mean 'points'" in issue_at(error, "drivers.users.growth.pionts").message


# -- wrong kinds and out-of-range values -------------------------------------------------


def test_unknown_component_kind_lists_the_expected_kinds(tmp_path: Path) -> None:
    text = variant("kind: horizontal", "kind: horizontl")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "components.api"
    assert issue.line == line_of(text, "  api:")
    assert "unknown kind 'horizontl'" in issue.message
    for kind in ("horizontal", "vertical", "tiers", "formula"):
        assert f"'{kind}'" in issue.message


def test_unknown_growth_model_lists_the_expected_models(tmp_path: Path) -> None:
    text = variant("model: compound", "model: exponential")
    issue = only_issue(load_error(tmp_path, text))
    assert issue.path == "drivers.users.growth"
    assert issue.line == line_of(text, "growth:")
    assert "unknown kind 'exponential'" in issue.message
    for model in ("compound", "annual", "linear", "logistic", "points", "none"):
        assert f"'{model}'" in issue.message


def test_negative_capacity_says_expected_and_got(tmp_path: Path) -> None:
    text = variant("capacity_per_instance: 50", "capacity_per_instance: -5")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "components.api.capacity_per_instance"
    assert issue.line == 14
    assert "greater than 0" in issue.message
    assert issue.message.endswith("got -5")
    assert str(error) == (
        f"{tmp_path / 'plan.yaml'}:14 components.api.capacity_per_instance {issue.message}"
    )


def test_negative_rung_limit_points_at_the_limit(tmp_path: Path) -> None:
    text = with_components(variant("limits: {storage: 8}", "limits: {storage: -8}", RUNGS))
    issue = only_issue(load_error(tmp_path, text))
    assert issue.path == "components.db.rungs[1].limits.storage"
    assert issue.line == line_of(text, "storage: -8")
    assert "got -8" in issue.message


def test_min_instances_above_max_instances(tmp_path: Path) -> None:
    text = variant(
        "capacity_per_instance: 50\n",
        "capacity_per_instance: 50\n    min_instances: 5\n    max_instances: 2\n",
    )
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "components.api"
    assert issue.line == line_of(text, "  api:")
    assert "min_instances (5) must not exceed max_instances (2)" in issue.message


@pytest.mark.parametrize(
    ("step", "horizon", "expected"),
    [("month", 1000, "at most 120 months"), ("week", 600, "at most 520 weeks")],
)
def test_absurd_horizon_names_the_horizon_line_and_the_limit(
    tmp_path: Path, step: str, horizon: int, expected: str
) -> None:
    text = variant("horizon: 12", f"horizon: {horizon}\nstep: {step}")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "horizon"
    assert issue.line == 3
    assert expected in issue.message
    assert f"got {horizon}" in issue.message


@pytest.mark.parametrize("horizon", [0, -3])
def test_horizon_below_one_is_rejected(tmp_path: Path, horizon: int) -> None:
    issue = only_issue(load_error(tmp_path, variant("horizon: 12", f"horizon: {horizon}")))
    assert issue.path == "horizon"
    assert issue.line == 3
    assert "greater than or equal to 1" in issue.message
    assert f"got {horizon}" in issue.message


def test_horizon_within_limits_for_days_is_accepted(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, variant("horizon: 12", "horizon: 900\nstep: day")))
    assert (plan.step, plan.horizon) == ("day", 900)


# -- scenarios ---------------------------------------------------------------------------


def test_driver_override_of_an_undeclared_scenario(tmp_path: Path) -> None:
    text = variant(
        "    growth: {model: compound, rate: 0.1}\n",
        "    growth: {model: compound, rate: 0.1}\n"
        "    scenarios:\n"
        "      agressive: {initial: 5000}\n",
    )
    text += "scenarios:\n  aggressive: fast growth\n  conservative: slow growth\n"
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "drivers.users.scenarios.agressive"
    assert issue.line == line_of(text, "agressive:")
    assert "names scenario 'agressive'" in issue.message
    assert "(did you mean 'aggressive'?)" in issue.message
    assert "declared: aggressive, conservative" in issue.message


def test_unknown_default_scenario_points_at_default_scenario(tmp_path: Path) -> None:
    text = BASE + "scenarios:\n  fast: x\n  slow: y\ndefault_scenario: fats\n"
    issue = only_issue(load_error(tmp_path, text))
    assert issue.path == "default_scenario"
    assert issue.line == line_of(text, "default_scenario:")
    assert "'fats' is not a declared scenario (did you mean 'fast'?)" in issue.message
    assert "declared: fast, slow" in issue.message


# -- thresholds --------------------------------------------------------------------------


def test_warning_above_critical_on_an_above_threshold(tmp_path: Path) -> None:
    text = variant("warning: 0.7\n    critical: 0.9", "warning: 0.95\n    critical: 0.9")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "thresholds.api_util"
    assert issue.line == line_of(text, "api_util:")
    assert "critical (0.9) must not be below warning (0.95)" in issue.message
    assert "above the levels" in issue.message


def test_warning_below_critical_on_a_below_threshold(tmp_path: Path) -> None:
    text = variant("warning: 0.7\n", "direction: below\n    warning: 0.7\n")
    issue = only_issue(load_error(tmp_path, text))
    assert issue.path == "thresholds.api_util"
    assert "critical (0.9) must not be above warning (0.7)" in issue.message
    assert "below the levels" in issue.message


def test_below_threshold_with_falling_levels_is_accepted(tmp_path: Path) -> None:
    text = variant(
        "warning: 0.7\n    critical: 0.9", "direction: below\n    warning: 0.3\n    critical: 0.1"
    )
    plan = load_plan(write(tmp_path, text))
    assert plan.thresholds["api_util"].direction == "below"


def test_threshold_duration_that_is_not_a_duration(tmp_path: Path) -> None:
    text = variant("warning: 0.7", "warning: {value: 0.7, for: 5 minutes}")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "thresholds.api_util.warning.for"
    assert issue.line == line_of(text, "5 minutes")
    assert "'5 minutes' is not a duration" in issue.message
    assert "5m" in issue.message


def test_threshold_on_an_undefined_metric(tmp_path: Path) -> None:
    text = variant("metric: api.utilization", "metric: rsp")
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == "thresholds.api_util.metric"
    assert issue.line == line_of(text, "metric: rsp")
    assert "names metric 'rsp', which the plan does not define" in issue.message
    assert "(did you mean 'rps'?)" in issue.message


def test_threshold_on_an_observed_metric_is_accepted(tmp_path: Path) -> None:
    text = variant("  rps: users * 0.01\n", "  rps: users * 0.01\n  cpu: {unit: '%'}\n")
    text = variant("metric: api.utilization", "metric: cpu", text)
    assert load_plan(write(tmp_path, text)).thresholds["api_util"].metric == "cpu"


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "group"),
    [
        (
            "  rps: users * 0.01\n",
            "  rps: users * 0.01\n  users: 5\n",
            "metrics.users",
            "drivers",
        ),
        (
            "thresholds:\n",
            "  rps:\n    kind: horizontal\n    demand: users\n    capacity_per_instance: 5\n"
            "thresholds:\n",
            "components.rps",
            "metrics",
        ),
        (
            "thresholds:\n",
            "  users:\n    kind: horizontal\n    demand: rps\n    capacity_per_instance: 5\n"
            "thresholds:\n",
            "components.users",
            "drivers",
        ),
    ],
    ids=["driver-and-metric", "metric-and-component", "driver-and-component"],
)
def test_duplicate_names_across_drivers_metrics_components(
    tmp_path: Path, old: str, new: str, path: str, group: str
) -> None:
    text = variant(old, new)
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    issue = only_issue(error)
    assert issue.path == path
    name = path.split(".")[1]
    assert f"'{name}' is already a name under {group}" in issue.message
    assert "must be unique" in issue.message
    # The line of the second definition, the one that clashes.
    second = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"  {name}:")]
    assert issue.line == second[-1]


def test_name_that_is_not_an_identifier(tmp_path: Path) -> None:
    text = variant("  rps: users * 0.01\n", "  rps: users * 0.01\n  2fast: users\n")
    issue = only_issue(load_error(tmp_path, text))
    assert issue.path.startswith("metrics")
    assert "name '2fast' must start with a letter" in issue.message


# -- JSON --------------------------------------------------------------------------------


def json_plan(capacity: float) -> str:
    data = {
        "system": "demo",
        "horizon": 6,
        "drivers": {"users": {"initial": 100, "growth": {"model": "compound", "rate": 0.1}}},
        "components": {
            "api": {"kind": "horizontal", "demand": "users", "capacity_per_instance": capacity}
        },
    }
    return json.dumps(data, indent=2) + "\n"


def test_json_plan_is_accepted(tmp_path: Path) -> None:
    text = json_plan(10)
    plan = load_plan(write(tmp_path, text, "plan.json"))
    assert plan.components["api"].capacity_per_instance == 10  # type: ignore[union-attr]
    assert plan.line_of("components.api.capacity_per_instance") == line_of(
        text, '"capacity_per_instance"'
    )


def test_json_plan_errors_carry_line_numbers(tmp_path: Path) -> None:
    text = json_plan(-1)
    error = load_error(tmp_path, text, "plan.json")
    issue = only_issue(error)
    assert issue.file == str(tmp_path / "plan.json")
    assert issue.path == "components.api.capacity_per_instance"
    assert issue.line == line_of(text, '"capacity_per_instance"')
    assert "got -1" in issue.message


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, '{\n  "system": "x",\n  "drivers": {,\n}\n', "plan.json")
    assert isinstance(error, PlanSyntaxError)
    assert only_issue(error).line == 3


# -- --set overrides ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("drivers.users.initial=10000", ("drivers.users.initial", 10000)),
        ("growth.rate = 0.25", ("growth.rate", 0.25)),
        ("a.b=true", ("a.b", True)),
        ("a.b=[1, 2]", ("a.b", [1, 2])),
        ("system=new name", ("system", "new name")),
        ("a.b=", ("a.b", "")),
        ("a=x=y", ("a", "x=y")),
    ],
)
def test_parse_set_option_reads_value_as_yaml_scalar(
    option: str, expected: tuple[str, object]
) -> None:
    assert parse_set_option(option) == expected


@pytest.mark.parametrize("option", ["nonsense", "=3", "  =3"])
def test_parse_set_option_without_path_or_equals(option: str) -> None:
    with pytest.raises(ValueError, match="expected PATH=VALUE"):
        parse_set_option(option)


def test_apply_overrides_sets_nested_and_list_paths_without_mutating() -> None:
    data = {"a": {"b": 1}, "rungs": [{"price": 1}, {"price": 2}]}
    out = apply_overrides(data, {"a.b": 2, "rungs[1].price": 9, "rungs.0.price": 7, "x.y": 3})
    assert out == {"a": {"b": 2}, "rungs": [{"price": 7}, {"price": 9}], "x": {"y": 3}}
    assert data == {"a": {"b": 1}, "rungs": [{"price": 1}, {"price": 2}]}


def test_apply_overrides_rejects_bad_list_index() -> None:
    with pytest.raises(PlanValidationError, match="'3' is not an index of a list of 1 items"):
        apply_overrides({"a": [{"b": 1}]}, {"a[3].b": 5})


def test_load_plan_applies_overrides_before_validation(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, BASE), {"drivers.users.initial": 5000, "horizon": 24})
    assert plan.drivers["users"].initial == 5000
    assert plan.horizon == 24


def test_invalid_override_is_reported_at_the_line_of_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(PlanValidationError) as info:
        load_plan(path, {"components.api.capacity_per_instance": 0})
    issue = only_issue(info.value)
    assert (issue.file, issue.line) == (str(path), 14)
    assert issue.message.endswith("got 0")


def test_override_through_a_scalar_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(PlanValidationError) as info:
        load_plan(path, {"system.name": "x"})
    issue = only_issue(info.value)
    assert issue.file == str(path)
    assert issue.line == 1
    assert "'system' is a value, not a mapping" in issue.message


def test_misspelt_override_suggests_the_field(tmp_path: Path) -> None:
    with pytest.raises(PlanValidationError) as info:
        load_plan(write(tmp_path, BASE), {"drivers.users.growht": 1})
    assert "did you mean 'growth'" in only_issue(info.value).message


# -- every issue at once -----------------------------------------------------------------


def test_two_errors_in_one_file_give_two_issues_each_with_its_line(tmp_path: Path) -> None:
    text = variant("capacity_per_instance: 50", "capacity_per_instance: -5")
    text = variant("growth:", "growht:", text)
    error = load_error(tmp_path, text)
    assert len(error.issues) == 2
    assert issue_at(error, "components.api.capacity_per_instance").line == 14
    assert issue_at(error, "drivers.users.growht").line == line_of(text, "growht:")
    assert len(str(error).splitlines()) == 2


def test_horizon_error_is_reported_alongside_field_errors(tmp_path: Path) -> None:
    text = variant("horizon: 12", "horizon: 1000")
    text = variant("capacity_per_instance: 50", "capacity_per_instance: -5", text)
    error = load_error(tmp_path, text)
    assert {i.path for i in error.issues} == {"horizon", "components.api.capacity_per_instance"}


def test_expression_errors_are_all_reported(tmp_path: Path) -> None:
    text = variant("  rps: users * 0.01\n", "  rps: userz * 0.01\n  other: rpss + 1\n")
    error = load_error(tmp_path, text)
    assert isinstance(error, ExpressionError)
    assert [i.path for i in error.issues] == ["metrics.rps", "metrics.other"]
    assert [i.line for i in error.issues] == [line_of(text, "rps: userz"), line_of(text, "other:")]


def test_field_and_expression_errors_are_reported_in_one_run(tmp_path: Path) -> None:
    text = variant("  rps: users * 0.01\n", "  rps: userz * 0.01\n")
    text = variant("initial: 1000", "initial: -1000", text)
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)  # a field error and an expression error
    field = issue_at(error, "drivers.users.initial")
    assert field.line == line_of(text, "initial: -1000")
    assert "greater than or equal to 0" in field.message
    expression = issue_at(error, "metrics.rps")
    assert expression.line == line_of(text, "rps: userz")
    assert "uses unknown name 'userz'" in expression.message
    assert "did you mean 'users'" in expression.message
    assert len(error.issues) == 2
    assert str(error).splitlines() == [str(i) for i in error.issues]
    assert str(expression).startswith(f"{tmp_path / 'plan.yaml'}:{expression.line} metrics.rps ")


def test_expressions_of_a_part_that_failed_validation_are_skipped(tmp_path: Path) -> None:
    # api fails validation: its own demand is not checked, and what reads api.* is taken on
    # trust; the threshold on a misspelt output of the valid web is still reported.
    text = with_components(
        "  web:\n    kind: horizontal\n    demand: rps + api.instances\n"
        "    capacity_per_instance: 10\n"
    )
    text = variant("capacity_per_instance: 50", "capacity_per_instance: -5", text)
    text = variant("    demand: rps\n", "    demand: rpz\n", text)
    text = variant("metric: api.utilization", "metric: web.utilisation", text)
    error = load_error(tmp_path, text)
    assert {i.path for i in error.issues} == {
        "components.api.capacity_per_instance",
        "thresholds.api_util.metric",
    }
    issue = issue_at(error, "thresholds.api_util.metric")
    assert "did you mean 'web.utilization'" in issue.message
    assert issue.line == line_of(text, "metric: web.utilisation")


def test_cross_checks_run_alongside_field_errors(tmp_path: Path) -> None:
    text = variant("horizon: 12", "horizon: 0")
    text = variant(
        "growth: {model: compound, rate: 0.1}",
        "growth: {model: compound, rate: 0.1}\n    scenarios: {fast: {initial: 5}}",
        text,
    )
    text = variant("  rps: users * 0.01\n", "  rps: users * 0.01\n  loop: loop + 1\n", text)
    error = load_error(tmp_path, text)
    assert isinstance(error, PlanValidationError)
    assert [i.path for i in error.issues] == [
        "horizon",
        "drivers.users.scenarios.fast",
        "metrics.loop",
    ]
    assert "expressions form a cycle" in issue_at(error, "metrics.loop").message
    assert all(i.line is not None for i in error.issues)


def test_a_group_that_is_not_a_mapping_leaves_names_unchecked(tmp_path: Path) -> None:
    text = variant("  rps: users * 0.01\n", "  - rps\n")  # metrics as a list
    error = load_error(tmp_path, text)
    assert [i.path for i in error.issues] == ["metrics"]


def test_validate_plan_data_uses_the_given_file_and_lines() -> None:
    data, lines = parse_plan_text(variant("horizon: 12", "horizon: 1000"), "given.yaml")
    with pytest.raises(PlanValidationError) as info:
        validate_plan_data(data, "given.yaml", lines)
    issue = only_issue(info.value)
    assert (issue.file, issue.line, issue.path) == ("given.yaml", 3, "horizon")
