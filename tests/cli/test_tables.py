"""Tables on a terminal fit its width (the least important columns left out, the rest
wrapped); written to a file or a pipe they keep every column and every figure whole;
`--columns` chooses; `--today` / CAPPLAN_TODAY fixes the date the plan is read on."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from capplan.cli import app, output

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
METRICS = EXAMPLES / "metrics"
runner = CliRunner()
ELLIPSIS = "…"
NOW = "--now=2026-10-13T00:00:00Z"

# Every command that prints a table, on the bundled examples.
TABLE_COMMANDS = {
    "plan apm": ["plan", str(EXAMPLES / "apm.yaml"), "--today", "2026-03-15"],
    "plan omniops": ["plan", str(EXAMPLES / "omniops.yaml"), "-n", "200", "--seed", "1"],
    "scenarios": ["scenarios", str(EXAMPLES / "the_bot.yaml"), "--months", "24"],
    "forecast": ["forecast", str(METRICS / "apm_history.csv"), "--horizon", "7d", NOW],
    "check": [
        "check", str(METRICS / "apm_checks.yaml"), str(METRICS / "apm_history.csv"),
        "--since", "7d", NOW, "--timeline",
    ],
    "simulate": [
        "simulate", str(EXAMPLES / "apm.yaml"), "--trace", str(METRICS / "apm_service_load.csv"),
        "--step", "1m",
    ],
    "backtest": [
        "backtest", str(METRICS / "apm_history.csv"), "--horizon", "24h", "--windows", "2",
    ],
}  # fmt: skip


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Console:
    """The CLI's console as a terminal of a given width (set ``.width``); what it printed
    is ``.file.getvalue()``."""
    fake = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=80)
    monkeypatch.setattr(output, "console", fake)
    return fake


def _on_terminal(terminal: Console, width: int, args: list[str]) -> list[str]:
    terminal.width = width
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output  # check's exit 1: an alert
    text = terminal.file.getvalue()  # type: ignore[attr-defined]
    return text.splitlines()


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("command", list(TABLE_COMMANDS))
def test_tables_fit_the_terminal_and_cut_no_figure(
    terminal: Console, command: str, width: int
) -> None:
    lines = _on_terminal(terminal, width, TABLE_COMMANDS[command])
    assert lines
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]
    assert not [line for line in lines if ELLIPSIS in line]


def test_a_narrow_terminal_leaves_out_the_least_important_columns_and_says_which(
    terminal: Console,
) -> None:
    lines = _on_terminal(terminal, 80, TABLE_COMMANDS["plan apm"])
    text = "\n".join(lines)
    header = next(line for line in lines if "Month" in line)
    for kept in ("Month", "compute inst.", "cost/mo"):
        assert kept in header
    for left_out in ("cumulative", "logs_gb", "network cost"):
        assert left_out not in header
    caption = " ".join(text.split("Left out to fit 80 columns: ")[1].split())
    assert caption.startswith("#, ")
    assert "cumulative" in caption
    assert "Choose with --columns" in caption


def test_a_wide_terminal_shows_every_column(terminal: Console) -> None:
    lines = _on_terminal(terminal, 400, TABLE_COMMANDS["plan apm"])
    header = next(line for line in lines if "Month" in line)
    for column in ("#", "cumulative", "logs_gb", "network cost", "cost/cpu_nodes"):
        assert column in header
    assert "Left out" not in "\n".join(lines)


def test_period_holding_today_is_now(terminal: Console) -> None:
    lines = _on_terminal(terminal, 200, [*TABLE_COMMANDS["plan apm"], "-c", "cost/mo"])
    months = [line.split("│")[2].strip() for line in lines if line.startswith("│")][:4]
    assert months == ["2026-01", "2026-02", "now", "2026-04"]


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "json"])
@pytest.mark.parametrize("name", ["apm", "the_bot", "omniops"])
def test_files_keep_every_figure_whole(tmp_path: Path, fmt: str, name: str) -> None:
    target = tmp_path / f"out.{fmt}"
    result = runner.invoke(
        app, ["plan", str(EXAMPLES / f"{name}.yaml"), "--format", fmt, "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert ELLIPSIS not in text
    if fmt in ("table", "markdown"):
        # every dollar figure is whole: digits in groups of three, cents or none
        money = re.findall(r"\$[\d,.]+", text)
        assert money
        bad = [m for m in money if not re.fullmatch(r"\$\d{1,3}(,\d{3})*(\.\d\d+)?", m)]
        assert not bad, bad[:5]


def test_scenarios_to_a_file_keep_every_figure(tmp_path: Path) -> None:
    target = tmp_path / "scenarios.txt"
    args = ["scenarios", str(EXAMPLES / "the_bot.yaml"), "--months", "36", "-o", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    text = target.read_text()
    assert ELLIPSIS not in text
    assert "over capacity from" in text


def test_a_pipe_gets_the_whole_table() -> None:
    # CliRunner's stdout is not a terminal: output as wide as the table needs
    result = runner.invoke(app, TABLE_COMMANDS["plan apm"])
    assert result.exit_code == 0
    header = next(line for line in result.output.splitlines() if "Month" in line)
    assert "cost/cpu_nodes" in header
    assert ELLIPSIS not in result.output


def test_columns_choose_headings_and_csv_columns(terminal: Console) -> None:
    args = [*TABLE_COMMANDS["plan apm"], "--columns", "cost/mo,compute.vcpu", "-c", "cumulative"]
    lines = _on_terminal(terminal, 120, args)
    header = next(line for line in lines if "Month" in line)
    cells = [c.strip() for c in header.strip("┃").split("┃")]
    assert cells == ["#", "Month", "cost/mo", "compute.vcpu", "cumulative"]


def test_columns_apply_to_csv_and_markdown() -> None:
    path = str(EXAMPLES / "apm.yaml")
    result = runner.invoke(app, ["plan", path, "-f", "csv", "-c", "cost/mo,compute.vcpu"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "period,date,total.cost,compute.vcpu"
    result = runner.invoke(app, ["plan", path, "-f", "markdown", "-c", "compute inst."])
    assert "| period | date | compute inst. |" in result.output


def test_unknown_column_is_an_error_listing_the_choices() -> None:
    result = runner.invoke(app, ["plan", str(EXAMPLES / "apm.yaml"), "-c", "costs"])
    assert result.exit_code == 2
    assert "--columns: no column 'costs'" in result.output
    assert "cost/mo" in result.output
    result = runner.invoke(app, ["plan", str(EXAMPLES / "apm.yaml"), "-f", "json", "-c", "a"])
    assert result.exit_code == 2
    assert "not json" in result.output


def test_today_makes_output_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["plan", str(EXAMPLES / "the_bot.yaml"), "-f", "json"]
    flag = runner.invoke(app, [*args, "--today", "2026-02-10"])
    monkeypatch.setenv("CAPPLAN_TODAY", "2026-02-10")
    env = runner.invoke(app, args)
    assert flag.exit_code == env.exit_code == 0
    assert flag.output == env.output
    result = runner.invoke(app, [*args, "--today", "10/02/2026"])
    assert result.exit_code == 2
    assert "not a date like 2026-12-03" in " ".join(result.output.replace("│", " ").split())
