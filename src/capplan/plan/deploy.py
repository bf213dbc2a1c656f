"""How a component runs, for Kubernetes manifests and compose files: the ``deploy`` block.

A component's ``deploy`` names its workload (a Deployment or a StatefulSet), its image,
namespace, container, pod labels, and the container's requests and limits. A tiers
component runs one workload per part of its allocations (``backend``, ``celery``); each part's
settings are under ``deploy.parts.<part>``, with the namespace of the component's block unless
the part gives its own. Requests and limits default to a horizontal component's instance
shape; a part, which has no instance shape, has the ones its settings give (see
:mod:`capplan.plan.workloads`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from capplan.plan.base import Strict

__all__ = [
    "CPU_QUANTITY",
    "MEMORY_QUANTITY",
    "Deploy",
    "PartDeploy",
    "Resources",
    "cpu_cores",
    "memory_bytes",
]

CPU_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m)?$")
MEMORY_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_MEMORY_UNITS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
# A DNS-1123 subdomain, the form of Kubernetes object names.
_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def cpu_cores(quantity: str) -> float:
    """Kubernetes CPU quantity → cores: ``250m`` → 0.25, ``2`` → 2.0."""
    match = CPU_QUANTITY.match(str(quantity).strip())
    if not match:
        raise ValueError(f"'{quantity}' is not a CPU quantity; expected e.g. 250m, 0.5 or 2")
    value = float(match.group(1))
    return value / 1000 if match.group(3) else value


def memory_bytes(quantity: str) -> float:
    """Kubernetes memory quantity → bytes: ``256Mi`` → 268435456."""
    match = MEMORY_QUANTITY.match(str(quantity).strip())
    if not match:
        raise ValueError(f"'{quantity}' is not a memory quantity; expected e.g. 256Mi, 4Gi or 1G")
    return float(match.group(1)) * _MEMORY_UNITS[match.group(3)]


def _cpu(text: Any) -> str:
    cpu_cores(str(text))
    return str(text).strip()


def _memory(text: Any) -> str:
    memory_bytes(str(text))
    return str(text).strip()


def _object_name(text: str) -> str:
    if len(text) > 253 or not _OBJECT_NAME.match(text):
        raise ValueError(
            f"'{text}' is not a Kubernetes object name: lower-case letters, digits, '-' and "
            "'.', starting and ending with a letter or digit"
        )
    return text


CpuQuantity = Annotated[str, BeforeValidator(str), AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, BeforeValidator(str), AfterValidator(_memory)]
ObjectName = Annotated[str, AfterValidator(_object_name)]


class Resources(Strict):
    """A Kubernetes-style resource pair: ``cpu: 250m``, ``memory: 256Mi``."""

    cpu: CpuQuantity | None = Field(None, description="CPU quantity: 250m, 0.5 or 2.")
    memory: MemoryQuantity | None = Field(None, description="Memory quantity: 256Mi, 4Gi.")


class _Workload(Strict):
    image: str | None = Field(
        None,
        description="Container image; the kubernetes export needs it for a full manifest "
        "(or --placeholder-image, or --patch).",
    )
    name: ObjectName | None = Field(
        None,
        description="Name of the workload and its autoscalers (default: the name in kebab case).",
    )
    workload: Literal["Deployment", "StatefulSet"] = Field(
        "Deployment", description="Kind of the workload the autoscalers target."
    )
    container: str | None = Field(None, description="Container name (default: the workload's).")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Pod labels its selector, PodDisruptionBudget and manifests use "
        "(default: app.kubernetes.io/name: <name>).",
    )
    requests: Resources | None = Field(
        None, description="Container requests (default: the instance shape)."
    )
    limits: Resources | None = Field(
        None, description="Container limits (default: the instance shape)."
    )


class PartDeploy(_Workload):
    """How one part of a tiers component runs (``deploy.parts.backend``)."""

    namespace: str | None = Field(None, description="Namespace (default: the component's).")
    requests: Resources | None = Field(
        None, description="Container requests (a part has no instance shape to default to)."
    )
    limits: Resources | None = Field(None, description="Container limits (none by default).")


class Deploy(_Workload):
    """How a component runs, for Kubernetes manifests and compose files; requests and limits
    default to the component's instance shape."""

    namespace: str = Field("default", description="Kubernetes namespace of the manifests.")
    parts: dict[str, PartDeploy] = Field(
        default_factory=dict,
        description="A tiers component's parts by name (backend, celery): how each one runs.",
    )
