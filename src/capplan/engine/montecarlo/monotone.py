"""Which plan expressions never decrease as the one name they read grows.

``users * 0.15`` or ``max(2, ceil(rps / 40))`` is a non-decreasing function of one figure,
computed with exactly rounded element-wise operations: its quantiles over paths are the
expression applied to that figure's quantiles (see :mod:`.derivations`). This module reads
that off an expression's syntax tree, once per expression text.
"""

from __future__ import annotations

import ast
import math
from functools import lru_cache

from capplan.errors import CapplanError
from capplan.plan.expressions import Expression, compile_expression

__all__ = ["rising_in"]

# Functions that never decrease as their (first) argument grows, computed exactly.
_EXACT_RISING = ("ceil", "floor")


def rising_in(expr: Expression) -> str | None:
    """The one name ``expr`` reads when its value never decreases as that name increases;
    None otherwise."""
    if len(expr.names) != 1 or not _rising_text(expr.text):
        return None
    return next(iter(expr.names))


@lru_cache(maxsize=4096)
def _rising_text(text: str) -> bool:
    return _rising(ast.parse(text, mode="eval").body)


def _reads_names(node: ast.AST) -> bool:
    """Whether ``node`` reads a quantity (a name that is not a called function's)."""
    called = [sub.func for sub in ast.walk(node) if isinstance(sub, ast.Call)]
    return any(
        isinstance(sub, ast.Attribute)
        or (isinstance(sub, ast.Name) and not any(sub is func for func in called))
        for sub in ast.walk(node)
    )


def _constant(node: ast.AST) -> float | None:
    """The value of a sub-expression that reads no names and evaluates to a finite number."""
    if _reads_names(node):
        return None
    try:
        value = float(compile_expression(ast.unparse(node)).evaluate({}))
    except CapplanError:
        return None
    return value if math.isfinite(value) else None


def _positive(node: ast.AST) -> bool:
    value = _constant(node)
    return value is not None and value > 0


def _rising(node: ast.AST) -> bool:
    """Whether ``node`` never decreases as the names it reads increase."""
    if not _reads_names(node):  # a constant, unless it cannot be evaluated
        return _constant(node) is not None
    if isinstance(node, ast.Name | ast.Attribute):
        return True
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        if isinstance(node.op, ast.Add):
            return _rising(left) and _rising(right)
        if isinstance(node.op, ast.Sub):
            return _rising(left) and _constant(right) is not None
        if isinstance(node.op, ast.Mult):
            return (_rising(left) and _positive(right)) or (_rising(right) and _positive(left))
        if isinstance(node.op, ast.Div):
            return _rising(left) and _positive(right)
        return False
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.UAdd) and _rising(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name, args = node.func.id, node.args
        if name in ("min", "max"):
            return all(_rising(arg) for arg in args)
        if name in _EXACT_RISING or (name == "round" and len(args) == 1):
            return len(args) == 1 and _rising(args[0])
        if name == "clip" and len(args) == 3:
            return (
                _rising(args[0])
                and _constant(args[1]) is not None
                and _constant(args[2]) is not None
            )
    return False
