"""The CLI: output formats, exit codes, error messages without tracebacks, safe writes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli import app

ROOT = Path(__file__).resolve().parents[2]
THE_BOT = str(ROOT / "examples" / "the_bot.yaml")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_table_shows_tiers_costs_and_events() -> None:
    code, out, _ = run("plan", THE_BOT, "--months", "12")
    assert code == 0
    assert "tier_100k" in out
    assert "Total cost over the horizon: $149,500" in out
    assert "$124,500" in out  # cumulative cost column, formatted as money
    assert "(1 alert)" in out
    assert "start by 2026-08-31 (8h lead time)" in out


def test_plan_csv_has_every_column_and_a_row_per_period() -> None:
    code, out, _ = run("plan", THE_BOT, "--months", "12", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 13
    assert rows[1]["users"] == "12500"
    assert rows[1]["concurrent"] == "1875"
    assert rows[1]["platform.level"] == "tier_10k"
    assert rows[7]["platform.level"] == "tier_10k"
    assert rows[8]["platform.level"] == "tier_100k"
    assert rows[8]["platform.backend.instances"] == "30"


def test_plan_json_with_monte_carlo_has_quantiles_and_odds() -> None:
    code, out, _ = run("plan", THE_BOT, "-m", "12", "-n", "200", "--seed", "3", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["simulations"] == 200
    assert len(data["quantiles"]) == 13
    q = data["quantiles"][12]
    assert q["users_p10"] <= q["users_p50"] <= q["users_p90"]
    odds = {p["key"]: p["by_period"] for p in data["event_probabilities"]}
    tier = odds["platform.level>=tier_100k"]
    assert tier == sorted(tier)
    assert tier[0] >= 0
    assert tier[-1] <= 1


def test_monte_carlo_is_reproducible_with_a_seed() -> None:
    first = run("plan", THE_BOT, "-m", "6", "-n", "300", "--seed", "11", "-f", "json")[1]
    second = run("plan", THE_BOT, "-m", "6", "-n", "300", "--seed", "11", "-f", "json")[1]
    assert first == second


def test_set_overrides_a_field() -> None:
    code, out, _ = run(
        "plan", THE_BOT, "-m", "1", "-f", "csv", "--set", "drivers.users.initial=100000"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["users"] == "100000"
    assert rows[0]["platform.level"] == "tier_100k"


def test_markdown_output_written_to_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "plan.md"
    code, _, err = run("plan", THE_BOT, "-m", "6", "-f", "markdown", "-o", str(target))
    assert code == 0
    text = target.read_text()
    assert text.startswith("# Capacity plan: THE_BOT platform")
    assert "| period | date |" in text
    assert "Wrote" in err


def test_scenarios_compares_total_cost() -> None:
    code, out, _ = run("scenarios", THE_BOT, "--months", "24", "--format", "csv")
    assert code == 0
    rows = {r["figure"]: r for r in csv.DictReader(io.StringIO(out))}
    total = rows["total cost over horizon"]
    assert float(total["conservative"]) < float(total["moderate"]) < float(total["aggressive"])


def test_validate_reports_counts() -> None:
    code, out, _ = run("validate", THE_BOT)
    assert code == 0
    assert "is valid: 1 driver, 7 metrics, 1 component, 6 thresholds" in out


def test_schema_is_json_schema_of_the_plan(tmp_path: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "capplan plan file"
    assert {"system", "drivers"} <= set(schema["required"])


def test_init_writes_a_plan_that_runs_and_refuses_to_overwrite(tmp_path: Path) -> None:
    code, _, _ = run("init", str(tmp_path))
    assert code == 0
    plan = tmp_path / "plan.yaml"
    assert run("validate", str(plan))[0] == 0
    assert run("plan", str(plan), "-n", "100")[0] == 0
    code, _, err = run("init", str(tmp_path))
    assert code == 2
    assert "already exists" in err
    assert run("init", str(tmp_path), "--force")[0] == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "missing.yaml"], "missing.yaml does not exist"),
        (["plan", THE_BOT, "--scenario", "moderat"], "did you mean 'moderate'"),
        (["plan", THE_BOT, "--format", "xml"], "unknown --format 'xml'"),
        (["plan", THE_BOT, "--months", "0"], "--months must be at least 1"),
        (["plan", THE_BOT, "--months", "1000"], "--months must be at most 120"),
        (["plan", THE_BOT, "--set", "nonsense"], "expected PATH=VALUE"),
        (["plan", THE_BOT, "--set", "drivers.users.initial=-5"], "the_bot.yaml:24"),
        (["plan", THE_BOT, "--set", "drivers.users.growht=1"], "did you mean 'growth'"),
        (["plan", THE_BOT, "--simulations", "-3"], "--simulations must be >= 0"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], expected: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err + out


def test_malformed_plan_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("system: x\ndrivers:\n  users: {initial: 1\n")
    code, _, err = run("validate", str(bad))
    assert code == 2
    assert f"{bad}:" in err
    assert "not valid YAML" in err


def test_validate_lists_field_and_expression_errors_in_one_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "system: x\n"
        "drivers:\n"
        "  users: {initial: 100}\n"
        "metrics:\n"
        "  rps: userz * 0.1\n"
        "components:\n"
        "  api: {kind: horizontal, demand: rps, capacity_per_instance: -5}\n"
    )
    code, _, err = run("validate", str(bad))
    assert code == 2
    assert err.splitlines() == [
        f"error: {bad}:7 components.api.capacity_per_instance is invalid: input should be "
        "greater than 0, got -5",
        f"error: {bad}:5 metrics.rps uses unknown name 'userz' in 'userz * 0.1' (did you mean "
        "'users'?); known names: rps, users",
    ]


def test_failed_write_leaves_existing_output_alone(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    target.write_text("previous\n")
    code, _, err = run("plan", THE_BOT, "-f", "csv", "-o", str(target), "--scenario", "nope")
    assert code == 2
    assert target.read_text() == "previous\n"
    code, _, err = run("plan", THE_BOT, "-f", "csv", "-o", str(tmp_path))
    assert code == 2
    assert "is a directory" in err


def test_every_command_has_an_example_in_its_help() -> None:
    for command in ("init", "plan", "scenarios", "validate", "schema"):
        code, out, _ = run(command, "--help")
        assert code == 0
        assert "Example:" in out


def test_error_text_is_printed_as_it_is_not_as_console_markup(tmp_path: Path) -> None:
    """A name from the plan that looks like console markup is shown, not swallowed."""
    plan = tmp_path / "plan.yaml"
    plan.write_text('system: s\ndrivers: {users: {initial: 1}}\n"[red]extra": 1\n')
    result = runner.invoke(app, ["validate", str(plan)])
    assert result.exit_code == 2
    assert "[red]extra" in result.stderr


def test_implausible_growth_rates_are_warned_about_with_their_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: s\n"
        "drivers:\n"
        "  users:\n"
        "    initial: 100\n"
        "    growth: {model: compound, rate: 8}\n"
        "    scenarios:\n"
        "      high: {growth: {rate: 0.5}}\n"
        "      typo: {growth: {model: annual, rate: 30}}\n"
        "scenarios: {high: High growth, typo: A typo}\n"
    )
    result = runner.invoke(app, ["validate", str(plan)])
    assert result.exit_code == 0, result.output
    assert f"warning: {plan}:5 drivers.users.growth.rate is 8, 800% growth a month" in (
        result.stderr
    )
    assert "drivers.users.scenarios.typo.growth.rate is 30, 3000% growth a year" in result.stderr
    assert "scenarios.high" not in result.stderr
    plan.write_text(
        "system: s\ndrivers:\n  users: {initial: 1, growth: {model: compound, rate: 0.2}}\n"
    )
    assert "warning" not in runner.invoke(app, ["validate", str(plan)]).stderr


def test_an_export_with_nothing_to_write_says_what_the_plan_lacks(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "system: s\n"
        "drivers: {users: {initial: 100}}\n"
        "components:\n"
        "  api: {kind: horizontal, demand: users, capacity_per_instance: 50}\n"
    )
    result = runner.invoke(app, ["export", "kubernetes", str(plan)])
    assert result.exit_code == 0
    assert "nothing to export" in result.stderr
    assert "no hpa, queue or vpa policies; add one under 'policies:'" in result.stderr
    assert result.stdout == ""
