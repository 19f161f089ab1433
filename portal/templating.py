"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for

from .questionnaire.compare import OUTCOME_LABELS, expected_words
from .questionnaire.display import display_value, format_day
from .questionnaire.expiry import KINDS as EXPIRY_KINDS
from .questionnaire.forms import formdata_pairs
from .questionnaire.risk import level_label
from .services.platform.audit import event_details
from .services.platform.paging import Page
from .services.requests.lifecycle import STATUS_LABELS
from .services.requirements.profiles import OPERATOR_LABELS
from .services.review.timeline import describe
from .services.school.standards import STATUS_COLOURS as STANDARD_COLOURS
from .services.school.standards import STATUS_LABELS as STANDARD_LABELS
from .vocabulary import DPIA_STATUS_COLOURS as DPIA_COLOURS
from .vocabulary import DPIA_STATUS_LABELS as DPIA_LABELS
from .vocabulary import REQUEST_STATUS_COLOURS

UK = ZoneInfo("Europe/London")
PRODUCT_NAME = "Due Diligence Portal"
T = TypeVar("T")


def format_date(value: date | datetime | str | None) -> str:
    """31 March 2027: the GOV.UK style, unambiguous to UK readers."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK).date()
    return format_day(value)


def format_datetime(value: datetime | None) -> str:
    """31 March 2027 at 2:05pm, in UK time."""
    if value is None:
        return ""
    local = value.astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{format_date(local.date())} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def format_number(value: float | int | None, money: bool = False) -> str:
    """1,234.5, or 1,234.50 for money; whole numbers without a decimal point."""
    if value is None:
        return ""
    if money:
        return f"{value:,.2f}".removesuffix(".00")
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def form_error_list(form: Any, with_labels: bool = False) -> list[tuple[str, str]]:
    """(field id, message) pairs for the error summary, in the form's order."""
    pairs: list[tuple[str, str]] = []
    if form is None:  # a page written without its form has no errors
        return pairs
    for field in form:
        for message in field.errors[:1]:
            text = f"{field.label.text}: {message}" if with_labels else message
            pairs.append((field.id, text))
    return pairs


def option_ids(field_id: str, choices: Iterable[T]) -> list[tuple[str, T]]:
    """Each option's id: the first carries the field's own id, so the error
    summary's link lands on it (GOV.UK Frontend's convention), then -2, -3..."""
    return [(field_id if n == 1 else f"{field_id}-{n}", c) for n, c in enumerate(choices, 1)]


@dataclass(frozen=True, slots=True)
class FieldParts:
    """What the lean field macros need of a WTForms field: its hint, its first
    error, and the ids for aria-describedby that join them to the control.
    Plain text: the macros write (and escape) the markup."""

    id: str
    hint: str
    error: str
    described: str


def field_parts(field: Any) -> FieldParts:
    """One call per field instead of three nested macros: Jinja's macro calls
    cost more than the markup they wrote."""
    field_id = field.id
    hint = field.description or ""
    error = field.errors[0] if field.errors else ""
    ids = [f"{field_id}-hint"] if hint else []
    if error:
        ids.append(f"{field_id}-error")
    return FieldParts(field_id, hint, error, " ".join(ids))


# Rendered questions, by everything their markup depends on. Most of a section
# page is its questions, and most questions are in one of a few states (a
# yes/no answered yes, or no; an empty comment box), shared by every supplier
# answering the same questionnaire version: each state is rendered once per
# process. Kept because `make bench` puts the largest section page over five
# times its floor without it (5.8-6.3x, December 2026; 4.7-4.9x with it,
# issue 22's limit is 5x). Safe across organisations because a question's
# markup holds nothing but the question and the field's own state (see
# _macros.html question_own). Kept small: first in, first out beyond
# MEMO_SIZE; states with long typed text are not kept; nothing is kept while
# templates reload (in development), so an edited macro shows at once.
MEMO_SIZE = 4096
MEMO_TEXT = 400
_rendered: dict[tuple[Any, ...], Any] = {}


def _state(field: Any) -> tuple[Any, ...] | None:
    if field is None:
        return ()
    state = (repr(field.data), repr(field.raw_data), tuple(map(str, field.errors)))
    return state if sum(len(part) for part in state[:2]) <= MEMO_TEXT else None


