"""The expression language of show_if, required_if, constraint, evidence and triage.

Held to questionnaires/README.md ("Expressions"): a small language of its own,
never Python's eval, with three-valued logic for unknown answers and mistakes
caught (with their position) when a definition loads.
"""

from __future__ import annotations

import string
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.questionnaire.conditions import (
    UNKNOWN,
    Binary,
    Call,
    ExpressionError,
    ListExpr,
    Literal,
    Name,
    Unary,
    check_types,
    evaluate,
    holds,
    parse,
)

TODAY = date(2026, 11, 28)

# Kinds of the ids the tests use (see conditions.check_types).
KINDS = {
    "a": "bool",
    "b": "bool",
    "c": "bool",
    "n": "number",
    "x": "number",
    "t": "text",
    "q": "text",
    "s": "text",
    "d": "date",
    "m": "choices",
    "r": "rows",
    "f": "files",
}
CHOICES = {
    "q": frozenset({"yes", "no"}),
    "s": frozenset({"x", "y", "z"}),
    "m": frozenset({"x", "y", "z"}),
}
NODE_TYPES = (Literal, Name, ListExpr, Call, Unary, Binary)


def ev(source: str, answers: dict[str, Any] | None = None) -> Any:
    return evaluate(parse(source), answers or {}, TODAY)


def kind(source: str) -> str:
    return check_types(parse(source), KINDS, CHOICES)


def is_three_valued(result: Any) -> bool:
    return result is True or result is False or result is UNKNOWN


# --- Precedence -----------------------------------------------------------

BOOLS = [True, False]


@pytest.mark.parametrize("a", BOOLS)
@pytest.mark.parametrize("b", BOOLS)
@pytest.mark.parametrize("c", BOOLS)
def test_and_binds_tighter_than_or(a: bool, b: bool, c: bool) -> None:
    answers = {"a": a, "b": b, "c": c}
    assert ev("a or b and c", answers) is (a or (b and c))
    assert ev("a and b or c", answers) is ((a and b) or c)
    assert ev("(a or b) and c", answers) is ((a or b) and c)


@pytest.mark.parametrize("a", BOOLS)
@pytest.mark.parametrize("b", BOOLS)
def test_not_binds_tighter_than_and_and_or(a: bool, b: bool) -> None:
    answers = {"a": a, "b": b}
    assert ev("not a and b", answers) is ((not a) and b)
    assert ev("not a or b", answers) is ((not a) or b)
    assert ev("not (a and b)", answers) is (not (a and b))
    assert ev("not not a", answers) is a


def test_brackets_change_the_grouping() -> None:
    answers = {"a": True, "b": False, "c": False}
    assert ev("a or b and c", answers) is True
    assert ev("(a or b) and c", answers) is False


def test_comparisons_bind_tighter_than_and_or_and_not() -> None:
    answers = {"n": 2, "t": "x"}
    assert ev("n == 2 and t == 'x'", answers) is True
    assert ev("n == 3 or t == 'x'", answers) is True
    # `not n == 1` is `not (n == 1)`, not `(not n) == 1`.
    assert ev("not n == 1", answers) is True
    assert kind("not n == 1") == "bool"


def test_arithmetic_binds_tighter_than_comparison_and_is_left_associative() -> None:
    assert ev("n + 1 > 2", {"n": 2}) is True
    assert ev("10 - 3 - 2 == 5") is True
    assert ev("10 - (3 - 2) == 9") is True


