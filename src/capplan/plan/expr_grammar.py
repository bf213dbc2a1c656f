"""The whitelisted grammar of plan expressions: the functions and operators allowed, the NumPy
kernels they run, and the names of what is not allowed, for the messages."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

import numpy as np

from capplan._types import Array, BoolArray

__all__ = [
    "ALLOWED",
    "BINOPS",
    "CMPOPS",
    "DIVISIONS",
    "DOMAIN_FUNCS",
    "EXACT_UNARY",
    "FUNCTIONS",
    "GRAMMAR_HINT",
    "MAX_ROUND_DIGITS",
    "NODE_NAMES",
    "OP_NAMES",
    "UNARY_FUNCS",
]

#: Allowed functions and their (minimum, maximum) number of positional arguments;
#: ``None`` as maximum means "any number".
FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "ceil": (1, 1),
    "clip": (3, 3),
    "exp": (1, 1),
    "floor": (1, 1),
    "log": (1, 1),
    "log10": (1, 1),
    "max": (2, None),
    "min": (2, None),
    "pow": (2, 2),
    "round": (1, 2),
    "sqrt": (1, 1),
    "where": (3, 3),
}
ALLOWED = ", ".join(sorted(FUNCTIONS))
GRAMMAR_HINT = (
    "an expression may use numbers, quantity names, + - * / // % **, comparisons, "
    "and/or/not, 'x if cond else y' and the functions " + ALLOWED
)
MAX_ROUND_DIGITS = 15

BINOPS: dict[type[ast.operator], tuple[str, np.ufunc]] = {
    ast.Add: ("+", np.add),
    ast.Sub: ("-", np.subtract),
    ast.Mult: ("*", np.multiply),
    ast.Div: ("/", np.true_divide),
    ast.FloorDiv: ("//", np.floor_divide),
    ast.Mod: ("%", np.mod),
    ast.Pow: ("**", np.power),
}
DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
CMPOPS: dict[type[ast.cmpop], Callable[[Array, Array], BoolArray]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
UNARY_FUNCS: dict[str, np.ufunc] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "exp": np.exp,
    "floor": np.floor,
}
# Exactly rounded, so the same wherever their result is written.
EXACT_UNARY = frozenset({"abs", "ceil", "floor"})
# Functions with a restricted domain: (numpy function, whether 0 itself is outside it).
DOMAIN_FUNCS: dict[str, tuple[Callable[[Array], Array], bool]] = {
    "sqrt": (np.sqrt, False),  # undefined below 0
    "log": (np.log, True),  # undefined at or below 0
    "log10": (np.log10, True),
}
OP_NAMES = {
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Invert: "~",
}
NODE_NAMES: dict[type[ast.AST], str] = {
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment expression ':='",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
