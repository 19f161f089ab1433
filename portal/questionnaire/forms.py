"""Build a WTForms class for one section of a questionnaire.

The same class validates an HTML POST (``formdata``) and a JSON body
(``SectionForm.from_json`` once wtforms-json is initialised), so answers are
checked one way whichever way they arrive. Fields check the format of what was
typed; :meth:`SectionForm.validate_section` then applies the questionnaire's
logic (show_if, required, required_if, constraints) with the answers already
given in other sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import wtforms_json
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs lag
from wtforms.validators import URL, Email, Length, NumberRange, Optional

from . import logic
from .definition import Question, Questionnaire, Section
from .expiry import check_dates

# Adds Form.from_json: the JSON side of the one validation path.
wtforms_json.init()

MAX_TEXT = 500
MAX_LONG_TEXT = 10_000
INVALID_CHOICE = "Select from the options shown"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %m %Y", "%d-%m-%Y", "%d.%m.%Y")
NUMBER_JUNK = re.compile(r"[£,\s%]")

__all__ = ["SectionForm", "SelectChoice", "build_section_form", "DateAnswerField"]


class DateAnswerField(Field):
    """A date typed as 2027-03-31 (the browser's picker) or 31/03/2027."""

    data: date | None
    raw_text: str = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]).strip() if valuelist and valuelist[0] else ""
        self.data = None
        if not self.raw_text:
            return
        for fmt in DATE_FORMATS:
            try:
                self.data = datetime.strptime(self.raw_text, fmt).date()
                return
            except ValueError:
                continue
        raise ValueError("Enter a real date, for example 31/03/2027")

    def process_data(self, value: Any) -> None:
        if isinstance(value, str) and value:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        self.data = value
        self.raw_text = value.isoformat() if isinstance(value, date) else ""

    def _value(self) -> str:
        return self.raw_text


# The largest number an answer may hold (below 2**53, so a float keeps it
# exactly), and the finest fraction: no due-diligence answer needs more.
NUMBER_LIMIT = Decimal(10) ** 15
DECIMAL_PLACES = 6


