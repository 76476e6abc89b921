"""A small Excel formula evaluator on openpyxl's formula Tokenizer, for ``xlrec convert``.

It evaluates what a workbook of xlrec formulas needs: the xlrec functions, references (absolute or relative,
to other sheets, to defined names and tables), numbers, text, logicals and error values, the operators
(``+ - * / ^ & % = <> < > <= >=``) and a set of common functions (``ROUND``, ``SUM``, ``IF``, ``IFERROR``,
...). Anything else raises :class:`Unsupported`, which ``convert`` reports with the cell's address.

The Tokenizer does the lexing; this module builds a tree from its tokens (precedence climbing, Excel's
precedence: ``-`` (negation) over ``%`` over ``^`` over ``* /`` over ``+ -`` over ``&`` over comparisons) and
evaluates it against a :class:`Sheets` source of cell values.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from openpyxl.formula import Tokenizer
from openpyxl.formula.tokenizer import Token, TokenizerError

__all__ = ["XlError", "Unsupported", "parse", "Evaluator", "function_names", "normalise_name"]


class XlError:
    """An Excel error value (``#N/A``, ``#VALUE!``...) with the reason, for the report."""

    __slots__ = ("code", "reason")

    def __init__(self, code, reason=""):
        self.code, self.reason = code, reason

    def __eq__(self, other):
        return isinstance(other, XlError) and other.code == self.code

    def __hash__(self):
        return hash(self.code)

    def __repr__(self):
        return f"XlError({self.code!r}, {self.reason!r})"


class Unsupported(Exception):
    """A formula this evaluator cannot compute (a function it does not know, an external reference...)."""


# ---------------------------------------------------------------------------------------------- parsing

_INFIX = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4, "^": 5}
_PREFIX_PRECEDENCE = 6  # Excel: -2^2 is 4
_POSTFIX_PRECEDENCE = 7


def normalise_name(func_token: str) -> str:
    """``_xludf.PREDICT_BOOKING(`` or ``'C:\\x\\xlrec.xlam'!predict_booking(`` -> ``PREDICT_BOOKING``."""
    name = func_token[:-1] if func_token.endswith("(") else func_token
    name = name.rsplit("!", 1)[-1]
    for prefix in ("_xludf.", "_xlfn._xlws.", "_xlfn.", "_xlws."):
        if name.lower().startswith(prefix):
            name = name[len(prefix):]
    return name.upper()


def _tokens(formula):
    try:
        items = Tokenizer(formula).items
    except (TokenizerError, ValueError, IndexError) as exc:
        raise Unsupported(f"cannot read the formula ({exc})") from None
    return [t for t in items if t.type != Token.WSPACE]


def function_names(formula) -> set:
    """The (normalised) names of the functions a formula calls."""
    return {normalise_name(t.value) for t in _tokens(formula) if t.type == Token.FUNC and t.subtype == Token.OPEN}


