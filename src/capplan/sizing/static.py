"""Tables that depend only on a component's definition, built once per component.

Sizing runs once per block of paths; the rungs, tiers, limits and prices it looks up do not
change from one block to the next, so they are built on the first call and kept while the
component (a frozen plan model) exists.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["static"]

C = TypeVar("C")
T = TypeVar("T")

_BUILT: dict[tuple[int, Callable[..., Any]], Any] = {}


def static(comp: C, build: Callable[[C], T]) -> T:
    """``build(comp)``, built on the first call for this component object and then reused;
    forgotten when the component is garbage-collected (so a new object at the same address
    is never given another's tables). ``build`` must only read the component, which the plan
    models make immutable."""
    key = (id(comp), build)
    if key in _BUILT:
        built: T = _BUILT[key]
        return built
    value = build(comp)
    _BUILT[key] = value
    weakref.finalize(comp, _BUILT.pop, key, None)
    return value