# --- Literals, operators and functions -----------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'text'", "text"),
        ('"text"', "text"),
        ("''", ""),
        (r"'it\'s'", "it's"),
        ('"it\'s"', "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        ("42", 42),
        ("0", 0),
        ("2.5", 2.5),
        ("true", True),
        ("false", False),
        ("[1, 2, 3]", [1, 2, 3]),
        ("['a', \"b\"]", ["a", "b"]),
        ("[]", []),
        ("-5", -5),
        ("-(2 + 3)", -5),
        ("date('2027-03-31')", date(2027, 3, 31)),
        ("today()", TODAY),
    ],
)
def test_literal_values(source: str, value: Any) -> None:
    result = ev(source)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'42'", "text"),
        ("42", "number"),
        ("2.5", "number"),
        ("-n", "number"),
        ("true", "bool"),
        ("[1, 2]", "list:number"),
        ("['a']", "list:text"),
        ("today()", "date"),
        ("date('2027-03-31')", "date"),
        ("d + 30", "date"),
        ("today() - 14", "date"),
        ("n + 1", "number"),
        ("count(m)", "number"),
        ("count(r)", "number"),
        ("count(f)", "number"),
        ("answered(t)", "bool"),
        ("selected(m, 'x')", "bool"),
        ("selected(s, 'x')", "bool"),
        ("t in ['a', 'b']", "bool"),
        ("n not in [1, 2]", "bool"),
        ("d >= today() - 14", "bool"),
    ],
)
def test_kinds_of_valid_expressions(source: str, expected: str) -> None:
    assert kind(source) == expected


def test_in_and_not_in() -> None:
    assert ev("t in ['a', 'b']", {"t": "a"}) is True
    assert ev("t in ['a', 'b']", {"t": "c"}) is False
    assert ev("t not in ['a', 'b']", {"t": "c"}) is True
    assert ev("t not in ['a', 'b']", {"t": "b"}) is False
    assert ev("n in [1, 2, 3]", {"n": 2}) is True
    assert ev("n in []", {"n": 2}) is False


@pytest.mark.parametrize(
    ("op", "expected"),
    [("==", False), ("!=", True), ("<", True), ("<=", True), (">", False), (">=", False)],
)
def test_comparisons_of_numbers(op: str, expected: bool) -> None:
    assert ev(f"n {op} 5", {"n": 3}) is expected
    assert ev(f"n {op} 5.0", {"n": 3.0}) is expected
    assert ev(f"3 {op} 3", {}) is (op in ("==", "<=", ">="))


@pytest.mark.parametrize(
    ("op", "expected"),
    [("==", False), ("!=", True), ("<", True), ("<=", True), (">", False), (">=", False)],
)
def test_comparisons_of_dates(op: str, expected: bool) -> None:
    assert ev(f"d {op} date('2027-03-31')", {"d": date(2027, 1, 1)}) is expected
    assert ev(f"d {op} today()", {"d": date(2026, 11, 27)}) is expected
    assert kind(f"d {op} date('2027-03-31')") == "bool"


def test_equality_of_text() -> None:
    assert ev("t == 'abc'", {"t": "abc"}) is True
    assert ev("t == 'abc'", {"t": "ABC"}) is False
    assert ev("t != 'abc'", {"t": "ABC"}) is True
    assert ev("'abc' == t", {"t": "abc"}) is True
    assert ev('t == "a b"', {"t": "a b"}) is True


def test_selected() -> None:
    assert ev("selected(m, 'x')", {"m": ["x", "y"]}) is True
    assert ev("selected(m, 'z')", {"m": ["x", "y"]}) is False
    # A single choice "includes" its one value.
    assert ev("selected(s, 'x')", {"s": "x"}) is True
    assert ev("selected(s, 'y')", {"s": "x"}) is False
    assert ev("selected(m, 'x')", {}) is UNKNOWN


def test_count() -> None:
    assert ev("count(m)", {"m": ["x", "y", "z"]}) == 3
    assert ev("count(r)", {"r": [{"name": "A"}, {"name": "B"}]}) == 2
    assert ev("count(f) >= 1", {"f": [17]}) is True
    assert ev("count(m)", {}) is UNKNOWN
    assert ev("count(m) > 1", {}) is UNKNOWN


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"t": "abc"}, True),
        ({"n": 0}, False),
        ({}, False),
        ({"t": ""}, False),
        ({"t": None}, False),
        ({"t": []}, False),
    ],
)
def test_answered_is_never_unknown(answers: dict[str, Any], expected: bool) -> None:
    assert ev("answered(t)", answers) is expected


def test_date_arithmetic_in_days() -> None:
    assert ev("d + 30", {"d": date(2026, 11, 28)}) == date(2026, 12, 28)
    assert ev("d - 1", {"d": date(2027, 1, 1)}) == date(2026, 12, 31)
    assert ev("today() - 14") == date(2026, 11, 14)
    assert ev("today() + 3 == date('2026-12-01')") is True
    assert ev("d >= today() - 14", {"d": date(2026, 11, 14)}) is True
    assert ev("d >= today() - 14", {"d": date(2026, 11, 13)}) is False
    assert ev("d + 30", {}) is UNKNOWN