class _Parser:
    def __init__(self, formula):
        self.tokens = _tokens(formula)
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self):
        token = self.peek()
        if token is None:
            raise Unsupported("the formula ends too early")
        self.pos += 1
        return token

    def parse(self):
        if not self.tokens:
            raise Unsupported("the formula is empty")
        node = self.expression(0)
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek().value!r} in the formula")
        return node

    def expression(self, min_precedence):
        left = self.prefix()
        while True:
            token = self.peek()
            if token is None:
                return left
            if token.type == Token.OP_POST and token.value == "%" and _POSTFIX_PRECEDENCE >= min_precedence:
                self.pos += 1
                left = ("pct", left)
                continue
            if token.type == Token.OP_IN:
                if token.value not in _INFIX:
                    raise Unsupported(f"the operator {token.value!r} is not supported")
                precedence = _INFIX[token.value]
                if precedence < min_precedence:
                    return left
                self.pos += 1
                left = ("op", token.value, left, self.expression(precedence + 1))
                continue
            return left

    def prefix(self):
        token = self.next()
        if token.type == Token.OP_PRE:
            operand = self.expression(_PREFIX_PRECEDENCE)
            return ("neg", operand) if token.value == "-" else ("plus", operand)
        if token.type == Token.OPERAND:
            return self.operand(token)
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            return ("call", normalise_name(token.value), self.arguments())
        if token.type == Token.PAREN and token.subtype == Token.OPEN:
            node = self.expression(0)
            close = self.next()
            if close.type != Token.PAREN:
                raise Unsupported(f"unexpected {close.value!r} in the formula")
            return node
        if token.type == Token.ARRAY and token.subtype == Token.OPEN:
            return self.array()
        raise Unsupported(f"unexpected {token.value!r} in the formula")

    def arguments(self):
        args = []
        if self.peek() is not None and self.peek().type == Token.FUNC and self.peek().subtype == Token.CLOSE:
            self.pos += 1
            return args
        while True:
            token = self.peek()
            if token is not None and (token.type == Token.SEP or (token.type == Token.FUNC
                                                                    and token.subtype == Token.CLOSE)):
                args.append(("missing",))  # =ROUND(A1,) or an omitted optional argument
            else:
                args.append(self.expression(0))
            token = self.next()
            if token.type == Token.FUNC and token.subtype == Token.CLOSE:
                return args
            if not (token.type == Token.SEP and token.subtype == Token.ARG):
                raise Unsupported(f"unexpected {token.value!r} in the formula")

    def array(self):
        rows, row = [], []
        while True:
            token = self.next()
            if token.type == Token.ARRAY and token.subtype == Token.CLOSE:
                rows.append(row)
                break
            if token.type == Token.SEP:
                if token.subtype == Token.ROW:
                    rows.append(row)
                    row = []
                continue
            if token.type == Token.OP_PRE and token.value == "-":
                value = self.operand(self.next())
                row.append(-value[1] if value[0] == "const" and isinstance(value[1], float) else value[1])
                continue
            node = self.operand(token)
            if node[0] != "const":
                raise Unsupported("an array constant may hold only numbers, text and logicals")
            row.append(node[1])
        if len({len(r) for r in rows}) != 1:
            raise Unsupported("the rows of an array constant differ in length")
        return ("const", rows)

    @staticmethod
    def operand(token):
        if token.type != Token.OPERAND:
            raise Unsupported(f"unexpected {token.value!r} in the formula")
        if token.subtype == Token.NUMBER:
            return ("const", float(token.value))
        if token.subtype == Token.TEXT:
            return ("const", token.value[1:-1].replace('""', '"'))
        if token.subtype == Token.LOGICAL:
            return ("const", token.value.upper() == "TRUE")
        if token.subtype == Token.ERROR:
            return ("const", XlError(token.value.upper()))
        return ("ref", token.value)


def parse(formula: str):
    """The tree of a formula (``=`` included or not)."""
    if not formula.startswith("="):
        formula = "=" + formula
    return _Parser(formula).parse()


# ------------------------------------------------------------------------------------------- evaluation

def _is_table(v):
    return isinstance(v, list)


def _first_error(values):
    for v in values:
        if isinstance(v, XlError):
            return v
    return None


def _flatten(v):
    if _is_table(v):
        return [x for row in v for x in row]
    return [v]


def to_number(v, where="a value"):
    """Excel's coercion of one value to a number (blank is 0, TRUE is 1, numeric text is read)."""
    if isinstance(v, XlError):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip().replace(",", "")) if v.strip() else XlError("#VALUE!", f"{v!r} is not a number")
        except ValueError:
            return XlError("#VALUE!", f"{v!r} is not a number")
    return XlError("#VALUE!", f"{where} is not a number")


def to_text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def _scalar(v):
    """One value from an argument: a one-cell range gives its value; a larger one is Excel's #VALUE!."""
    if _is_table(v):
        if len(v) == 1 and len(v[0]) == 1:
            return v[0][0]
        return XlError("#VALUE!", "a range of several cells where one value is expected")
    return v


def _round(x, digits, mode):
    if isinstance(x, XlError):
        return x
    if isinstance(digits, XlError):
        return digits
    digits = int(digits) if digits >= 0 else -int(-digits)
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(x)).quantize(quantum, rounding=mode))


def _compare(op, a, b):
    def rank(v):  # Excel orders numbers < text < logicals; blank compares as 0 or ""
        if isinstance(v, bool):
            return 2, v
        if isinstance(v, str):
            return 1, v.casefold()
        return 0, v
    if a is None:
        a = "" if isinstance(b, str) else (False if isinstance(b, bool) else 0.0)
    if b is None:
        b = "" if isinstance(a, str) else (False if isinstance(a, bool) else 0.0)
    ra, rb = rank(a), rank(b)
    return {"=": ra == rb, "<>": ra != rb, "<": ra < rb, ">": ra > rb, "<=": ra <= rb, ">=": ra >= rb}[op]


def _arith(op, a, b):
    a, b = to_number(a), to_number(b)
    if isinstance(a, XlError):
        return a
    if isinstance(b, XlError):
        return b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return XlError("#DIV/0!", "division by zero") if b == 0 else a / b
    try:
        result = a ** b
    except (OverflowError, ZeroDivisionError):
        return XlError("#NUM!", "number too large")
    return result if isinstance(result, float) and math.isfinite(result) else XlError("#NUM!", "not a real number")


