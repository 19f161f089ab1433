"""A supplier's access to one request. Suppliers have no account: opening the
link puts a grant for that request in their session (:func:`grant_supplier_access`),
and :func:`supplier_request` checks it on every page."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from ..extensions import db, in_write_request
from ..models import Colleague, EvidenceRenewal, Request, utcnow
from ..services.requests.lifecycle import link_is_live

R = TypeVar("R")

SUPPLIER_SESSION_KEY = "supplier_grants"
# A supplier session ends after two hours without a page; the link opens a new one.
SUPPLIER_IDLE_SECONDS = 2 * 60 * 60


class SupplierAccessEnded(NotFound):
    """No live grant for this request (never opened here, idle too long, or the
    link was reissued or revoked). A 404, so a reference never confirms that a
    request exists; the supplier blueprint shows a posted form's answers back."""


def _grant_fingerprint(request_row: Request, colleague: Colleague | None = None) -> str:
    # Ties the grant to the token in force: reissuing or revoking the link ends
    # it; a colleague's grant, to their own token too.
    own = f":{colleague.token_hash}" if colleague is not None else ""
    return hashlib.sha256(f"grant:{request_row.token_hash}{own}".encode()).hexdigest()[:32]


def grant_supplier_access(request_row: Request, colleague: Colleague | None = None) -> None:
    """A grant for the request: the contact's, or a colleague's to their
    sections (it replaces any other grant for that request in this browser)."""
    grants = dict(session.get(SUPPLIER_SESSION_KEY, {}))
    now = int(utcnow().timestamp())
    grants = {ref: grant for ref, grant in grants.items() if grant.get("until", 0) > now}
    grants[request_row.reference] = {
        "fp": _grant_fingerprint(request_row, colleague),
        "until": now + SUPPLIER_IDLE_SECONDS,
        **({"colleague": colleague.id} if colleague is not None else {}),
    }
    session[SUPPLIER_SESSION_KEY] = grants


def current_colleague() -> Colleague | None:
    """The colleague this supplier page is for (None: the contact). Set by
    :func:`supplier_request`."""
    return g.get("supplier_colleague")


# Every supplier page shows the school's name and reads the questionnaire
# version: one query for all three instead of two lazy loads. Built once: the
# options alone cost a tenth of a millisecond per page.
_FOR_READING = (
    select(Request)
    .where(Request.reference == bindparam("reference"))
    .options(joinedload(Request.organisation), joinedload(Request.questionnaire_version))
)
# One writer per request at a time: autosaves from several tabs and a form post
# would otherwise race on PostgreSQL (SQLite's BEGIN IMMEDIATE already
# serialises them). Only the request row: locking the shared organisation and
# version rows would serialise everyone.
_FOR_WRITING = _FOR_READING.with_for_update(of=Request)


def supplier_request(reference: str) -> Request:
    """The request this supplier session may work on; else SupplierAccessEnded.
    Found once a page (the supplier blueprint checks a colleague's scope
    before the view asks again)."""
    writing = in_write_request()
    found = g.get("supplier_row")
    if found is not None and found[0] == (reference, writing):
        return cast(Request, found[1])
    row = _supplier_request(reference, writing)
    g.supplier_row = ((reference, writing), row)
    return row


def _supplier_request(reference: str, writing: bool) -> Request:
    grant = session.get(SUPPLIER_SESSION_KEY, {}).get(reference)
    if not grant or grant.get("until", 0) <= utcnow().timestamp():
        raise SupplierAccessEnded()
    query = _FOR_WRITING if writing else _FOR_READING
    row = db.session.scalar(query, {"reference": reference})
    colleague = None
    if row is not None and grant.get("colleague") is not None:
        colleague = db.session.get(Colleague, grant["colleague"])
        if colleague is None or colleague.request_id != row.id or not colleague.active:
            raise SupplierAccessEnded()
    if (
        row is None
        or grant.get("fp") != _grant_fingerprint(row, colleague)
        or not link_is_live(row)
    ):
        raise SupplierAccessEnded()
    g.supplier_colleague = colleague
    # Sliding expiry: every page keeps an active supplier's session alive.
    now = int(utcnow().timestamp())
    if grant["until"] - now < SUPPLIER_IDLE_SECONDS - 60:
        grants = dict(session[SUPPLIER_SESSION_KEY])
        grants[reference] = {**grant, "until": now + SUPPLIER_IDLE_SECONDS}
        session[SUPPLIER_SESSION_KEY] = grants
    return row


def supplier_view(view: Callable[..., R]) -> Callable[..., R]:
    """Resolve ``reference`` to the request once and pass it to the view."""

    @wraps(view)
    def guarded(reference: str, **kwargs: Any) -> R:
        return view(supplier_request(reference), **kwargs)

    return guarded


# A renewal link (issue 26) grants its renewal only: no page of the request
# but the renewal's own, and it ends when the renewal is answered, replaced
# or runs out. Kept apart from the supplier grants, so supplier_request()
# never accepts it.
RENEWAL_SESSION_KEY = "renewal_grants"


def _renewal_fingerprint(renewal: EvidenceRenewal) -> str:
    return hashlib.sha256(f"renewal:{renewal.token_hash}".encode()).hexdigest()[:32]


def grant_renewal(renewal: EvidenceRenewal) -> None:
    grants = dict(session.get(RENEWAL_SESSION_KEY, {}))
    now = int(utcnow().timestamp())
    grants = {ref: grant for ref, grant in grants.items() if grant.get("until", 0) > now}
    grants[renewal.request.reference] = {
        "renewal": renewal.id,
        "fp": _renewal_fingerprint(renewal),
        "until": now + SUPPLIER_IDLE_SECONDS,
    }
    session[RENEWAL_SESSION_KEY] = grants


def granted_renewal(reference: str) -> EvidenceRenewal:
    """The open renewal this browser may answer for the request; else
    SupplierAccessEnded (a 404)."""
    grant = session.get(RENEWAL_SESSION_KEY, {}).get(reference)
    if not grant or grant.get("until", 0) <= utcnow().timestamp():
        raise SupplierAccessEnded()
    found = db.session.get(EvidenceRenewal, grant.get("renewal"))
    if (
        found is None
        or found.request.reference != reference
        or grant.get("fp") != _renewal_fingerprint(found)
        or not found.open
    ):
        raise SupplierAccessEnded()
    return found
