"""What every API view needs: reading JSON bodies and turning errors into problems."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any, NoReturn, TypeVar

from flask import Response, abort, jsonify, request
from pydantic import BaseModel, ValidationError
from wtforms import Form

from ...errors import problem
from ...input_hygiene import valid_id

FormT = TypeVar("FormT", bound=Form)

DEFAULT_PAGE = 50
MAX_PAGE = 200


def reply(
    body: BaseModel, status: int = 200, headers: dict[str, str] | None = None, **dump: Any
) -> Response:
    """A response model as JSON, through jsonify as every API answer goes."""
    response = jsonify(body.model_dump(mode="json", **dump))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 415/400 problem."""
    if not request.is_json:
        abort(415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="Send a JSON object")
    return body


def fill_form(form_class: type[FormT], body: dict[str, Any], **kwargs: Any) -> FormT:
    """A page's own form filled from JSON (wtforms-json): the same fields and
    messages as the HTML form. Fields not in the form are ignored, so sending
    ``status`` or ``organisation_id`` changes nothing."""
    form: FormT = form_class.from_json(  # type: ignore[attr-defined]  # added by wtforms_json.init()
        body, meta={"csrf": False}, skip_unknown_keys=True, **kwargs
    )
    return form


def form_problem(form: Form, more: dict[str, list[str]] | None = None) -> NoReturn:
    """422 with every field's messages, keyed by the JSON field name."""
    errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
    raise_problem(
        422,
        "Some fields need changing: see errors",
        kind="validation",
        errors={**errors, **(more or {})},
    )


def raise_problem(status: int, detail: str, **kwargs: Any) -> NoReturn:
    abort(problem(status, detail, **kwargs))


def service_problem(message: str, field: str | None, status: int = 422) -> NoReturn:
    """A service refused: its message, keyed by the field it names if any."""
    raise_problem(
        status,
        message,
        kind="validation" if field else "refused",
        errors={field: [message]} if field else None,
    )


def page_args() -> tuple[int | None, int]:
    """(after id, limit) from ``cursor`` and ``limit`` query parameters."""
    limit = _limit()
    cursor = request.args.get("cursor")
    if not cursor:
        return None, limit
    try:
        after = valid_id(int(_decoded(cursor)))
        if after is None:
            raise ValueError(cursor)
        return after, limit
    except ValueError:
        _bad_cursor()


def dated_page_args() -> tuple[tuple[date, int] | None, int]:
    """(after (date, id), limit) for a list ordered by a date, then id."""
    limit = _limit()
    cursor = request.args.get("cursor")
    if not cursor:
        return None, limit
    try:
        day, _, last = _decoded(cursor).partition(":")
        after = valid_id(int(last))
        if after is None:
            raise ValueError(cursor)
        return (date.fromisoformat(day), after), limit
    except ValueError:
        _bad_cursor()


def make_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def make_dated_cursor(day: date, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{day.isoformat()}:{last_id}".encode()).decode()


def _limit() -> int:
    limit = request.args.get("limit", DEFAULT_PAGE, type=int)
    if not 1 <= limit <= MAX_PAGE:
        raise_problem(
            400,
            f"limit must be between 1 and {MAX_PAGE}",
            kind="validation",
            errors={"limit": [f"Enter a number between 1 and {MAX_PAGE}"]},
        )
    return limit


def _decoded(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError(cursor) from exc


def _bad_cursor() -> NoReturn:
    raise_problem(
        400,
        "cursor is not one this API gave out",
        kind="validation",
        errors={"cursor": ["Use the next_cursor of the previous page"]},
    )


ModelT = TypeVar("ModelT", bound=BaseModel)


def model_body(model: type[ModelT]) -> ModelT:
    """The request's JSON object read as ``model``, or a 422 problem naming each field."""
    try:
        return model.model_validate(json_body())
    except ValidationError as exc:
        raise_problem(
            422,
            "Some fields need changing: see errors",
            kind="validation",
            errors={
                ".".join(str(part) for part in error["loc"]) or "body": [error["msg"]]
                for error in exc.errors()
            },
        )


def unknown_ids(ids: list[str], what: str) -> NoReturn:
    """422: answers sent for ids no question has (``what``: "question of this DPIA")."""
    raise_problem(
        422,
        f"Some answers are for no {what}: see errors",
        kind="validation",
        errors={qid: [f"No {what} has this id"] for qid in ids},
    )
