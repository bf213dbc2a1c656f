"""``capplan rightsize``: recommended container requests and limits from usage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from capplan.cli import fleet
from capplan.cli import source_options as prom
from capplan.cli.app import app
from capplan.cli.errors import handle_errors
from capplan.cli.forecasting import load_history
from capplan.cli.output import FittingTable, emit, err_console
from capplan.data.frame import MetricFrame
from capplan.data.prometheus import PrometheusOptions, pull_history
from capplan.errors import UsageError
from capplan.export.base import MARKER, dump_json, dump_yaml, is_generated
from capplan.files import write_files
from capplan.plan import load_plan
from capplan.policy.freshness import parse_instant, wall_clock
from capplan.report.formats import csv_text
from capplan.rightsize import (
    CONTAINER_SERIES,
    STRATEGIES,
    Prices,
    Recommendation,
    StrategySettings,
    container_usage,
    cpu_quantity,
    memory_quantity,
    parse_selector,
    patch_files,
    recommend,
    rightsize_html,
)
from capplan.rightsize.page import money
from capplan.rightsize.usage import (
    CPU_METRIC,
    MEMORY_METRIC,
)
from capplan.units import duration_seconds

FORMATS = ("table", "json", "yaml", "csv", "patch", "html")


def _seconds(flag: str, text: str) -> int:
    try:
        return int(duration_seconds(text))
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _prices(plan_file: Path | None, vcpu: float | None, gb: float | None) -> Prices:
    per_vcpu, per_gb, currency = 0.0, 0.0, "USD"
    if plan_file is not None:
        plan = load_plan(plan_file)
        currency = plan.currency
        priced = [
            c.price for c in plan.components.values() if c.price.per_vcpu or c.price.per_memory_gb
        ]
        if not priced:
            raise UsageError(
                f"{plan_file}: no component prices vCPU or memory (per_vcpu, per_memory_gb)"
            )
        per_vcpu, per_gb = priced[0].per_vcpu, priced[0].per_memory_gb
    for flag, value in (("--price-vcpu", vcpu), ("--price-gb", gb)):
        if value is not None and value < 0:
            raise UsageError(f"{flag} must be >= 0, got {value:g}")
    return Prices(
        vcpu if vcpu is not None else per_vcpu, gb if gb is not None else per_gb, currency
    )


#: What is pulled from Prometheus: the usage and kube-state-metrics series, raw.
PULLED = CONTAINER_SERIES


def _pull(url: str, options: PrometheusOptions, since: str, now: np.datetime64) -> MetricFrame:
    """The container series of the last ``since`` before ``now``, at 5-minute steps (the
    namespace and selector filters apply after, as for files)."""
    end = float(now.astype("datetime64[s]").astype(np.int64))
    with options.client(url) as client:
        return pull_history(
            client, list(PULLED), since=since, step="5m", now=end, limits=options.limits
        )


@app.command("rightsize")
@handle_errors
@prom.with_connection_options
def rightsize_command(
    ctx: typer.Context,
    files: list[Path] | None = typer.Argument(None, help="CSV, Parquet or Prometheus text files."),
    store: Path | None = typer.Option(None, "--store", help="DuckDB store to read from."),
    namespaces: list[str] | None = typer.Option(
        None, "--namespace", "-n", help="Only this namespace (a glob; repeatable)."
    ),
    selector: str | None = typer.Option(
        None,
        "--selector",
        "-l",
        help="Label filters: 'app=api,team!=ops' (globs; 'workload' and 'kind' work too).",
    ),
    strategy: str = typer.Option(
        "simple", "--strategy", help=f"How to size: {', '.join(STRATEGIES.names())}."
    ),
    cpu_percentile: float = typer.Option(95.0, "--cpu-percentile", help="CPU request percentile."),
    memory_buffer: float = typer.Option(
        15.0, "--memory-buffer", help="Percent added to peak memory."
    ),
    oom_bump: bool | None = typer.Option(
        None,
        "--oom-bump/--no-oom-bump",
        help="Bump an OOM-killed container's memory by max(+20%, +100 MiB) (default: only "
        "with --strategy forecast).",
        show_default=False,
    ),
    allow_hpa: bool = typer.Option(
        False,
        "--allow-hpa",
        help="Recommend a resource even when an HPA scales the workload on its utilization "
        "(KRR's --allow-hpa; default: no recommendation for it).",
    ),
    until: str = typer.Option("30d", "--until", help="Review period the forecast covers."),
    model: str = typer.Option("drift", "--model", help="Forecast model (--strategy forecast)."),
    since: str | None = typer.Option(None, "--since", help="Use only the last 14d of history."),
    now: str | None = typer.Option(None, "--now", help="Count --since back from this time."),
    plan_file: Path | None = typer.Option(
        None, "--plan", help="Prices from this plan's first component priced per vCPU or GB."
    ),
    price_vcpu: float | None = typer.Option(None, "--price-vcpu", help="Monthly price of a vCPU."),
    price_gb: float | None = typer.Option(None, "--price-gb", help="Monthly price of a GiB."),
    fmt: str = typer.Option("table", "--format", "-f", help=f"{', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (a folder with --format patch)."
    ),
    prometheus: str | None = prom.url_option(
        "Pull the cAdvisor and kube-state-metrics series from this Prometheus (or a "
        "compatible one: VictoriaMetrics, Thanos, Mimir) instead of files or --store."
    ),
    cluster: str | None = fleet.cluster_option(),
    shards: int | None = fleet.shards_option(),
    *,
    connection: PrometheusOptions,
) -> None:
    """Recommend container requests and limits from usage (cAdvisor, kube-state-metrics).

    `simple` is KRR's strategy: CPU request at the 95th percentile of usage and no CPU limit,
    memory request = limit = peak usage + 15%. `forecast` sizes for the forecast's level at
    the end of `--until`, and bumps OOM-killed memory as VPA does.

    Example: `capplan rightsize usage.csv --namespace shop --price-vcpu 25 --price-gb 3`
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format '{fmt}'; available: {', '.join(FORMATS)}")
    if fmt == "patch" and output is None:
        raise UsageError("--format patch writes one file per workload: give --output FOLDER")
    sizes = STRATEGIES.get(strategy)
    settings = StrategySettings(
        cpu_percentile=cpu_percentile,
        memory_buffer=memory_buffer,
        oom_bump=oom_bump,
        allow_hpa=allow_hpa,
        horizon_seconds=_seconds("--until", until),
        model=model,
    )
    prices = _prices(plan_file, price_vcpu, price_gb)
    instant = parse_instant(now) if now is not None else wall_clock()
    if prom.ambient(ctx) and (files or store is not None):
        prometheus = None  # another source given: the URL from the environment is not asked for
    if prometheus is not None and (files or store is not None):
        raise UsageError("give metric files, --store or --prometheus, not several")
    if shards is not None and prometheus is None:
        raise UsageError("--shards splits the pulls from --prometheus; give --prometheus too")
    frame: MetricFrame | None = None
    if prometheus is not None and shards is not None:
        pulled = (CPU_METRIC, MEMORY_METRIC)  # the namespaces are listed from the usage series
        frame = fleet.pull_shards(
            prometheus, connection, PULLED, pulled, since or "14d", instant, shards
        )
    elif prometheus is not None:
        frame = _pull(prometheus, connection, since or "14d", instant)
    elif cluster is None:
        frame = load_history(files, store, None, since, instant)
    if cluster is not None:
        recs = fleet.rightsize_fleet(
            cluster,
            files=files if frame is None and store is None else None,
            frame=frame,
            load=lambda: load_history(files, store, None, since, instant),
            since=since,
            now=instant,
            namespaces=namespaces or (),
            selector=parse_selector(selector),
            strategy=strategy,
            settings=settings,
            prices=prices,
        )
    else:
        assert frame is not None
        containers = container_usage(frame, namespaces or (), parse_selector(selector))
        recs = recommend(containers, sizes(containers, settings), prices)
    if output is not None and output.suffix == ".parquet" and fmt != "patch":
        fleet.write_parquet([r.row() for r in recs], output)  # the CSV columns, as Parquet
        return
    if fmt == "patch":
        assert output is not None
        _write_patches(recs, output)
    elif fmt == "json":
        emit(dump_json({"strategy": strategy, "containers": [r.row() for r in recs]}), output)
    elif fmt == "yaml":
        emit(dump_yaml({"strategy": strategy, "containers": [r.row() for r in recs]}), output)
    elif fmt == "csv":
        emit(csv_text([r.row() for r in recs]), output)
    elif fmt == "html":
        emit(rightsize_html(recs, strategy, prices), output)
    else:
        emit(_table(recs, strategy, prices), output)


