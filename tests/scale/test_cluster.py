"""``--cluster``: rightsize and forecast on a Dask LocalCluster (worker processes) give the
single-process results exactly; a worker killed mid-run is recovered from or named, never a
shorter result; without Dask, ``--cluster`` says how to install it."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster, WorkerPlugin
from tests.rightsize.generate import rows
from typer.testing import CliRunner

from capplan.cli import app
from capplan.data import concat, read_file
from capplan.errors import ClusterError
from capplan.forecast import forecast
from capplan.rightsize import STRATEGIES, Prices, StrategySettings, container_usage, recommend
from capplan.scale import Cluster, ClusterSpec, RightsizeJob, rightsize_on_cluster

runner = CliRunner()
KEYS = ["namespace", "pod", "container", "resource", "reason"]


def _write(path: Path, samples: list[tuple[str, int, float, dict[str, str]]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", "timestamp", "value", *KEYS])
        for metric, ts, value, labels in samples:
            writer.writerow([metric, ts, repr(value), *(labels.get(k, "") for k in KEYS)])
    return path


@pytest.fixture(scope="module")
def usage(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """30 containers over 2 days in two files: CPU in one, memory and kube-state-metrics in
    the other (so a container's series come from both)."""
    folder = tmp_path_factory.mktemp("fleet")
    samples = rows(30, 2)
    cpu = [s for s in samples if s[0] == "container_cpu_usage_seconds_total"]
    rest = [s for s in samples if s[0] != "container_cpu_usage_seconds_total"]
    return [_write(folder / "cpu.csv", cpu), _write(folder / "rest.csv", rest)]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two worker processes of one thread, for the whole module; a task whose worker dies
    is tried again once, then fails."""
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        Client(local) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def single(usage: list[Path]) -> dict[str, str]:
    """The single-process results (JSON) of each strategy."""
    containers = container_usage(concat([read_file(f) for f in usage]))
    out = {}
    for strategy in ("simple", "forecast"):
        sizes = STRATEGIES.get(strategy)(containers, StrategySettings())
        out[strategy] = json.dumps([r.row() for r in recommend(containers, sizes, Prices(25, 3))])
    return out


def _allowed_failures(client: Client, count: int) -> None:
    """How often a task may lose its worker before it fails (the scheduler's setting)."""

    def allow(dask_scheduler: Any) -> None:
        dask_scheduler.allowed_failures = count

    client.run_on_scheduler(allow)


@pytest.mark.parametrize("strategy", ["simple", "forecast"])
def test_rightsize_on_the_cluster_equals_one_process(
    client: Client, usage: list[Path], single: dict[str, str], strategy: str
) -> None:
    cluster = Cluster(client, ClusterSpec(address=client.scheduler.address))
    done: list[int] = []
    recs = rightsize_on_cluster(
        cluster,
        RightsizeJob(strategy=strategy),
        Prices(25, 3),
        files=usage,
        partitions=6,
        progress=lambda d, _n: done.append(d),
    )
    assert json.dumps([r.row() for r in recs]) == single[strategy]
    assert len(recs) == 30
    assert done == [1, 2, 3, 4, 5, 6]


def test_rightsize_command_on_a_scheduler_equals_one_process(
    client: Client, usage: list[Path], tmp_path: Path
) -> None:
    args = ["rightsize", *map(str, usage), "-f", "json", "--price-vcpu", "25", "-n", "shop"]
    alone = runner.invoke(app, args)
    assert alone.exit_code == 0, alone.output
    spread = runner.invoke(app, [*args, "--cluster", client.scheduler.address])
    assert spread.exit_code == 0, spread.output
    assert spread.stdout == alone.stdout
    assert len(json.loads(alone.stdout)["containers"]) == 8  # shop: every 4th of 30
    out = tmp_path / "results.parquet"
    written = runner.invoke(app, [*args, "--cluster", client.scheduler.address, "-o", str(out)])
    assert written.exit_code == 0, written.output
    import duckdb

    rows_back = duckdb.sql(f"SELECT * FROM '{out}' ORDER BY workload").fetchall()
    shown = sorted(json.loads(alone.stdout)["containers"], key=lambda r: r["workload"])
    assert [r[2] for r in rows_back] == [r["workload"] for r in shown]


def test_forecast_blocks_on_the_cluster_equal_one_process(client: Client) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(24 * 21)
    y = 50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 2, (40, t.size)).cumsum(axis=1)
    y[5, :100] = np.nan  # a shorter series
    cluster = Cluster(client, ClusterSpec(address=client.scheduler.address))
    alone = forecast(y, 48, chunk_size=8)
    spread = forecast(y, 48, chunk_size=8, runner=cluster.blocks)
    assert np.array_equal(alone.mean, spread.mean)
    for level in (80, 95):
        assert np.array_equal(alone.lower[level], spread.lower[level])
        assert np.array_equal(alone.upper[level], spread.upper[level])
    assert alone.model == spread.model
    assert alone.warnings == spread.warnings


def test_forecast_command_on_a_scheduler_equals_one_process(
    client: Client, usage: list[Path], tmp_path: Path
) -> None:
    args = ["forecast", str(usage[1]), "--series", "container_memory*", "--horizon", "6h"]
    args += ["--model", "drift", "-f", "json", "--now", "2026-09-25T00:00:00"]
    alone = runner.invoke(app, args)
    assert alone.exit_code == 0, alone.output
    spread = runner.invoke(app, [*args, "--cluster", client.scheduler.address])
    assert spread.exit_code == 0, spread.output
    assert spread.stdout == alone.stdout
    assert len(json.loads(alone.stdout)["models"]) == 60
    out = tmp_path / "forecast.parquet"
    written = runner.invoke(app, [*args, "--cluster", client.scheduler.address, "-o", str(out)])
    assert written.exit_code == 0, written.output
    import duckdb

    means = duckdb.sql(f"SELECT series, timestamp, mean FROM '{out}'").fetchall()
    shown = json.loads(alone.stdout)["forecast"]
    assert means == [(r["series"], r["timestamp"], r["mean"]) for r in shown]


class KillWorker(WorkerPlugin):  # type: ignore[misc]
    """Kills its worker process (SIGKILL) as a right-sizing partition starts: once when
    ``marker`` does not exist yet (creating it), or every time when ``always``."""

    name = "kill-worker"

    def __init__(self, marker: str, always: bool = False) -> None:
        self.marker = marker
        self.always = always

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith("rightsize_partition"):
            return
        if not self.always:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
        os.kill(os.getpid(), signal.SIGKILL)


cloudpickle.register_pickle_by_value(sys.modules[__name__])


def test_a_worker_killed_mid_run_is_recovered(
    client: Client, usage: list[Path], single: dict[str, str], tmp_path: Path
) -> None:
    cluster = Cluster(client, ClusterSpec(address=client.scheduler.address))
    marker = tmp_path / "killed"
    client.register_plugin(KillWorker(str(marker)))
    try:
        recs = rightsize_on_cluster(
            cluster, RightsizeJob(), Prices(25, 3), files=usage, partitions=4
        )
    finally:
        client.unregister_worker_plugin(KillWorker.name)
    assert marker.exists()  # a worker did die
    assert json.dumps([r.row() for r in recs]) == single["simple"]


def test_a_partition_whose_worker_keeps_dying_is_named(
    client: Client, usage: list[Path], tmp_path: Path
) -> None:
    cluster = Cluster(client, ClusterSpec(address=client.scheduler.address))
    client.register_plugin(KillWorker(str(tmp_path / "unused"), always=True))
    _allowed_failures(client, 0)  # the first death fails the task
    try:
        with pytest.raises(ClusterError, match=r"partition \d of 4 failed: its worker died"):
            rightsize_on_cluster(cluster, RightsizeJob(), Prices(25, 3), files=usage, partitions=4)
    finally:
        client.unregister_worker_plugin(KillWorker.name)
        _allowed_failures(client, 1)
    client.wait_for_workers(2, timeout=120)


def test_without_dask_cluster_says_how_to_install(
    usage: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    result = runner.invoke(app, ["rightsize", str(usage[0]), "--cluster", "local:2"])
    assert result.exit_code == 2
    assert "pip install 'capplan[dask]'" in result.output


def test_capplan_imports_no_dask() -> None:
    code = (
        "import sys, capplan, capplan.cli, capplan.scale, capplan.cli.fleet; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("given", "message"),
    [("local:0", "at least 1 worker"), ("local", "must be local:N"), ("http://x:1", "tcp://")],
)
def test_a_bad_cluster_is_named(usage: list[Path], given: str, message: str) -> None:
    result = runner.invoke(app, ["rightsize", str(usage[0]), "--cluster", given])
    assert result.exit_code == 2
    assert message in result.output
