"""The ``capplan`` command: thin commands that parse, call the library and render."""

from __future__ import annotations

import datetime as dt
import enum
import json
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperGroup, TyperOption

from capplan.cli.config import config_defaults, find_config
from capplan.cli.errors import EXIT_BAD_INPUT, EXIT_CHECK_ERROR, handle_errors, report
from capplan.cli.output import console, emit, err_console, write_text
from capplan.cli.render import render_projection, render_scenarios
from capplan.engine.planner import run_plan, run_scenarios
from capplan.errors import UsageError
from capplan.plan import Plan, load_plan, parse_set_option
from capplan.plan.loadtest_capacity import capacity_notes
from capplan.plan.models import Plan as PlanModel
from capplan.plan.plausible import plausibility_warnings
from capplan.report import PROJECTION_FORMATS, SCENARIO_FORMATS


class _Group(TyperGroup):
    """The command group, with readable metavars in every command's help: ``HORIZON``,
    ``PATH``, ``N`` instead of the Python types Typer shows (``<str>``, ``<path>``,
    ``<list[Path]>``), and none for a flag (``--help`` included)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _readable(command)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _readable(self)
        super().format_help(ctx, formatter)


def _readable(command: Any) -> None:
    for param in command.params:
        _readable_metavar(param)
    if getattr(command, "_readable", False):
        return
    command._readable = True
    make_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option


def _no_type(ctx: Any) -> None:
    return None


_METAVARS: dict[object, str] = {int: "N", float: "NUMBER", Path: "PATH"}


def _readable_metavar(param: Any) -> None:
    if isinstance(param, TyperArgument):  # its name says what it is: no type column
        setattr(param, "display_type_rich", _no_type)  # noqa: B010
    if param.metavar is not None:
        return
    if isinstance(param, TyperOption) and (param.is_flag or param.count):
        param.metavar = ""
        return
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return  # its choices are shown
    name = (param.name or "value").upper()
    if isinstance(param, TyperArgument):
        param.metavar = name  # (the usage line adds "..." when it takes several)
        return
    param.metavar = name if annotation is str else _METAVARS.get(annotation, name)


app = typer.Typer(
    cls=_Group,
    name="capplan",
    help="Dated, costed capacity plans from one plan file.\n\n"
    "Start with `capplan init` for a commented example plan, then `capplan plan plan.yaml`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from capplan import __version__

        typer.echo(f"capplan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="CAPPLAN_CONFIG",
        help="TOML file whose [prometheus] table sets the Prometheus options of ingest, "
        "forecast, check and serve (default: the nearest capplan.toml, or pyproject.toml "
        "with [tool.capplan], from here upward, else ~/.config/capplan/config.toml).",
        metavar="FILE",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Dated, costed capacity plans from one plan file."""
    path = config if config is not None else find_config(Path.cwd())
    if path is None:
        return
    try:
        ctx.default_map = config_defaults(path)
    except UsageError as exc:
        report(exc)
        check = ctx.invoked_subcommand == "check"
        raise typer.Exit(EXIT_CHECK_ERROR if check else EXIT_BAD_INPUT) from None


FORMAT_HELP = "table, csv, json or markdown."
COLUMNS_HELP = (
    "Columns of the month-by-month view, comma-separated: its headings (users, db, cost/mo) "
    "or any column of --format csv (db.vcpu, total.cost). Table, csv and markdown."
)
TODAY_HELP = (
    "The date to read the plan on (YYYY-MM-DD; default: the current date): the period "
    "holding it is 'now', action dates before it are overdue, and a plan without 'start' "
    "starts in its month. Set it for output that does not change from day to day."
)


def _today_option() -> Any:
    return typer.Option(
        None, "--today", envvar="CAPPLAN_TODAY", help=TODAY_HELP, metavar="DATE", parser=_date
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-12-03") from None


def _split_columns(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return names or None


SET_HELP = "Override a plan field before validation, e.g. drivers.users.initial=10000 (repeatable)."


def _load(path: Path, sets: list[str] | None) -> Plan:
    overrides = {}
    for text in sets or []:
        try:
            key, value = parse_set_option(text)
        except ValueError as exc:
            raise UsageError(f"--set: {exc}") from None
        overrides[key] = value
    plan = load_plan(path, overrides)
    for issue in plausibility_warnings(plan):
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(issue))}", soft_wrap=True)
    return plan


