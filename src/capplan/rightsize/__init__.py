"""Workload right-sizing: recommended requests and limits from container usage.

:func:`container_usage` groups cAdvisor and kube-state-metrics series per namespace /
workload / container; a strategy of :data:`STRATEGIES` (``simple``: KRR's; ``forecast``)
recommends requests and limits; :func:`recommend` compares them with the settings now,
prices the change and ranks it; :func:`patch_files` makes Kubernetes patches of it, and
:func:`rightsize_html` a self-contained HTML page.
"""

from capplan.rightsize.hpa import HPA_INFO_METRIC, HPA_TARGET_METRIC
from capplan.rightsize.page import rightsize_html
from capplan.rightsize.report import (
    GIB,
    SEVERITIES,
    Prices,
    Recommendation,
    cpu_quantity,
    memory_quantity,
    patch_files,
    recommend,
)
from capplan.rightsize.strategies import (
    STRATEGIES,
    Sizing,
    Strategy,
    StrategySettings,
    forecast_sizes,
    oom_bumped,
    simple_sizes,
)
from capplan.rightsize.usage import (
    CPU_METRIC,
    LIMITS_METRIC,
    MEMORY_METRIC,
    OOM_METRIC,
    REQUESTS_METRIC,
    ContainerUsage,
    Workload,
    container_usage,
    parse_selector,
    workload_of,
)

#: Every series right-sizing reads: cAdvisor's usage and kube-state-metrics' requests,
#: limits, OOM kills and HPAs (what ``--prometheus`` pulls and the service reads).
CONTAINER_SERIES = (
    CPU_METRIC,
    MEMORY_METRIC,
    REQUESTS_METRIC,
    LIMITS_METRIC,
    OOM_METRIC,
    HPA_INFO_METRIC,
    HPA_TARGET_METRIC,
)

__all__ = [
    "CONTAINER_SERIES",
    "GIB",
    "SEVERITIES",
    "STRATEGIES",
    "ContainerUsage",
    "Prices",
    "Recommendation",
    "Sizing",
    "Strategy",
    "StrategySettings",
    "Workload",
    "container_usage",
    "cpu_quantity",
    "forecast_sizes",
    "memory_quantity",
    "oom_bumped",
    "parse_selector",
    "patch_files",
    "recommend",
    "rightsize_html",
    "simple_sizes",
    "workload_of",
]
