"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json``.

Written by hand beside the views it describes; tests/test_api_openapi.py
checks that every route is documented and every documented operation
exists, and Schemathesis checks real responses against it.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...models import RequestStatus
from ...services.directory.curation import CATEGORY_LABELS
from . import bp

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


def _object(
    properties: dict[str, Schema], required: list[str] | None = None, **extra: Any
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    return schema


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
DATE: Schema = {"type": "string", "format": "date"}
STRINGS: Schema = {"type": "array", "items": STRING}
ANY: Schema = {}

QUESTIONNAIRE_REF = _object({"key": STRING, "version": INTEGER, "title": STRING})

SCHEMAS: dict[str, Schema] = {
    "Problem": _object(
        {
            "type": {"type": "string", "description": "about:blank, or /api/v1/problems/<kind>"},
            "title": STRING,
            "status": INTEGER,
            "detail": STRING,
            "errors": {
                "type": "object",
                "description": "Messages by field name or question id",
                "additionalProperties": STRINGS,
            },
            "revision": {"type": "integer", "description": "stale-revision: the current one"},
        },
        required=["type", "title", "status", "detail"],
    ),
    "Decision": _nullable(
        "object",
        properties={
            "outcome": STRING,
            "reason": _nullable("string"),
            "conditions": STRINGS,
            "next_review_date": _nullable("string", format="date"),
            "decided_at": _nullable("string"),
            "decided_by": _nullable("string"),
        },
    ),
    "Request": _object(
        {
            "reference": {"type": "string", "examples": ["DD-7K2M9Q"]},
            "school": STRING,
            "supplier": STRING,
            "contact_name": STRING,
            "contact_email": STRING,
            "questionnaire": QUESTIONNAIRE_REF,
            "status": {"type": "string", "enum": [str(s) for s in RequestStatus]},
            "status_label": STRING,
            "due_date": _nullable("string", format="date"),
            "link_expires_at": _nullable("string"),
            "created_at": _nullable("string"),
            "submitted_at": _nullable("string"),
            "rating": _nullable("string", enum=["green", "amber", "red", None]),
            "score": _nullable("integer"),
            "decision": _ref("Decision"),
            "links": _object(
                {"self": STRING, "answers": STRING, "findings": STRING, "export": STRING}
            ),
        }
    ),
    "IssuedRequest": {
        "allOf": [
            _ref("Request"),
            _object(
                {
                    "supplier_link": {
                        "type": "string",
                        "description": "The supplier's link. Only in this response: we keep a hash",
                    }
                }
            ),
        ]
    },
    "RequestPage": _object(
        {
            "items": {"type": "array", "items": _ref("Request")},
            "next_cursor": _nullable("string", description="Pass as cursor for the next page"),
        }
    ),
    "NewRequest": _object(
        {
            "questionnaire": {"type": "string", "description": "A key from GET /questionnaires"},
            "supplier_name": {"type": "string", "maxLength": 200},
            "contact_name": {"type": "string", "maxLength": 200},
            "contact_email": {"type": "string", "format": "email"},
            "due_date": {"type": "string", "description": "2027-03-31 or 31/03/2027"},
            "link_days": {"type": "integer", "minimum": 1, "maximum": 90},
            "message": {"type": "string", "maxLength": 2000},
            "email_supplier": {
                "type": "boolean",
                "description": "false: we do not email the link; send supplier_link yourself",
            },
        },
        required=["questionnaire", "supplier_name", "contact_name", "contact_email"],
    ),
    "Extend": _object({"days": {"type": "integer", "minimum": 1, "maximum": 90}}),
    "Reminded": _object(
        {"reference": STRING, "sent_to": STRING, "kind": {"enum": ["due_soon", "overdue", "nudge"]}}
    ),
    "Answer": _object(
        {
            "question_id": STRING,
            "value": ANY,
            "comment": _nullable("string"),
            "revision": INTEGER,
        }
    ),
    "Answers": _object(
        {"reference": STRING, "answers": {"type": "array", "items": _ref("Answer")}}
    ),
    "Finding": _object(
        {
            "question_id": STRING,
            "question": STRING,
            "outcome": STRING,
            "computed": STRING,
            "expected": STRING,
            "actual": STRING,
            "reason": STRING,
            "severity": {"enum": ["critical", "major", "minor"]},
            "rule_source": {"enum": ["baseline", "trust", "school"]},
            "points_lost": {"type": "number"},
            "review": _nullable(
                "object", properties={"outcome": STRING, "reason": STRING, "by": STRING}
            ),
        }
    ),
    "Comparison": _object(
        {
            "rating": _nullable("string"),
            "score": _nullable("integer"),
            "rating_summary": _nullable("string"),
            "rating_reasons": STRINGS,
            "triage": _nullable(
                "object",
                properties={
                    "risk": STRING,
                    "reasons": STRINGS,
                    "uncertain": STRINGS,
                    "next_step": STRING,
                },
            ),
            "findings": {"type": "array", "items": _ref("Finding")},
        }
    ),
    "Findings": {"allOf": [_ref("Comparison"), _object({"reference": STRING})]},
    "ClarificationAsk": _object(
        {
            "notes": {
                "type": "object",
                "description": "What to ask, by question id",
                "additionalProperties": STRING,
            }
        }
    ),
    "ClarificationAsked": _object(
        {
            "reference": STRING,
            "status": STRING,
            "round": INTEGER,
            "questions": STRINGS,
        }
    ),
    "DecisionBody": _object(
        {
            "outcome": {"enum": ["accepted", "accepted_with_conditions", "rejected"]},
            "reason": {"type": "string", "maxLength": 5000},
            "conditions": {
                "description": "Required to accept with conditions: a list, or one per line",
                "oneOf": [STRING, STRINGS],
            },
            "next_review": {"type": "string", "description": "2027-11-30 or 30/11/2027"},
        },
        required=["outcome", "reason"],
    ),
    "ReviewBody": _object(
        {
            "outcome": {"enum": ["met", "partly_met", "not_met", "not_applicable"]},
            "reason": {"type": "string", "maxLength": 2000},
        }
    ),
    "SupplierRequest": _object(
        {
            "reference": STRING,
            "school": STRING,
            "supplier": STRING,
            "status": STRING,
            "message": _nullable("string"),
            "due_date": _nullable("string", format="date"),
            "link_expires_at": _nullable("string"),
            "questionnaire": _object(
                {"key": STRING, "version": INTEGER, "title": STRING, "definition": STRING}
            ),
            "answers": {
                "type": "array",
                "items": {
                    "allOf": [_ref("Answer"), _object({"confirmed": BOOLEAN})],
                },
            },
            "evidence": {
                "type": "array",
                "items": _object(
                    {"id": INTEGER, "question_id": STRING, "filename": STRING, "size": INTEGER}
                ),
            },
            "shown": {"type": "object", "additionalProperties": BOOLEAN},
            "progress": {
                "type": "array",
                "items": _object(
                    {
                        "section_id": STRING,
                        "title": STRING,
                        "status": STRING,
                        "asked": INTEGER,
                        "answered": INTEGER,
                    }
                ),
            },
            "clarifications": {
                "type": "array",
                "items": _object({"question_id": _nullable("string"), "note": STRING}),
            },
        }
    ),
    "AnswerBody": _object(
        {
            "value": {
                "description": "As the questionnaire's definition types it; null removes the answer"
            },
            "comment": {"type": ["string", "null"]},
            "revision": {
                "type": "integer",
                "minimum": 0,
                "description": "The revision last read (0 for a new answer)",
            },
        },
        required=["value", "revision"],
    ),
    "SavedAnswer": _object(
        {
            "question_id": STRING,
            "value": ANY,
            "comment": _nullable("string"),
            "revision": INTEGER,
            "shown": {
                "type": "object",
                "description": "Which questions of the section are now asked",
                "additionalProperties": BOOLEAN,
            },
        }
    ),
    "Uploaded": _object(
        {
            "question_id": STRING,
            "files": {
                "type": "array",
                "items": _object(
                    {"id": INTEGER, "filename": STRING, "size": INTEGER, "sha256": STRING}
                ),
            },
        }
    ),
    "Declaration": _object(
        {
            "declared_name": {"type": "string", "maxLength": 200},
            "declared_role": {"type": "string", "maxLength": 200},
            "accurate": {"type": "boolean", "description": "Must be true to submit"},
            "directory_consent": BOOLEAN,
            "reuse_consent": {
                "type": "boolean",
                "description": "These answers may start this supplier's questionnaires for other "
                "organisations, after a one-time code emailed to this request's contact",
            },
        },
        required=["declared_name", "declared_role", "accurate"],
    ),
    "Submitted": _object(
        {"reference": STRING, "status": STRING, "submitted_at": _nullable("string")}
    ),
    "DirectoryEntry": _object(
        {
            "id": INTEGER,
            "listing_id": INTEGER,
            "version": INTEGER,
            "supplier": STRING,
            "product": STRING,
            "category": STRING,
            "category_label": STRING,
            "questionnaire": QUESTIONNAIRE_REF,
            "status": STRING,
            "rating": _nullable("string"),
            "summary": STRING,
            "conditions": STRING,
            "reviewed_on": _nullable("string", format="date"),
            "review_due": DATE,
            "review_overdue": BOOLEAN,
            "curator_authored": BOOLEAN,
            "links": _object({"self": STRING}),
        }
    ),
    "DirectoryPage": _object({"items": {"type": "array", "items": _ref("DirectoryEntry")}}),
    "DirectoryEntryDetail": {
        "allOf": [
            _ref("DirectoryEntry"),
            _object(
                {
                    "answers": {"type": "object"},
                    "comparison": _ref("Comparison"),
                },
                required=["answers"],
            ),
        ]
    },
    "QuestionnaireList": _object(
        {
            "items": {
                "type": "array",
                "items": _object(
                    {
                        "key": STRING,
                        "version": INTEGER,
                        "title": STRING,
                        "audience": STRING,
                        "question_count": INTEGER,
                        "definition": STRING,
                    }
                ),
            }
        }
    ),
    "QuestionnaireDefinition": _object(
        {
            "key": STRING,
            "version": INTEGER,
            "title": STRING,
            "sha256": STRING,
            "current": BOOLEAN,
            "definition": {"type": "object", "description": "The definition file, as JSON"},
        }
    ),
    "Health": _object(
        {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "database": STRING,
            "rate_limit_store": {
                "type": "string",
                "enum": ["ok", "unreachable", "in-process", "off"],
                "description": "The shared store the rate limits count in (Redis); in-process "
                "when each worker counts its own. While it is unreachable, every "
                "rate-limited route answers 503: limits fail closed.",
            },
        }
    ),
}

ERRORS = {
    "400": "The request could not be read (a query parameter or body of the wrong shape)",
    "401": "No credential, or one that is not valid (WWW-Authenticate: Bearer)",
    "403": "The key or account may not do this (a read-only key writing, a viewer deciding)",
    "404": "Not found, or another organisation's (never told apart)",
    "409": "Not possible in the request's state (already submitted, a stale revision...)",
    "415": "The body must be JSON",
    "422": "Fields or answers need changing: errors has the messages by field or question id",
    "429": "Too many calls for this key, token or address: wait Retry-After seconds",
}


def _problems(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/Problem{code}"} for code in codes}


def _json(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The request's reference, e.g. DD-7K2M9Q",
}
QUESTION_ID = {"name": "question_id", "in": "path", "required": True, "schema": {"type": "string"}}
XLSX_OK = {
    "200": {
        "description": "The workbook",
        "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            }
        },
    }
}
STAFF: list[dict[str, list[str]]] = [{"apiKey": []}, {"session": []}]
SUPPLIER: list[dict[str, list[str]]] = [{"linkToken": []}, {"session": []}]
ANYONE: list[dict[str, list[str]]] = [{"apiKey": []}, {"linkToken": []}, {"session": []}]
READ = ("400", "401", "403", "404", "429")
WRITE = ("400", "401", "403", "404", "409", "415", "422", "429")


def _op(
    op_id: str,
    summary: str,
    tag: str,
    ok: dict[str, Any],
    *,
    security: list[dict[str, list[str]]],
    errors: tuple[str, ...],
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "security": security,
        "responses": {**ok, **_problems(*errors)},
    }
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    return operation


def _query(name: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema or STRING,
        "description": description,
    }


def _request_action(
    op_id: str, summary: str, ok: dict[str, Any], body: str | None = None
) -> dict[str, Any]:
    return {
        "post": _op(
            op_id,
            summary,
            "Requests",
            ok,
            security=STAFF,
            errors=WRITE if body else ("400", "401", "403", "404", "409", "429"),
            params=[REFERENCE],
            body=_body(body) if body else None,
        )
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, Any] = {
        "/health": {
            "get": _op(
                "health",
                "The app, its database and its rate-limit store answer",
                "Operations",
                {
                    "200": _json(_ref("Health")),
                    "503": _json(_ref("Health"), "The rate-limit store is unreachable"),
                },
                security=[{}],
                errors=(),
            )
        },
        "/openapi.json": {
            "get": _op(
                "openapi",
                "This document",
                "Operations",
                {"200": _json({"type": "object"})},
                security=[{}],
                errors=("429",),
            )
        },
        "/questionnaires": {
            "get": _op(
                "list_questionnaires",
                "The questionnaires a new request can use",
                "Questionnaires",
                {"200": _json(_ref("QuestionnaireList"))},
                security=ANYONE,
                errors=("401", "403", "429"),
            )
        },
        "/questionnaires/{key}/{version}": {
            "get": _op(
                "get_questionnaire",
                "One questionnaire version's whole definition",
                "Questionnaires",
                {"200": _json(_ref("QuestionnaireDefinition"))},
                security=ANYONE,
                errors=("401", "403", "404", "429"),
                params=[
                    {"name": "key", "in": "path", "required": True, "schema": STRING},
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
            )
        },
        "/requests": {
            "get": _op(
                "list_requests",
                "Your organisation's requests, newest first",
                "Requests",
                {"200": _json(_ref("RequestPage"))},
                security=STAFF,
                errors=("400", "401", "403", "429"),
                params=[
                    _query(
                        "status",
                        "Only this status",
                        {"type": "string", "enum": [str(s) for s in RequestStatus]},
                    ),
                    _query("supplier", "Part of the supplier's name"),
                    _query("questionnaire", "A questionnaire key"),
                    _query("cursor", "next_cursor from the previous page"),
                    _query(
                        "limit",
                        "Page size (default 50)",
                        {"type": "integer", "minimum": 1, "maximum": 200},
                    ),
                ],
            ),
            "post": _op(
                "create_request",
                "Create a request and send its link",
                "Requests",
                {"201": _json(_ref("IssuedRequest"), "Created; Location names it")},
                security=STAFF,
                errors=("400", "401", "403", "415", "422", "429"),
                body=_body("NewRequest"),
                description="Checked by the same form as the New request page. The response's "
                "supplier_link is the only time the link exists in clear.",
            ),
        },
        "/requests/{reference}": {
            "get": _op(
                "get_request",
                "One request",
                "Requests",
                {"200": _json(_ref("Request"))},
                security=STAFF,
                errors=READ,
                params=[REFERENCE],
            )
        },
        "/requests/{reference}/revoke": _request_action(
            "revoke_request_link",
            "Stop the supplier's link working",
            {"200": _json(_ref("Request"))},
        ),
        "/requests/{reference}/extend": _request_action(
            "extend_request_link",
            "Let the link work for more days",
            {"200": _json(_ref("Request"))},
            "Extend",
        ),
        "/requests/{reference}/reissue": _request_action(
            "reissue_request_link",
            "Email a new link; the old one stops working",
            {"200": _json(_ref("IssuedRequest"))},
        ),
        "/requests/{reference}/remind": _request_action(
            "remind_supplier", "Email the supplier a reminder now", {"200": _json(_ref("Reminded"))}
        ),
        "/requests/{reference}/answers": {
            "get": _op(
                "request_answers",
                "The answers as stored (typed)",
                "Requests",
                {"200": _json(_ref("Answers"))},
                security=STAFF,
                errors=READ,
                params=[REFERENCE],
            )
        },
        "/requests/{reference}/findings": {
            "get": _op(
                "request_findings",
                "The answers against your requirements: rating, triage, findings",
                "Requests",
                {"200": _json(_ref("Findings"))},
                security=STAFF,
                errors=("400", "401", "403", "404", "409", "429"),
                params=[REFERENCE],
            )
        },
        "/requests/{reference}/export.xlsx": {
            "get": _op(
                "request_export",
                "The request as an Excel workbook",
                "Requests",
                XLSX_OK,
                security=STAFF,
                errors=READ,
                params=[REFERENCE],
            )
        },
        "/requests/{reference}/clarifications": _request_action(
            "ask_clarification",
            "Ask the supplier to clarify answers (emails a new link)",
            {"201": _json(_ref("ClarificationAsked"), "Asked")},
            "ClarificationAsk",
        ),
        "/requests/{reference}/decision": _request_action(
            "decide",
            "Accept, accept with conditions, or reject",
            {"200": _json(_ref("Request"))},
            "DecisionBody",
        ),
        "/requests/{reference}/findings/{question_id}/review": {
            "put": _op(
                "review_finding",
                "Judge one finding differently, with a reason",
                "Requests",
                {"200": _json(_ref("Findings"))},
                security=STAFF,
                errors=WRITE,
                params=[REFERENCE, QUESTION_ID],
                body=_body("ReviewBody"),
            ),
            "delete": _op(
                "remove_finding_review",
                "Go back to the computed finding",
                "Requests",
                {"200": _json(_ref("Findings"))},
                security=STAFF,
                errors=("400", "401", "403", "404", "409", "429"),
                params=[REFERENCE, QUESTION_ID],
            ),
        },
        "/requests/{reference}/reopen": _request_action(
            "reopen_decision",
            "Take back a decision to review again",
            {"200": _json(_ref("Request"))},
        ),
        "/register.xlsx": {
            "get": _op(
                "register_export",
                "The supplier register as an Excel workbook",
                "Requests",
                XLSX_OK,
                security=STAFF,
                errors=("400", "401", "403", "429"),
                params=[_query("answer", "A question id to add as a column (repeatable)")],
            )
        },
        "/supplier/request": {
            "get": _op(
                "supplier_request",
                "Your request: questionnaire, answers, progress",
                "Supplier",
                {"200": _json(_ref("SupplierRequest"))},
                security=SUPPLIER,
                errors=("401", "404", "429"),
                params=[
                    _query(
                        "reference", "With a browser session holding several requests: which one"
                    )
                ],
            )
        },
        "/supplier/answers/{question_id}": {
            "put": _op(
                "save_answer",
                "Save one answer",
                "Supplier",
                {"200": _json(_ref("SavedAnswer"))},
                security=SUPPLIER,
                errors=("400", "401", "404", "409", "415", "422", "429"),
                params=[{"name": "question_id", "in": "path", "required": True, "schema": STRING}],
                body=_body("AnswerBody"),
                description="Checked exactly as the questionnaire page checks it. 409 with the current "
                "revision when someone changed the answer after you read it.",
            )
        },
        "/supplier/evidence/{question_id}": {
            "post": _op(
                "upload_evidence",
                "Upload files for a question",
                "Supplier",
                {"201": _json(_ref("Uploaded"), "Stored")},
                security=SUPPLIER,
                errors=("400", "401", "404", "409", "413", "422", "429"),
                params=[{"name": "question_id", "in": "path", "required": True, "schema": STRING}],
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _object(
                                {
                                    "file": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    }
                                }
                            )
                        }
                    },
                },
            )
        },
        "/supplier/submit": {
            "post": _op(
                "submit",
                "Submit the answers with the declaration",
                "Supplier",
                {"200": _json(_ref("Submitted"))},
                security=SUPPLIER,
                errors=("400", "401", "404", "409", "415", "422", "429"),
                body=_body("Declaration"),
                description="422 (type .../incomplete) lists every answer still needed by question id.",
            )
        },
        "/directory": {
            "get": _op(
                "search_directory",
                "Search the published directory",
                "Directory",
                {"200": _json(_ref("DirectoryPage"))},
                security=STAFF,
                errors=("400", "401", "403", "429"),
                params=[
                    _query("q", "Words in the supplier, product or summary"),
                    _query(
                        "category", "A category", {"type": "string", "enum": list(CATEGORY_LABELS)}
                    ),
                    _query(
                        "rating",
                        "green, amber or red",
                        {"type": "string", "enum": ["green", "amber", "red"]},
                    ),
                    _query("questionnaire", "A questionnaire key"),
                    _query(
                        "freshness",
                        "current or overdue",
                        {"type": "string", "enum": ["current", "overdue"]},
                    ),
                ],
            )
        },
        "/directory/{entry_id}": {
            "get": _op(
                "get_directory_entry",
                "One entry with its answers",
                "Directory",
                {"200": _json(_ref("DirectoryEntryDetail"))},
                security=STAFF,
                errors=READ,
                params=[
                    {
                        "name": "entry_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    _query(
                        "compare",
                        "true: add the findings against your own requirements",
                        {"type": "string", "enum": ["true", "false"]},
                    ),
                ],
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Due Diligence Portal API",
            "version": "1.0.0",
            "description": (
                "Requests, answers, findings and exports for schools and trusts (an organisation "
                "API key: Authorization: Bearer ddp_...); one request's questionnaire for its "
                "supplier (the link's token as the Bearer token). Errors are RFC 9457 problem "
                "details; type /api/v1/problems/validation carries errors by field or question "
                "id, /api/v1/problems/incomplete the answers still needed, "
                "/api/v1/problems/stale-revision the current revision, /api/v1/problems/refused "
                "a state that does not allow it."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                f"Problem{code}": {
                    "description": text,
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                }
                for code, text in ERRORS.items()
            }
            | {
                "Problem413": {
                    "description": "The upload is too large",
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                }
            },
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An organisation API key (made by an admin on the API keys page)",
                },
                "linkToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token at the end of the supplier's link",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "A browser session; writes need the X-CSRFToken header",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document())
