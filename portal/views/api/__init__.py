"""The JSON API (``/api/v1``), documented at ``/api/v1/openapi.json``.

Staff endpoints take an organisation API key (``Authorization: Bearer ddp_...``)
or a signed-in session; supplier endpoints the link's token or the supplier's
browser session. Sessions must send the CSRF token; Bearer calls carry no
cookies, so they need none. Errors are RFC 9457 problem details.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from sqlalchemy import text

from ... import rate_limit_store
from ...extensions import WRITE_METHODS, csrf, db, limiter
from ...identity.api_callers import bearer_token, session_holds_credentials
from .common import reply
from .schemas import Health

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _credential_key() -> str:
    """Rate limits count per key or link token (hashed), else per address."""
    secret = bearer_token()
    if secret is None:
        return f"address:{get_remote_address()}"
    return "bearer:" + hashlib.sha256(secret.encode()).hexdigest()[:32]


limiter.limit(lambda: str(current_app.config["API_RATE_LIMIT"]), key_func=_credential_key)(bp)
# Guessing keys or link tokens: every refused credential counts against the address.
limiter.limit(
    lambda: str(current_app.config["TOKEN_RATE_LIMIT"]),
    key_func=get_remote_address,
    deduct_when=lambda response: response.status_code == 401,
)(bp)


@bp.before_request
def _csrf_for_sessions() -> None:
    """A write riding on a browser session needs the CSRF token; a Bearer call
    carries no cookie to abuse, and a call with neither is refused as 401."""
    if (
        request.method in WRITE_METHODS
        and current_app.config.get("WTF_CSRF_ENABLED", True)
        and bearer_token() is None
        and session_holds_credentials()
    ):
        csrf.protect()


@limiter.request_filter
def _health_is_never_limited() -> bool:
    """The health check must answer when the rate-limit store does not, to report it."""
    return request.endpoint == "api.health"


@bp.get("/health")
def health() -> ResponseReturnValue:
    """For load balancers and monitoring: the app answers, the database too, and
    the shared rate-limit store when there is one (without it sign-in is paused)."""
    db.session.execute(text("SELECT 1"))
    store = rate_limit_store.state()
    if store == "unreachable":
        return reply(Health(status="degraded", database="ok", rate_limit_store=store), 503)
    return reply(Health(status="ok", database="ok", rate_limit_store=store))


from . import (  # noqa: E402,F401  (routes)
    directory,
    dpias,
    evidence,
    openapi,
    questionnaires,
    records,
    requests,
    supplier,
    trust,
)