def test_unary_minus() -> None:
    assert ev("-n", {"n": 3}) == -3
    assert ev("-n < 0", {"n": 3}) is True
    assert ev("n + -2 == 1", {"n": 3}) is True
    assert ev("-(n - 5) == 2", {"n": 3}) is True
    assert ev("-n", {}) is UNKNOWN


def test_today_defaults_to_the_real_date() -> None:
    before = date.today()
    result = evaluate(parse("today()"), {})
    assert before <= result <= date.today()


# --- Three-valued logic ---------------------------------------------------

T, F, U = True, False, UNKNOWN
AND_TABLE = [
    (T, T, T),
    (T, F, F),
    (T, U, U),
    (F, T, F),
    (F, F, F),
    (F, U, F),
    (U, T, U),
    (U, F, F),
    (U, U, U),
]
OR_TABLE = [
    (T, T, T),
    (T, F, T),
    (T, U, T),
    (F, T, T),
    (F, F, F),
    (F, U, U),
    (U, T, T),
    (U, F, U),
    (U, U, U),
]


def answers_for(**values: Any) -> dict[str, Any]:
    """Unknown values are left out, as an unanswered question is."""
    return {key: value for key, value in values.items() if value is not UNKNOWN}


@pytest.mark.parametrize(("a", "b", "expected"), AND_TABLE)
def test_and_truth_table(a: Any, b: Any, expected: Any) -> None:
    assert ev("a and b", answers_for(a=a, b=b)) is expected


@pytest.mark.parametrize(("a", "b", "expected"), OR_TABLE)
def test_or_truth_table(a: Any, b: Any, expected: Any) -> None:
    assert ev("a or b", answers_for(a=a, b=b)) is expected


@pytest.mark.parametrize(("a", "expected"), [(T, F), (F, T), (U, U)])
def test_not_truth_table(a: Any, expected: Any) -> None:
    assert ev("not a", answers_for(a=a)) is expected


@pytest.mark.parametrize("blank", [None, "", []])
def test_a_blank_answer_is_unknown(blank: Any) -> None:
    assert ev("t == 'x'", {"t": blank}) is UNKNOWN
    assert ev("t", {"t": blank}) is UNKNOWN


def test_anything_touching_unknown_is_unknown() -> None:
    assert ev("n == 1") is UNKNOWN
    assert ev("n != 1") is UNKNOWN
    assert ev("n > 1") is UNKNOWN
    assert ev("not (n > 1)") is UNKNOWN
    assert ev("t in ['a', 'b']") is UNKNOWN
    assert ev("t not in ['a', 'b']") is UNKNOWN
    assert ev("'a' in [t]") is UNKNOWN
    assert ev("d < today()") is UNKNOWN


def test_unknown_is_settled_by_the_other_side() -> None:
    assert ev("n > 1 and t == 'x'", {"t": "y"}) is False
    assert ev("n > 1 or t == 'x'", {"t": "x"}) is True
    assert ev("t == 'x' and n > 1", {"t": "y"}) is False
    assert ev("t == 'x' or n > 1", {"t": "x"}) is True


@pytest.mark.parametrize(
    ("result", "unknown", "expected"),
    [
        (True, False, True),
        (True, True, True),
        (False, False, False),
        (False, True, False),
        (UNKNOWN, True, True),
        (UNKNOWN, False, False),
    ],
)
def test_holds(result: Any, unknown: bool, expected: bool) -> None:
    assert holds(result, unknown=unknown) is expected


def test_unknown_cannot_pass_for_a_truth_value() -> None:
    with pytest.raises(TypeError):
        bool(UNKNOWN)


