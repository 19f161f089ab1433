"""When the shared rate-limit store (Redis) cannot be reached: fail closed, and say so.

Every rate-limited route (sign-in, password reset, link tokens, the API,
exports) asks the store before it answers. Without the store we cannot tell an
attacker's hundredth guess from a person's first try, so those routes answer
503 "try again shortly" rather than run unlimited; routes without a limit keep
working. The health endpoint reports the store, so monitoring sees why.

The embedded default (``memory://``) lives in each worker and cannot fail.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue

from .extensions import limiter

RETRY_AFTER_SECONDS = 30
DETAIL = (
    "Signing in, link checks and the API are paused because the service that counts "
    "attempts is not answering. Nothing you saved is lost. Try again in a minute."
)


def init_app(app: Flask) -> None:
    """Turn the shared store's connection errors into a clear 503 (after limiter.init_app)."""
    if is_shared(app):
        for error in _store_errors():
            app.register_error_handler(error, _unavailable)


def is_shared(app: Flask) -> bool:
    return not str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")


def state() -> str:
    """For the health endpoint: "ok" or "unreachable" for a shared store,
    "in-process" for the per-worker default, "off" when limits are disabled."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return "off"
    if not is_shared(current_app):
        return "in-process"
    try:
        return "ok" if limiter.storage.check() else "unreachable"
    except Exception:  # any failure to answer is "unreachable", which is what we report
        return "unreachable"


def _store_errors() -> tuple[type[Exception], ...]:
    errors = limiter.storage.base_exceptions
    return errors if isinstance(errors, tuple) else (errors,)


def _unavailable(error: BaseException) -> ResponseReturnValue:
    from .errors import problem  # errors imports permissions, which needs the app set up

    current_app.logger.error("Rate-limit store unreachable on %s: %s", request.path, error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        response = problem(503, DETAIL)
        response.headers.update(headers)
        return response
    return render_template("errors/503.html", detail=DETAIL), 503, headers
