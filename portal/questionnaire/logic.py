"""What the answers mean together: which questions show, which are required,
which constraints fail. Pure functions over a Questionnaire and plain dicts."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from .conditions import UNKNOWN, evaluate, holds, names
from .definition import Question, Questionnaire


def expression_value(question: Question, value: Any) -> Any:
    """A stored (JSON) answer as expressions see it: dates as dates, blanks unknown."""
    if value is None or value == "" or value == []:
        return UNKNOWN
    if question.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return UNKNOWN
    return value


def visible_answers(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> dict[str, Any]:
    """The answers of visible questions only, typed for expressions.

    A question hidden by its show_if contributes nothing, so a question that
    depends on it sees it as unknown. Dependencies cannot form a cycle (checked
    when the definition loads), so a memoised walk settles every question.
    """
    return typed_visible(questionnaire, answers, visibility(questionnaire, answers, today))


def typed_visible(
    questionnaire: Questionnaire, answers: Mapping[str, Any], visible: Mapping[str, bool]
) -> dict[str, Any]:
    return {
        qid: expression_value(questionnaire.question(qid), value)
        for qid, value in answers.items()
        if visible.get(qid, False)
    }


def visibility(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> dict[str, bool]:
    """Question id -> shown? An unknown show_if hides."""
    return {
        qid: state is True for qid, state in _show_states(questionnaire, answers, today).items()
    }


def undecided(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> set[str]:
    """Questions hidden only because what decides them is not answered yet."""
    return {
        qid
        for qid, state in _show_states(questionnaire, answers, today).items()
        if state is UNKNOWN
    }


# Which questions any show_if reads, per questionnaire (by sha256).
_CONDITION_INPUTS: dict[str, tuple[str, ...]] = {}
# Recent visibility results. A page, a save and a comparison each ask several
# times for the same answers; only the answers that show_if conditions read
# decide the result, so they (and the day) are the key.
_STATES: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_STATES_KEPT = 512
_STATES_LOCK = threading.Lock()


_SCALARS = (str, int, float, bool, type(None))


def _key_part(value: Any) -> Any:
    """An answer as part of a cache key: a scalar as itself with its type (so
    True and 1 stay apart), anything else as canonical JSON. Faster than JSON
    for every answer, and conditions mostly read yes/no answers."""
    if isinstance(value, _SCALARS):
        return (type(value).__name__, value)
    return json.dumps(value, sort_keys=True, default=str)


def _show_states(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None
) -> dict[str, Any]:
    """Question id -> True (shown), False (hidden) or UNKNOWN (hidden for now)."""
    inputs = _CONDITION_INPUTS.get(questionnaire.sha256)
    if inputs is None:
        inputs = tuple(sorted({name for q in questionnaire.questions() for name in _reads(q)}))
        if questionnaire.sha256:
            _CONDITION_INPUTS[questionnaire.sha256] = inputs
    key = (
        questionnaire.sha256,
        (today or date.today()).toordinal(),
        *(_key_part(answers.get(name)) for name in inputs),
    )
    with _STATES_LOCK:
        cached = _STATES.get(key) if questionnaire.sha256 else None
        if cached is not None:
            _STATES.move_to_end(key)
            return dict(cached)
    states = _compute_show_states(questionnaire, answers, today)
    if questionnaire.sha256:
        with _STATES_LOCK:
            _STATES[key] = states
            if len(_STATES) > _STATES_KEPT:
                _STATES.popitem(last=False)
    return dict(states)


def _compute_show_states(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None
) -> dict[str, Any]:
    questions = {q.id: q for q in questionnaire.questions()}
    states: dict[str, Any] = {}

    def state_of(qid: str) -> Any:
        if qid in states:
            return states[qid]
        question = questions[qid]
        if question.show_if_node is None:
            states[qid] = True
            return True
        scope = {}
        for ident in _reads(question):
            if ident in questions and state_of(ident) is True and ident in answers:
                scope[ident] = expression_value(questions[ident], answers[ident])
        result = evaluate(question.show_if_node, scope, today)
        states[qid] = result if result is UNKNOWN else result is True
        return states[qid]

    for qid in questions:
        state_of(qid)
    return states


def _reads(question: Question) -> Iterable[str]:
    if question.show_if_node is not None:
        yield from names(question.show_if_node)


def is_required(question: Question, scope: Mapping[str, Any], today: date | None = None) -> bool:
    """Required, or required_if holds (an unknown required_if does not require)."""
    if not question.answerable:
        return False
    if question.required_if_node is not None:
        return holds(evaluate(question.required_if_node, scope, today), unknown=False)
    return question.required


def constraint_fails(
    question: Question, scope: Mapping[str, Any], today: date | None = None
) -> bool:
    """True only when the question is answered and its constraint is known to be false."""
    if question.constraint_node is None or question.id not in scope:
        return False
    own = {**scope, "value": scope[question.id]}
    return not holds(evaluate(question.constraint_node, own, today), unknown=True)


def evidence_required(
    question: Question, scope: Mapping[str, Any], today: date | None = None
) -> bool:
    if question.evidence == "required":
        return True
    if question.evidence_node is not None:
        return holds(evaluate(question.evidence_node, scope, today), unknown=False)
    return False


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def problems(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    only: Iterable[Question] | None = None,
    enforce_required: bool = True,
    today: date | None = None,
) -> dict[str, str]:
    """Question id -> what is wrong, for visible questions (all, or ``only``)."""
    shown = visibility(questionnaire, answers, today)
    scope = typed_visible(questionnaire, answers, shown)
    found: dict[str, str] = {}
    for question in only if only is not None else questionnaire.questions():
        if not question.answerable or not shown.get(question.id, False):
            continue
        if is_blank(answers.get(question.id)):
            if enforce_required and is_required(question, scope, today):
                found[question.id] = missing_message(question)
        elif constraint_fails(question, scope, today):
            found[question.id] = question.constraint_message
    return found


def drop_hidden(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> dict[str, Any]:
    """Answers without those of hidden questions: hidden answers are not kept."""
    shown = visibility(questionnaire, answers, today)
    return {qid: value for qid, value in answers.items() if shown.get(qid, False)}


def missing_message(question: Question) -> str:
    match question.type:
        case "yes_no":
            return "Select yes or no"
        case "yes_no_na":
            return "Select yes, no or not applicable"
        case "single_choice":
            return "Select one option"
        case "multi_choice":
            return "Select at least one option"
        case "integer" | "decimal":
            return f"Enter a number{' of ' + question.unit if question.unit else ''}"
        case "money_gbp":
            return "Enter an amount in pounds"
        case "percent":
            return "Enter a percentage"
        case "date":
            return "Enter a date"
        case "email":
            return "Enter an email address"
        case "url":
            return "Enter a web address"
        case "file":
            return "Upload a file"
        case "table":
            rows = max(1, question.min_rows)
            return f"Add at least {rows} row{'s' if rows != 1 else ''}"

        case _:
            return "Enter an answer"
