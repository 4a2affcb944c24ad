"""The platform's one expression language: gateway conditions, computed fields, visibility rules, timer
dates, service-task assignments and document placeholders all use it.

A small, C/CEL-like language with its own tokenizer and parser that compiles to a tree of closures once
per source text (cached). It never calls eval/exec, has no attribute access on Python objects (`a.b` only
reads keys of JSON objects), no loops, no user-defined functions; only the whitelisted functions below.
Sizes are bounded (source length, nesting depth, list and string sizes), so every evaluation finishes
quickly. See docs/expressions.md for the reference. Why not CEL (cel-python): docs/decisions/0002.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import workdays

MAX_SOURCE = 2000
MAX_DEPTH = 40
MAX_LIST = 10_000
MAX_STRING = 100_000
# Numbers read from text stay within this decimal exponent: "1.5e500000" would make floor() or int()
# build a half-million-digit integer.
MAX_EXPONENT = 30

Context = Mapping[str, Any]
Fn = Callable[[Context], Any]


class ExpressionError(Exception):
    def __init__(self, message: Any, code: str = "evaluation", position: int | None = None) -> None:
        self.message = message
        self.code = code
        self.position = position
        super().__init__(str(message))


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]])
    )""",
    re.VERBOSE,
)
KEYWORDS = {"true": True, "false": False, "null": None}
WORD_OPS = {"and": "&&", "or": "||", "not": "!", "in": "in"}