# --- Syntax errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("a ==", 5, "end of the expression"),
        ("a . b", 3, "'.'"),
        ("t.__class__", 2, "'.'"),
        ("a ! b", 3, "'!'"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ("n == 1 and eval('1')", 12, "unknown function 'eval'"),
        ("(a == 1", 8, "expected ')'"),
        ("(a", 3, "expected ')'"),
        ("[1, 2", 6, "expected ',' or ']'"),
        ("t in ['a' 'b']", 11, "expected ',' or ']'"),
        ("selected(m 'x')", 12, "expected ',' or ')'"),
        ("a == 1 b", 8, "unexpected 'b'"),
        ("a)", 2, "unexpected ')'"),
        ("n == 1 == 1", 8, "unexpected '=='"),
        ("", 1, "end of the expression"),
        ("   ", 4, "end of the expression"),
        ("t == 'open", 6, "unexpected character"),
        ("and", 1, "unexpected 'and'"),
        ("--1", 2, "unexpected '-'"),
        ("t[0]", 2, "unexpected '['"),
    ],
)
def test_syntax_errors_carry_their_position(source: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert f"(at character {position})" in str(caught.value)


def test_an_over_long_expression_is_refused() -> None:
    assert parse("a" * 2000) == Name("a" * 2000, 1)
    with pytest.raises(ExpressionError, match="longer than"):
        parse("a" * 2001)
    with pytest.raises(ExpressionError, match="longer than"):
        parse("n == 1 or " * 300 + "true")


@pytest.mark.parametrize(
    "source",
    [
        "(" * 200 + "a" + ")" * 200,
        "[" * 200 + "]" * 200,
        "not " * 300 + "a",
        "-(" * 300 + "1" + ")" * 300,
        "count(" * 200 + "m" + ")" * 200,
        "(not " * 150 + "a" + ")" * 150,
    ],
)
def test_an_over_deeply_nested_expression_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply|more than 200 parts"):
        parse(source)


def test_moderate_nesting_is_fine() -> None:
    source = "(" * 20 + "not " * 20 + "a" + ")" * 20
    assert ev(source, {"a": True}) is True
    assert kind(source) == "bool"


# A long flat chain (`1+1+1+...`) is well under the length limit and not nested
# by brackets, but it makes a syntax tree ~1000 levels deep, which the recursive
# checker and evaluator walk with Python recursion.
FLAT_CHAIN = "1" + "+1" * 999


def test_a_long_flat_chain_is_refused_with_a_message_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match="more than 200 parts"):
        parse(FLAT_CHAIN)


def test_a_chain_within_the_limit_type_checks_and_evaluates() -> None:
    chain = "1" + "+1" * 98  # 197 tokens with the comparison below
    node = parse(chain + " == 99")
    assert check_types(node, KINDS, CHOICES) == "bool"
    assert evaluate(node, {}, TODAY) is True


