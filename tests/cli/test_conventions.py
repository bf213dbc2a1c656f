"""What a command-line user expects of capplan: a version, shell completion, readable help
(names, not Python types; the models and aggregations listed)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import capplan
from capplan.cli import app
from capplan.forecast import MODELS

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
COMMANDS = [
    "init", "plan", "scenarios", "validate", "schema", "forecast", "backtest", "check",
    "export", "ingest", "series", "serve", "simulate",
]  # fmt: skip


def test_version_is_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert result.output.strip() == f"capplan {project['version']}"
    assert capplan.__version__ == project["version"]


def test_completion_script_is_generated() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0
    assert "_capplan_completion" in result.output
    assert "complete " in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_names_not_python_types(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    for python_type in ("<bool>", "<str>", "<path>", "<int>", "<float>", "<list"):
        assert python_type not in result.output, (command, python_type)


def test_top_level_help_has_no_python_types() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "<" not in result.output


def test_forecast_help_lists_every_model_and_aggregation() -> None:
    result = runner.invoke(app, ["forecast", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    for name in MODELS.names():
        assert name in text, name
    for aggregation in ("mean", "max", "median", "pNN (p95, p99...)"):
        assert aggregation in text, aggregation


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help(command: str) -> None:
    import typer

    group = typer.main.get_command(app)
    sub = group.commands[command]  # type: ignore[attr-defined]
    bare = [p.name for p in sub.params if p.param_type_name == "option" and not p.help]
    assert not bare, bare
