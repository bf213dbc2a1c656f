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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from capplan.errors import EvaluationError, ExpressionError, PlanError

__all__ = ["FUNCTIONS", "Expression", "compile_expression"]

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_] | None
Env = Mapping[str, npt.NDArray[np.float64] | float]
_Fn = Callable[[Env, Mask], Array]

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
_ALLOWED = ", ".join(sorted(FUNCTIONS))
_GRAMMAR_HINT = (
    "an expression may use numbers, quantity names, + - * / // % **, comparisons, "
    "and/or/not, 'x if cond else y' and the functions " + _ALLOWED
)
_MAX_ROUND_DIGITS = 15

_BINOPS: dict[type[ast.operator], tuple[str, np.ufunc]] = {
    ast.Add: ("+", np.add),
    ast.Sub: ("-", np.subtract),
    ast.Mult: ("*", np.multiply),
    ast.Div: ("/", np.true_divide),
    ast.FloorDiv: ("//", np.floor_divide),
    ast.Mod: ("%", np.mod),
    ast.Pow: ("**", np.power),
}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
_CMPOPS: dict[type[ast.cmpop], Callable[[Array, Array], npt.NDArray[np.bool_]]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_UNARY_FUNCS: dict[str, np.ufunc] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "exp": np.exp,
    "floor": np.floor,
}
# Exactly rounded, so the same wherever their result is written.
_EXACT_UNARY = frozenset({"abs", "ceil", "floor"})
# Functions with a restricted domain: (numpy function, whether 0 itself is outside it).
_DOMAIN_FUNCS: dict[str, tuple[Callable[[Array], Array], bool]] = {
    "sqrt": (np.sqrt, False),  # undefined below 0
    "log": (np.log, True),  # undefined at or below 0
    "log10": (np.log10, True),
}
_OP_NAMES = {
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
_NODE_NAMES: dict[type[ast.AST], str] = {
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


class _Node(NamedTuple):
    """A compiled sub-expression: its closure and, if it reads no names, its value.

    ``rising`` means its value never decreases when the names it reads increase, and is
    computed with exactly rounded element-wise operations (``+ - * /``, ``min``, ``max``,
    ``ceil``...), so evaluating it on some elements of its inputs gives the same figures.
    ``fresh`` means it returns a new array on every call, which its parent may overwrite.
    """

    fn: _Fn
    const: float | None
    rising: bool = False
    fresh: bool = False


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
        "rising_in",
        "source",
    )

    source: str
    path: str
    names: frozenset[str]
    rising_in: str | None

    def __init__(
        self,
        source: str,
        path: str,
        names: frozenset[str],
        fn: _Fn,
        tree: ast.Expression,
        text: str,
        rising_in: str | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.names = names
        #: The one name the expression reads when its value never decreases as that name
        #: increases (``users * 0.15``, ``max(2, ceil(rps / 40))``); None otherwise.
        self.rising_in = rising_in
        self._fn = fn
        self._tree = tree
        self._text = text
        self._diag_fn: _Fn | None = None
        # A bare name or number would hand out the caller's (or our cached) array.
        self._copy_result = isinstance(tree.body, ast.Name | ast.Attribute | ast.Constant)

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
            if not np.isfinite(out).all():
                self._explain_non_finite(env, out)
        if self._copy_result:
            out = out.copy()
        return out

    def _explain_non_finite(self, env: Env, out: Array) -> None:
        """Re-run with a check after every node to name the sub-expression that broke."""
        if self._diag_fn is None:
            compiler = _Compiler(self.source, self._text, self.path, diagnose=True)
            self._diag_fn = compiler.compile(self._tree.body).fn
        self._diag_fn(env, None)
        # Not reached in practice: the root node's own check raises.
        period, value = _first_bad(~np.isfinite(out), out)
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
    compiler = _Compiler(source, stripped, path, diagnose=False)
    try:
        node = compiler.compile(tree.body)
    except RecursionError:
        raise ExpressionError.single(
            f"expression '{source}' is nested too deeply", path=path
        ) from None
    names = frozenset(compiler.names)
    rising_in = next(iter(names)) if node.rising and len(names) == 1 else None
    return Expression(source, path, names, node.fn, tree, stripped, rising_in)


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


def _first_bad(bad: npt.NDArray[np.bool_], values: Array) -> tuple[str, float]:
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


def _apply_mask(bad: npt.NDArray[np.bool_], mask: Mask) -> npt.NDArray[np.bool_]:
    return bad if mask is None else bad & mask


def _truth(values: Array) -> npt.NDArray[np.bool_]:
    truth: npt.NDArray[np.bool_] = np.asarray(values) != 0
    return truth


class _Compiler:
    """Checks nodes against the whitelist and builds the evaluation closures."""

    def __init__(self, source: str, text: str, path: str, *, diagnose: bool) -> None:
        self.source = source
        self.text = text
        self.path = path
        self.diagnose = diagnose
        self.names: set[str] = set()
        self.root: ast.expr | None = None

    # -- errors and texts -------------------------------------------------------------

    def segment(self, node: ast.AST) -> str:
        seg = ast.get_source_segment(self.text, node)
        return seg if seg is not None else ast.unparse(node)

    def fail(self, message: str) -> PlanError:
        return ExpressionError.single(message, path=self.path)

    def not_allowed(self, what: str, node: ast.AST) -> PlanError:
        got = "" if node is self.root else f" (got '{self.segment(node)}')"
        return self.fail(f"{what} is not allowed in '{self.source}'{got}; {_GRAMMAR_HINT}")

    def eval_error(self, message: str) -> PlanError:
        return EvaluationError.single(message, path=self.path)

    # -- dispatch ---------------------------------------------------------------------

    def compile(self, node: ast.expr) -> _Node:
        if self.root is None:
            self.root = node
        result = self._compile(node)
        if self.diagnose and result.const is None:
            return _Node(self._checked(result.fn, node), None)
        return result

    def _compile(self, node: ast.expr) -> _Node:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name | ast.Attribute):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unaryop(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node)
        if isinstance(node, ast.IfExp):
            return self._ifexp(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.not_allowed(_NODE_NAMES.get(type(node), type(node).__name__), node)

    def _checked(self, fn: _Fn, node: ast.expr) -> _Fn:
        """Diagnostic wrapper: raise as soon as this node produces NaN or infinity."""
        seg = self.segment(node)
        is_root = node is self.root

        def checked(env: Env, mask: Mask) -> Array:
            out = np.asarray(fn(env, mask), dtype=np.float64)
            bad = _apply_mask(~np.isfinite(out), mask)
            if bad.any():
                period, value = _first_bad(bad, out)
                what = "value" if is_root else f"'{seg}'"
                raise self.eval_error(
                    f"result of '{self.source}' is not finite {period}: {what} is {value!r}"
                )
            return out

        return checked

    def _fold(self, fn: _Fn, children: Sequence[_Node], rising: bool = False) -> _Node:
        """Pre-compute a node whose inputs are all constant (if it evaluates cleanly)."""
        if any(child.const is None for child in children):
            return _Node(fn, None, rising, fresh=True)
        try:
            with np.errstate(all="ignore"):
                value = float(np.asarray(fn({}, None), dtype=np.float64))
        except EvaluationError:
            return _Node(fn, None)  # e.g. '1 / 0': report it at evaluation time
        if not np.isfinite(value):
            return _Node(fn, None)
        return _const_node(value)

    # -- leaves -----------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            raise self.not_allowed("boolean", node)
        if isinstance(value, str):
            raise self.not_allowed("string", node)
        if isinstance(value, bytes):
            raise self.not_allowed("bytes", node)
        if isinstance(value, complex):
            raise self.not_allowed("complex number", node)
        if not isinstance(value, int | float):
            raise self.not_allowed("constant", node)
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not np.isfinite(number):
            raise self.fail(
                f"number '{self.segment(node)}' in '{self.source}' is too large; "
                "expected a finite number"
            )
        return _const_node(number)

    def _name(self, node: ast.Name | ast.Attribute) -> _Node:
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            assert isinstance(node, ast.Attribute)
            raise self.fail(
                f"attribute access '.{node.attr}' on '{self.segment(node.value)}' is not allowed "
                f"in '{self.source}'; only dotted quantity names such as 'db.cost' may use '.'"
            )
        parts.append(current.id)
        parts.reverse()
        name = ".".join(parts)
        if any(part.startswith("_") for part in parts):
            raise self.fail(
                f"name '{name}' is not allowed in '{self.source}': names must not start with '_'"
            )
        if len(parts) == 1 and name in FUNCTIONS:
            raise self.fail(
                f"'{name}' is a function, not a quantity, in '{self.source}'; "
                f"call it as {name}(...)"
            )
        self.names.add(name)
        source, path = self.source, self.path

        def load(env: Env, mask: Mask) -> Array:
            try:
                value = env[name]
            except KeyError:
                raise ExpressionError.single(
                    f"unknown name '{name}' in '{source}'", path=path
                ) from None
            return np.asarray(value, dtype=np.float64)

        return _Node(load, None, rising=True)

    # -- operators --------------------------------------------------------------------

    def _binop(self, node: ast.BinOp) -> _Node:
        entry = _BINOPS.get(type(node.op))
        if entry is None:
            raise self.not_allowed(f"operator '{_OP_NAMES.get(type(node.op), '?')}'", node)
        _, op = entry
        left = self.compile(node.left)
        right = self.compile(node.right)
        lf, rf = left.fn, right.fn
        if isinstance(node.op, _DIVISIONS) and (right.const is None or right.const == 0):
            fn = self._division(op, lf, rf, node)
        else:
            fn = _binary(op, lf, rf, left.fresh, right.fresh)

        return self._fold(fn, (left, right), _rising_binop(node.op, left, right))

    def _division(
        self, op: Callable[[Array, Array], Array], lf: _Fn, rf: _Fn, node: ast.BinOp
    ) -> _Fn:
        den_text = self.segment(node.right)
        message = f"division by zero in '{self.source}': '{den_text}' is 0"

        def divide(env: Env, mask: Mask) -> Array:
            num = lf(env, mask)
            den = rf(env, mask)
            zero = _apply_mask(np.asarray(den) == 0, mask)
            if zero.any():
                period, _ = _first_bad(zero, den)
                raise self.eval_error(f"{message} {period}")
            return op(num, den)

        return divide

    def _unaryop(self, node: ast.UnaryOp) -> _Node:
        operand = self.compile(node.operand)
        of = operand.fn
        if isinstance(node.op, ast.USub):

            def fn(env: Env, mask: Mask) -> Array:
                return np.negative(of(env, mask))

        elif isinstance(node.op, ast.UAdd):

            def fn(env: Env, mask: Mask) -> Array:
                return np.positive(of(env, mask))

        elif isinstance(node.op, ast.Not):

            def fn(env: Env, mask: Mask) -> Array:
                return (~_truth(of(env, mask))).astype(np.float64)

        else:
            raise self.not_allowed(f"operator '{_OP_NAMES.get(type(node.op), '?')}'", node)
        return self._fold(fn, (operand,), isinstance(node.op, ast.UAdd) and operand.rising)

    def _compare(self, node: ast.Compare) -> _Node:
        ops: list[Callable[[Array, Array], npt.NDArray[np.bool_]]] = []
        for cmpop in node.ops:
            op = _CMPOPS.get(type(cmpop))
            if op is None:
                raise self.not_allowed(f"comparison '{_OP_NAMES.get(type(cmpop), '?')}'", node)
            ops.append(op)
        operands = [self.compile(node.left), *(self.compile(c) for c in node.comparators)]
        fns = [operand.fn for operand in operands]

        if len(ops) == 1:
            op0, f0, f1 = ops[0], fns[0], fns[1]

            def fn(env: Env, mask: Mask) -> Array:
                return op0(f0(env, mask), f1(env, mask)).astype(np.float64)

        else:

            def fn(env: Env, mask: Mask) -> Array:
                # Like Python's chain: later operands are checked only where earlier hold.
                left = fns[0](env, mask)
                result: npt.NDArray[np.bool_] | None = None
                sub = mask
                for op, right_fn in zip(ops, fns[1:], strict=True):
                    right = right_fn(env, sub)
                    holds = np.asarray(op(left, right))
                    result = holds if result is None else result & holds
                    sub = _apply_mask(result, mask)
                    left = right
                assert result is not None
                return result.astype(np.float64)

        return self._fold(fn, operands)

    def _boolop(self, node: ast.BoolOp) -> _Node:
        operands = [self.compile(value) for value in node.values]
        fns = [operand.fn for operand in operands]
        is_and = isinstance(node.op, ast.And)

        def fn(env: Env, mask: Mask) -> Array:
            result = _truth(fns[0](env, mask))
            for value_fn in fns[1:]:
                # Later operands matter only where the earlier ones did not decide.
                sub = _apply_mask(result if is_and else ~result, mask)
                truth = _truth(value_fn(env, sub))
                result = (result & truth) if is_and else (result | truth)
            return result.astype(np.float64)

        return self._fold(fn, operands)

    def _ifexp(self, node: ast.IfExp) -> _Node:
        cond = self.compile(node.test)
        body = self.compile(node.body)
        orelse = self.compile(node.orelse)
        return self._fold(_select(cond.fn, body.fn, orelse.fn), (cond, body, orelse))

    # -- calls ------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> _Node:
        func = node.func
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute):
            name = self.segment(func)
        else:
            raise self.fail(
                f"calling '{self.segment(func)}' is not allowed in '{self.source}'; "
                f"allowed functions: {_ALLOWED}"
            )
        if name not in FUNCTIONS:
            raise self.fail(
                f"function '{name}' is not allowed in '{self.source}'; "
                f"allowed functions: {_ALLOWED}"
            )
        call_text = self.segment(node)
        if node.keywords:
            keyword = node.keywords[0]
            raise self.fail(
                f"keyword argument '{self.segment(keyword)}' is not allowed in "
                f"'{self.source}'; pass arguments by position"
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(
                    f"starred argument '{self.segment(arg)}' is not allowed in "
                    f"'{self.source}'; pass arguments one by one"
                )
        args = [self.compile(arg) for arg in node.args]
        low, high = FUNCTIONS[name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            if high is None:
                need = f"at least {low} argument{'s' if low != 1 else ''}"
            elif low == high:
                need = f"exactly {low} argument{'s' if low != 1 else ''}"
            else:
                need = f"{low} to {high} arguments"
            raise self.fail(f"{name}() needs {need}, got {count} in '{call_text}'")
        fns = [arg.fn for arg in args]

        fn: _Fn
        if name in ("min", "max"):
            fresh = [arg.fresh for arg in args]
            fn = _reduce(np.minimum if name == "min" else np.maximum, fns, fresh)
        elif name in _UNARY_FUNCS:
            fn = _unary(_UNARY_FUNCS[name], fns[0], args[0].fresh and name in _EXACT_UNARY)
        elif name in _DOMAIN_FUNCS:
            fn = self._domain(name, fns[0], node)
        elif name == "round":
            fn = self._round(node, args)
        elif name == "pow":
            fn = _binary(np.power, fns[0], fns[1])
        elif name == "clip":
            x, lo, hi = fns

            def fn(env: Env, mask: Mask) -> Array:
                return np.clip(x(env, mask), lo(env, mask), hi(env, mask))

        else:  # where
            fn = _select(fns[0], fns[1], fns[2])
        return self._fold(fn, args, _rising_call(name, args))

    def _domain(self, name: str, arg: _Fn, node: ast.Call) -> _Fn:
        func, strict = _DOMAIN_FUNCS[name]
        call_text = self.segment(node)
        where = "" if node is self.root else f" (in '{self.source}')"

        def fn(env: Env, mask: Mask) -> Array:
            x = np.asarray(arg(env, mask))
            bad = _apply_mask(x <= 0 if strict else x < 0, mask)
            if bad.any():
                period, value = _first_bad(bad, x)
                raise self.eval_error(
                    f"'{call_text}' is undefined {period}: argument is {value!r}{where}"
                )
            return func(x)

        return fn

    def _round(self, node: ast.Call, args: list[_Node]) -> _Fn:
        x = args[0].fn
        if len(args) == 1:
            return _unary(np.round, x)
        digits = args[1].const
        if digits is None or digits != int(digits) or abs(digits) > _MAX_ROUND_DIGITS:
            raise self.fail(
                f"round() needs a whole number of digits between -{_MAX_ROUND_DIGITS} and "
                f"{_MAX_ROUND_DIGITS} as second argument, got '{self.segment(node.args[1])}' "
                f"in '{self.segment(node)}'"
            )
        decimals = int(digits)

        def fn(env: Env, mask: Mask) -> Array:
            return np.round(x(env, mask), decimals)

        return fn


def _const_node(value: float) -> _Node:
    const = np.asarray(value, dtype=np.float64)

    def constant(env: Env, mask: Mask) -> Array:
        return const

    return _Node(constant, value, rising=True)


def _positive(node: _Node) -> bool:
    return node.const is not None and node.const > 0


def _rising_binop(op: ast.operator, left: _Node, right: _Node) -> bool:
    """Whether ``left op right`` never decreases as its inputs increase."""
    if isinstance(op, ast.Add):
        return left.rising and right.rising
    if isinstance(op, ast.Sub):
        return left.rising and right.const is not None
    if isinstance(op, ast.Mult):
        return (left.rising and _positive(right)) or (right.rising and _positive(left))
    if isinstance(op, ast.Div):
        return left.rising and _positive(right)
    return False


def _rising_call(name: str, args: list[_Node]) -> bool:
    """Whether a call never decreases as its inputs increase (exact functions only)."""
    if name in ("min", "max"):
        return all(arg.rising for arg in args)
    if name in ("ceil", "floor") or (name == "round" and len(args) == 1):
        return args[0].rising
    if name == "clip":
        return args[0].rising and args[1].const is not None and args[2].const is not None
    return False


def _unary(func: Callable[..., Any], arg: _Fn, in_place: bool = False) -> _Fn:
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


def _into(func: np.ufunc, a: Array, b: Array, a_fresh: bool, b_fresh: bool) -> Array:
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


def _binary(func: np.ufunc, a: _Fn, b: _Fn, a_fresh: bool = False, b_fresh: bool = False) -> _Fn:
    if a_fresh or b_fresh:

        def into(env: Env, mask: Mask) -> Array:
            return _into(func, a(env, mask), b(env, mask), a_fresh, b_fresh)

        return into

    def fn(env: Env, mask: Mask) -> Array:
        result: Array = func(a(env, mask), b(env, mask))
        return result

    return fn


def _reduce(func: np.ufunc, fns: list[_Fn], fresh: list[bool]) -> _Fn:
    if len(fns) == 2:
        return _binary(func, fns[0], fns[1], fresh[0], fresh[1])

    def fn(env: Env, mask: Mask) -> Array:
        result = fns[0](env, mask)
        owned = fresh[0]
        for other, other_fresh in zip(fns[1:], fresh[1:], strict=True):
            result = _into(func, result, other(env, mask), owned, other_fresh)
            owned = True
        return result

    return fn


def _select(cond: _Fn, yes: _Fn, no: _Fn) -> _Fn:
    """``np.where`` whose branches are checked only where they are selected."""

    def fn(env: Env, mask: Mask) -> Array:
        chosen = _truth(cond(env, mask))
        a = yes(env, _apply_mask(chosen, mask))
        b = no(env, _apply_mask(~chosen, mask))
        return np.where(chosen, a, b)

    return fn