def _set(now: str) -> str:
    """A request that is not set says so, even where the flags column is left out."""
    return "not set" if now == "-" else now


def _pair(now: str, wanted: str) -> str:
    return now if now == wanted else f"{now} → {wanted}"


def _table(recs: list[Recommendation], strategy: str, prices: Prices) -> FittingTable:
    total = sum(r.monthly_change for r in recs)
    priced = prices.per_vcpu or prices.per_gb
    title = f"Right-sizing ({strategy}), {len(recs)} containers"
    if priced:
        title += f": {money(total, prices.currency)} per month"
    table = FittingTable(
        title=title,
        title_justify="left",
        header_style="bold",
        drop_order=("flags", "kind", "pods", "CPU limit", "per month"),
    )
    for heading in ("severity", "namespace", "workload", "kind", "container", "pods"):
        table.add_column(heading)
    for heading in ("CPU request", "CPU limit", "memory request", "memory limit", "per month"):
        table.add_column(heading, justify="right")
    table.add_column("flags")
    for r in recs:
        u, s = r.usage, r.sizing
        table.add_row(
            r.severity,
            u.workload.namespace,
            u.workload.name,
            u.workload.kind,
            u.container,
            str(u.last_pods),
            _pair(_set(cpu_quantity(u.cpu_request)), cpu_quantity(s.cpu_request)),
            _pair(cpu_quantity(u.cpu_limit), cpu_quantity(s.cpu_limit)),
            _pair(_set(memory_quantity(u.memory_request)), memory_quantity(s.memory_request)),
            _pair(memory_quantity(u.memory_limit), memory_quantity(s.memory_limit)),
            money(r.monthly_change, prices.currency) if priced else "-",
            "; ".join(r.flags),
        )
    return table


def _write_patches(recs: list[Recommendation], folder: Path) -> None:
    """One patch file per workload into ``folder``; never over a file capplan did not write."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {folder} is a file; --format patch needs a folder")
    files: dict[Path, str] = {}
    for name, (header, patch) in patch_files(recs).items():
        path = folder / name
        if path.exists() and not is_generated(path.read_text(encoding="utf-8", errors="replace")):
            raise UsageError(f"{path} exists and was not written by capplan; not replacing it")
        files[path] = "".join(f"# {line}\n" for line in header) + dump_yaml(patch)
    assert all(MARKER in text.split("\n", 1)[0] for text in files.values())
    try:
        write_files(files)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    err_console.print(f"Wrote {len(files)} patches to {folder}")
