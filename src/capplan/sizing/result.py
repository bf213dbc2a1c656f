"""What sizing a component yields, for every path and period."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Array", "BoolArray", "IntArray", "Sized", "ceil_count", "left_out", "wanted"]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def wanted(resources: Collection[str] | None, key: str) -> bool:
    """Whether a sizing asked for ``resources`` (None: all of them) computes ``key``."""
    return resources is None or key in resources


def left_out(shape: tuple[int, ...]) -> Array:
    """What a resource a sizing was not asked for holds: NaN everywhere (read-only), so that
    nothing computed from it by mistake can pass for a figure."""
    return np.broadcast_to(np.float64(np.nan), shape)


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

    ``level`` indexes ``level_names`` (the tier or rung chosen); ``exceeded`` marks periods
    whose demand is beyond the largest tier, rung or ``max_instances``.

    ``derived`` lists outputs (and ``level_price``) that are a non-decreasing function of the
    output ``"demand"`` or of ``"level"``: key → (that source, the function). The function
    gives the output's exact values from the source's values, for any of them; order
    statistics over paths (Monte Carlo quantiles) are thus found once for the source.

    A sizing may be asked for some of the summed resources only (``resources``): the others
    are then :func:`left_out`.

    ``tables``, when the resources (``instances``, ``vcpu``, ``memory_gb``, ``storage_gb``)
    and ``level_price`` all follow from the level alone, holds their value at each level:
    each of those arrays is its table looked up at ``level``.
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
    derived: dict[str, tuple[str, Callable[[npt.NDArray[Any]], Array]]] = field(
        default_factory=dict
    )
    tables: dict[str, Array] = field(default_factory=dict)
