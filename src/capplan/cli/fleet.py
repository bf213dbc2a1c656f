"""The fleet-scale options of ``capplan rightsize`` and ``capplan forecast``: ``--cluster``
(partitions on Dask), ``--shards`` (Prometheus pulled per namespace) and Parquet output."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import typer

from capplan.cli.output import err_console, progress_bar
from capplan.data import MetricFrame
from capplan.data.prometheus import PrometheusOptions
from capplan.data.prometheus_shards import pull_sharded
from capplan.errors import ClusterError, UsageError
from capplan.forecast import BlockRunner
from capplan.rightsize import Prices, Recommendation, StrategySettings, container_usage
from capplan.units import duration_seconds

__all__ = [
    "cluster_option",
    "cluster_runner",
    "pull_shards",
    "rightsize_fleet",
    "shards_option",
    "write_parquet",
]

CLUSTER_HELP = (
    "Run on Dask: local:N starts N worker processes here, tcp://host:8786 uses a running "
    "scheduler (pip install 'capplan[dask]'). Results are the same as without it."
)


def cluster_option() -> Any:
    return typer.Option(None, "--cluster", help=CLUSTER_HELP)


def shards_option() -> Any:
    return typer.Option(
        None,
        "--shards",
        help="With --prometheus: list the namespaces, then pull them in N groups (0: one "
        "query set per namespace) instead of one query per metric for the whole fleet.",
    )


def write_parquet(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """``rows`` (one dict per row, the same keys) as a Parquet file, through DuckDB."""
    import duckdb

    if not rows:
        raise UsageError(f"nothing to write to {path}: no rows")
    columns: dict[str, Any] = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int} and None not in values:
            columns[key] = np.array(values, dtype=np.int64)
        elif kinds <= {int, float} and kinds:
            columns[key] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif kinds == {bool}:
            columns[key] = np.array(values, dtype=bool)
        else:
            columns[key] = np.array(["" if v is None else str(v) for v in values], dtype=object)
    try:
        with duckdb.connect() as con:
            con.register("results", columns)
            con.execute("COPY results TO ? (FORMAT parquet)", [str(path)])
    except (duckdb.Error, OSError) as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    err_console.print(f"Wrote {path}")


def _cutoff(since: str | None, now: np.datetime64) -> np.datetime64 | None:
    if since is None:
        return None
    try:
        seconds = duration_seconds(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    return now - np.timedelta64(int(seconds), "s")


@contextlib.contextmanager
def _cluster(text: str) -> Iterator[Any]:
    from capplan.scale import Cluster, parse_cluster

    spec = parse_cluster(text)
    err_console.print(f"Connecting to the Dask cluster {spec}...")
    with Cluster.connect(spec) as cluster:
        yield cluster


def rightsize_fleet(
    cluster_text: str,
    *,
    files: Sequence[Path] | None,
    frame: MetricFrame | None,
    load: Callable[[], MetricFrame],
    since: str | None,
    now: np.datetime64,
    namespaces: Sequence[str],
    selector: Sequence[tuple[str, bool, str]],
    strategy: str,
    settings: StrategySettings,
    prices: Prices,
) -> list[Recommendation]:
    """Right-size on the cluster: ``files`` are read by the workers, else ``frame`` (or
    ``load()``, the single-process loading) is split here. With no container at all, the
    single-process path runs to say why."""
    from capplan.scale import RightsizeJob, rightsize_on_cluster

    paths = [Path(f) for f in files or ()]
    if any(str(p) == "-" for p in paths):
        raise UsageError("--cluster reads the files on the workers: give paths, not '-'")
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    job = RightsizeJob(tuple(namespaces), tuple(selector), strategy, settings)
    if not paths and frame is None:
        frame = load()
    with _cluster(cluster_text) as cluster:
        n = 4 * cluster.threads
        with progress_bar("Right-sizing", "partitions", n, 1) as bar:
            recs = rightsize_on_cluster(
                cluster,
                job,
                prices,
                files=[p.resolve() for p in paths],
                frame=frame,
                cutoff=_cutoff(since, now),
                partitions=n,
                progress=(lambda done, _total: bar(done)) if bar is not None else None,
            )
    if not recs:
        container_usage(frame if frame is not None else load(), namespaces, selector)
        raise ClusterError("the partitions found no container, but the whole fleet has some")
    return recs


@contextlib.contextmanager
def cluster_runner(cluster_text: str | None) -> Iterator[BlockRunner | None]:
    """The runner of forecast blocks on the cluster (None without ``--cluster``)."""
    if cluster_text is None:
        yield None
        return
    with _cluster(cluster_text) as cluster:
        yield cluster.blocks


def pull_shards(
    url: str,
    options: PrometheusOptions,
    metrics: Sequence[str],
    listed_by: Sequence[str],
    since: str,
    now: np.datetime64,
    shards: int,
) -> MetricFrame:
    """The ``since`` before ``now`` of ``metrics`` at 5-minute steps, pulled per shard of
    the namespaces (``shards`` 0: one per namespace)."""
    if shards < 0:
        raise UsageError(f"--shards must be >= 0, got {shards}")
    end = float(now.astype("datetime64[s]").astype(np.int64))
    span = float(_seconds_since(since))
    with options.client(url) as client:
        return pull_sharded(
            client,
            metrics,
            listed_by,
            start=end - span,
            end=end,
            step=300.0,
            limits=options.limits,
            shards=shards or None,
        )


def _seconds_since(since: str) -> float:
    try:
        return duration_seconds(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