# --- Type errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("nope == 1", "unknown question id 'nope'", 1),
        ("n == 1 and nope", "unknown question id 'nope'", 12),
        ("d == 3", "cannot compare date with number", 3),
        ("d > n", "cannot compare date with number", 3),
        ("n == 'x'", "cannot compare number with text", 3),
        ("'x' in 3", "'in' needs a list like ['a', 'b']", 5),
        ("t not in 'abc'", "'not in' needs a list like ['a', 'b']", 3),
        ("n in ['a']", "cannot look for a number in a list of text", 3),
        ("d + d", "cannot add date and date", 3),
        ("d - d", "cannot subtract date and date", 3),
        ("n + d", "cannot add number and date", 3),
        ("t + 1", "cannot add text and number", 3),
        ("selected(n, 'x')", "selected() needs a choice question", 1),
        ("selected(d, 'x')", "selected() needs a choice question", 1),
        ("selected('m', 'x')", "selected() needs a question id first", 1),
        ("selected(m, x)", "selected() needs a choice value in quotes second", 1),
        ("selected(m)", "selected() takes 2 arguments", 1),
        ("count(t)", "count() needs a multiple-choice, table or file question", 1),
        ("count()", "count() takes 1 argument", 1),
        ("today(1)", "today() takes 0 arguments", 1),
        ("date(t)", "date() needs a date in quotes, like date('2027-03-31')", 1),
        ("date('2027-02-30')", "'2027-02-30' is not a date like '2027-03-31'", 1),
        ("q == 'mabye'", "'mabye' is not a choice of q (choices: no, yes)", 6),
        ("'mabye' != q", "'mabye' is not a choice of q (choices: no, yes)", 1),
        ("q in ['yes', 'mabye']", "'mabye' is not a choice of q (choices: no, yes)", 14),
        ("selected(m, 'w')", "'w' is not a choice of m (choices: x, y, z)", 13),
        ("n and a", "'and' needs conditions on both sides", 3),
        ("a and n", "'and' needs conditions on both sides", 3),
        ("a or 'yes'", "'or' needs conditions on both sides", 3),
        ("not n", "'not' needs a condition", 1),
        ("not t", "'not' needs a condition", 1),
        ("-t", "'-' needs a number", 1),
        ("t < 'b'", "'<' needs numbers or dates, not text", 3),
        ("a >= true", "'>=' needs numbers or dates, not bool", 3),
        ("[1, 'a']", "a list must hold values of one kind", 1),
        ("m == 'x'", "cannot compare choices with text", 3),
    ],
)
def test_type_errors(source: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        kind(source)
    assert caught.value.message == message
    assert caught.value.position == position


def test_choice_values_are_not_checked_for_questions_without_choices() -> None:
    assert kind("t == 'anything'") == "bool"
    assert check_types(parse("q == 'mabye'"), KINDS) == "bool"  # no choice_values given


# --- Property tests -------------------------------------------------------

NASTY_TOKENS = [
    *"._[](),'\"\\",
    "__import__",
    "__class__",
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "os",
    "eval",
    "exec",
    "open",
    "lambda",
    "lambda:",
    "import",
    "getattr",
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
    "==",
    "!=",
    "<=",
    ">=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "**",
    "1",
    "2.5",
    "'x'",
    '"y"',
    "today()",
    "date",
    "date('2027-03-31')",
    "selected",
    "count",
    "answered",
    "n",
    "t",
    "m",
    "d",
    "a",
]
any_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=string.printable, max_size=200),
    st.lists(st.sampled_from(NASTY_TOKENS), max_size=60).map(" ".join),
    st.lists(st.sampled_from(NASTY_TOKENS), max_size=60).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(source=any_text)
def test_parse_returns_a_node_or_raises_expression_error(source: str) -> None:
    try:
        node = parse(source)
    except ExpressionError as exc:
        position = exc.position
    else:
        assert isinstance(node, NODE_TYPES)
        return
    assert position is None or 1 <= position <= len(source) + 1


@settings(max_examples=200, deadline=None)
@given(source=any_text)
def test_check_types_returns_a_kind_or_raises_expression_error(source: str) -> None:
    try:
        node = parse(source)
    except ExpressionError:
        return
    try:
        result = check_types(node, KINDS, CHOICES)
    except ExpressionError:
        return
    assert result in {"bool", "number", "text", "date", "choices", "rows", "files"} or (
        result.startswith("list:")
    )


# A small grammar of valid expressions over ids of known kinds. Values stay
# within a few centuries of today, so date arithmetic stays within the calendar.
GEN_KINDS = {"n": "number", "t": "text", "s": "text", "d": "date", "m": "choices"}
GEN_CHOICES = {"s": frozenset({"x", "y", "z"}), "m": frozenset({"x", "y", "z"})}
choice_literal = st.sampled_from(["'x'", "'y'", '"z"'])


def number_exprs(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.integers(0, 1000).map(str),
        st.integers(0, 100_000).map(lambda i: f"{i / 100:.2f}"),
        st.just("n"),
        st.just("count(m)"),
    )
    if depth == 0:
        return leaves
    sub = number_exprs(depth - 1)
    return st.one_of(
        leaves,
        st.builds("({} {} {})".format, sub, st.sampled_from(["+", "-"]), sub),
        sub.map("-({})".format),
    )


def date_exprs(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.just("d"),
        st.just("today()"),
        st.dates(date(1950, 1, 1), date(2100, 12, 31)).map(lambda d: f"date('{d}')"),
    )
    if depth == 0:
        return leaves
    return st.one_of(
        leaves,
        st.builds(
            "({} {} {})".format,
            date_exprs(depth - 1),
            st.sampled_from(["+", "-"]),
            number_exprs(1),
        ),
    )


