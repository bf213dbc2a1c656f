"""Running a fleet's partitions on a Dask cluster: the only module that imports Dask.

``--cluster local:N`` starts a :class:`distributed.LocalCluster` of ``N`` worker processes of
one thread each; ``--cluster tcp://host:8786`` (or ``tls://``) connects to a running
scheduler. Dask is imported when a cluster is asked for, so capplan works without it.

Partitions run the library's pure functions (:mod:`capplan.scale.partition`,
:func:`capplan.forecast.forecast_block`); Dask re-runs a task whose worker died, as often as
its ``distributed.scheduler.allowed-failures`` allows, and a partition that still fails is a
:class:`~capplan.errors.ClusterError` naming it, never a shorter result.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from capplan.data import MetricFrame
from capplan.errors import CapplanError, ClusterError, UsageError
from capplan.forecast import Block
from capplan.rightsize import Prices, Recommendation
from capplan.scale.partition import (
    PartitionResult,
    RightsizeJob,
    merge_partitions,
    read_split,
    rightsize_partition,
    split_frame,
)

__all__ = [
    "INSTALL_HINT",
    "Cluster",
    "ClusterSpec",
    "parse_cluster",
    "rightsize_on_cluster",
]

INSTALL_HINT = "--cluster needs Dask: pip install 'capplan[dask]'"
_LOCAL = re.compile(r"^local:(\d+)$")
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/]+:\d+$")
T = TypeVar("T")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClusterSpec:
    """A local cluster of ``workers`` processes, or the ``address`` of a scheduler."""

    workers: int = 0
    address: str | None = None

    def __str__(self) -> str:
        return self.address or f"local:{self.workers}"


def parse_cluster(text: str) -> ClusterSpec:
    """``local:4`` or ``tcp://scheduler:8786``; a :class:`UsageError` saying so otherwise."""
    text = text.strip()
    match = _LOCAL.match(text)
    if match:
        workers = int(match.group(1))
        if workers < 1:
            raise UsageError(f"--cluster local:N needs at least 1 worker, got {text!r}")
        return ClusterSpec(workers=workers)
    if _ADDRESS.match(text):
        return ClusterSpec(address=text)
    raise UsageError(
        f"--cluster must be local:N (N worker processes here) or a scheduler address such "
        f"as tcp://scheduler:8786, got {text!r}"
    )


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return distributed


class Cluster:
    """A connected Dask client: :meth:`run` maps a pure function over partitions."""

    def __init__(self, client: Any, spec: ClusterSpec) -> None:
        self.client = client
        self.spec = spec

    @classmethod
    @contextlib.contextmanager
    def connect(cls, spec: ClusterSpec) -> Iterator[Cluster]:
        """The cluster of ``spec`` (started here for ``local:N``, closed on leaving)."""
        distributed = _distributed()
        with contextlib.ExitStack() as stack:
            try:
                if spec.address is None:
                    local = distributed.LocalCluster(
                        n_workers=spec.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # any free port, never a clash
                        silence_logs=logging.ERROR,  # not Dask's own warnings on stderr
                    )
                    stack.enter_context(local)
                    client = stack.enter_context(distributed.Client(local))
                else:
                    client = stack.enter_context(distributed.Client(spec.address, timeout=10))
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach the Dask cluster {spec}: {exc}") from None
            yield cls(client, spec)

    @property
    def threads(self) -> int:
        """Worker threads in the cluster now (at least 1)."""
        counts: dict[str, int] = self.client.nthreads()
        return max(1, sum(counts.values()))

    def submit(self, fn: Callable[..., T], *args: Any) -> Any:
        """``fn(*args)`` on a worker: a future (inputs are part of the task, so a lost
        worker's task can run again elsewhere)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "large object in task graph"
            return self.client.submit(fn, *args, pure=False)

    def gather(
        self, futures: Sequence[Any], names: Sequence[str], progress: Progress | None = None
    ) -> list[Any]:
        """Every future's result, in order, reporting ``progress(done, total)`` as they
        complete; the first failure is raised, naming its partition."""
        distributed = _distributed()
        where = {f.key: name for f, name in zip(futures, names, strict=True)}
        done = 0
        try:
            for future in distributed.as_completed(futures):
                if future.status != "finished":
                    _raise(future, where[future.key], distributed)
                done += 1
                if progress is not None:
                    progress(done, len(futures))
            return [f.result() for f in futures]
        except OSError as exc:  # the scheduler went away (distributed's CommClosedError)
            raise ClusterError(f"lost the Dask cluster {self.spec}: {exc}") from None
        finally:
            for future in futures:
                future.cancel()

    def blocks(
        self, fn: Callable[..., Block], work: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Block]]:
        """A :data:`~capplan.forecast.BlockRunner`: each block of series on a worker (BLAS
        single-threaded there too), yielded as it completes."""
        distributed = _distributed()
        futures = [self.submit(_one_thread, fn, *args) for args in work]
        position = {f.key: k for k, f in enumerate(futures)}
        try:
            for future in distributed.as_completed(futures):
                k = position[future.key]
                if future.status != "finished":
                    _raise(future, f"block {k + 1} of {len(futures)} of series", distributed)
                yield k, future.result()
        finally:
            for future in futures:
                future.cancel()


def _one_thread(fn: Callable[..., T], *args: Any) -> T:
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(*args)


def _raise(future: Any, name: str, distributed: Any) -> None:
    try:
        future.result()
    except CapplanError:
        raise
    except distributed.KilledWorker as exc:
        raise ClusterError(
            f"{name} failed: its worker died while running it, too often to try again "
            f"({exc}); nothing was written"
        ) from None
    except Exception as exc:
        raise ClusterError(f"{name} failed on the cluster: {type(exc).__name__}: {exc}") from None
    raise ClusterError(f"{name} did not finish on the cluster ({future.status})")


def rightsize_on_cluster(
    cluster: Cluster,
    job: RightsizeJob,
    prices: Prices,
    *,
    files: Sequence[Path] = (),
    frame: MetricFrame | None = None,
    cutoff: np.datetime64 | None = None,
    partitions: int | None = None,
    progress: Progress | None = None,
) -> list[Recommendation]:
    """Right-size a fleet on ``cluster``: ``files`` are read on the workers (one task per
    file, split there by partition; the points before ``cutoff`` dropped), a ``frame``
    already loaded is split here; each partition runs
    :func:`~capplan.scale.partition.rightsize_partition`, and the results are merged (an
    incomplete set is an error). ``partitions``: default four per worker thread."""
    n = partitions or 4 * cluster.threads
    if frame is not None:
        pieces = [[piece] for piece in split_frame(frame, n)]
    else:
        reads = [cluster.submit(read_split, path, cutoff, n) for path in files]
        pieces = [[cluster.submit(_piece, r, p) for r in reads] for p in range(n)]
    futures = [cluster.submit(rightsize_partition, p, pieces[p], job) for p in range(n)]
    names = [f"partition {p} of {n}" for p in range(n)]
    results: list[PartitionResult] = cluster.gather(futures, names, progress)
    return merge_partitions(results, n, job, prices)


def _piece(parts: list[MetricFrame], p: int) -> MetricFrame:
    return parts[p]
