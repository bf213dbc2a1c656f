"""Which workloads a HorizontalPodAutoscaler scales on CPU or memory utilization, from
kube-state-metrics series.

KRR (v1.29, ``strategies/simple.py``) gives no recommendation for a resource an HPA targets
by utilization unless ``--allow-hpa``: the HPA scales on the very request the
recommendation would change. KRR reads the HPAs from the Kubernetes API; from metrics the
same facts are

* ``kube_horizontalpodautoscaler_info{namespace, horizontalpodautoscaler,
  scaletargetref_kind, scaletargetref_name}``: the workload each HPA scales;
* ``kube_horizontalpodautoscaler_spec_target_metric{namespace, horizontalpodautoscaler,
  metric_name, metric_target_type}``: a ``Resource`` metric ``cpu`` or ``memory`` with
  ``metric_target_type="utilization"`` (KRR's ``averageUtilization``; an ``AverageValue``
  target does not count, as in KRR).
"""

from __future__ import annotations

import numpy as np

from capplan.data import MetricFrame
from capplan.rightsize.usage import Workload

__all__ = ["HPA_INFO_METRIC", "HPA_TARGET_METRIC", "hpa_resources"]

HPA_INFO_METRIC = "kube_horizontalpodautoscaler_info"
HPA_TARGET_METRIC = "kube_horizontalpodautoscaler_spec_target_metric"


def hpa_resources(frame: MetricFrame) -> dict[Workload, frozenset[str]]:
    """Each workload an HPA scales and the resources (``cpu``, ``memory``) it targets by
    utilization; workloads with no such HPA are absent."""
    targets: dict[tuple[str, str], Workload] = {}
    resources: dict[tuple[str, str], set[str]] = {}
    for i in np.unique(frame.codes):
        name, labels = frame.names[i], frame.labels[i]
        metric = name.split("{", 1)[0]
        key = (labels.get("namespace", ""), labels.get("horizontalpodautoscaler", ""))
        if metric == HPA_INFO_METRIC:
            kind, target = labels.get("scaletargetref_kind"), labels.get("scaletargetref_name")
            if kind and target:
                targets[key] = Workload(key[0], kind, target)
        elif metric == HPA_TARGET_METRIC:
            resource = labels.get("metric_name", "")
            if resource in ("cpu", "memory") and labels.get("metric_target_type") == (
                "utilization"
            ):
                resources.setdefault(key, set()).add(resource)
    out: dict[Workload, frozenset[str]] = {}
    for key, workload in targets.items():
        if resources.get(key):
            out[workload] = out.get(workload, frozenset()) | frozenset(resources[key])
    return out
