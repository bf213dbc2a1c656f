"""Evaluation pieces of plan expressions: compiled nodes and the NumPy kernels they are
built from (see :mod:`capplan.plan.expressions`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from capplan._types import Array, BoolArray

Mask = BoolArray | None
Env = Mapping[str, Array | float]
Fn = Callable[[Env, Mask], Array]


class ExprNode(NamedTuple):
    """A compiled sub-expression: its closure and, if it reads no names, its value.

    ``fresh`` means it returns a new array on every call, which its parent may overwrite
    (the evaluator's own reuse of its intermediate arrays).
    """

    fn: Fn
    const: float | None
    fresh: bool = False


def first_bad(bad: BoolArray, values: Array) -> tuple[str, float]:
    """``("in period N", value)`` for the first period (last axis) where ``bad`` holds."""
    bad = np.asarray(bad)
    vals = np.broadcast_to(np.asarray(values, dtype=np.float64), bad.shape)
    if bad.ndim == 0:
        return "in every period", float(vals)
    n = bad.shape[-1]
    rows = bad.reshape(-1, n)
    period = int(np.argmax(rows.any(axis=0)))
    row = int(np.argmax(rows[:, period]))
    return f"in period {period}", float(vals.reshape(-1, n)[row, period])


def apply_mask(bad: BoolArray, mask: Mask) -> BoolArray:
    return bad if mask is None else bad & mask


def is_true(values: Array) -> BoolArray:
    truth: BoolArray = np.asarray(values) != 0
    return truth


def const_node(value: float) -> ExprNode:
    const = np.asarray(value, dtype=np.float64)

    def constant(env: Env, mask: Mask) -> Array:
        return const

    return ExprNode(constant, value)


def unary(func: Callable[..., Any], arg: Fn, in_place: bool = False) -> Fn:
    """``func`` of the argument; ``in_place``: over the argument's (fresh) array."""
    if in_place:

        def over(env: Env, mask: Mask) -> Array:
            x = arg(env, mask)
            result: Array = func(x, out=x) if type(x) is np.ndarray else func(x)
            return result

        return over

    def fn(env: Env, mask: Mask) -> Array:
        result: Array = func(arg(env, mask))
        return result

    return fn


def write_into(func: np.ufunc, a: Array, b: Array, a_fresh: bool, b_fresh: bool) -> Array:
    """``func(a, b)``, written over a fresh operand's array when it has the result's shape
    (the same element-wise operation, without a new array)."""
    result: Array
    if a_fresh and type(a) is np.ndarray and (a.shape == np.shape(b) or np.ndim(b) == 0):
        result = func(a, b, out=a)
    elif b_fresh and type(b) is np.ndarray and (b.shape == np.shape(a) or np.ndim(a) == 0):
        result = func(a, b, out=b)
    else:
        result = func(a, b)
    return result


def binary(func: np.ufunc, a: Fn, b: Fn, a_fresh: bool = False, b_fresh: bool = False) -> Fn:
    if a_fresh or b_fresh:

        def into(env: Env, mask: Mask) -> Array:
            return write_into(func, a(env, mask), b(env, mask), a_fresh, b_fresh)

        return into

    def fn(env: Env, mask: Mask) -> Array:
        result: Array = func(a(env, mask), b(env, mask))
        return result

    return fn


def reduce_all(func: np.ufunc, fns: list[Fn], fresh: list[bool]) -> Fn:
    if len(fns) == 2:
        return binary(func, fns[0], fns[1], fresh[0], fresh[1])

    def fn(env: Env, mask: Mask) -> Array:
        result = fns[0](env, mask)
        owned = fresh[0]
        for other, other_fresh in zip(fns[1:], fresh[1:], strict=True):
            result = write_into(func, result, other(env, mask), owned, other_fresh)
            owned = True
        return result

    return fn


def select(cond: Fn, yes: Fn, no: Fn) -> Fn:
    """``np.where`` whose branches are checked only where they are selected."""

    def fn(env: Env, mask: Mask) -> Array:
        chosen = is_true(cond(env, mask))
        a = yes(env, apply_mask(chosen, mask))
        b = no(env, apply_mask(~chosen, mask))
        return np.where(chosen, a, b)

    return fn
