"""Which labels the series of a PromQL query carry, for legends that tell series apart.

:func:`result_labels` reads a query with ``promql-parser`` and follows the labels from its
selectors to its result: an aggregation ``by (instance)`` leaves ``instance``, one without
``by`` leaves none (a single series), a function or arithmetic keeps the labels of the vector
it works on, ``label_replace`` adds its target label, ``histogram_quantile`` drops ``le``. A
selector's own labels are not known from the query (they are whatever the exporter gives),
nor are those of ``without``: the answer is then None.
"""

from __future__ import annotations

import promql_parser as pq

__all__ = ["result_labels"]

Labels = tuple[str, ...] | None  # None: not known from the query
_SCALAR = ("<scalar>",)  # a number: it takes the labels of the vector it meets

_GROUPING = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "group", "quantile"}
_SCALAR_FUNCTIONS = {"scalar", "time", "pi"}


def result_labels(query: str) -> tuple[str, ...] | None:
    """The labels of the query's result series, in the order written (``()``: one series
    without labels); None when they are not known from the query (a bare selector, an
    aggregation ``without``, a query that does not parse)."""
    try:
        expr = pq.parse(query)
    except (ValueError, TypeError):  # promql-parser raises ValueError on a syntax error
        return None
    found = _labels(expr)
    return () if found == _SCALAR else found


def _union(first: Labels, extra: list[str]) -> Labels:
    if first is None or first == _SCALAR:
        return None
    return tuple(dict.fromkeys([*first, *extra]))


def _labels(expr: pq.Expr) -> Labels:
    if isinstance(expr, pq.NumberLiteral | pq.StringLiteral):
        return _SCALAR
    if isinstance(expr, pq.ParenExpr):
        return _labels(expr.expr)
    if isinstance(expr, pq.UnaryExpr | pq.SubqueryExpr):
        return _labels(expr.expr)
    if isinstance(expr, pq.VectorSelector | pq.MatrixSelector):
        return None
    if isinstance(expr, pq.AggregateExpr):
        return _aggregate(expr)
    if isinstance(expr, pq.Call):
        return _call(expr)
    if isinstance(expr, pq.BinaryExpr):
        return _binary(expr)
    return None


def _aggregate(expr: pq.AggregateExpr) -> Labels:
    op = str(expr.op)
    modifier = expr.modifier
    if op not in _GROUPING and op != "count_values":
        return _labels(expr.expr)  # topk, bottomk, limitk...: the series themselves
    if modifier is not None and modifier.type == pq.AggModifierType.Without:
        return None
    grouped = tuple(modifier.labels) if modifier is not None else ()
    if op == "count_values":
        param = expr.param
        if not isinstance(param, pq.StringLiteral):
            return None
        return tuple(dict.fromkeys([*grouped, param.val]))
    return grouped


def _call(expr: pq.Call) -> Labels:
    name = expr.func.name
    args = list(expr.args)
    if name in _SCALAR_FUNCTIONS:
        return _SCALAR
    if name == "vector":
        return ()
    if name in ("label_replace", "label_join") and len(args) > 1:
        target = args[1]
        extra = [target.val] if isinstance(target, pq.StringLiteral) else []
        return _union(_labels(args[0]), extra) if extra else None
    vectors = [found for found in map(_labels, args) if found != _SCALAR]
    if not vectors:
        return None  # absent() and the like: labels from the selector's matchers
    first = vectors[0]
    if name == "histogram_quantile" and first is not None:
        return tuple(label for label in first if label != "le")
    return first


def _binary(expr: pq.BinaryExpr) -> Labels:
    lhs, rhs = _labels(expr.lhs), _labels(expr.rhs)
    if lhs == _SCALAR:
        return rhs
    if rhs == _SCALAR:
        return lhs
    modifier = expr.modifier
    extra = list(modifier.group_labels or []) if modifier is not None else []
    if str(expr.op) == "or":
        return lhs if lhs == rhs else None
    if modifier is not None and modifier.card == pq.VectorMatchCardinality.OneToMany:
        return _union(rhs, extra)
    return _union(lhs, extra) if extra else lhs