def question_html(
    questionnaire: Any, question: Any, field: Any, form: Any, files: Mapping[int, Any]
) -> Any:
    """The ``question`` macro's markup for one question, kept per state. File
    and table questions list the supplier's files or rows, and so does an
    evidence box once it holds a file: those are written afresh every time."""
    macros = current_app.jinja_env.get_template("_macros.html").module
    if question.type in ("file", "table"):
        return macros.question(question, field, form, files)  # type: ignore[attr-defined]
    return _own_html(macros, questionnaire, question, field, form, files) + _evidence_html(
        macros, questionnaire, question, form, files
    )


def _own_html(
    macros: Any, questionnaire: Any, question: Any, field: Any, form: Any, files: Any
) -> Any:
    comment = form[f"{question.id}-comment"] if question.comment and form else None
    field_state, comment_state = _state(field), _state(comment)
    if field_state is None or comment_state is None:
        return macros.question_own(question, field, form, files)
    key = (questionnaire.sha256, question.id, field_state, comment_state, form is None)
    return _kept(key, lambda: macros.question_own(question, field, form, files))


def _evidence_html(macros: Any, questionnaire: Any, question: Any, form: Any, files: Any) -> Any:
    if question.evidence == "none" or not form:
        return ""  # added to the question's markup, it stays markup
    # The box lists the question's files by id, name and size: kept by those
    # (no file yet: the same empty box for everyone).
    if question.life is not None:
        # Dates beside the upload (issue 26) hold what was typed and its
        # errors, and each file shows its own: written afresh.
        return macros.evidence_upload(question, files, form)
    mine = tuple((f.id, f.filename, f.size) for f in evidence_of(files, question.id))
    key = (questionnaire.sha256, question.id, "evidence", mine)
    if len(mine) > 5:
        return macros.evidence_upload(question, files)
    return _kept(key, lambda: macros.evidence_upload(question, files))


def _kept(key: tuple[Any, ...], render: Callable[[], Any]) -> Any:
    if current_app.jinja_env.auto_reload:
        return render()
    html = _rendered.get(key)
    if html is None:
        if len(_rendered) >= MEMO_SIZE:
            _rendered.pop(next(iter(_rendered)), None)
        html = _rendered[key] = render()
    return html


def evidence_of(files: Mapping[int, Any], question_id: str) -> list[Any]:
    """The evidence files (of ``files``, by id) attached to one question.

    A function rather than a selectattr chain: pages call it once per question."""
    return [f for f in files.values() if f.question_id == question_id]


def format_rule_value(value: Any) -> str:
    """A stored rule's value as typed: lists of choices joined with commas."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def page_url(number: int) -> str:
    """This page's address with ``page=number``, keeping its filters."""
    args: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict()}
    args["page"] = number
    return url_for(request.endpoint or "", **args)


def pager_numbers(page: Page[Any]) -> list[int | None]:
    """The page numbers a pager links to: the first, the last, and those
    beside the current one; ``None`` where numbers are left out."""
    wanted = sorted(
        {1, page.pages, *range(page.number - 1, page.number + 2)} & set(range(1, page.pages + 1))
    )
    shown: list[int | None] = []
    for number in wanted:
        if shown and number - (shown[-1] or 0) > 1:
            shown.append(None)
        shown.append(number)
    return shown


def init_app(app: Flask) -> None:
    # Globals, not a context processor: imported macros see globals only.
    app.jinja_env.globals.update(
        form_error_list=form_error_list,
        formdata_pairs=formdata_pairs,
        option_ids=option_ids,
        field_parts=field_parts,
        question_html=question_html,
        standard_labels=STANDARD_LABELS,
        standard_colours=STANDARD_COLOURS,
        evidence_of=evidence_of,
        product_name=PRODUCT_NAME,
        status_labels=STATUS_LABELS,
        dpia_labels=DPIA_LABELS,
        dpia_colours=DPIA_COLOURS,
        risk_label=level_label,
        status_colours=REQUEST_STATUS_COLOURS,
        outcome_labels=OUTCOME_LABELS,
        expiry_kinds=EXPIRY_KINDS,
        expected_words=expected_words,
        display_value=display_value,
        describe_event=describe,
        event_details=event_details,
        operator_labels=OPERATOR_LABELS,
        page_url=page_url,
        pager_numbers=pager_numbers,
    )
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["rule_value"] = format_rule_value
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["datetime"] = format_datetime
