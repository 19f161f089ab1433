"""Who is calling the JSON API: an organisation API key or a supplier link's
token sent as a Bearer token, else the browser session (a signed-in person,
or a supplier who opened their link). No usable credential is ApiUnauthorised,
which portal/errors.py answers with 401 and ``WWW-Authenticate: Bearer``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request, session
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db, in_write_request
from ..models import ApiKey, Membership, Organisation, Request, User
from ..services.accounts.api_keys import find_live_key, stamp_last_use
from ..services.platform.tokens import hash_token
from ..services.requests.lifecycle import link_is_live
from .staff_sessions import current_membership
from .supplier_grants import SUPPLIER_SESSION_KEY, current_colleague, supplier_request


class ApiUnauthorised(Exception):
    """No usable credential: 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling the staff API, and as which membership."""

    membership: Membership
    key: ApiKey | None  # None: a signed-in user's browser session

    @property
    def organisation(self) -> Organisation:
        return self.membership.organisation

    @property
    def actor(self) -> User:
        return self.membership.user


def bearer_token() -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def session_holds_credentials() -> bool:
    """Whether the browser session signs someone in or holds a supplier's grant."""
    return bool(current_user.is_authenticated or session.get(SUPPLIER_SESSION_KEY))


def staff_caller() -> ApiCaller:
    """The staff API's caller, found once per request: an organisation API key
    sent as a Bearer token, else the signed-in user's current membership."""
    caller: ApiCaller | None = g.get("api_caller")
    if caller is None:
        caller = _resolve_staff_caller()
        g.api_caller = caller
    return caller


def _resolve_staff_caller() -> ApiCaller:
    secret = bearer_token()
    if secret is not None:
        key = find_live_key(db.session, secret)
        if key is None or not key.user.is_active or not key.user.memberships:
            raise ApiUnauthorised("This API key is not valid, or it has been revoked")
        if in_write_request():
            stamp_last_use(db.session, key)  # already a write transaction
        else:
            # A read stays a read: its own short transaction stamps the key
            # (the request's own would hold SQLite's write lock against it).
            with db.new_session() as bookkeeping, bookkeeping.begin():
                stamp_last_use(bookkeeping, key)
        return ApiCaller(key.user.memberships[0], key)
    membership = current_membership() if current_user.is_authenticated else None
    if membership is None:
        raise ApiUnauthorised("Send an API key in the header Authorization: Bearer <key>")
    return ApiCaller(membership, None)


def api_supplier_request() -> Request:
    """The supplier API's request: the link's token sent as a Bearer token, or
    the supplier's browser session after opening the link (its one request, or
    the one named by ``?reference=``)."""
    token = bearer_token()
    if token is None:
        grants = session.get(SUPPLIER_SESSION_KEY, {})
        reference = request.args.get("reference") or (
            next(iter(grants)) if len(grants) == 1 else None
        )
        if reference is None:
            raise ApiUnauthorised(
                "Send the token from the supplier link in the header Authorization: Bearer <token>"
            )
        granted = supplier_request(reference)
        if current_colleague() is not None:
            # A colleague's grant opens their sections on the pages; the API
            # reads and writes the whole request, so it is the contact's alone.
            raise ApiUnauthorised(
                "A colleague's link works on the questionnaire's pages only: ask the contact "
                "who sent it"
            )
        return granted
    query = select(Request).where(Request.token_hash == hash_token(token))
    if in_write_request():  # a reads-first view locks it later, in start_writing's wake
        query = query.with_for_update(of=Request)  # one writer per request, as in the UI
    row = db.session.scalar(query)
    if row is None or not link_is_live(row):
        raise ApiUnauthorised(
            "This link's token is not valid: it may have expired, been revoked or replaced. "
            "Ask the school for a new link"
        )
    return row