def _check_format(fmt: str, extra: tuple[str, ...] = ("table",)) -> None:
    if fmt not in extra and fmt not in PROJECTION_FORMATS:
        names = sorted([*extra, *PROJECTION_FORMATS.names()])
        raise UsageError(f"unknown --format '{fmt}'; available: {', '.join(names)}")


@app.command()
@handle_errors
def init(
    directory: Path = typer.Argument(Path("."), help="Where to write plan.yaml."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing plan.yaml."),
) -> None:
    """Write a commented example plan (plan.yaml) to start from.

    Example: `capplan init myservice && capplan plan myservice/plan.yaml`
    """
    target = directory / "plan.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    text = resources.files("capplan").joinpath("templates/plan.yaml").read_text(encoding="utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    write_text(target, text)
    console.print(f"Wrote {target}. Next: [bold]capplan plan {target}[/bold]", soft_wrap=True)


@app.command()
@handle_errors
def plan(
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    scenario: str | None = typer.Option(None, "--scenario", "-s", help="Scenario to run."),
    months: int | None = typer.Option(None, "--months", "-m", help="Horizon in months."),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    simulations: int = typer.Option(
        0, "--simulations", "-n", help="Monte Carlo paths (P10/P50/P90 and event odds)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed for Monte Carlo."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    columns: list[str] | None = typer.Option(
        None, "--columns", "-c", help=COLUMNS_HELP, metavar="NAMES"
    ),
    today: dt.date | None = _today_option(),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Project a plan month by month: resources, tiers, costs, events and recommendations.

    In a terminal the table fits its width: the least important columns are left out
    (the caption names them). `--output` and pipes get every column.

    Example: `capplan plan examples/the_bot.yaml --scenario aggressive --months 24`
    """
    _check_format(fmt)
    chosen = _split_columns(columns)
    loaded = _load(plan_file, sets)
    from capplan.cli.output import monte_carlo_progress

    with monte_carlo_progress(simulations) as progress:
        projection = run_plan(loaded, scenario, months, simulations, seed, progress, today=today)
    if fmt == "table":
        emit(render_projection(projection, chosen), output)
    else:
        emit(PROJECTION_FORMATS.get(fmt)(projection, chosen), output)


@app.command()
@handle_errors
def scenarios(
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    months: int | None = typer.Option(None, "--months", "-m", help="Horizon in months."),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    today: dt.date | None = _today_option(),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Compare every scenario side by side, with the total cost over the horizon.

    Example: `capplan scenarios examples/the_bot.yaml --months 24`
    """
    _check_format(fmt)
    projections = run_scenarios(_load(plan_file, sets), months, today)
    if fmt == "table":
        emit(render_scenarios(projections), output)
    else:
        emit(SCENARIO_FORMATS.get(fmt)(projections), output)


@app.command()
@handle_errors
def validate(
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Check a plan file without running it; every problem is listed with its line.

    Example: `capplan validate examples/the_bot.yaml`
    """
    loaded = _load(plan_file, sets)
    counts = ", ".join(
        f"{len(group)} {word}{'' if len(group) == 1 else 's'}"
        for word, group in (
            ("driver", loaded.drivers),
            ("metric", loaded.metrics),
            ("component", loaded.components),
            ("threshold", loaded.thresholds),
        )
    )
    counts += f"; scenarios: {', '.join(loaded.scenario_names())}"
    console.print(f"[green]✓[/green] {plan_file} is valid: {counts}", soft_wrap=True)
    for note in capacity_notes(loaded):
        console.print(f"  note: {escape(note)}", soft_wrap=True)


@app.command()
@handle_errors
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Print the JSON Schema of the plan file (for editors and CI checks).

    Example: `capplan schema --output plan.schema.json`
    """
    text = json.dumps(PlanModel.model_json_schema(by_alias=True), indent=2) + "\n"
    emit(text, output)
