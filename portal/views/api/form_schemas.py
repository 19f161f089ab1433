"""JSON Schema for a request body, read off the WTForms class the API fills.

The API validates bodies with the pages' own forms (wtforms-json), so the
document describes those forms rather than a second copy of their rules: a
field's type comes from its class, maxLength from Length, minimum and maximum
from NumberRange, enum from its choices, required from InputRequired. The form
class is read unbound, so no request context is needed.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FloatField,
    Form,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, NumberRange

from ...questionnaire.forms import DateAnswerField

Schema = dict[str, Any]

# Checked in order: a subclass before its base (EmailField is a StringField).
FIELD_TYPES: list[tuple[type[Any], Schema]] = [
    (BooleanField, {"type": "boolean"}),
    (IntegerField, {"type": "integer"}),
    (DecimalField, {"type": "number"}),
    (FloatField, {"type": "number"}),
    (DateField, {"type": "string", "format": "date"}),
    (DateAnswerField, {"type": "string", "description": "2027-03-31 or 31/03/2027"}),
    (EmailField, {"type": "string", "format": "email"}),
    (SelectMultipleField, {"type": "array", "items": {"type": "string"}}),
]


def unbound_fields(form_class: type[Form]) -> list[tuple[str, UnboundField]]:
    """The form's fields in declaration order, as WTForms itself orders them."""
    found = [
        (name, value)
        for name in dir(form_class)
        if not name.startswith("_")
        and isinstance(value := getattr(form_class, name, None), UnboundField)
    ]
    return sorted(found, key=lambda item: item[1].creation_counter)


def field_schema(unbound: UnboundField) -> tuple[Schema, bool]:
    """(schema, required) for one field."""
    field_class = unbound.field_class
    schema: Schema = next(
        (dict(s) for kind, s in FIELD_TYPES if issubclass(field_class, kind)), {"type": "string"}
    )
    choices = unbound.kwargs.get("choices")
    if issubclass(field_class, SelectFieldBase) and choices:
        values = [c.value if hasattr(c, "value") else c[0] for c in choices]
        target = schema["items"] if schema["type"] == "array" else schema
        target["enum"] = values
    # The page's hint, else its label: the words a person filling the form reads.
    label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
    description = unbound.kwargs.get("description") or label
    if description and "description" not in schema:
        schema["description"] = description
    required = False
    for check in unbound.kwargs.get("validators") or []:
        if isinstance(check, InputRequired | DataRequired):
            required = True
        elif isinstance(check, Length) and check.max >= 0:
            schema["maxLength"] = check.max
        elif isinstance(check, NumberRange):
            schema.update(
                {k: v for k, v in (("minimum", check.min), ("maximum", check.max)) if v is not None}
            )
        elif isinstance(check, Email):
            schema["format"] = "email"
        elif isinstance(check, AnyOf):
            schema["enum"] = list(check.values)
    return schema, required


def form_schema(
    form_class: type[Form],
    *,
    leave_out: tuple[str, ...] = (),
    api_only: dict[str, Schema] | None = None,
) -> Schema:
    """The body schema of a form. ``leave_out`` names fields the API ignores;
    ``api_only`` adds or replaces what the API view reads itself (e.g. a flag
    outside the form, or a list it joins into the form's text)."""
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for name, unbound in unbound_fields(form_class):
        if name in leave_out:
            continue
        properties[name], needed = field_schema(unbound)
        if needed:
            required.append(name)
    properties.update(api_only or {})
    return {"type": "object", "properties": properties, "required": required}
