"""What sizing a component yields, for every path and period."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["Array", "BoolArray", "IntArray", "Sized", "ceil_count"]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def ceil_count(x: Array) -> Array:
    """``ceil`` that ignores floating-point dust: 300 / 50 * 1.0000000001 is still 6."""
    return np.ceil(x - 1e-9 * np.maximum(1.0, np.abs(x)))


@dataclass
class Sized:
    """Resources of one component, each an array of shape (paths, periods + 1).

    ``level`` indexes ``level_names`` (the tier or rung chosen); ``exceeded`` marks periods
    whose demand is beyond the largest tier, rung or ``max_instances``.
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
