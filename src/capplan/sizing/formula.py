"""Formula sizing: resources given directly by the plan's expressions (runbook formulas)."""

from __future__ import annotations

import numpy as np

from capplan._types import Array, BoolArray
from capplan.sizing.result import Sized

__all__ = ["constant_value", "size_formula"]

_STANDARD = ("instances", "vcpu", "memory_gb", "storage_gb")


def _as_float(values: Array, shape: tuple[int, ...]) -> Array:
    """``values`` as float64 of ``shape``, copied only when it is not already that."""
    if values.shape == shape and values.dtype == np.float64:
        return values
    return np.broadcast_to(values, shape).astype(np.float64)


def size_formula(
    resources: dict[str, Array], capacity: dict[str, Array], shape: tuple[int, ...]
) -> Sized:
    """Standard resources go to their columns, others (connections) to ``extra``; utilization
    is resource / provisioned capacity where a capacity is given (the largest one)."""
    # Resources not given are zero on every path: one read-only zero, not an array of them.
    zeros = np.broadcast_to(np.float64(0.0), shape)
    std = {k: _as_float(resources[k], shape) if k in resources else zeros for k in _STANDARD}
    extra = {k: _as_float(v, shape) for k, v in resources.items() if k not in _STANDARD}
    utilization = zeros
    exceeded: BoolArray = np.broadcast_to(np.False_, shape)
    for res, cap in capacity.items():
        need = np.broadcast_to(resources[res], shape)
        cap_b = np.broadcast_to(cap, shape)
        provided = constant_value(cap_b)
        if provided is not None and provided > 0:  # one capacity everywhere: a plain share
            util = np.divide(need, provided)
        else:
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


def constant_value(values: Array) -> float | None:
    """The value of an array that repeats one number (a broadcast constant), else None."""
    if all(stride == 0 for stride in values.strides):
        return float(values.flat[0])
    return None
