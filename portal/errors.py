"""Error pages: HTML in the layout, or JSON under /api/."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from . import redaction

HANDLED = (400, 403, 404, 405, 410, 413, 429, 500)


def init_app(app: Flask) -> None:
    redaction.install("werkzeug", "gunicorn.access", "gunicorn.error")
    for code in HANDLED:
        app.register_error_handler(code, _render_error)
    app.register_error_handler(Exception, _unexpected)


def _render_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if request.path.startswith("/api/"):
        return jsonify(
            error={"status": code, "title": error.name, "detail": error.description}
        ), code
    return render_template(f"errors/{code}.html", error=error), code


def _unexpected(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return _render_error(error)
    session = g.get("_db_session")
    if session is not None:
        session.rollback()
    # The path may hold a link token: log a redacted one, never the form body.
    current_app.logger.error(
        "Unhandled error on %s %s", request.method, redaction.redact(request.path), exc_info=error
    )
    return _render_error(InternalServerError())
