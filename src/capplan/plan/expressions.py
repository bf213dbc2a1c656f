"""Safe, vectorised arithmetic expressions for capacity-plan files.

A plan writes derived quantities as formulas, e.g. ``concurrent = users * 0.15`` or
``db_memory_gb = max(4, agents * 0.002) * 1.5``. :func:`compile_expression` turns such a
text into an :class:`Expression` that

* reports every quantity name it reads (``names``, dotted names such as ``db.cost`` kept
  whole) so the caller can order expressions and detect unknown names and cycles;
* evaluates over NumPy arrays of shape ``(periods,)`` or ``(paths, periods)`` with a few
  whole-array operations per node, never a Python loop over elements;
* fails with a message that names the expression, the offending sub-expression and the
  first period (index along the last axis) where a division by zero, a ``log`` of a
  non-positive number, a NaN or an infinity appears.

It is hand-written because no library does all three: ``eval`` is unsafe on plan text,
numexpr/asteval/simpleeval neither restrict the grammar to this small language nor report
the failing period, and sympy's ``lambdify`` generates code with ``exec``. The text is
parsed with :mod:`ast`, every node is checked against a whitelist, and a tree of small
closures is built once at compile time. User text is never executed.

Grammar: numbers, quantity names (``users``, ``db.storage_gb``), ``+ - * / // % **``,
unary ``-``/``+``, comparisons (chains allowed, giving 1.0/0.0), ``and``/``or``/``not``
(on truthiness, giving 1.0/0.0), ``a if cond else b`` and calls of the functions in
:data:`FUNCTIONS` with positional arguments. Branches of ``if``/``else``, ``where`` and the
right side of ``and``/``or`` are checked only where they are selected, so
``a / b if b != 0 else 0`` does not fail where ``b`` is 0.
"""

from __future__ import annotations

import ast
import re

import numpy as np

from capplan._types import Array
from capplan.errors import EvaluationError, ExpressionError
from capplan.plan.expr_compiler import Compiler
from capplan.plan.expr_grammar import FUNCTIONS
from capplan.plan.expr_runtime import Env, Fn, Mask, first_bad

__all__ = ["FUNCTIONS", "Expression", "compile_expression"]


class Expression:
    """A compiled plan expression; evaluate it over NumPy arrays with :meth:`evaluate`."""

    __slots__ = (
        "_copy_result",
        "_diag_fn",
        "_fn",
        "_text",
        "_tree",
        "names",
        "path",
        "source",
    )

    source: str
    path: str
    names: frozenset[str]

    def __init__(
        self,
        source: str,
        path: str,
        names: frozenset[str],
        fn: Fn,
        tree: ast.Expression,
        text: str,
    ) -> None:
        self.source = source
        self.path = path
        self.names = names
        self._fn = fn
        self._tree = tree
        self._text = text
        self._diag_fn: Fn | None = None
        # A bare name or number would hand out the caller's (or our cached) array.
        self._copy_result = isinstance(tree.body, ast.Name | ast.Attribute | ast.Constant)

    @property
    def text(self) -> str:
        """The expression as parsed (the source without surrounding blanks)."""
        return self._text

    @property
    def is_constant(self) -> bool:
        """True when the expression reads no quantity names."""
        return not self.names

    def evaluate(self, env: Env) -> Array:
        """Evaluate over ``env`` (name -> array or number); the result is a float64 array.

        Arrays are broadcast together; the last axis is the period. A constant expression
        returns a 0-d array. Raises :class:`ExpressionError` for a name missing from
        ``env`` and :class:`EvaluationError` for a division by zero, a value outside a
        function's domain or a NaN/infinite result, naming the first bad period.
        """
        with np.errstate(all="ignore"):
            out = np.asarray(self._fn(env, None), dtype=np.float64)
            # One pass: a NaN or an infinity anywhere makes the sum non-finite (a sum that
            # overflows is checked again element by element).
            if not np.isfinite(np.sum(out)) and not np.isfinite(out).all():
                self._explain_non_finite(env, out)
        if self._copy_result:
            out = out.copy()
        return out

    def _explain_non_finite(self, env: Env, out: Array) -> None:
        """Re-run with a check after every node to name the sub-expression that broke."""
        if self._diag_fn is None:
            compiler = Compiler(self.source, self._text, self.path, diagnose=True)
            self._diag_fn = compiler.compile(self._tree.body).fn
        self._diag_fn(env, None)
        # Not reached in practice: the root node's own check raises.
        period, value = first_bad(~np.isfinite(out), out)
        raise EvaluationError.single(
            f"result of '{self.source}' is not finite {period}: value is {value!r}",
            path=self.path,
        )

    def __repr__(self) -> str:
        if self.path:
            return f"Expression({self.source!r}, path={self.path!r})"
        return f"Expression({self.source!r})"


def compile_expression(source: str | int | float, *, path: str = "") -> Expression:
    """Parse and check ``source`` and build its evaluator.

    ``source`` is a formula such as ``"max(4, agents * 0.002) * 1.5"`` or a plain number.
    ``path`` is the field path the text came from (e.g. ``"metrics.db_memory_gb"``) and is
    attached to every error. Raises :class:`ExpressionError` if the text does not parse or
    uses anything outside the allowed grammar.
    """
    if isinstance(source, bool) or not isinstance(source, str | int | float):
        raise ExpressionError.single(
            f"expected an expression or a number, got {type(source).__name__} {source!r}",
            path=path,
        )
    if not isinstance(source, str):
        return _compile_number(source, path)
    # Newlines (from YAML block scalars) are plain spaces in this language.
    text = re.sub(r"\r\n|\r|\n", " ", source)
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    if not stripped.strip():
        raise ExpressionError.single(
            "expression is empty; expected a number or a formula such as 'users * 0.15'",
            path=path,
        )
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        offset = exc.offset if exc.offset and 0 < exc.offset <= len(stripped) else None
        column = (offset if offset is not None else len(stripped) + 1) + lead
        raise ExpressionError.single(
            f"expression '{source}' is not valid: {exc.msg} at column {column}", path=path
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError.single(
            f"expression '{source}' is not valid: {exc or type(exc).__name__}", path=path
        ) from None
    compiler = Compiler(source, stripped, path, diagnose=False)
    try:
        node = compiler.compile(tree.body)
    except RecursionError:
        raise ExpressionError.single(
            f"expression '{source}' is nested too deeply", path=path
        ) from None
    names = frozenset(compiler.names)
    return Expression(source, path, names, node.fn, tree, stripped)


def _compile_number(value: int | float, path: str) -> Expression:
    text = str(value)
    try:
        number = float(value)
    except OverflowError:
        number = float("inf")
    if not np.isfinite(number):
        raise ExpressionError.single(f"expected a finite number, got {text}", path=path)
    const = np.asarray(number, dtype=np.float64)

    def constant(env: Env, mask: Mask) -> Array:
        return const

    tree = ast.Expression(body=ast.Constant(value=number))
    return Expression(text, path, frozenset(), constant, tree, text)
