"""Exporters: files generated from a plan (Prometheus rules and configuration, Alertmanager
routing, Grafana, Kubernetes, compose).

``EXPORTERS`` maps a kind to a pure function ``(plan) -> {file name: text}``; the built-ins
below register themselves exactly as a plug-in would.
"""

from capplan.export import alertmanager as _alertmanager  # noqa: F401  (registers "alertmanager")
from capplan.export import compose as _compose  # noqa: F401  (registers "compose")
from capplan.export import grafana as _grafana  # noqa: F401  (registers "grafana")
from capplan.export import kubernetes as _kubernetes  # noqa: F401  (registers "kubernetes")
from capplan.export import prometheus_config as _config  # noqa: F401  ("prometheus-config")
from capplan.export.base import EXPORTERS, Exporter
from capplan.export.prometheus import prometheus_rules
from capplan.export.promtool_tests import humanize

__all__ = ["EXPORTERS", "Exporter", "humanize", "prometheus_rules"]
