"""Tests for capplan.plan.expressions: parsing, whitelisting, vectorised evaluation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from capplan.errors import EvaluationError, ExpressionError, PlanError
from capplan.plan.expressions import Expression, compile_expression


def value(source: str | int | float, **env: object) -> float:
    """Evaluate a constant-shaped expression and return it as a Python float."""
    return float(compile_expression(source).evaluate(env))  # type: ignore[arg-type]


# -- seed formulas and constants ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ceil(300 / 50) + ceil(ceil(300 / 50) * 0.2)", 8.0),
        ("max(4, 2000 * 0.002) * 1.5", 6.0),
        ("max(1, 200 * 100 / 1024 * 1.5 / 1024)", 1.0),
        ("2 ** 10", 1024.0),
        ("7 // 2 + 7 % 4", 6.0),
        ("-3 + +2", -1.0),
        ("round(2.567, 2)", 2.57),
        ("round(2.4)", 2.0),
        ("round(1234, -2)", 1200.0),
        ("abs(-2.5) + floor(1.9) + sqrt(16)", 7.5),
        ("log(exp(2))", 2.0),
        ("log10(1000)", 3.0),
        ("pow(2, 3)", 8.0),
        ("clip(15, 0, 10)", 10.0),
        ("min(5, 3, 9)", 3.0),
        ("max(5, 3, 9, 1)", 9.0),
        ("where(0, 1, 2)", 2.0),
        ("1 if 2 > 1 else 0", 1.0),
    ],
)
def test_constant_formulas(source: str, expected: float) -> None:
    expr = compile_expression(source)
    assert expr.names == frozenset()
    result = expr.evaluate({})
    assert result.dtype == np.float64
    assert result.shape == ()
    assert float(result) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("source", "expected"), [(3, 3.0), (2.5, 2.5), ("12", 12.0), ("1e3", 1000.0)]
)
def test_numbers_compile_to_constants(source: int | float | str, expected: float) -> None:
    expr = compile_expression(source, path="x.y")
    assert expr.names == frozenset()
    assert expr.path == "x.y"
    assert expr.source == str(source)
    out = expr.evaluate({})
    assert out.shape == ()
    assert float(out) == expected


def test_constant_result_is_not_shared() -> None:
    expr = compile_expression("4")
    first = expr.evaluate({})
    first[...] = 99.0
    assert float(expr.evaluate({})) == 4.0


@pytest.mark.parametrize("bad", [True, None, [1], float("nan"), float("inf")])
def test_non_numbers_and_non_finite_numbers_rejected(bad: object) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(bad)  # type: ignore[arg-type]


def test_repr_and_attributes() -> None:
    expr = compile_expression("users * 0.15", path="metrics.concurrent")
    assert isinstance(expr, Expression)
    assert expr.source == "users * 0.15"
    assert expr.path == "metrics.concurrent"
    assert repr(expr) == "Expression('users * 0.15', path='metrics.concurrent')"
    assert repr(compile_expression("1")) == "Expression('1')"


# -- names -------------------------------------------------------------------------------


def test_names_extraction() -> None:
    expr = compile_expression(
        "max(4, agents * 0.002) * 1.5 + db.storage_gb_utilization - backend.instances"
        " + ceil(agents / x.y.z) if users > 0 and not paused else 0"
    )
    assert expr.names == frozenset(
        {"agents", "db.storage_gb_utilization", "backend.instances", "x.y.z", "users", "paused"}
    )


def test_function_names_are_not_quantities() -> None:
    expr = compile_expression("max(a, min(b, c)) + round(sqrt(d)) + clip(e, 0, 1)")
    assert expr.names == frozenset("abcde")


def test_dotted_names_looked_up_whole() -> None:
    expr = compile_expression("db.cost * backend.instances")
    out = expr.evaluate({"db.cost": np.array([1.0, 2.0]), "backend.instances": 3.0})
    np.testing.assert_array_equal(out, [3.0, 6.0])


def test_missing_name_at_evaluation() -> None:
    expr = compile_expression("users * 2", path="metrics.a")
    with pytest.raises(ExpressionError) as info:
        expr.evaluate({})
    assert "unknown name 'users' in 'users * 2'" in str(info.value)
    assert info.value.issues[0].path == "metrics.a"


def test_bare_name_result_is_a_copy() -> None:
    users = np.arange(4.0)
    out = compile_expression("users").evaluate({"users": users})
    out[0] = 42.0
    assert users[0] == 0.0


# -- vectorised evaluation ---------------------------------------------------------------


def test_vectorised_over_paths_and_periods() -> None:
    agents = np.arange(15, dtype=np.float64).reshape(3, 5) * 1000.0
    expr = compile_expression("max(4, agents * 0.002) * 1.5")
    out = expr.evaluate({"agents": agents})
    assert out.shape == (3, 5)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.maximum(4, agents * 0.002) * 1.5)


def test_broadcasts_periods_against_paths() -> None:
    users = np.arange(15, dtype=np.float64).reshape(3, 5)
    price = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = compile_expression("users * price + 1").evaluate({"users": users, "price": price})
    np.testing.assert_allclose(out, users * price + 1)


def test_integer_env_values_are_converted() -> None:
    out = compile_expression("a / 2").evaluate({"a": np.array([1, 2, 3])})
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [0.5, 1.0, 1.5])


def test_comparisons_and_boolean_ops() -> None:
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    env = {"x": x, "y": np.array([0.0, 1.0, 0.0])}
    np.testing.assert_array_equal(compile_expression("x > 2").evaluate(env), (x > 2) * 1.0)
    np.testing.assert_array_equal(
        compile_expression("1 < x <= 4").evaluate(env), ((x > 1) & (x <= 4)) * 1.0
    )
    np.testing.assert_array_equal(compile_expression("x == 3").evaluate(env), (x == 3) * 1.0)
    np.testing.assert_array_equal(compile_expression("x != 3").evaluate(env), (x != 3) * 1.0)
    np.testing.assert_array_equal(compile_expression("x >= 3").evaluate(env), (x >= 3) * 1.0)
    np.testing.assert_array_equal(compile_expression("x < 3").evaluate(env), (x < 3) * 1.0)
    np.testing.assert_array_equal(
        compile_expression("x and y").evaluate(env), ((x != 0) & (env["y"] != 0)) * 1.0
    )
    np.testing.assert_array_equal(
        compile_expression("x or y").evaluate(env), ((x != 0) | (env["y"] != 0)) * 1.0
    )
    np.testing.assert_array_equal(compile_expression("not x").evaluate(env), (x == 0) * 1.0)


def test_conditional_and_where() -> None:
    x = np.array([-2.0, 0.0, 3.0])
    expected = np.where(x > 0, x * 10, -x)
    np.testing.assert_array_equal(
        compile_expression("x * 10 if x > 0 else -x").evaluate({"x": x}), expected
    )
    np.testing.assert_array_equal(
        compile_expression("where(x > 0, x * 10, -x)").evaluate({"x": x}), expected
    )


def test_functions_vectorised() -> None:
    x = np.array([[0.4, 1.5, 2.6], [3.0, 4.49, 9.0]])
    env = {"x": x}
    cases = {
        "ceil(x)": np.ceil(x),
        "floor(x)": np.floor(x),
        "round(x)": np.round(x),
        "round(x, 1)": np.round(x, 1),
        "abs(-x)": x,
        "sqrt(x)": np.sqrt(x),
        "log(x)": np.log(x),
        "log10(x)": np.log10(x),
        "exp(x)": np.exp(x),
        "clip(x, 1, 3)": np.clip(x, 1, 3),
        "pow(x, 2)": x**2,
        "x ** 0.5": np.sqrt(x),
        "min(x, 2, 3)": np.minimum(x, 2),
        "max(x, 2)": np.maximum(x, 2),
        "x // 1 + x % 1": x,
    }
    for source, expected in cases.items():
        np.testing.assert_allclose(compile_expression(source).evaluate(env), expected)


def test_guarded_division_does_not_fail_where_not_selected() -> None:
    a = np.array([1.0, 1.0, 1.0])
    b = np.array([2.0, 0.0, 4.0])
    env = {"a": a, "b": b}
    out = compile_expression("a / b if b != 0 else 0").evaluate(env)
    np.testing.assert_array_equal(out, [0.5, 0.0, 0.25])
    out = compile_expression("where(b > 0, a / b, 0)").evaluate(env)
    np.testing.assert_array_equal(out, [0.5, 0.0, 0.25])
    out = compile_expression("b != 0 and a / b > 0.3").evaluate(env)
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.0])
    out = compile_expression("b == 0 or a / b > 0.3").evaluate(env)
    np.testing.assert_array_equal(out, [1.0, 1.0, 0.0])
    out = compile_expression("sqrt(b - 1) if b > 1 else 0").evaluate(env)
    np.testing.assert_allclose(out, [1.0, 0.0, np.sqrt(3.0)])


def test_multiline_and_padded_source() -> None:
    assert value("  1 +\n  2 ") == 3.0
    assert value("max(\n  a,\n  3)", a=np.float64(5)) == 5.0


def test_large_evaluation_is_vectorised() -> None:
    agents = np.random.default_rng(0).uniform(0, 10000, size=(10000, 37))
    out = compile_expression("max(4, agents * 0.002) * 1.5").evaluate({"agents": agents})
    assert out.shape == (10000, 37)
    np.testing.assert_allclose(out, np.maximum(4, agents * 0.002) * 1.5)


# -- compile-time rejections --------------------------------------------------------------


def error_text(source: str, path: str = "metrics.f") -> str:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, path=path)
    err = info.value
    assert isinstance(err, PlanError)
    assert len(err.issues) == 1
    assert err.issues[0].path == path
    return err.issues[0].message


def test_syntax_error_reports_column() -> None:
    assert (
        error_text("users * ") == "expression 'users * ' is not valid: invalid syntax at column 9"
    )
    assert "is not valid" in error_text("max(users, 1")
    assert "at column" in error_text("a = 1")


def test_empty_expression() -> None:
    assert "expression is empty" in error_text("   ")


def test_unknown_function() -> None:
    message = error_text("foo(users)")
    assert message.startswith("function 'foo' is not allowed in 'foo(users)'; allowed functions:")
    assert "abs, ceil, clip, exp, floor, log, log10, max, min, pow, round, sqrt, where" in message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("max(users)", "max() needs at least 2 arguments, got 1 in 'max(users)'"),
        ("min()", "min() needs at least 2 arguments, got 0 in 'min()'"),
        ("ceil(a, b)", "ceil() needs exactly 1 argument, got 2 in 'ceil(a, b)'"),
        ("sqrt()", "sqrt() needs exactly 1 argument, got 0"),
        ("clip(a, 1)", "clip() needs exactly 3 arguments, got 2"),
        ("where(a, 1)", "where() needs exactly 3 arguments, got 2"),
        ("pow(a)", "pow() needs exactly 2 arguments, got 1"),
        ("round(a, 1, 2)", "round() needs 1 to 2 arguments, got 3"),
    ],
)
def test_wrong_argument_counts(source: str, fragment: str) -> None:
    assert fragment in error_text(source)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("a[0]", "subscript is not allowed in 'a[0]'"),
        ("a + b[1:2]", "subscript is not allowed in 'a + b[1:2]' (got 'b[1:2]')"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in y]", "comprehension is not allowed"),
        ("sum(x for x in y)", "function 'sum' is not allowed"),
        ("max(x for x in y)", "generator expression is not allowed"),
        ("'abc'", "string is not allowed"),
        ("a + 'abc'", "string is not allowed in 'a + 'abc'' (got ''abc'')"),
        ("b'x'", "bytes is not allowed"),
        ("1j", "complex number is not allowed"),
        ("True", "boolean is not allowed"),
        ("None", "constant is not allowed"),
        ("round(x, ndigits=2)", "keyword argument 'ndigits=2' is not allowed"),
        ("max(a, **k)", "keyword argument '**k' is not allowed"),
        ("max(*a)", "starred argument '*a' is not allowed"),
        ("(x := 1)", "assignment expression ':=' is not allowed"),
        ('f"{x}"', "f-string is not allowed"),
        ("(1, 2)", "tuple is not allowed"),
        ("{1: 2}", "dict is not allowed"),
        ("x @ y", "operator '@' is not allowed"),
        ("x << 2", "operator '<<' is not allowed"),
        ("x & y", "operator '&' is not allowed"),
        ("~x", "operator '~' is not allowed"),
        ("x is y", "comparison 'is' is not allowed"),
        ("x in y", "comparison 'in' is not allowed"),
        ("max(a, b).real", "attribute access '.real' on 'max(a, b)' is not allowed"),
        ("(1).real", "attribute access '.real' on '1' is not allowed"),
        ("np.sqrt(x)", "function 'np.sqrt' is not allowed"),
        ("x.y()", "function 'x.y' is not allowed"),
        ("max(a, b)(c)", "calling 'max(a, b)' is not allowed"),
        ("__import__('os')", "function '__import__' is not allowed"),
        ("__builtins__", "name '__builtins__' is not allowed"),
        ("_private + 1", "name '_private' is not allowed in '_private + 1'"),
        ("db._secret", "name 'db._secret' is not allowed"),
        ("a.__class__", "name 'a.__class__' is not allowed"),
        ("max + 1", "'max' is a function, not a quantity"),
        ("round(x, y)", "round() needs a whole number of digits"),
        ("round(x, 1.5)", "got '1.5'"),
        ("round(x, 99)", "between -15 and 15"),
        ("1e999 * x", "number '1e999' in '1e999 * x' is too large"),
    ],
)
def test_rejections(source: str, fragment: str) -> None:
    assert fragment in error_text(source)


def test_rejection_mentions_what_is_allowed() -> None:
    message = error_text("a[0]")
    assert "an expression may use numbers, quantity names" in message


# -- evaluation errors -------------------------------------------------------------------


def eval_error(source: str, **env: object) -> str:
    expr = compile_expression(source, path="metrics.m")
    with pytest.raises(EvaluationError) as info:
        expr.evaluate(env)  # type: ignore[arg-type]
    assert info.value.issues[0].path == "metrics.m"
    return info.value.issues[0].message


def test_division_by_zero_names_period() -> None:
    b = np.array([1.0, 2.0, 3.0, 0.0, 5.0])
    assert (
        eval_error("a / b", a=np.ones(5), b=b)
        == "division by zero in 'a / b': 'b' is 0 in period 3"
    )


def test_division_by_zero_period_is_last_axis() -> None:
    b = np.ones((3, 5))
    b[2, 1] = 0.0
    b[0, 4] = 0.0
    message = eval_error("a / (b * 2)", a=1.0, b=b)
    assert message == "division by zero in 'a / (b * 2)': 'b * 2' is 0 in period 1"


@pytest.mark.parametrize("op", ["//", "%"])
def test_floor_division_and_modulo_by_zero(op: str) -> None:
    message = eval_error(f"a {op} b", a=np.ones(3), b=np.array([1.0, 0.0, 1.0]))
    assert message == f"division by zero in 'a {op} b': 'b' is 0 in period 1"


def test_constant_division_by_zero() -> None:
    assert "division by zero in 'x / 0': '0' is 0" in eval_error("x / 0", x=np.ones(3))
    assert "'0' is 0 in every period" in eval_error("1 / 0")


def test_guarded_division_fails_where_selected() -> None:
    x = np.arange(8.0)
    message = eval_error("x / 0 if x > 5 else 1", x=x)
    assert message.endswith("'0' is 0 in period 6")


def test_log_and_sqrt_domain() -> None:
    x = np.array([1.0, 2.0, -1.0, 4.0])
    assert eval_error("log(x)", x=x) == "'log(x)' is undefined in period 2: argument is -1.0"
    assert eval_error("log10(x - 1)", x=x) == (
        "'log10(x - 1)' is undefined in period 0: argument is 0.0"
    )
    message = eval_error("1 + sqrt(x)", x=x)
    assert message == "'sqrt(x)' is undefined in period 2: argument is -1.0 (in '1 + sqrt(x)')"
    assert value("sqrt(0)") == 0.0


def test_overflow_is_not_finite() -> None:
    message = eval_error("x ** 1000", x=np.array([10.0, 1.0]))
    assert message.startswith("result of 'x ** 1000' is not finite in period 0")
    assert "inf" in message


def test_non_finite_names_sub_expression() -> None:
    message = eval_error("y + x ** 1000", y=1.0, x=np.array([1.0, 10.0]))
    assert message == "result of 'y + x ** 1000' is not finite in period 1: 'x ** 1000' is inf"


def test_nan_is_detected() -> None:
    message = eval_error("x ** 0.5 + 1", x=np.array([4.0, -1.0]))
    assert message.startswith("result of 'x ** 0.5 + 1' is not finite in period 1")
    assert "'x ** 0.5' is nan" in message
    message = eval_error("x * 2", x=np.array([[1.0, 2.0], [np.nan, 1.0]]))
    assert message == "result of 'x * 2' is not finite in period 0: 'x' is nan"


def test_constant_overflow_reported_at_evaluation() -> None:
    assert "result of '10.0 ** 400' is not finite in every period" in eval_error("10.0 ** 400")


def test_evaluate_does_not_warn() -> None:
    with np.errstate(all="raise"):
        out = compile_expression("a / b if b != 0 else 0").evaluate(
            {"a": np.ones(2), "b": np.array([0.0, 2.0])}
        )
    np.testing.assert_array_equal(out, [0.0, 0.5])


# -- property ----------------------------------------------------------------------------

finite = st.floats(min_value=-1e100, max_value=1e100, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(
        np.float64,
        st.tuples(st.just(2), st.integers(1, 3), st.integers(1, 6)),
        elements=finite,
    )
)
def test_property_matches_numpy(data: np.ndarray) -> None:
    a = data[0]
    b = np.where(data[1] == 0, 1.0, data[1])
    expr = compile_expression("a * 2 + b / 3 - min(a, b)")
    out = expr.evaluate({"a": a, "b": b})
    expected = a * 2 + b / 3 - np.minimum(a, b)
    assert out.shape == a.shape
    np.testing.assert_array_equal(out, expected)


@settings(max_examples=100, deadline=None)
@given(
    a=hnp.arrays(np.float64, st.integers(1, 8), elements=finite),
    b=st.floats(min_value=1e-3, max_value=1e3),
)
def test_property_guarded_ratio(a: np.ndarray, b: float) -> None:
    expr = compile_expression("a / b if a > 0 else -a")
    out = expr.evaluate({"a": a, "b": b})
    np.testing.assert_array_equal(out, np.where(a > 0, a / b, -a))


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    huge = np.array([[1e308, 1e308, 1e308]])
    got = compile_expression("x * 1.5").evaluate({"x": huge})
    np.testing.assert_array_equal(got, huge * 1.5)


def test_an_infinity_among_finite_values_is_still_found() -> None:
    with pytest.raises(EvaluationError, match="not finite"):
        compile_expression("x * 2").evaluate({"x": np.array([[1.0, 1e308, 3.0]])})
