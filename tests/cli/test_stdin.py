"""``-`` reads standard input wherever a plan or a metric file is read."""

from __future__ import annotations

import gzip
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
HISTORY = (ROOT / "examples" / "metrics" / "apm_history.csv").read_bytes()


def test_a_plan_from_standard_input() -> None:
    plan = (ROOT / "examples" / "the_bot.yaml").read_text()
    result = runner.invoke(app, ["plan", "-", "--months", "3", "-f", "csv"], input=plan)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("period,date,")
    result = runner.invoke(app, ["validate", "-"], input="system: [\n")
    assert result.exit_code == 2
    assert "<stdin>:2 is not valid YAML or JSON" in result.stderr


def test_metric_files_from_standard_input(tmp_path: Path) -> None:
    args = ["--horizon", "1d", "-f", "csv", "--now", "2026-10-13T00:00:00Z"]
    direct = runner.invoke(app, ["forecast", str(ROOT / "examples/metrics/apm_history.csv"), *args])
    piped = runner.invoke(app, ["forecast", "-", *args], input=HISTORY)
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == direct.stdout
    zipped = runner.invoke(app, ["forecast", "-", *args], input=gzip.compress(HISTORY))
    assert zipped.stdout == direct.stdout
    store = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["ingest", "-", "--store", str(store)], input=HISTORY)
    assert result.exit_code == 0, result.output
    assert "3,024" in result.stdout


def test_empty_or_repeated_standard_input_is_an_error() -> None:
    result = runner.invoke(app, ["forecast", "-", "--horizon", "1d"], input=b"")
    assert result.exit_code == 2
    assert "standard input is empty" in result.stderr
    result = runner.invoke(app, ["forecast", "-", "-", "--horizon", "1d"], input=HISTORY)
    assert result.exit_code == 2
    assert "'-' (standard input) can be given once" in result.stderr