def _binary(op, a, b):
    if _is_table(a) or _is_table(b):  # element by element, a single value against every cell
        ta = a if _is_table(a) else [[a]]
        tb = b if _is_table(b) else [[b]]
        rows, cols = max(len(ta), len(tb)), max(len(ta[0]), len(tb[0]))

        def at(t, i, j):
            return t[i if len(t) > 1 else 0][j if len(t[0]) > 1 else 0] if (
                (len(t) == 1 or i < len(t)) and (len(t[0]) == 1 or j < len(t[0]))) else XlError("#N/A")
        return [[_binary(op, at(ta, i, j), at(tb, i, j)) for j in range(cols)] for i in range(rows)]
    if isinstance(a, XlError):
        return a
    if isinstance(b, XlError):
        return b
    if op == "&":
        return to_text(a) + to_text(b)
    if op in ("=", "<>", "<", ">", "<=", ">="):
        return _compare(op, a, b)
    return _arith(op, a, b)


def _numbers(args):
    """The numbers among SUM-like arguments: in ranges, only numbers count; direct arguments are coerced."""
    out = []
    for node_value, direct in args:
        if direct and not _is_table(node_value):
            n = to_number(node_value)
            if isinstance(n, XlError):
                return n
            out.append(n)
            continue
        for v in _flatten(node_value):
            if isinstance(v, XlError):
                return v
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(float(v))
    return out


class Evaluator:
    """Evaluates formula trees; ``resolve(ref_text, sheet) -> value or table`` reads references, and
    ``call(name, args) -> value`` computes the functions it is given (the xlrec ones)."""

    def __init__(self, resolve, extra_functions=None):
        self.resolve = resolve
        self.extra = extra_functions or {}

    def evaluate(self, node, sheet):
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "ref":
            return self.resolve(node[1], sheet)
        if kind == "missing":
            return None
        if kind == "neg":
            return self._unary(lambda x: -x, self.evaluate(node[1], sheet))
        if kind == "plus":
            return self.evaluate(node[1], sheet)
        if kind == "pct":
            return self._unary(lambda x: x / 100, self.evaluate(node[1], sheet))
        if kind == "op":
            return _binary(node[1], self.evaluate(node[2], sheet), self.evaluate(node[3], sheet))
        if kind == "call":
            return self.call(node[1], node[2], sheet)
        raise Unsupported(f"cannot evaluate {kind}")  # pragma: no cover - the parser makes no other node

    def _unary(self, f, v):
        if _is_table(v):
            return [[self._unary(f, x) for x in row] for row in v]
        n = to_number(v)
        return n if isinstance(n, XlError) else f(n)

    def call(self, name, nodes, sheet):
        if name in self.extra:
            return self.extra[name]([self.evaluate(n, sheet) for n in nodes], sheet)
        lazy = _LAZY.get(name)
        if lazy is not None:
            return lazy(self, nodes, sheet)
        f = _BUILTINS.get(name)
        if f is None:
            raise Unsupported(f"the function {name} is not one xlrec convert evaluates")
        values = [self.evaluate(n, sheet) for n in nodes]
        return f([(v, n[0] != "ref") for v, n in zip(values, nodes)])


def _need(args, lo, hi=None):
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise Unsupported("wrong number of arguments")


def _rounder(mode):
    def f(args):
        _need(args, 1, 2)
        x = to_number(_scalar(args[0][0]))
        digits = to_number(_scalar(args[1][0])) if len(args) > 1 else 0.0
        return _round(x, digits, mode)
    return f


def _sum(args):
    nums = _numbers(args)
    return nums if isinstance(nums, XlError) else math.fsum(nums)


def _minmax(pick):
    def f(args):
        nums = _numbers(args)
        if isinstance(nums, XlError):
            return nums
        return pick(nums) if nums else 0.0
    return f


def _average(args):
    nums = _numbers(args)
    if isinstance(nums, XlError):
        return nums
    return math.fsum(nums) / len(nums) if nums else XlError("#DIV/0!", "no number to average")


def _count(args):
    return float(sum(1 for v, _ in args for x in _flatten(v)
                     if isinstance(x, (int, float)) and not isinstance(x, bool)))


def _counta(args):
    return float(sum(1 for v, _ in args for x in _flatten(v) if x is not None))


def _text_fn(f, n_args=1):
    def g(args):
        _need(args, n_args, n_args)
        values = [_scalar(v) for v, _ in args]
        error = _first_error(values)
        return error if error else f(*values)
    return g


