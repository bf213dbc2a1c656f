"""Fleet scale: a fleet's series in partitions, run on a Dask cluster.

:mod:`capplan.scale.partition` holds the pure functions a partition runs (the same as the
single-process path); :mod:`capplan.scale.cluster` starts or reaches the cluster, runs them
and refuses incomplete results. Dask is only imported when a cluster is asked for
(``pip install 'capplan[dask]'``).
"""

from capplan.scale.cluster import (
    INSTALL_HINT,
    Cluster,
    ClusterSpec,
    parse_cluster,
    rightsize_on_cluster,
)
from capplan.scale.partition import (
    PER_CONTAINER,
    PartitionResult,
    RightsizeJob,
    merge_partitions,
    partition_of,
    read_split,
    rightsize_partition,
    series_partitions,
    split_frame,
)

__all__ = [
    "INSTALL_HINT",
    "PER_CONTAINER",
    "Cluster",
    "ClusterSpec",
    "PartitionResult",
    "RightsizeJob",
    "merge_partitions",
    "parse_cluster",
    "partition_of",
    "read_split",
    "rightsize_on_cluster",
    "rightsize_partition",
    "series_partitions",
    "split_frame",
]
