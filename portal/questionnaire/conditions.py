"""The expression language of show_if, required_if, constraint, evidence and triage.

A small recursive-descent parser and an evaluator of our own: no ``eval``, no
attribute or item access, no names but question ids and five functions. So a
definition written by a curator can never run code, whatever it contains.

Answers may be unknown (unanswered, or hidden by show_if). Evaluation follows
Kleene's three-valued logic: ``UNKNOWN and False`` is False, ``UNKNOWN or True``
is True, and anything else touching UNKNOWN is UNKNOWN. Callers decide what an
unknown result means (hidden, not required, passes, or counts as risky).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


class _Unknown:
    """The value of an unanswered or hidden question."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value: test it with `is UNKNOWN`")


UNKNOWN: Any = _Unknown()


class ExpressionError(ValueError):
    """A syntax or type error in an expression, with the position (1-based)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(message if position is None else f"{message} (at character {position})")


# --- Tokens -----------------------------------------------------------------

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
FUNCTIONS = frozenset({"selected", "count", "answered", "today", "date"})
MAX_LENGTH = 2000
# The walkers recurse once per operator: a cap on tokens keeps even a flat
# chain like 1+1+1+... far from Python's recursion limit.
MAX_TOKENS = 200


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, name, keyword, end
    text: str
    position: int


def tokenise(source: str) -> list[Token]:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        match = TOKEN.match(source, index)
        if match is None:
            raise ExpressionError(f"unexpected character {source[index]!r}", index + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            if kind == "name" and text in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, text, index + 1))
        index = match.end()
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(
                f"expression has more than {MAX_TOKENS} parts: split the condition", index + 1
            )
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


# --- Syntax tree ------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any
    position: int


@dataclass(frozen=True)
class Name:
    id: str
    position: int


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Unary:
    op: str  # "not" or "-"
    operand: Node
    position: int


@dataclass(frozen=True)
class Binary:
    op: str  # and or == != < <= > >= in not_in + -
    left: Node
    right: Node
    position: int


Node = Literal | Name | ListExpr | Call | Unary | Binary

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
MAX_DEPTH = 50


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenise(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise ExpressionError(
                f"expected {what}, found {self.describe(self.current)}", self.current.position
            )
        return token

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.text)

    def parse(self) -> Node:
        node = self.expression()
        if self.current.kind != "end":
            raise ExpressionError(
                f"unexpected {self.describe(self.current)}", self.current.position
            )
        return node

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression is nested too deeply", self.current.position)
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (token := self.accept("keyword", "or")) is not None:
            node = Binary("or", node, self.and_expr(), token.position)
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while (token := self.accept("keyword", "and")) is not None:
            node = Binary("and", node, self.not_expr(), token.position)
        return node

    def not_expr(self) -> Node:
        token = self.accept("keyword", "not")
        if token is not None:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("expression is nested too deeply", token.position)
            try:
                return Unary("not", self.not_expr(), token.position)
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        token = self.current
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            return Binary(token.text, left, self.additive(), token.position)
        if token.kind == "keyword" and token.text == "in":
            self.advance()
            return Binary("in", left, self.additive(), token.position)
        if (
            token.kind == "keyword"
            and token.text == "not"
            and self.tokens[self.index + 1].text == "in"
        ):
            self.advance()
            self.advance()
            return Binary("not_in", left, self.additive(), token.position)
        return left

    def additive(self) -> Node:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            token = self.advance()
            node = Binary(token.text, node, self.unary(), token.position)
        return node

    def unary(self) -> Node:
        token = self.accept("op", "-")
        if token is not None:
            return Unary("-", self.primary(), token.position)
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Literal(
                float(token.text) if "." in token.text else int(token.text), token.position
            )
        if token.kind == "string":
            self.advance()
            return Literal(_unquote(token.text), token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.advance()
            return Literal(token.text == "true", token.position)
        if token.kind == "op" and token.text == "(":
            self.advance()
            node = self.expression()
            self.expect("op", ")", "')'")
            return node
        if token.kind == "op" and token.text == "[":
            self.advance()
            items: list[Node] = []
            if self.accept("op", "]") is None:
                items.append(self.expression())
                while self.accept("op", ",") is not None:
                    items.append(self.expression())
                self.expect("op", "]", "',' or ']'")
            return ListExpr(tuple(items), token.position)
        if token.kind == "name":
            self.advance()
            if self.accept("op", "(") is not None:
                if token.text not in FUNCTIONS:
                    raise ExpressionError(
                        f"unknown function {token.text!r}; use one of {', '.join(sorted(FUNCTIONS))}",
                        token.position,
                    )
                args: list[Node] = []
                if self.accept("op", ")") is None:
                    args.append(self.expression())
                    while self.accept("op", ",") is not None:
                        args.append(self.expression())
                    self.expect("op", ")", "',' or ')'")
                return Call(token.text, tuple(args), token.position)
            return Name(token.text, token.position)
        raise ExpressionError(f"unexpected {self.describe(token)}", token.position)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(source: str) -> Node:
    """Parse an expression; raise ExpressionError with the position of the fault."""
    return _Parser(source).parse()


def names(node: Node) -> Iterator[str]:
    """Every question id an expression reads."""
    match node:
        case Name(id=ident):
            yield ident
        case Call(args=args):
            for arg in args:
                yield from names(arg)
        case ListExpr(items=items):
            for item in items:
                yield from names(item)
        case Unary(operand=operand):
            yield from names(operand)
        case Binary(left=left, right=right):
            yield from names(left)
            yield from names(right)
        case _:
            return


# --- Static types -----------------------------------------------------------
# Kinds: "text", "number", "date", "bool", "choices" (a multi-choice answer),
# "rows" (a table), "files", "list:<kind>" and "any" (an empty list).


def _is_list(kind: str) -> bool:
    return kind.startswith("list:")


def check_types(
    node: Node,
    kinds: Mapping[str, str],
    choice_values: Mapping[str, frozenset[str]] | None = None,
) -> str:
    """The kind an expression gives, or ExpressionError for a mistake.

    ``kinds`` maps each known id to its kind; ``choice_values`` the allowed
    values of choice questions, so ``q == 'typo'`` is caught at load time.
    """
    choices = choice_values or {}

    def kind_of(n: Node) -> str:
        match n:
            case Literal(value=value):
                if isinstance(value, bool):
                    return "bool"
                return "number" if isinstance(value, int | float) else "text"
            case Name(id=ident, position=pos):
                if ident not in kinds:
                    raise ExpressionError(f"unknown question id {ident!r}", pos)
                return kinds[ident]
            case ListExpr(items=items, position=pos):
                item_kinds = {kind_of(item) for item in items}
                if len(item_kinds) > 1:
                    raise ExpressionError("a list must hold values of one kind", pos)
                return f"list:{item_kinds.pop()}" if item_kinds else "list:any"
            case Call(function=function, args=args, position=pos):
                return call_kind(function, args, pos)
            case Unary(op="not", operand=operand, position=pos):
                expect(operand, "bool", "'not' needs a condition", pos)
                return "bool"
            case Unary(op=_, operand=operand, position=pos):
                expect(operand, "number", "'-' needs a number", pos)
                return "number"
            case Binary(op=op, left=left, right=right, position=pos):
                return binary_kind(op, left, right, pos)
        raise ExpressionError("unsupported expression")  # pragma: no cover

    def expect(n: Node, kind: str, message: str, pos: int) -> None:
        if kind_of(n) != kind:
            raise ExpressionError(message, pos)

    def call_kind(function: str, args: tuple[Node, ...], pos: int) -> str:
        arity = {"selected": 2, "count": 1, "answered": 1, "today": 0, "date": 1}[function]
        if len(args) != arity:
            raise ExpressionError(
                f"{function}() takes {arity} argument{'s' if arity != 1 else ''}", pos
            )
        if function in ("selected", "count", "answered"):
            if not isinstance(args[0], Name):
                raise ExpressionError(f"{function}() needs a question id first", pos)
            target = kind_of(args[0])
            if function == "selected":
                if target not in ("choices", "text"):
                    raise ExpressionError("selected() needs a choice question", pos)
                if not (isinstance(args[1], Literal) and isinstance(args[1].value, str)):
                    raise ExpressionError("selected() needs a choice value in quotes second", pos)
                _check_choice(args[0].id, args[1].value, choices, args[1].position)
                return "bool"
            if function == "count" and target not in ("choices", "rows", "files"):
                raise ExpressionError(
                    "count() needs a multiple-choice, table or file question", pos
                )
            return "number" if function == "count" else "bool"
        if function == "date":
            if not (isinstance(args[0], Literal) and isinstance(args[0].value, str)):
                raise ExpressionError("date() needs a date in quotes, like date('2027-03-31')", pos)
            try:
                date.fromisoformat(args[0].value)
            except ValueError as exc:
                raise ExpressionError(
                    f"{args[0].value!r} is not a date like '2027-03-31'", pos
                ) from exc
        return "date"

    def binary_kind(op: str, left: Node, right: Node, pos: int) -> str:
        if op in ("and", "or"):
            expect(left, "bool", f"'{op}' needs conditions on both sides", pos)
            expect(right, "bool", f"'{op}' needs conditions on both sides", pos)
            return "bool"
        lk, rk = kind_of(left), kind_of(right)
        if op in ("+", "-"):
            if lk == "date" and rk == "number":
                return "date"
            if lk == rk == "number":
                return "number"
            raise ExpressionError(f"cannot {'add' if op == '+' else 'subtract'} {lk} and {rk}", pos)
        if op in ("in", "not_in"):
            if not _is_list(rk):
                raise ExpressionError(f"'{op.replace('_', ' ')}' needs a list like ['a', 'b']", pos)
            item = rk[5:]
            if item != "any" and not _comparable(lk, item):
                raise ExpressionError(f"cannot look for a {lk} in a list of {item}", pos)
            if isinstance(left, Name) and isinstance(right, ListExpr):
                for element in right.items:
                    if isinstance(element, Literal) and isinstance(element.value, str):
                        _check_choice(left.id, element.value, choices, element.position)
            return "bool"
        if not _comparable(lk, rk):
            raise ExpressionError(f"cannot compare {lk} with {rk}", pos)
        if op not in ("==", "!=") and lk not in ("number", "date"):
            raise ExpressionError(f"'{op}' needs numbers or dates, not {lk}", pos)
        for name_side, literal_side in ((left, right), (right, left)):
            if (
                isinstance(name_side, Name)
                and isinstance(literal_side, Literal)
                and isinstance(literal_side.value, str)
            ):
                _check_choice(name_side.id, literal_side.value, choices, literal_side.position)
        return "bool"

    return kind_of(node)


def _comparable(a: str, b: str) -> bool:
    return a == b or "any" in (a, b)


def _check_choice(ident: str, value: str, choices: Mapping[str, frozenset[str]], pos: int) -> None:
    allowed = choices.get(ident)
    if allowed is not None and value not in allowed:
        raise ExpressionError(
            f"{value!r} is not a choice of {ident} (choices: {', '.join(sorted(allowed))})", pos
        )


# --- Evaluation -------------------------------------------------------------


def evaluate(
    node: Node, answers: Mapping[str, Any], today: date | None = None, *, complete: bool = False
) -> Any:
    """True, False, a value, or UNKNOWN. ``answers`` holds only visible answers.

    ``complete`` says the answers are final (the response was submitted): a
    question without an answer then was not asked or was left empty, so
    ``count()`` of it is 0 and ``selected()`` false, not unknown.
    """
    now = today or date.today()

    def value_of(n: Node) -> Any:
        match n:
            case Literal(value=value):
                return value
            case Name(id=ident):
                return _coerce(answers.get(ident, UNKNOWN))
            case ListExpr(items=items):
                return [value_of(item) for item in items]
            case Call(function=function, args=args):
                return call(function, args)
            case Unary(op="not", operand=operand):
                result = value_of(operand)
                return UNKNOWN if result is UNKNOWN else not result
            case Unary(op=_, operand=operand):
                result = value_of(operand)
                return UNKNOWN if result is UNKNOWN else -result
            case Binary(op="and", left=left, right=right):
                return _and(value_of(left), lambda: value_of(right))
            case Binary(op="or", left=left, right=right):
                return _or(value_of(left), lambda: value_of(right))
            case Binary(op=op, left=left, right=right):
                return binary(op, value_of(left), value_of(right))
        return UNKNOWN  # pragma: no cover

    def call(function: str, args: tuple[Node, ...]) -> Any:
        if function == "today":
            return now
        if function == "date":
            return date.fromisoformat(str(value_of(args[0])))
        target = args[0]
        raw = answers.get(target.id, UNKNOWN) if isinstance(target, Name) else UNKNOWN
        if function == "answered":
            return raw is not UNKNOWN and raw not in (None, "", [])
        if raw is UNKNOWN or raw is None or raw == "" or raw == []:
            if not complete:
                return UNKNOWN
            return 0 if function == "count" else False
        if function == "count":
            return len(raw) if isinstance(raw, list) else 1
        wanted = value_of(args[1])
        return wanted in raw if isinstance(raw, list) else raw == wanted

    def binary(op: str, left: Any, right: Any) -> Any:
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if op in ("in", "not_in"):
            if any(item is UNKNOWN for item in right):
                return UNKNOWN
            found = left in right
            return found if op == "in" else not found
        if op in ("+", "-"):
            try:
                if isinstance(left, date):
                    days = timedelta(days=right)
                    return left + days if op == "+" else left - days
                return left + right if op == "+" else left - right
            except (OverflowError, TypeError):
                return UNKNOWN  # past the calendar's range, or an answer of the wrong shape
        try:
            return COMPARE[op](left, right)
        except TypeError:
            return UNKNOWN  # an answer of an unexpected shape: not known to hold

    return value_of(node)


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _coerce(value: Any) -> Any:
    """A blank answer is an unknown one. (Callers pass dates as ``date`` objects.)"""
    if value is None or value == "" or value == []:
        return UNKNOWN
    return value


def _and(left: Any, right: Callable[[], Any]) -> Any:
    if left is False:
        return False
    other = right()
    if other is False:
        return False
    if left is UNKNOWN or other is UNKNOWN:
        return UNKNOWN
    return bool(left) and bool(other)


def _or(left: Any, right: Callable[[], Any]) -> Any:
    if left is True:
        return True
    other = right()
    if other is True:
        return True
    if left is UNKNOWN or other is UNKNOWN:
        return UNKNOWN
    return bool(left) or bool(other)


def holds(result: Any, *, unknown: bool) -> bool:
    """Turn a three-valued result into a decision, saying what unknown means."""
    if result is UNKNOWN:
        return unknown
    return result is True