def _concat(args):
    parts = []
    for v, _ in args:
        for x in _flatten(v):
            if isinstance(x, XlError):
                return x
            parts.append(to_text(x))
    return "".join(parts)


def _abs_int(f):
    def g(args):
        _need(args, 1, 1)
        n = to_number(_scalar(args[0][0]))
        return n if isinstance(n, XlError) else f(n)
    return g


def _index(args):
    _need(args, 2, 3)
    table = args[0][0] if _is_table(args[0][0]) else [[args[0][0]]]
    r = to_number(_scalar(args[1][0]))
    c = to_number(_scalar(args[2][0])) if len(args) > 2 else 1.0
    error = _first_error([r, c])
    if error:
        return error
    if len(table) == 1 and len(args) == 2:  # INDEX(row_range, n) counts along the row
        r, c = 1.0, r
    r, c = int(r), int(c)
    if not (1 <= r <= len(table) and 1 <= c <= len(table[0])):
        return XlError("#REF!", "INDEX outside the range")
    return table[r - 1][c - 1]


def _is(test):
    def g(args):
        _need(args, 1, 1)
        return test(_scalar(args[0][0]))
    return g


def _bool(v):
    if isinstance(v, XlError):
        return v
    if isinstance(v, bool):
        return v
    n = to_number(v)
    return n if isinstance(n, XlError) else n != 0


def _if(ev, nodes, sheet):
    if not 1 <= len(nodes) <= 3:
        raise Unsupported("IF takes 1 to 3 arguments")
    test = _bool(_scalar(ev.evaluate(nodes[0], sheet)))
    if isinstance(test, XlError):
        return test
    if test:
        return ev.evaluate(nodes[1], sheet) if len(nodes) > 1 else True
    return ev.evaluate(nodes[2], sheet) if len(nodes) > 2 else False


def _iferror(only_na):
    def f(ev, nodes, sheet):
        if len(nodes) != 2:
            raise Unsupported("IFERROR and IFNA take 2 arguments")
        value = ev.evaluate(nodes[0], sheet)
        if isinstance(value, XlError) and (not only_na or value.code == "#N/A"):
            return ev.evaluate(nodes[1], sheet)
        return value
    return f


def _logic(combine):
    def f(ev, nodes, sheet):
        values = []
        for n in nodes:
            for v in _flatten(ev.evaluate(n, sheet)):
                if v is None or isinstance(v, str):
                    continue
                b = _bool(v)
                if isinstance(b, XlError):
                    return b
                values.append(b)
        return combine(values) if values else XlError("#VALUE!", "no logical value")
    return f


_BUILTINS = {
    "ROUND": _rounder(ROUND_HALF_UP),
    "ROUNDUP": _rounder(ROUND_UP),
    "ROUNDDOWN": _rounder(ROUND_DOWN),
    "INT": _abs_int(lambda x: float(math.floor(x))),
    "ABS": _abs_int(abs),
    "SUM": _sum,
    "MIN": _minmax(min),
    "MAX": _minmax(max),
    "AVERAGE": _average,
    "COUNT": _count,
    "COUNTA": _counta,
    "CONCATENATE": _concat,
    "CONCAT": _concat,
    "UPPER": _text_fn(lambda s: to_text(s).upper()),
    "LOWER": _text_fn(lambda s: to_text(s).lower()),
    "TRIM": _text_fn(lambda s: " ".join(p for p in to_text(s).split(" ") if p)),  # Excel trims spaces only
    "LEN": _text_fn(lambda s: float(len(to_text(s)))),
    "INDEX": _index,
    "NOT": _text_fn(lambda v: (lambda b: b if isinstance(b, XlError) else not b)(_bool(v))),
    "NA": lambda args: XlError("#N/A"),
    "TRUE": lambda args: True,
    "FALSE": lambda args: False,
    "ISBLANK": _is(lambda v: v is None),
    "ISNUMBER": _is(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "ISTEXT": _is(lambda v: isinstance(v, str)),
    "ISERROR": _is(lambda v: isinstance(v, XlError)),
    "ISNA": _is(lambda v: isinstance(v, XlError) and v.code == "#N/A"),
}

_LAZY = {
    "IF": _if,
    "IFERROR": _iferror(False),
    "IFNA": _iferror(True),
    "AND": _logic(all),
    "OR": _logic(any),
}

#: the functions (besides the xlrec ones) that ``xlrec convert`` evaluates
SUPPORTED = sorted(set(_BUILTINS) | set(_LAZY))