def _tokenize(source: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    end = len(source.rstrip())
    while pos < end:
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(
                _("无法识别的字符“%(c)s”。") % {"c": source[pos:].strip()[:1]}, "syntax", pos
            )
        start = match.start(match.lastgroup) if match.lastgroup else pos
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "number":
            tokens.append(("num", Decimal(text) if "." in text else int(text), start))
        elif kind == "string":
            body = text[1:-1]
            tokens.append(("str", re.sub(r"\\(.)", r"\1", body), start))
        elif kind == "name" and text in KEYWORDS:
            tokens.append(("const", KEYWORDS[text], start))
        elif kind == "name" and text in WORD_OPS:
            tokens.append(("op", WORD_OPS[text], start))
        elif kind == "name":
            if text.startswith("__"):
                raise ExpressionError(_("名称不能以“__”开头。"), "syntax", start)
            tokens.append(("name", text, start))
        else:
            tokens.append(("op", text, start))
        pos = match.end()
    tokens.append(("end", None, end))
    return tokens


# --- values -------------------------------------------------------------------------------------------


def _num(value: Any, pos: int | None = None) -> int | Decimal:
    if isinstance(value, bool) or value is None:
        raise ExpressionError(_("需要数字，得到“%(v)s”。") % {"v": value}, "type", pos)
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and len(value) <= 40:
        try:
            number = Decimal(value) if "." in value or "e" in value.lower() else int(value)
        except (InvalidOperation, ValueError):
            number = None
        if isinstance(number, int):
            return number
        if number is not None and number.is_finite() and abs(number.adjusted()) <= MAX_EXPONENT:
            return number
    raise ExpressionError(_("需要数字，得到“%(v)s”。") % {"v": value}, "type", pos)


def _date(value: Any, pos: int | None = None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ExpressionError(_("需要日期，得到“%(v)s”。") % {"v": value}, "type", pos)


def as_date(value: Any) -> date:
    """A date from a date, datetime or ISO string, as expressions read them; ExpressionError otherwise."""
    return _date(value)


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, date) or isinstance(b, date):
        return _date(a), _date(b)
    if (
        isinstance(a, int | float | Decimal)
        and not isinstance(a, bool)
        and isinstance(b, int | float | Decimal)
    ):
        return _num(a), _num(b)
    return a, b


def _today(ctx: Context) -> date:
    value = ctx.get("__today__")
    if value is not None:
        return _date(value)
    from django.utils import timezone

    return timezone.localdate()


def _id_birth(value: Any) -> date:
    text = str(value)
    if len(text) != 18:
        raise ExpressionError(_("不是18位公民身份号码。"), "type")
    return _date(f"{text[6:10]}-{text[10:12]}-{text[12:14]}")


def _field_values(items: Any, field: Any = None) -> list[Any]:
    if not isinstance(items, list):
        raise ExpressionError(_("需要列表。"), "type")
    if field is None:
        return items
    return [item.get(field) if isinstance(item, dict) else None for item in items]


def _round(x: Any, n: Any = 0) -> Decimal | int:
    value = Decimal(str(_num(x)))
    places = int(_num(n))
    if places <= 0:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _age(birth: Any, on: Any) -> int:
    b, d = _date(birth), _date(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _join(items: Any, sep: Any = "、", field: Any = None) -> str:
    """Text of the list's items (or of one field of each item), joined: join(missing, "、")."""
    if not isinstance(items, list):
        raise TypeError("join needs a list")
    values = _field_values(items, field) if field is not None else items
    text = str(sep).join("" if v is None else str(v) for v in values)
    if len(text) > MAX_STRING:
        raise ValueError("text too long")
    return text


def _len(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExpressionError(_("len() 需要文本或列表。"), "type")


# name -> (function taking evaluated args (and ctx), min args, max args, needs ctx)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "min": (lambda *a: min(_num(x) for x in (a[0] if len(a) == 1 and isinstance(a[0], list) else a)), 1, 20),
    "max": (lambda *a: max(_num(x) for x in (a[0] if len(a) == 1 and isinstance(a[0], list) else a)), 1, 20),
    "abs": (lambda x: abs(_num(x)), 1, 1),
    "round": (_round, 1, 2),
    "floor": (lambda x: math.floor(_num(x)), 1, 1),
    "ceil": (lambda x: math.ceil(_num(x)), 1, 1),
    "int": (lambda x: int(_num(x)), 1, 1),
    "number": (lambda x: _num(x), 1, 1),
    "str": (lambda x: "" if x is None else str(x), 1, 1),
    "len": (_len, 1, 1),
    "size": (_len, 1, 1),
    "sum": (
        lambda items, field=None: sum((_num(v) for v in _field_values(items, field) if v is not None), 0),
        1,
        2,
    ),
    "count": (lambda items, field=None: sum(1 for v in _field_values(items, field) if v), 1, 2),
    "count_where": (
        lambda items, field, value: sum(1 for v in _field_values(items, field) if v == value),
        3,
        3,
    ),
    "join": (_join, 1, 3),
    "pluck": (lambda items, field: list(_field_values(items, field)), 2, 2),
    "any": (lambda items, field=None: any(_field_values(items, field)), 1, 2),
    "all": (lambda items, field=None: all(_field_values(items, field)), 1, 2),
    "date": (lambda s: _date(s), 1, 1),
    "add_days": (lambda d, n: _date(d).fromordinal(_date(d).toordinal() + int(_num(n))), 2, 2),
    "add_months": (lambda d, n: workdays.add_months(_date(d), int(_num(n))), 2, 2),
    "add_working_days": (lambda d, n: workdays.add_working_days(_date(d), int(_num(n))), 2, 2),
    "days_between": (lambda a, b: (_date(b) - _date(a)).days, 2, 2),
    "working_days_between": (lambda a, b: workdays.working_days_between(_date(a), _date(b)), 2, 2),
    "months_between": (lambda a, b: workdays.whole_months_between(_date(a), _date(b)), 2, 2),
    "age": (_age, 2, 2),
    "year": (lambda d: _date(d).year, 1, 1),
    "month": (lambda d: _date(d).month, 1, 1),
    "day": (lambda d: _date(d).day, 1, 1),
    "id_birth_date": (_id_birth, 1, 1),
    "id_sex": (lambda v: "M" if int(str(v)[16]) % 2 else "F", 1, 1),
}
SPECIAL_FORMS = {"today", "has", "exists"}


class _Missing(Exception):
    pass


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0
        self.depth = 0
        self.variables: set[str] = set()

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, Any, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, op: str) -> bool:
        kind, value, _pos = self.peek()
        if kind == "op" and value == op:
            self.i += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            _k, value, pos = self.peek()
            raise ExpressionError(
                _("此处应为“%(op)s”，却是“%(got)s”。")
                % {"op": op, "got": value if value is not None else _("结尾")},
                "syntax",
                pos,
            )

    def parse(self) -> Fn:
        fn = self.expression()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ExpressionError(_("多余的内容“%(t)s”。") % {"t": value}, "syntax", pos)
        return fn

    def expression(self) -> Fn:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("表达式嵌套过深。"), "too_complex", self.peek()[2])
        try:
            return self.ternary()
        finally:
            self.depth -= 1

    def ternary(self) -> Fn:
        cond = self.binary_or()
        if self.accept("?"):
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return lambda c: yes(c) if _truthy(cond(c)) else no(c)
        return cond

    def binary_or(self) -> Fn:
        left = self.binary_and()
        while self.accept("||"):
            right = self.binary_and()
            left = (lambda a, b: lambda c: _truthy(a(c)) or _truthy(b(c)))(left, right)
        return left

    def binary_and(self) -> Fn:
        left = self.negation()
        while self.accept("&&"):
            right = self.negation()
            left = (lambda a, b: lambda c: _truthy(a(c)) and _truthy(b(c)))(left, right)
        return left

    def negation(self) -> Fn:
        if self.accept("!"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(_("表达式嵌套过深。"), "too_complex", self.peek()[2])
            inner = self.negation()
            self.depth -= 1
            return lambda c: not _truthy(inner(c))
        return self.comparison()

    def comparison(self) -> Fn:
        left = self.additive()
        kind, op, pos = self.peek()
        if kind == "op" and op in {"==", "!=", "<", "<=", ">", ">=", "in"}:
            self.i += 1
            right = self.additive()
            return _compare(op, left, right, pos)
        return left

    def additive(self) -> Fn:
        left = self.multiplicative()
        while True:
            kind, op, pos = self.peek()
            if kind == "op" and op in {"+", "-"}:
                self.i += 1
                right = self.multiplicative()
                left = _arith(op, left, right, pos)
            else:
                return left

    def multiplicative(self) -> Fn:
        left = self.unary()
        while True:
            kind, op, pos = self.peek()
            if kind == "op" and op in {"*", "/", "%"}:
                self.i += 1
                right = self.unary()
                left = _arith(op, left, right, pos)
            else:
                return left

    def unary(self) -> Fn:
        kind, op, pos = self.peek()
        if kind == "op" and op == "-":
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(_("表达式嵌套过深。"), "too_complex", pos)
            inner = self.unary()
            self.depth -= 1
            return lambda c: -_num(inner(c), pos)
        return self.postfix()

    def postfix(self) -> Fn:
        fn = self.primary()
        while True:
            kind, op, pos = self.peek()
            if kind == "op" and op == ".":
                self.i += 1
                k, name, npos = self.take()
                if k != "name":
                    raise ExpressionError(_("“.”后应为字段名。"), "syntax", npos)
                fn = _member(fn, _constant(name), npos)
            elif kind == "op" and op == "[":
                self.i += 1
                index = self.expression()
                self.expect("]")
                fn = _member(fn, index, pos)
            else:
                return fn

    def primary(self) -> Fn:
        kind, value, pos = self.take()
        if kind in {"num", "str", "const"}:
            return lambda c: value
        if kind == "op" and value == "(":
            fn = self.expression()
            self.expect(")")
            return fn
        if kind == "op" and value == "[":
            items: list[Fn] = []
            if not self.accept("]"):
                items.append(self.expression())
                while self.accept(","):
                    items.append(self.expression())
                self.expect("]")
            if len(items) > 1000:
                raise ExpressionError(_("列表过长。"), "too_complex", pos)
            return lambda c: [f(c) for f in items]
        if kind == "name":
            if self.peek()[0] == "op" and self.peek()[1] == "(":
                return self.call(value, pos)
            self.variables.add(value)
            return _variable(value, pos)
        raise ExpressionError(
            _("此处不应出现“%(t)s”。") % {"t": value if value is not None else _("结尾")}, "syntax", pos
        )

    def call(self, name: str, pos: int) -> Fn:
        self.expect("(")
        args: list[Fn] = []
        if not self.accept(")"):
            args.append(self.expression())
            while self.accept(","):
                args.append(self.expression())
            self.expect(")")
        if name == "today":
            return _today
        if name == "has":
            if len(args) != 1:
                raise ExpressionError(_("has() 需要一个参数。"), "syntax", pos)
            inner = args[0]

            def has(c: Context) -> bool:
                try:
                    return inner(c) is not None
                except _Missing:
                    return False

            return has
        if name == "exists":
            if len(args) != 1:
                raise ExpressionError(_("exists() 需要一个参数。"), "syntax", pos)
            arg = args[0]
            return lambda c: str(arg(c)) in c
        if name not in FUNCTIONS:
            raise ExpressionError(_("未知函数“%(f)s”。") % {"f": name}, "unknown_function", pos)
        func, low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise ExpressionError(_("函数“%(f)s”的参数个数不对。") % {"f": name}, "syntax", pos)

        def invoke(c: Context) -> Any:
            values = [a(c) for a in args]
            try:
                return func(*values)
            except ExpressionError as exc:
                if exc.position is None:
                    exc.position = pos
                raise
            except (TypeError, ValueError, OverflowError, InvalidOperation, IndexError) as exc:
                raise ExpressionError(
                    _("函数“%(f)s”无法处理这些参数：%(e)s") % {"f": name, "e": type(exc).__name__},
                    "type",
                    pos,
                )

        return invoke


def _constant(value: Any) -> Fn:
    return lambda c: value


def _truthy(value: Any) -> bool:
    return bool(value)


def _variable(name: str, pos: int) -> Fn:
    def read(c: Context) -> Any:
        try:
            return c[name]
        except KeyError:
            raise _Missing(name) from None

    return read


def _member(obj: Fn, key: Fn, pos: int) -> Fn:
    def read(c: Context) -> Any:
        container = obj(c)
        k = key(c)
        if isinstance(container, dict):
            if k in container:
                return container[k]
            raise _Missing(str(k))
        if isinstance(container, list) and isinstance(k, int) and not isinstance(k, bool):
            if -len(container) <= k < len(container):
                return container[k]
            raise _Missing(str(k))
        if isinstance(container, str) and isinstance(k, int) and not isinstance(k, bool):
            if -len(container) <= k < len(container):
                return container[k]
            raise _Missing(str(k))
        if container is None:
            raise _Missing(str(k))
        raise ExpressionError(_("无法读取“%(k)s”：不是对象或列表。") % {"k": k}, "type", pos)

    return read


def _compare(op: str, left: Fn, right: Fn, pos: int) -> Fn:
    def compare(c: Context) -> bool:
        a, b = left(c), right(c)
        if op == "in":
            if isinstance(b, list | dict):
                return a in b
            if isinstance(b, str) and isinstance(a, str):
                return a in b
            raise ExpressionError(_("“in”右边应为列表或文本。"), "type", pos)
        try:
            a2, b2 = _comparable(a, b)
        except ExpressionError:
            a2, b2 = a, b
        if op == "==":
            return bool(a2 == b2)
        if op == "!=":
            return bool(a2 != b2)
        try:
            if op == "<":
                return bool(a2 < b2)
            if op == "<=":
                return bool(a2 <= b2)
            if op == ">":
                return bool(a2 > b2)
            return bool(a2 >= b2)
        except TypeError:
            raise ExpressionError(_("无法比较“%(a)s”和“%(b)s”。") % {"a": a, "b": b}, "type", pos)

    return compare


def _arith(op: str, left: Fn, right: Fn, pos: int) -> Fn:
    def arith(c: Context) -> Any:
        a, b = left(c), right(c)
        if op == "+" and (isinstance(a, str) or isinstance(b, str)):
            text = ("" if a is None else str(a)) + ("" if b is None else str(b))
            if len(text) > MAX_STRING:
                raise ExpressionError(_("文本过长。"), "too_complex", pos)
            return text
        if op == "+" and isinstance(a, list) and isinstance(b, list):
            if len(a) + len(b) > MAX_LIST:
                raise ExpressionError(_("列表过长。"), "too_complex", pos)
            return a + b
        x, y = _num(a, pos), _num(b, pos)
        try:
            if op == "+":
                return x + y
            if op == "-":
                return x - y
            if op == "*":
                return x * y
            if y == 0:
                raise ExpressionError(_("除数为零。"), "division_by_zero", pos)
            if op == "%":
                return x % y
            result = Decimal(x) / Decimal(y)
            return int(result) if result == result.to_integral_value() else result
        except (DivisionByZero, InvalidOperation):
            raise ExpressionError(_("除数为零。"), "division_by_zero", pos)

    return arith


class CompiledExpression:
    __slots__ = ("source", "variables", "_fn")

    def __init__(self, source: str, fn: Fn, variables: frozenset[str]) -> None:
        self.source = source
        self.variables = variables
        self._fn = fn

    def evaluate(self, context: Context) -> Any:
        try:
            return self._fn(context)
        except _Missing as exc:
            raise ExpressionError(_("变量“%(v)s”不存在。") % {"v": exc.args[0]}, "unknown_variable")
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError(_("表达式过于复杂。"), "too_complex")
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(_("无法计算：%(e)s") % {"e": type(exc).__name__}, "evaluation")

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CompiledExpression:
    """Parse once, cache by source text. Raises ExpressionError (code syntax/unknown_function/too_complex)."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError(_("表达式为空。"), "syntax", 0)
    if len(source) > MAX_SOURCE:
        raise ExpressionError(
            _("表达式过长（最多%(n)d个字符）。") % {"n": MAX_SOURCE}, "too_complex", MAX_SOURCE
        )
    parser = _Parser(source)
    fn = parser.parse()
    return CompiledExpression(source, fn, frozenset(parser.variables))


def evaluate(source: str, context: Context) -> Any:
    return compile_expression(source).evaluate(context)
