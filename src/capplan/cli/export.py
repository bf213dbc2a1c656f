"""``capplan export KIND PLAN``: write the files an exporter generates from a plan."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from capplan.cli.app import SET_HELP, _load, app
from capplan.cli.errors import handle_errors
from capplan.cli.output import err_console, write_text
from capplan.errors import UsageError
from capplan.export import EXPORTERS

__all__ = ["export"]


# Why an exporter wrote nothing, and what the plan needs for it.
_NOTHING = {
    "kubernetes": ": the plan has no autoscaling policies; add one under 'policies:' "
    "(kind hpa or vpa, with the component it scales) for HPA, VPA and Deployment manifests",
    "prometheus-rules": ": the plan has no thresholds to alert on; add one under "
    "'thresholds:' for alerting rules",
    "grafana": ": the plan has no metrics or thresholds to chart",
    "compose": ": the plan has no components to give limits to",
}


@app.command("export")
@handle_errors
def export(
    kind: str = typer.Argument(
        ..., help=f"What to generate: {', '.join(EXPORTERS.names())}.", metavar="KIND"
    ),
    plan_file: Path = typer.Argument(..., help="Plan file (YAML or JSON).", metavar="PLAN"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Directory to write the files to (default: print them)."
    ),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Generate Prometheus rules (+ promtool tests), a Grafana dashboard, Kubernetes HPA/VPA
    manifests or compose limits from a plan.

    Example: `capplan export prometheus-rules examples/apm.yaml --output rules/`
    """
    exporter = EXPORTERS.get(kind)
    files = exporter(_load(plan_file, sets))
    if not files:
        hint = _NOTHING.get(kind, "")
        err_console.print(f"{kind}: nothing to export from {plan_file}{hint}", soft_wrap=True)
    if output is None:
        for name, text in files.items():
            sys.stdout.write(f"# file: {name}\n{text}")
        return
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output} is a file; give a directory")
    for name, text in files.items():
        write_text(output / name, text)
        err_console.print(f"Wrote {output / name}")
