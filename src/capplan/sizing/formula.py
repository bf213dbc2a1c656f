"""Formula sizing: resources given directly by the plan's expressions (runbook formulas)."""

from __future__ import annotations

import numpy as np

from capplan.sizing.result import Array, Sized

__all__ = ["size_formula"]

_STANDARD = ("instances", "vcpu", "memory_gb", "storage_gb")


def size_formula(
    resources: dict[str, Array], capacity: dict[str, Array], shape: tuple[int, ...]
) -> Sized:
    """Standard resources go to their columns, others (connections) to ``extra``; utilization
    is resource / provisioned capacity where a capacity is given (the largest one)."""
    zeros = np.zeros(shape)
    std = {
        k: np.broadcast_to(resources[k], shape).astype(np.float64) if k in resources else zeros
        for k in _STANDARD
    }
    extra = {
        k: np.broadcast_to(v, shape).astype(np.float64)
        for k, v in resources.items()
        if k not in _STANDARD
    }
    utilization = zeros
    exceeded = np.zeros(shape, dtype=bool)
    for res, cap in capacity.items():
        need = np.broadcast_to(resources[res], shape)
        cap_b = np.broadcast_to(cap, shape)
        util = np.divide(need, cap_b, out=np.zeros(shape), where=cap_b > 0)
        extra[f"{res}_utilization"] = util
        utilization = np.maximum(utilization, util)
        exceeded = exceeded | (need > cap_b)
    return Sized(
        instances=std["instances"],
        vcpu=std["vcpu"],
        memory_gb=std["memory_gb"],
        storage_gb=std["storage_gb"],
        utilization=utilization,
        exceeded=exceeded,
        extra=extra,
    )
