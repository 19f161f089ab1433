"""Error pages: HTML in the layout, or RFC 9457 problem details under /api/."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from . import redaction
from .identity.api_callers import ApiUnauthorised

HANDLED = (400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 500)
PAGES = (400, 403, 404, 405, 410, 413, 429, 500)
PROBLEM_JSON = "application/problem+json"
# Where the API explains its own problem types (documented in the OpenAPI document).
PROBLEM_TYPES = "/api/v1/problems/"

# Our words for the API, where Werkzeug's defaults talk about "the server".
API_DETAILS = {
    400: "The request could not be read: send JSON with the fields the API documents",
    403: "This key or account may not do this",
    404: "There is nothing here, or it belongs to another organisation",
    405: "This address does not accept that method",
    413: "The upload is too large",
    415: "Send the body as JSON (Content-Type: application/json)",
    500: "Something went wrong on our side. It has been logged; try again in a minute",
}


def init_app(app: Flask) -> None:
    redaction.install("werkzeug", "gunicorn.access", "gunicorn.error")
    for code in HANDLED:
        app.register_error_handler(code, render_error)
    app.register_error_handler(ApiUnauthorised, _unauthorised)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(Exception, _unexpected)


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    kind: str | None = None,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> Response:
    """An RFC 9457 problem details response. ``kind`` names one of our problem
    types (e.g. "validation"); without it the type is the HTTP status alone."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPES}{kind}" if kind else "about:blank",
        "title": title or _title(status),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _title(status: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, "Error")


def render_error(error: HTTPException) -> ResponseReturnValue:
    """The error page (or, under /api/, the problem document) for ``error``."""
    code = error.code or 500
    if request.path.startswith("/api/"):
        default = type(error).description
        detail = error.description if error.description != default else None
        response = problem(code, detail or API_DETAILS.get(code, _title(code)))
        allowed = getattr(error, "valid_methods", None)
        if code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
    # Statuses only the API raises share the page for a bad request.
    page = code if code in PAGES else 400
    # A refusal that says why (abort(403, description=...)) shows the reason.
    detail = error.description if error.description != type(error).description else None
    return render_template(f"errors/{page}.html", error=error, detail=detail), code


def _untrusted_host(error: SecurityError) -> ResponseReturnValue:
    """A Host header naming someone else (production's TRUSTED_HOSTS): plain
    text, because no link can be built for a host we do not serve."""
    return Response("This address is not served here.\n", 400, mimetype="text/plain")


def _unauthorised(error: ApiUnauthorised) -> ResponseReturnValue:
    response = problem(401, error.detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _unexpected(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return render_error(error)
    session = g.get("_db_session")
    if session is not None:
        session.rollback()
    # The path may hold a link token: log a redacted one, never the form body.
    current_app.logger.error(
        "Unhandled error on %s %s", request.method, redaction.redact(request.path), exc_info=error
    )
    return render_error(InternalServerError())
