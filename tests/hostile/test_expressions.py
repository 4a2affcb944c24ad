"""Any expression text, with any context, gives a value or ExpressionError, quickly; nothing reaches Python.

tests/test_expressions.py already fuzzes plain text and a small token soup; these tests add the whole
vocabulary (every function, strings, lists, members, indexing), grammatical random ASTs, hostile context
values (Python objects, dates, Decimals, deep lists) and a time box per evaluation.
"""

from __future__ import annotations

import contextlib
import math
import time
import types
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govflow.expressions import FUNCTIONS, SPECIAL_FORMS, ExpressionError, compile_expression
from tests.hostile import hostile

TIME_BOX = 0.05  # seconds per evaluation
NAMES = ["a", "b", "c", "s", "items", "when", "obj", "missing", "row", "settings"]
CALLABLES = sorted(FUNCTIONS) + sorted(SPECIAL_FORMS)


class Secret:
    password = "hunter2"

    def __repr__(self) -> str:
        return "Secret()"


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True, places=4)
    | st.dates().map(lambda d: d)
    | st.datetimes().map(lambda d: d)
    | st.dates().map(date.isoformat)
    | st.text(max_size=20)
    | st.sampled_from(["11010519491231002X", "440524188001010014", "1.5", "abc", "2013-02-30", "-0"])
)
VALUES = st.recursive(
    SCALARS | st.just(Secret()) | st.just(Secret) | st.just(math) | st.just(print),
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)
CONTEXTS = st.fixed_dictionaries({}, optional={name: VALUES for name in NAMES if name != "missing"}).map(
    lambda ctx: {**ctx, "__today__": "2013-11-04"}
)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


LEAVES = (
    st.sampled_from(NAMES)
    | st.integers(0, 10**12).map(str)
    | st.decimals(min_value=0, max_value=10**6, places=3).map(str)
    | st.text(max_size=8).map(_quoted)
    | st.sampled_from(["true", "false", "null", "today()", '"2013-11-04"', "[]", "0"])
)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from(
        ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in", "and", "or"]
    )
    return st.one_of(
        st.tuples(inner, binary, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["!", "-", "not "]), inner).map(lambda t: t[0] + t[1]),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(st.sampled_from(CALLABLES), st.lists(inner, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(inner, st.sampled_from(NAMES + ["password", "x"])).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    )


ASTS = st.recursive(LEAVES, _extend, max_leaves=25)
TOKENS = st.sampled_from(
    [*CALLABLES, *NAMES, "(", ")", "[", "]", ",", ".", "?", ":", "+", "-", "*", "/", "%", "!", "==", "<", ">=",
     "&&", "||", "in", "not", "1", "0", "2.5", '"x"', "'2013-01-01'", "true", "null", "__class__", "_x", "中文",
     '"', "'", "\\", "$", "`", "\n", "\x00"]
)  # fmt: skip


def run(source: str, context: dict[str, Any]) -> Any:
    """Compile and evaluate; return the value or the ExpressionError. Anything else fails the test."""
    try:
        compiled = compile_expression(source)
    except ExpressionError as exc:
        assert str(exc.message) and exc.code
        return exc
    start = time.perf_counter()
    try:
        result: Any = compiled.evaluate(context)
    except ExpressionError as exc:
        assert str(exc.message) and exc.code
        result = exc
    elapsed = time.perf_counter() - start
    if elapsed > TIME_BOX:  # once more: a garbage collection or a busy machine must not fail the test
        start = time.perf_counter()
        with contextlib.suppress(ExpressionError):
            compiled.evaluate(context)
        elapsed = time.perf_counter() - start
    assert elapsed < TIME_BOX, f"{source!r} took {elapsed * 1000:.0f} ms"
    return result


def assert_no_python_leaks(result: Any, context: dict[str, Any]) -> None:
    """A value is data: never a type, function or module unless the context handed that very object in."""
    if isinstance(result, type | types.FunctionType | types.BuiltinFunctionType | types.ModuleType):
        assert any(result is v for v in context.values()), f"expression produced {result!r}"


@hostile(400)
@given(source=ASTS, context=CONTEXTS)
def test_random_ast_gives_a_value_or_expression_error_quickly(source, context):
    assert_no_python_leaks(run(source, context), context)


@hostile(300)
@given(tokens=st.lists(TOKENS, max_size=30), joiner=st.sampled_from([" ", ""]), context=CONTEXTS)
def test_full_vocabulary_token_soup_gives_a_value_or_expression_error(tokens, joiner, context):
    assert_no_python_leaks(run(joiner.join(tokens), context), context)


@hostile(50)
@given(depth=st.integers(1, 400), opener=st.sampled_from(["(", "[", "!", "-", "f(", "a[", "a ? "]))
def test_deep_nesting_is_refused_at_compile_time(depth, opener):
    source = opener * depth + "1"
    start = time.perf_counter()
    run(source, {"a": [1]})
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "source",
    [
        "x.__class__",
        "().__class__",
        "''.join",
        "''.join(['a'])",
        "__import__('os')",
        "__import__('os').system('true')",
        "x.__dict__",
        "x['__class__']",
        "x.password",
        "x['password']",
        "[].__class__.__base__",
        "''.__class__.__mro__[1].__subclasses__()",
        "s.upper",
        "s.upper()",
        "str.join",
        "items.append(1)",
        "getattr(x, 'password')",
        "eval('1')",
        "exec('1')",
        "open('/etc/passwd')",
        "math.pi",
        "print('x')",
        "x.__init__.__globals__",
    ],
)
def test_python_attributes_and_dunders_never_reach_python(source):
    context = {
        "x": Secret(),
        "s": "text",
        "items": [1, 2],
        "str": str,
        "math": math,
        "print": print,
        "getattr": getattr,
    }
    with pytest.raises(ExpressionError):
        compile_expression(source).evaluate(context)


@pytest.mark.parametrize(
    "value", [Secret(), Secret, print, math, object(), lambda: 1, datetime(2013, 1, 1), Decimal("NaN")]
)
@pytest.mark.parametrize("member", [".password", ".__class__", "['password']", "['__class__']", "[0]", ".x"])
def test_member_access_on_python_objects_is_refused(value, member):
    with pytest.raises(ExpressionError):
        compile_expression("v" + member).evaluate({"v": value})


def test_numeric_text_with_a_huge_exponent_is_refused_quickly():
    start = time.perf_counter()
    run('int("1.5e100000") > 0', {})
    assert time.perf_counter() - start < TIME_BOX
