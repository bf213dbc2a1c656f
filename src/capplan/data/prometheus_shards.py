"""Sharded Prometheus reads: a fleet's series pulled one namespace (or group of namespaces)
at a time, so that no single query has to return the whole fleet.

The namespaces are listed first with the label-values API
(``/api/v1/label/namespace/values``, matched on the usage metrics over the range); then
each metric is asked for once per shard (``metric{namespace="shop"}``, or
``metric{namespace=~"a|b"}`` when ``shards`` groups several), plus once for series without a
namespace (``metric{namespace=""}``). The pieces are joined as one frame; right-sizing it
gives what one query per metric gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import httpx

from capplan.data.frame import MetricFrame
from capplan.data.prometheus import PrometheusSource, RangeQuery, _num
from capplan.data.prometheus_http import exchange
from capplan.data.prometheus_options import PrometheusLimits
from capplan.errors import SourceError

__all__ = ["list_namespaces", "pull_sharded", "shard_selectors"]

_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def list_namespaces(
    client: httpx.Client,
    metrics: Sequence[str],
    start: float,
    end: float,
    limits: PrometheusLimits,
) -> list[str]:
    """Every namespace a series of ``metrics`` has over ``[start, end]``, sorted."""
    found: set[str] = set()
    for metric in metrics:
        params = {"match[]": metric, "start": _num(start), "end": _num(end)}
        answer = exchange(client, "/api/v1/label/namespace/values", params, limits)
        try:
            body = json.loads(answer.body)
            if answer.status != 200 or body.get("status") != "success":
                raise ValueError(body.get("error") or f"HTTP {answer.status}")
            values = body["data"]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError("data is not a list of strings")
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise SourceError(
                f"Prometheus at {answer.where} did not list the namespaces of {metric}: {exc}"
            ) from None
        found.update(values)
    return sorted(found)


def shard_selectors(namespaces: Sequence[str], shards: int | None = None) -> list[str]:
    """Label matchers, one per shard: one per namespace (``shards`` None), else the sorted
    namespaces dealt round-robin into ``shards`` groups; then one for no namespace."""
    names = sorted(set(namespaces) - {""})
    count = len(names) if shards is None else max(1, min(shards, len(names)))
    groups = [names[k::count] for k in range(count)] if names else []
    out = []
    for group in groups:
        if len(group) == 1:
            out.append(f'namespace="{_quoted(group[0])}"')
        else:
            alternatives = "|".join(_RE2_SPECIAL.sub(r"\\\1", g) for g in group)
            out.append(f'namespace=~"{_quoted(alternatives)}"')
    out.append('namespace=""')
    return out


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def pull_sharded(
    client: httpx.Client,
    metrics: Sequence[str],
    listed_by: Sequence[str],
    *,
    start: float,
    end: float,
    step: float,
    limits: PrometheusLimits,
    shards: int | None = None,
) -> MetricFrame:
    """Every series of ``metrics`` over ``[start, end]``, one query per metric and shard of
    the namespaces that series of ``listed_by`` have (see the module docstring)."""
    namespaces = list_namespaces(client, listed_by, start, end, limits)
    selectors = shard_selectors(namespaces, shards)
    source = PrometheusSource(client, limits=limits)
    queries = [RangeQuery(f"{m}{{{sel}}}", start, end, step) for m in metrics for sel in selectors]
    return source.query_many(queries)
