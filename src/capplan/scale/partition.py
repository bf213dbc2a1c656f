"""Fleet partitions: the pure functions each partition of a fleet runs, with or without Dask.

A fleet's series are split into ``n`` partitions by a stable hash of namespace / workload
(:func:`partition_of`: BLAKE2b, the same on every machine and Python, unlike ``hash``), so
every series of one container (CPU, memory, requests, limits, OOM kills) lands in the same
partition; an HPA's series, which name the HPA rather than a pod, go to every partition. A
partition runs exactly what the single-process path runs on the whole fleet —
:func:`~capplan.rightsize.container_usage`, then the strategy — and the results are merged by
:func:`merge_partitions`, which refuses an incomplete set (a lost partition is an error,
never a shorter report).

Strategies whose sizing of one container depends only on that container (``simple``, in
:data:`PER_CONTAINER`) size inside the partition, which then returns only the recommendation
(the containers' sample arrays are dropped there); the others (``forecast``: its panel is
aligned across the fleet) return the containers and are sized once, on the merged fleet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from capplan.data import MetricFrame, concat, read_file
from capplan.errors import ClusterError, DataError
from capplan.rightsize import (
    STRATEGIES,
    ContainerUsage,
    Prices,
    Recommendation,
    Sizing,
    StrategySettings,
    container_usage,
    recommend,
    workload_of,
)

__all__ = [
    "PER_CONTAINER",
    "PartitionResult",
    "RightsizeJob",
    "merge_partitions",
    "partition_of",
    "read_split",
    "rightsize_partition",
    "series_partitions",
    "split_frame",
]

#: strategies that size each container from its own usage only
PER_CONTAINER = frozenset({"simple"})
_BROADCAST = "kube_horizontalpodautoscaler_"


def partition_of(namespace: str, workload: str, n: int) -> int:
    """The partition (``0 .. n-1``) of a workload: a stable hash of ``namespace/workload``."""
    digest = hashlib.blake2b(f"{namespace}/{workload}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n


def series_partitions(frame: MetricFrame, n: int) -> np.ndarray:
    """The partition of each series of ``frame`` (a series without a workload goes with its
    namespace's ``""`` workload; right-sizing leaves it out anyway)."""
    out = np.empty(frame.n_series, dtype=np.int64)
    for i, labels in enumerate(frame.labels):
        workload = workload_of(labels)
        name = workload.name if workload is not None else ""
        out[i] = partition_of(labels.get("namespace", ""), name, n)
    return out


def _everywhere(frame: MetricFrame) -> np.ndarray:
    """Series every partition gets: an HPA's (``kube_horizontalpodautoscaler_*``) name the
    HPA, not the pods, and only all of them together say which workload it scales."""
    return (
        np.array([name.startswith(_BROADCAST) for name in frame.names], dtype=bool)
        if frame.n_series
        else np.zeros(0, dtype=bool)
    )


def split_frame(frame: MetricFrame, n: int) -> list[MetricFrame]:
    """``frame`` in ``n`` partitions, each point in its series' partition (the HPA series in
    every one), frame order kept."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    parts = series_partitions(frame, n)[frame.codes] if len(frame) else np.zeros(0, np.int64)
    shared = np.flatnonzero(_everywhere(frame)[frame.codes]) if len(frame) else parts[:0]
    order = np.argsort(parts, kind="stable")
    bounds = np.searchsorted(parts[order], np.arange(n + 1))
    out = []
    for p in range(n):
        own = order[bounds[p] : bounds[p + 1]]
        if shared.size:
            own = np.union1d(own, shared)  # sorted: frame order
        out.append(frame.take(own).compact())
    return out


def read_split(path: Path, cutoff: np.datetime64 | None, n: int) -> list[MetricFrame]:
    """A metric file read and split in ``n`` partitions, only points at or after ``cutoff``."""
    frame = read_file(path)
    if cutoff is not None:
        frame = frame.take(frame.timestamps >= cutoff)
    return split_frame(frame, n)


@dataclass(frozen=True)
class RightsizeJob:
    """What every partition is asked: the filters, the strategy and its settings."""

    namespaces: tuple[str, ...] = ()
    selector: tuple[tuple[str, bool, str], ...] = ()
    strategy: str = "simple"
    settings: StrategySettings = field(default_factory=StrategySettings)


@dataclass(frozen=True)
class PartitionResult:
    """One partition's containers, and their sizing when the strategy sizes per container
    (``sizings`` is None otherwise)."""

    index: int
    containers: tuple[ContainerUsage, ...]
    sizings: tuple[Sizing, ...] | None


def _without_samples(c: ContainerUsage) -> ContainerUsage:
    """The container without its sample arrays (what a recommendation shows is kept)."""
    out = replace(c)
    for f in fields(c):
        value = getattr(c, f.name)
        if isinstance(value, np.ndarray):
            setattr(out, f.name, np.zeros(0, dtype=value.dtype))
    return out


def rightsize_partition(
    index: int, pieces: Sequence[MetricFrame], job: RightsizeJob
) -> PartitionResult:
    """Partition ``index``: its pieces joined (in the order given, as the single-process path
    joins the files), its containers and, for a per-container strategy, their sizing. A
    partition with no container returns none (the merge says why when the whole fleet has
    none)."""
    frame = concat(pieces)
    try:
        containers = container_usage(frame, job.namespaces, job.selector)
    except DataError:
        return PartitionResult(index, (), () if job.strategy in PER_CONTAINER else None)
    if job.strategy not in PER_CONTAINER:
        return PartitionResult(index, tuple(containers), None)
    sizings = STRATEGIES.get(job.strategy)(containers, job.settings)
    return PartitionResult(index, tuple(_without_samples(c) for c in containers), tuple(sizings))


def merge_partitions(
    results: Sequence[PartitionResult], n: int, job: RightsizeJob, prices: Prices
) -> list[Recommendation]:
    """The recommendations of the whole fleet from every partition's result, as the
    single-process path ranks them; a :class:`ClusterError` naming the partitions missing or
    repeated when ``results`` is not exactly one result per partition."""
    seen = sorted(r.index for r in results)
    if seen != list(range(n)):
        missing = sorted(set(range(n)) - set(seen))
        repeated = sorted({i for i in seen if seen.count(i) > 1})
        raise ClusterError(
            f"incomplete right-sizing: {len(set(seen))} of {n} partitions came back"
            + (f"; missing {', '.join(map(str, missing))}" if missing else "")
            + (f"; repeated {', '.join(map(str, repeated))}" if repeated else "")
        )
    pairs: list[tuple[ContainerUsage, Sizing | None]] = []
    for r in results:
        sized = r.sizings if r.sizings is not None else (None,) * len(r.containers)
        if len(sized) != len(r.containers):
            raise ClusterError(
                f"partition {r.index}: {len(r.containers)} containers but {len(sized)} sizings"
            )
        pairs += zip(r.containers, sized, strict=True)
    pairs.sort(key=lambda pair: pair[0].key)
    containers = [c for c, _ in pairs]
    if job.strategy in PER_CONTAINER:
        sizings = [s for _, s in pairs if s is not None]
    else:
        sizings = STRATEGIES.get(job.strategy)(containers, job.settings)
    return recommend(containers, sizings, prices)