class NumberAnswerField(Field):
    """A number as people type it: '1,000', '£2.5m' is not accepted, '99.5%' is."""

    data: float | int | None
    raw_text: str = ""

    def __init__(self, *args: Any, kind: str, invalid_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]).strip() if valuelist and valuelist[0] is not None else ""
        self.data = None
        if not self.raw_text:
            return
        try:
            number = Decimal(NUMBER_JUNK.sub("", self.raw_text))
        except InvalidOperation as exc:
            raise ValueError(self.invalid_message) from exc
        if not number.is_finite():
            raise ValueError(self.invalid_message)
        # Every number we store must survive JSON, a float and a spreadsheet
        # cell: a 400-digit amount became "Infinity" and broke every page and
        # workbook that showed it (issue 20, finding 6).
        if abs(number) >= NUMBER_LIMIT:
            raise ValueError(f"{self.invalid_message}, smaller than 1,000,000,000,000,000")
        if number.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
            raise ValueError(
                f"{self.invalid_message}, with no more than {DECIMAL_PLACES} decimal places"
            )
        if number == 0:
            number = Decimal(0)  # "-0" is 0
        if self.kind == "integer":
            if number != number.to_integral_value():
                raise ValueError(self.invalid_message)
            self.data = int(number)
        elif self.kind == "money_gbp":
            if number.as_tuple().exponent < -2:  # type: ignore[operator]
                raise ValueError("Enter an amount in pounds and pence, like 1000000 or 2500.50")
            self.data = float(number)
        else:
            self.data = float(number)

    def process_data(self, value: Any) -> None:
        self.data = (
            value if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        self.raw_text = "" if self.data is None else _number_text(self.data)

    def _value(self) -> str:
        return self.raw_text


def _number_text(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class FileAnswerField(Field):
    """Evidence ids already uploaded for the question; new files arrive separately."""

    data: list[int]

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [v for v in valuelist if str(v).isdecimal()]
        self.data = [int(v) for v in ids]

    def process_data(self, value: Any) -> None:
        self.data = [int(v) for v in value] if isinstance(value, list) else []


def number_message(question: Question) -> str:
    """'Enter a number of days between 0 and 365', or as near as the bounds allow."""
    if question.type == "money_gbp":
        what = "an amount in pounds"
    elif question.type == "percent":
        what = "a percentage"
    elif question.unit:
        what = f"a number of {question.unit}"
    else:
        what = "a whole number" if question.type == "integer" else "a number"
    low = None if question.min is None else _number_text(question.min)
    high = None if question.max is None else _number_text(question.max)
    if question.type == "money_gbp":
        low = None if low in (None, "0") else f"£{low}"
        high = None if high is None else f"£{high}"
    if low is not None and high is not None:
        return f"Enter {what} between {low} and {high}"
    if low is not None:
        return f"Enter {what} of {low} or more"
    if high is not None:
        return f"Enter {what} of {high} or less"
    return f"Enter {what}" + (", like 12" if question.type == "integer" else "")


def _too_long(limit: int) -> str:
    return f"Shorten your answer to {limit:,} characters or fewer"


def build_field(question: Question) -> Field:
    """One WTForms field for one question (or table column); format checks only.

    Whether an answer is required depends on other answers, so it is decided
    by :meth:`SectionForm.validate_section`, not by a field validator.
    """
    common: dict[str, Any] = {"label": question.label, "description": question.help}
    optional = Optional()
    choices = [SelectChoice(c.value, c.label) for c in question.choices]
    match question.type:
        case "yes_no" | "yes_no_na" | "single_choice":
            return RadioField(
                choices=choices,
                validators=[optional],
                invalid_choice_message=INVALID_CHOICE,  # type: ignore[call-arg]
                **common,
            )
        case "multi_choice":
            return SelectMultipleField(
                choices=choices,
                validators=[optional],
                invalid_choice_message=INVALID_CHOICE,  # type: ignore[call-arg]
                **common,
            )
        case "integer" | "decimal" | "money_gbp" | "percent":
            message = number_message(question)
            return NumberAnswerField(
                kind=question.type,
                invalid_message=message,
                validators=[optional, NumberRange(question.min, question.max, message)],
                **common,
            )
        case "date":
            return DateAnswerField(validators=[optional], **common)
        case "email":
            return StringField(
                validators=[
                    optional,
                    Email("Enter an email address in the correct format, like name@example.com"),
                    Length(max=320, message=_too_long(320)),
                ],
                **common,
            )
        case "url":
            return StringField(
                validators=[
                    optional,
                    URL(message="Enter a web address, like https://example.com"),
                    Length(max=2000, message=_too_long(2000)),
                ],
                **common,
            )
        case "long_text":
            return TextAreaField(
                validators=[optional, Length(max=MAX_LONG_TEXT, message=_too_long(MAX_LONG_TEXT))],
                **common,
            )
        case "file":
            return FileAnswerField(**common)
        case "table":
            return FieldList(FormField(_row_form(question)), min_entries=0, **common)
        case _:
            return StringField(
                validators=[optional, Length(max=MAX_TEXT, message=_too_long(MAX_TEXT))],
                **common,
            )


def _row_form(question: Question) -> type[Form]:
    attrs: dict[str, Any] = {c.id: build_field(c) for c in question.columns}
    return type(f"Row_{question.id}", (Form,), attrs)


class SectionForm(Form):
    """The fields of one section, named by question id."""

    section: Section
    questionnaire: Questionnaire

    def answers(self) -> dict[str, Any]:
        """JSON-ready values of every answerable question; blank is None."""
        return {q.id: _field_value(q, self[q.id]) for q in self.section.answerable}

    def add_blank_rows(self) -> None:
        """Give every table one empty row to type into (up to its max_rows)."""
        for q in self.section.answerable:
            if q.type != "table":
                continue
            field: Any = self[q.id]
            has_blank = any(_row_blank(entry.form) for entry in field.entries)
            if not has_blank and len(field.entries) < q.max_rows:
                field.append_entry()

    def comments(self) -> dict[str, str | None]:
        """The free comments given beside questions that allow one."""
        found: dict[str, str | None] = {}
        for q in self.section.answerable:
            if q.comment:
                text = (self[comment_name(q)].data or "").strip()
                found[q.id] = text or None
        return found

    def validate_section(
        self,
        other_answers: Mapping[str, Any],
        enforce_required: bool = True,
        today: date | None = None,
    ) -> bool:
        """Check formats, then the section's logic against all the answers.

        Errors of questions hidden by show_if are dropped: what is not asked
        cannot be wrong. ``enforce_required=False`` is a draft save.
        """
        self.validate()
        merged = {**other_answers, **self.answers()}
        shown = logic.visibility(self.questionnaire, merged, today)
        for question in self.section.answerable:
            field = self[question.id]
            if not shown.get(question.id, False):
                field.errors = []
                continue
            if question.type == "table":
                self._check_rows(question, field, enforce_required)
        found = logic.problems(
            self.questionnaire,
            merged,
            only=[q for q in self.section.answerable if not self[q.id].errors],
            enforce_required=enforce_required,
            today=today,
        )
        for qid, message in found.items():
            self[qid].errors = [message]
        return not any(self[q.id].errors for q in self.section.answerable if shown.get(q.id, False))

    def upload_dates(
        self, question: Question, today: date
    ) -> tuple[tuple[date | None, date | None, bool], dict[str, str]]:
        """The dates typed beside this question's upload, (issued, expires,
        renewing), and what is wrong with them by field name (empty when
        sound, or when the question asks for no dates)."""
        life = question.life
        issued_name, expires_name, renewing_name = dates_names(question)
        if life is None or issued_name not in self:
            return (None, None, False), {}
        problems: dict[str, str] = {}
        values: dict[str, date | None] = {}
        for name in (issued_name, expires_name):
            field = self[name] if name in self else None
            values[name] = field.data if field is not None else None
            if field is not None and field.process_errors:
                problems[name] = str(field.process_errors[0])
        renewing = bool(self[renewing_name].data)
        issued, expires = values[issued_name], values[expires_name]
        undated = f"{question.id}-undated"
        if undated in self and self[undated].data and not (issued or expires or problems):
            # The supplier says the document carries no date: it is kept
            # undated, and the school may accept it with a reason.
            return (None, None, False), {}
        named = {"issued": issued_name, "expires": expires_name}
        for key, message in check_dates(life, issued, expires, today, renewing=renewing).items():
            problems.setdefault(named[key], message)
        return (issued, expires, renewing), problems

    def visible_answers(
        self, other_answers: Mapping[str, Any], today: date | None = None
    ) -> dict[str, Any]:
        """This section's values to store: hidden questions become None (removed)."""
        values = self.answers()
        shown = logic.visibility(self.questionnaire, {**other_answers, **values}, today)
        return {qid: (value if shown.get(qid, False) else None) for qid, value in values.items()}

    def _check_rows(self, question: Question, field: Any, enforce_required: bool) -> None:
        rows = [entry for entry in field.entries if not _row_blank(entry.form)]
        messages: list[str] = []
        for number, entry in enumerate(rows, start=1):
            for column in question.columns:
                cell = entry.form[column.id]
                if cell.errors:
                    messages.append(f"Row {number}, {column.label.lower()}: {cell.errors[0]}")
                elif column.required and logic.is_blank(_field_value(column, cell)):
                    messages.append(
                        f"Row {number}: {logic.missing_message(column).lower()} for {column.label.lower()}"
                    )
        if len(rows) > question.max_rows:
            messages.append(f"Enter no more than {question.max_rows} rows")
        # An empty required table is reported with the other missing answers.
        if enforce_required and 0 < len(rows) < question.min_rows:
            messages.append(logic.missing_message(question))
        field.errors = messages


def comment_name(question: Question) -> str:
    # "-" cannot occur in a question id, so this never clashes with one.
    return f"{question.id}-comment"


def dates_names(question: Question) -> tuple[str, str, str]:
    """The fields beside an upload for its dates (issue 26): issued, expires, renewing."""
    return f"{question.id}-issued", f"{question.id}-expires", f"{question.id}-renewing"


def _row_blank(form: Form) -> bool:
    return all(logic.is_blank(f.data) for f in form)


def _field_value(question: Question, field: Any) -> Any:
    if question.type == "table":
        rows = []
        for entry in field.entries:
            if _row_blank(entry.form):
                continue
            rows.append({c.id: _field_value(c, entry.form[c.id]) for c in question.columns})
        return rows or None
    value = field.data
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, date):
        value = value.isoformat()
    if logic.is_blank(value):
        return None
    return value


# Form classes by (questionnaire SHA-256, section id): a published version never
# changes, so a class built once serves every later request.
_form_classes: dict[tuple[str, str], type[SectionForm]] = {}


def build_section_form(questionnaire: Questionnaire, section: Section) -> type[SectionForm]:
    """The SectionForm subclass for one section of one questionnaire version."""
    key = (questionnaire.sha256, section.id)
    form_class = _form_classes.get(key)
    if form_class is None:
        attrs: dict[str, Any] = {q.id: build_field(q) for q in section.answerable}
        for q in section.answerable:
            if q.comment:
                attrs[comment_name(q)] = TextAreaField(
                    "Comment (optional)",
                    validators=[Optional(), Length(max=2000, message=_too_long(2000))],
                )
            life = q.life if q.takes_files else None
            if life is not None and (life.asks_issue or life.asks_expiry):
                issued, expires, renewing = dates_names(q)
                attrs[issued] = DateAnswerField(
                    "Date issued" if life.asks_issue else "Date issued (optional)",
                    validators=[Optional()],
                )
                if life.asks_expiry:
                    attrs[expires] = DateAnswerField("Expiry date", validators=[Optional()])
                attrs[renewing] = BooleanField("It has run out and is being renewed")
                attrs[f"{q.id}-undated"] = BooleanField(
                    "It shows no date I can give (the school decides whether to accept it)"
                )
        attrs["section"] = section
        attrs["questionnaire"] = questionnaire
        form_class = type(f"SectionForm_{section.id}", (SectionForm,), attrs)
        _form_classes[key] = form_class
    return form_class


def form_data(
    section: Section, answers: Mapping[str, Any], comments: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    """Stored answers (and comments) in the shape the section's fields expect."""
    data = {q.id: answers[q.id] for q in section.answerable if q.id in answers}
    for q in section.answerable:
        if q.comment and comments and comments.get(q.id):
            data[comment_name(q)] = comments[q.id]
    return data


def from_json(form_class: type[SectionForm], data: Mapping[str, Any]) -> SectionForm:
    """A section form filled from JSON: the same class, the same checks as HTML."""
    form: SectionForm = form_class.from_json(dict(data))  # type: ignore[attr-defined]  # added by wtforms_json.init()
    return form


def formdata_pairs(question: Question, value: Any) -> list[tuple[str, str]]:
    """A stored answer as the (name, value) pairs an HTML form would post."""
    if value is None:
        return []
    if question.type == "table":
        return [
            (f"{question.id}-{index}-{cid}", "" if cell is None else str(cell))
            for index, row in enumerate(value)
            for cid, cell in row.items()
        ]
    if isinstance(value, list):
        return [(question.id, str(item)) for item in value]
    return [(question.id, str(value))]


def posted_section(
    section: Section,
    answers: Mapping[str, Any],
    comments: Mapping[str, str | None] | None = None,
) -> list[tuple[str, str]]:
    """A section's typed answers (and comments) as the HTML form would post
    them: what the API hands to the page's own form, so both check alike."""
    pairs = [
        pair
        for q in section.answerable
        if q.id in answers
        for pair in formdata_pairs(q, answers[q.id])
    ]
    for q in section.answerable:
        if q.comment and comments and comments.get(q.id):
            pairs.append((comment_name(q), str(comments[q.id])))
    return pairs


def sections_holding(
    questionnaire: Questionnaire, ids: Iterable[str]
) -> tuple[list[Section], list[str]]:
    """The sections whose questions these ids name, in the questionnaire's
    order, and the ids no answerable question has (sorted)."""
    wanted = set(ids)
    sections = [s for s in questionnaire.sections if any(q.id in wanted for q in s.answerable)]
    known = {q.id for s in sections for q in s.answerable}
    return sections, sorted(wanted - known)


def laid_over(
    section: Section, stored: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The section's stored values with the changes laid over them; a change
    to None clears that answer."""
    ids = {q.id for q in section.answerable}
    values = {k: v for k, v in stored.items() if k in ids}
    values.update({k: v for k, v in changes.items() if k in ids})
    return {k: v for k, v in values.items() if v is not None}
