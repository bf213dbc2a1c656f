"""What sizing a component yields, for every path and period."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capplan._types import Array, BoolArray, IntArray

__all__ = ["Array", "BoolArray", "IntArray", "Sized", "ceil_count"]


def ceil_count(x: Array) -> Array:
    """``ceil`` that ignores floating-point dust: 300 / 50 * 1.0000000001 is still 6."""
    # ceil(x - 1e-9 * max(1, |x|)), in one buffer.
    out = np.abs(x, out=np.empty(np.shape(x)))
    np.maximum(out, 1.0, out=out)
    np.multiply(out, 1e-9, out=out)
    np.subtract(x, out, out=out)
    return np.ceil(out, out=out)


@dataclass
class Sized:
    """Resources of one component, each an array of shape (paths, periods + 1).

    ``level`` indexes ``level_names`` (the tier or rung chosen) and ``level_price`` is its
    price (0.0 for kinds without levels); ``exceeded`` marks periods whose demand is beyond
    the largest tier, rung or ``max_instances``; ``extra`` holds the kind's other outputs
    (``demand``, ``capacity``, allocations, per-resource limits and utilizations).
    """

    instances: Array
    vcpu: Array
    memory_gb: Array
    storage_gb: Array
    utilization: Array
    exceeded: BoolArray
    level_price: Array | float = 0.0
    level: IntArray | None = None
    level_names: tuple[str, ...] = ()
    extra: dict[str, Array] = field(default_factory=dict)
