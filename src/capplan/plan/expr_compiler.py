"""The checker and closure builder behind :func:`capplan.plan.expressions.compile_expression`:
the checks against the whitelisted grammar (:mod:`capplan.plan.expr_grammar`), their error
messages and the tree of closures it builds."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

import numpy as np

from capplan._types import Array, BoolArray
from capplan.errors import EvaluationError, ExpressionError, PlanError
from capplan.plan.expr_grammar import (
    ALLOWED,
    BINOPS,
    CMPOPS,
    DIVISIONS,
    DOMAIN_FUNCS,
    EXACT_UNARY,
    FUNCTIONS,
    GRAMMAR_HINT,
    MAX_ROUND_DIGITS,
    NODE_NAMES,
    OP_NAMES,
    UNARY_FUNCS,
)
from capplan.plan.expr_runtime import (
    Env,
    ExprNode,
    Fn,
    Mask,
    apply_mask,
    binary,
    const_node,
    first_bad,
    is_true,
    reduce_all,
    select,
    unary,
)


class Compiler:
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
        return self.fail(f"{what} is not allowed in '{self.source}'{got}; {GRAMMAR_HINT}")

    def eval_error(self, message: str) -> PlanError:
        return EvaluationError.single(message, path=self.path)

    # -- dispatch ---------------------------------------------------------------------

    def compile(self, node: ast.expr) -> ExprNode:
        if self.root is None:
            self.root = node
        result = self._compile(node)
        if self.diagnose and result.const is None:
            return ExprNode(self._checked(result.fn, node), None)
        return result

    def _compile(self, node: ast.expr) -> ExprNode:
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
        raise self.not_allowed(NODE_NAMES.get(type(node), type(node).__name__), node)

    def _checked(self, fn: Fn, node: ast.expr) -> Fn:
        """Diagnostic wrapper: raise as soon as this node produces NaN or infinity."""
        seg = self.segment(node)
        is_root = node is self.root

        def checked(env: Env, mask: Mask) -> Array:
            out = np.asarray(fn(env, mask), dtype=np.float64)
            bad = apply_mask(~np.isfinite(out), mask)
            if bad.any():
                period, value = first_bad(bad, out)
                what = "value" if is_root else f"'{seg}'"
                raise self.eval_error(
                    f"result of '{self.source}' is not finite {period}: {what} is {value!r}"
                )
            return out

        return checked

    def _fold(self, fn: Fn, children: Sequence[ExprNode]) -> ExprNode:
        """Pre-compute a node whose inputs are all constant (if it evaluates cleanly)."""
        if any(child.const is None for child in children):
            return ExprNode(fn, None, fresh=True)
        try:
            with np.errstate(all="ignore"):
                value = float(np.asarray(fn({}, None), dtype=np.float64))
        except EvaluationError:
            return ExprNode(fn, None)  # e.g. '1 / 0': report it at evaluation time
        if not np.isfinite(value):
            return ExprNode(fn, None)
        return const_node(value)

    # -- leaves -----------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> ExprNode:
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
        return const_node(number)

    def _name(self, node: ast.Name | ast.Attribute) -> ExprNode:
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

        return ExprNode(load, None)

    # -- operators --------------------------------------------------------------------

    def _binop(self, node: ast.BinOp) -> ExprNode:
        entry = BINOPS.get(type(node.op))
        if entry is None:
            raise self.not_allowed(f"operator '{OP_NAMES.get(type(node.op), '?')}'", node)
        _, op = entry
        left = self.compile(node.left)
        right = self.compile(node.right)
        lf, rf = left.fn, right.fn
        if isinstance(node.op, DIVISIONS) and (right.const is None or right.const == 0):
            fn = self._division(op, lf, rf, node)
        else:
            fn = binary(op, lf, rf, left.fresh, right.fresh)

        return self._fold(fn, (left, right))

    def _division(self, op: Callable[[Array, Array], Array], lf: Fn, rf: Fn, node: ast.BinOp) -> Fn:
        den_text = self.segment(node.right)
        message = f"division by zero in '{self.source}': '{den_text}' is 0"

        def divide(env: Env, mask: Mask) -> Array:
            num = lf(env, mask)
            den = rf(env, mask)
            zero = apply_mask(np.asarray(den) == 0, mask)
            if zero.any():
                period, _ = first_bad(zero, den)
                raise self.eval_error(f"{message} {period}")
            return op(num, den)

        return divide

    def _unaryop(self, node: ast.UnaryOp) -> ExprNode:
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
                return (~is_true(of(env, mask))).astype(np.float64)

        else:
            raise self.not_allowed(f"operator '{OP_NAMES.get(type(node.op), '?')}'", node)
        return self._fold(fn, (operand,))

    def _compare(self, node: ast.Compare) -> ExprNode:
        ops: list[Callable[[Array, Array], BoolArray]] = []
        for cmpop in node.ops:
            op = CMPOPS.get(type(cmpop))
            if op is None:
                raise self.not_allowed(f"comparison '{OP_NAMES.get(type(cmpop), '?')}'", node)
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
                result: BoolArray | None = None
                sub = mask
                for op, right_fn in zip(ops, fns[1:], strict=True):
                    right = right_fn(env, sub)
                    holds = np.asarray(op(left, right))
                    result = holds if result is None else result & holds
                    sub = apply_mask(result, mask)
                    left = right
                assert result is not None
                return result.astype(np.float64)

        return self._fold(fn, operands)

    def _boolop(self, node: ast.BoolOp) -> ExprNode:
        operands = [self.compile(value) for value in node.values]
        fns = [operand.fn for operand in operands]
        is_and = isinstance(node.op, ast.And)

        def fn(env: Env, mask: Mask) -> Array:
            result = is_true(fns[0](env, mask))
            for value_fn in fns[1:]:
                # Later operands matter only where the earlier ones did not decide.
                sub = apply_mask(result if is_and else ~result, mask)
                truth = is_true(value_fn(env, sub))
                result = (result & truth) if is_and else (result | truth)
            return result.astype(np.float64)

        return self._fold(fn, operands)

    def _ifexp(self, node: ast.IfExp) -> ExprNode:
        cond = self.compile(node.test)
        body = self.compile(node.body)
        orelse = self.compile(node.orelse)
        return self._fold(select(cond.fn, body.fn, orelse.fn), (cond, body, orelse))

    # -- calls ------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> ExprNode:
        func = node.func
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute):
            name = self.segment(func)
        else:
            raise self.fail(
                f"calling '{self.segment(func)}' is not allowed in '{self.source}'; "
                f"allowed functions: {ALLOWED}"
            )
        if name not in FUNCTIONS:
            raise self.fail(
                f"function '{name}' is not allowed in '{self.source}'; allowed functions: {ALLOWED}"
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

        fn: Fn
        if name in ("min", "max"):
            fresh = [arg.fresh for arg in args]
            fn = reduce_all(np.minimum if name == "min" else np.maximum, fns, fresh)
        elif name in UNARY_FUNCS:
            fn = unary(UNARY_FUNCS[name], fns[0], args[0].fresh and name in EXACT_UNARY)
        elif name in DOMAIN_FUNCS:
            fn = self._domain(name, fns[0], node)
        elif name == "round":
            fn = self._round(node, args)
        elif name == "pow":
            fn = binary(np.power, fns[0], fns[1])
        elif name == "clip":
            x, lo, hi = fns

            def fn(env: Env, mask: Mask) -> Array:
                return np.clip(x(env, mask), lo(env, mask), hi(env, mask))

        else:  # where
            fn = select(fns[0], fns[1], fns[2])
        return self._fold(fn, args)

    def _domain(self, name: str, arg: Fn, node: ast.Call) -> Fn:
        func, strict = DOMAIN_FUNCS[name]
        call_text = self.segment(node)
        where = "" if node is self.root else f" (in '{self.source}')"

        def fn(env: Env, mask: Mask) -> Array:
            x = np.asarray(arg(env, mask))
            bad = apply_mask(x <= 0 if strict else x < 0, mask)
            if bad.any():
                period, value = first_bad(bad, x)
                raise self.eval_error(
                    f"'{call_text}' is undefined {period}: argument is {value!r}{where}"
                )
            return func(x)

        return fn

    def _round(self, node: ast.Call, args: list[ExprNode]) -> Fn:
        x = args[0].fn
        if len(args) == 1:
            return unary(np.round, x)
        digits = args[1].const
        if digits is None or digits != int(digits) or abs(digits) > MAX_ROUND_DIGITS:
            raise self.fail(
                f"round() needs a whole number of digits between -{MAX_ROUND_DIGITS} and "
                f"{MAX_ROUND_DIGITS} as second argument, got '{self.segment(node.args[1])}' "
                f"in '{self.segment(node)}'"
            )
        decimals = int(digits)

        def fn(env: Env, mask: Mask) -> Array:
            return np.round(x(env, mask), decimals)

        return fn
