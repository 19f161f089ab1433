"""Text that no field may hold, removed as requests are read.

A NUL byte cannot be stored in PostgreSQL text and a lone surrogate cannot be
encoded as UTF-8 for any database: either would fail deep inside a save with
a server error. Browsers never send them; scripts and attackers do. So every
form field, query parameter and JSON string loses NUL bytes, and a lone
surrogate becomes U+FFFD, before any view sees it; a URL segment holding
either is a 404, as is a number in a URL too large to be one of our ids.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    if not _UNSTORABLE.search(value):
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def clean_value(value: Any) -> Any:
    """Strings cleaned, anywhere inside lists and objects (parsed JSON)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {
            clean_text(k) if isinstance(k, str) else k: clean_value(v) for k, v in value.items()
        }
    return value


def _clean_multidict(data: MultiDict[str, str]) -> ImmutableMultiDict[str, str]:
    items = list(data.items(multi=True))
    if any(not isinstance(key, str) or not isinstance(value, str) for key, value in items):
        # Werkzeug reads a multipart field named with a trailing backslash
        # as a field without a name: no form of ours sends one.
        abort(400, description="The form could not be read: one of its fields has no usable name")
    return ImmutableMultiDict([(clean_text(key), clean_text(value)) for key, value in items])


def safe_ids(values: list[int]) -> list[int]:
    """Ids from a query string that could be ours (others name nothing)."""
    return [value for value in values if valid_id(value) is not None]


class CleanRequest(Request):
    """Flask's request, with form fields, query parameters and JSON cleaned."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form is not None:
            self.__dict__["form"] = _clean_multidict(form)

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        cleaned = self.__dict__.get("_clean_args")
        if cleaned is None:
            cleaned = self.__dict__["_clean_args"] = _clean_multidict(super().args)
        return cleaned

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return clean_value(super().get_json(force=force, silent=silent, cache=cache))
        except RecursionError:
            abort(400, description="The JSON is nested too deeply to read: no field of ours "
                  "is more than a few levels deep")  # fmt: skip


# Our ids are 32-bit (PostgreSQL integer): a larger number in a URL can name
# nothing, and PostgreSQL would refuse to compare with it.
MAX_ID = 2**31 - 1


def valid_id(value: int | None) -> int | None:
    """An id from a query parameter, or None if it could not be one of ours."""
    return value if value is not None and 0 <= value <= MAX_ID else None


def _refuse_unstorable_paths() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            abort(404)
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            abort(404)


def init_app(app: Flask) -> None:
    app.request_class = CleanRequest
    app.before_request(_refuse_unstorable_paths)
