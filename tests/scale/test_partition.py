"""Fleet partitions: a stable hash keeps every series of a container together, the split
loses and repeats no point, and an incomplete set of partitions is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tests.rightsize.generate import hpa_rows, rows

from capplan.data import MetricFrame, series_id
from capplan.errors import ClusterError
from capplan.rightsize import Prices, container_usage, workload_of
from capplan.scale import (
    PartitionResult,
    RightsizeJob,
    merge_partitions,
    partition_of,
    rightsize_partition,
    series_partitions,
    split_frame,
)


def fleet(n: int = 24) -> MetricFrame:
    """``n`` containers, two of whose workloads an HPA scales on CPU / memory."""
    data: dict[str, tuple[list[int], list[float]]] = {}
    labels: dict[str, dict[str, str]] = {}
    hpas = hpa_rows("shop", "steady-00", "cpu", "utilization")
    hpas += hpa_rows("payments", "growing-01", "memory", "utilization")
    for metric, ts, value, lab in rows(n, 1) + hpas:
        name = series_id(metric, lab)
        data.setdefault(name, ([], []))
        data[name][0].append(ts)
        data[name][1].append(value)
        labels[name] = {"__name__": metric, **lab}
    kinds = {n: "counter" if n.startswith("container_cpu") else "gauge" for n in data}
    return MetricFrame.from_series(data, labels=labels, kinds=kinds)  # type: ignore[arg-type]


def test_partition_of_is_a_stable_hash() -> None:
    # BLAKE2b of "namespace/workload": the same in every process, unlike hash() of a str
    code = "from capplan.scale import partition_of; print(partition_of('shop', 'api', 97))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert runs == {str(partition_of("shop", "api", 97))}
    spread = {partition_of("ns", f"w{i}", 8) for i in range(200)}
    assert spread == set(range(8))


def test_every_series_of_a_container_lands_in_one_partition() -> None:
    frame = fleet()
    parts = series_partitions(frame, 5)
    by_workload: dict[tuple[str, str], set[int]] = {}
    for i, labels in enumerate(frame.labels):
        w = workload_of(labels)
        if "horizontalpodautoscaler" in labels:
            continue  # an HPA's series go to every partition
        assert w is not None
        by_workload.setdefault((w.namespace, w.name), set()).add(int(parts[i]))
    assert all(len(p) == 1 for p in by_workload.values())
    assert len({next(iter(p)) for p in by_workload.values()}) > 1


def test_split_keeps_every_point_once_in_frame_order() -> None:
    frame = fleet()
    pieces = split_frame(frame, 4)
    hpa = [n for n in frame.names if n.startswith("kube_horizontalpodautoscaler")]
    assert len(hpa) == 4
    assert sum(len(p) for p in pieces) == len(frame) + 3 * len(hpa)  # HPA points in all 4
    names = sorted(n for p in pieces for n in p.names if n not in hpa)
    assert names == sorted(set(frame.names) - set(hpa))
    assert all(set(hpa) <= set(p.names) for p in pieces)
    for piece in pieces:
        for name in piece.names[:3]:
            ts, vs = piece.get(name)
            ts0, vs0 = frame.get(name)
            assert np.array_equal(ts, ts0)
            assert np.array_equal(vs, vs0)


def test_partitions_merged_equal_the_whole_fleet() -> None:
    frame = fleet()
    job = RightsizeJob()
    prices = Prices(25, 3)
    n = 5
    results = [
        rightsize_partition(p, [piece], job) for p, piece in enumerate(split_frame(frame, n))
    ]
    merged = [r.row() for r in merge_partitions(results, n, job, prices)]
    whole = rightsize_partition(0, [frame], job)
    single = [r.row() for r in merge_partitions([whole], 1, job, prices)]
    assert merged == single
    assert len(single) == len(container_usage(frame)) == 24
    # the HPA series reach the partition of the workload they scale
    scaled = {(r["workload"], r["cpu_request_recommended"] is None) for r in merged}
    assert ("steady-00", True) in scaled
    assert sum(hpa for _, hpa in scaled) == 1
    # the partition returns the recommendation, not the samples
    assert all(c.cpu.size == 0 for r in results for c in r.containers)


def test_a_missing_or_repeated_partition_is_an_error() -> None:
    job = RightsizeJob()
    empty = [PartitionResult(p, (), ()) for p in (0, 1, 3)]
    with pytest.raises(ClusterError, match="3 of 4 partitions came back; missing 2"):
        merge_partitions(empty, 4, job, Prices())
    again = [*empty, PartitionResult(1, (), ())]
    with pytest.raises(ClusterError, match="repeated 1"):
        merge_partitions(again, 4, job, Prices())
