"""Build a WTForms class for one section of a questionnaire.

The same class validates an HTML POST (``formdata``) and a JSON body
(``Form.from_json`` once wtforms-json is initialised), so there is one
validation path whichever way answers arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from wtforms import (
    Field,
    Form,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs lag
from wtforms.validators import (
    URL,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from .definition import Question, Section

MAX_TEXT = 500
MAX_LONG_TEXT = 10_000
INVALID_CHOICE = "Select from the options shown"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %m %Y", "%d-%m-%Y")


class DateAnswerField(Field):
    """A date typed as 2027-03-31 (the browser's picker) or 31/03/2027."""

    data: date | None
    raw_text: str = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = valuelist[0].strip() if valuelist and valuelist[0] else ""
        self.data = None
        if not self.raw_text:
            return
        for fmt in DATE_FORMATS:
            try:
                self.data = datetime.strptime(self.raw_text, fmt).date()
                return
            except ValueError:
                continue
        self.process_errors = [*self.process_errors, "Enter a real date, for example 31/03/2027"]

    def process_data(self, value: Any) -> None:
        if isinstance(value, str) and value:
            value = date.fromisoformat(value)
        self.data = value
        self.raw_text = value.isoformat() if isinstance(value, date) else ""

    def _value(self) -> str:
        return self.raw_text


class RequiredChoice:
    """Like InputRequired but with a message that works for radios and checkboxes."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            field.errors = []
            raise StopValidation(self.message)


def required_message(question: Question) -> str:
    match question.type:
        case "yes_no":
            return "Select yes or no"
        case "yes_no_na":
            return "Select yes, no or not applicable"
        case "single_choice":
            return "Select one option"
        case "multi_choice":
            return "Select at least one option"
        case "integer":
            return "Enter a whole number"
        case "date":
            return "Enter a date"
        case "email":
            return "Enter an email address"
        case "url":
            return "Enter a web address"
        case _:
            return "Enter an answer"


def number_message(question: Question) -> str:
    """'Enter a number of days between 0 and 365', or as near as the bounds allow."""
    what = f"a number of {question.unit}" if question.unit else "a whole number"
    if question.min is not None and question.max is not None:
        return f"Enter {what} between {question.min} and {question.max}"
    if question.min is not None:
        return f"Enter {what} that is {question.min} or more"
    if question.max is not None:
        return f"Enter {what} that is {question.max} or less"
    return "Enter a whole number, like 12"


class IntegerAnswerField(IntegerField):
    """A whole number; a typed value that is not one gets the question's own message."""

    def __init__(self, *args: Any, invalid_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            # "1,000" is how people write a thousand.
            super().process_formdata([str(v).replace(",", "").strip() for v in valuelist])
        except ValueError as exc:
            raise ValueError(self.invalid_message) from exc


def build_field(question: Question, enforce_required: bool = True) -> Field:
    """One WTForms field for one question; ``label`` and ``description`` come from it.

    Without ``enforce_required`` (a draft: "save and come back later") a blank
    answer is accepted, but what is typed must still be valid.
    """
    presence: Any = (
        (
            RequiredChoice
            if question.type.endswith(("choice", "yes_no", "yes_no_na"))
            else InputRequired
        )(message=required_message(question))
        if question.required and enforce_required
        else Optional()
    )
    common: dict[str, Any] = {"label": question.label, "description": question.help}
    choices = [SelectChoice(c.value, c.label) for c in question.choices]
    match question.type:
        case "yes_no" | "yes_no_na" | "single_choice":
            return RadioField(
                choices=choices,
                validators=[presence],
                invalid_choice_message=INVALID_CHOICE,  # type: ignore[call-arg]  # stubs lag WTForms 3.3
                **common,
            )
        case "multi_choice":
            return SelectMultipleField(
                choices=choices,
                validators=[presence],
                invalid_choice_message=INVALID_CHOICE,  # type: ignore[call-arg]
                **common,
            )
        case "integer":
            return IntegerAnswerField(
                invalid_message=number_message(question),
                validators=[
                    presence,
                    NumberRange(question.min, question.max, number_message(question)),
                ],
                **common,
            )
        case "date":
            return DateAnswerField(validators=[presence], **common)
        case "email":
            return StringField(
                validators=[
                    presence,
                    Email("Enter an email address in the correct format, like name@example.com"),
                ],
                **common,
            )
        case "url":
            return StringField(
                validators=[presence, URL(message="Enter a web address, like https://example.com")],
                **common,
            )
        case "long_text":
            return TextAreaField(
                validators=[presence, Length(max=MAX_LONG_TEXT, message=_too_long(MAX_LONG_TEXT))],
                **common,
            )
        case _:
            return StringField(
                validators=[presence, Length(max=MAX_TEXT, message=_too_long(MAX_TEXT))],
                **common,
            )


def _too_long(limit: int) -> str:
    return f"Shorten your answer to {limit:,} characters or fewer"


@lru_cache(maxsize=256)
def build_section_form(section: Section, enforce_required: bool = True) -> type[Form]:
    """A Form subclass with one field per answerable question, named by question id.

    Cached: a section (a frozen dataclass) always builds the same class.
    """
    attrs: dict[str, Any] = {q.id: build_field(q, enforce_required) for q in section.answerable}
    return type(f"SectionForm_{section.id}", (Form,), attrs)


def answers_to_form_data(section: Section, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answer values in the shape the section's fields expect."""
    data: dict[str, Any] = {}
    for question in section.answerable:
        if question.id in answers:
            data[question.id] = answers[question.id]
    return data


def form_to_answers(section: Section, form: Form) -> dict[str, Any]:
    """JSON-ready answer values from a validated form; blank answers are left out."""
    answers: dict[str, Any] = {}
    for question in section.answerable:
        value = form[question.id].data
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            continue
        if isinstance(value, date):
            value = value.isoformat()
        answers[question.id] = value
    return answers