text_exprs = st.one_of(st.just("t"), st.just("s"), choice_literal)
comparison_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def bool_exprs(depth: int, *, with_answered: bool = True) -> st.SearchStrategy[str]:
    list_of_choices = st.lists(choice_literal, max_size=3).map(lambda xs: f"[{', '.join(xs)}]")
    leaf_options = [
        st.sampled_from(["true", "false"]),
        st.builds("{} {} {}".format, number_exprs(2), comparison_ops, number_exprs(2)),
        st.builds("{} {} {}".format, date_exprs(2), comparison_ops, date_exprs(1)),
        st.builds("{} {} {}".format, text_exprs, st.sampled_from(["==", "!="]), text_exprs),
        st.builds(
            "{} {} {}".format, text_exprs, st.sampled_from(["in", "not in"]), list_of_choices
        ),
        st.builds("selected({}, {})".format, st.sampled_from(["m", "s"]), choice_literal),
    ]
    if with_answered:
        leaf_options.append(st.sampled_from(["n", "t", "s", "d", "m"]).map("answered({})".format))
    leaves = st.one_of(*leaf_options)
    if depth == 0:
        return leaves
    sub = bool_exprs(depth - 1, with_answered=with_answered)
    return st.one_of(
        leaves,
        st.builds("({} {} {})".format, sub, st.sampled_from(["and", "or"]), sub),
        sub.map("not ({})".format),
    )


answer_values = {
    "n": st.one_of(st.integers(-10_000, 10_000), st.floats(-10_000, 10_000)),
    "t": st.sampled_from(["x", "y", "z", "hello"]),
    "s": st.sampled_from(["x", "y", "z"]),
    "d": st.dates(date(1950, 1, 1), date(2100, 12, 31)),
    "m": st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True),
}
full_answers = st.fixed_dictionaries(answer_values)
partial_answers = st.fixed_dictionaries(
    {},
    optional={
        key: st.one_of(value, st.sampled_from([None, "", []]))
        for key, value in answer_values.items()
    },
)


@settings(max_examples=200, deadline=None)
@given(source=bool_exprs(3), answers=partial_answers)
def test_valid_conditions_evaluate_to_true_false_or_unknown(
    source: str, answers: dict[str, Any]
) -> None:
    node = parse(source)
    assert check_types(node, GEN_KINDS, GEN_CHOICES) == "bool"
    assert is_three_valued(evaluate(node, answers, TODAY))


@settings(max_examples=100, deadline=None)
@given(source=number_exprs(3), answers=partial_answers)
def test_valid_number_expressions_evaluate_to_a_number_or_unknown(
    source: str, answers: dict[str, Any]
) -> None:
    node = parse(source)
    assert check_types(node, GEN_KINDS, GEN_CHOICES) == "number"
    result = evaluate(node, answers, TODAY)
    assert result is UNKNOWN or isinstance(result, int | float)


@settings(max_examples=150, deadline=None)
@given(source=bool_exprs(3, with_answered=False), answers=full_answers, data=st.data())
def test_answering_more_questions_never_contradicts_a_known_result(
    source: str, answers: dict[str, Any], data: st.DataObject
) -> None:
    """Kleene logic is monotonic: a result known while some answers are missing
    stays the same once they are given (so an unknown never hides a risk)."""
    node = parse(source)
    missing = data.draw(st.sets(st.sampled_from(sorted(answers))))
    partial = {key: value for key, value in answers.items() if key not in missing}
    before = evaluate(node, partial, TODAY)
    after = evaluate(node, answers, TODAY)
    assert after is not UNKNOWN
    if before is not UNKNOWN:
        assert after is before


# --- No attribute, item or builtin access ---------------------------------

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda s: s not in {"and", "or", "not", "in", "true", "false"}
)
dangerous_names = st.sampled_from(
    [
        "__class__",
        "__builtins__",
        "__import__",
        "__globals__",
        "__dict__",
        "__subclasses__",
        "open",
        "eval",
        "exec",
        "os",
        "sys",
        "getattr",
        "lambda",
        "print",
    ]
)
names_to_try = st.one_of(dangerous_names, identifiers)
# A "." can only be part of a number or a string: without digits or quotes, never.
NO_QUOTES_OR_DIGITS = st.characters(exclude_characters="'\"", exclude_categories=["Nd", "Cs"])


@settings(max_examples=100, deadline=None)
@given(
    source=st.builds(
        "{}.{}".format,
        st.text(alphabet=NO_QUOTES_OR_DIGITS, max_size=40),
        st.text(alphabet=NO_QUOTES_OR_DIGITS, max_size=40),
    )
)
def test_a_dot_outside_a_number_or_string_never_parses(source: str) -> None:
    with pytest.raises(ExpressionError):
        parse(source)


@settings(max_examples=100, deadline=None)
@given(
    target=st.one_of(
        names_to_try,
        st.sampled_from(["'abc'", "1", "today()", "count(m)", "(t)", "[1]", "date('2027-03-31')"]),
    ),
    attribute=names_to_try,
    suffix=st.sampled_from(["", "()", "(1)", " == 1"]),
)
def test_attribute_access_never_parses(target: str, attribute: str, suffix: str) -> None:
    with pytest.raises(ExpressionError):
        parse(f"{target}.{attribute}{suffix}")


@settings(max_examples=50, deadline=None)
@given(target=names_to_try, index=st.sampled_from(["0", "'x'", "'__class__'", "1:2"]))
def test_item_access_never_parses(target: str, index: str) -> None:
    with pytest.raises(ExpressionError):
        parse(f"{target}[{index}]")


@settings(max_examples=100, deadline=None)
@given(name=names_to_try, args=st.sampled_from(["", "1", "'os'", "t", "t, 'x'"]))
def test_only_the_five_functions_can_be_called(name: str, args: str) -> None:
    if name in {"selected", "count", "answered", "today", "date"}:
        return
    with pytest.raises(ExpressionError, match=f"unknown function '{name}'"):
        parse(f"{name}({args})")


@settings(max_examples=100, deadline=None)
@given(name=names_to_try)
def test_a_name_is_only_ever_a_question_id(name: str) -> None:
    if name in KINDS:
        return
    for source in (name, f"{name} == 1", f"not {name}", f"answered({name})"):
        with pytest.raises(ExpressionError, match=f"unknown question id '{name}'"):
            check_types(parse(source), KINDS, CHOICES)
    # Without an answer the name is unknown: it is never looked up in Python.
    assert evaluate(parse(name), {}, TODAY) is UNKNOWN
    assert evaluate(parse(f"{name} == 1"), {}, TODAY) is UNKNOWN
    assert evaluate(parse(f"not {name}"), {}, TODAY) is UNKNOWN
    assert evaluate(parse(f"answered({name})"), {}, TODAY) is False
    # With one, it is exactly that answer.
    assert evaluate(parse(name), {name: "plain"}, TODAY) == "plain"


@pytest.mark.parametrize("name", ["__class__", "__builtins__", "open", "eval", "__import__"])
def test_dangerous_names_are_unknown_ids(name: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        check_types(parse(f"{name} == 'x'"), KINDS, CHOICES)
    assert caught.value.message == f"unknown question id {name!r}"
    assert caught.value.position == 1
    assert evaluate(parse(f"{name} == 'x'"), {}, TODAY) is UNKNOWN


# --- Engine bugs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "answers"),
    [
        ("d + 30 > today()", {"d": date(9999, 12, 31)}),
        ("today() - n < d", {"n": 10**10, "d": date(2026, 1, 1)}),
        ("today() + n > d", {"n": 3_000_000, "d": date(2026, 1, 1)}),
    ],
)
def test_date_arithmetic_out_of_range_does_not_raise(source: str, answers: dict[str, Any]) -> None:
    node = parse(source)
    assert check_types(node, KINDS, CHOICES) == "bool"
    assert is_three_valued(evaluate(node, answers, TODAY))


@pytest.mark.parametrize("blank", [None, ""])
@pytest.mark.parametrize("source", ["count(m)", "selected(m, 'x')"])
def test_count_and_selected_of_a_blank_answer_are_unknown(source: str, blank: Any) -> None:
    assert ev(source, {"m": blank}) is UNKNOWN
