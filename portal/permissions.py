"""Who may see and do what. The only place access is decided.

School and curator staff act within one organisation at a time (their current
membership). Every lookup of an organisation's row goes through
:func:`get_for_org`, which answers 404 for a row of any other organisation, so
a guessed id never confirms that something exists.

Suppliers have no account: opening their link puts a grant for that one
request in their session (:func:`grant_supplier_access`), and
:func:`supplier_request` checks it on every page.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_url, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from . import redaction
from .extensions import WRITE_METHODS, db, in_write_request, login_manager
from .models import (
    ANSWERED_STATUSES,
    Adoption,
    ApiKey,
    Base,
    DirectoryEntry,
    EntryStatus,
    FeedbackShare,
    Membership,
    MembershipInvitation,
    Organisation,
    OrgKind,
    Request,
    RequestOnBehalf,
    Role,
    User,
    utcnow,
)
from .services.platform.audit import record_event, record_now

P = ParamSpec("P")
R = TypeVar("R")
ModelT = TypeVar("ModelT", bound=Base)

SUPPLIER_SESSION_KEY = "supplier_grants"
# A supplier session ends after two hours without a page; the link opens a new one.
SUPPLIER_IDLE_SECONDS = 2 * 60 * 60


class Action(enum.StrEnum):
    VIEW_REQUESTS = "view_requests"
    SEND_REQUESTS = "send_requests"
    # Override findings, decide, send the follow-up of a screening.
    REVIEW_REQUESTS = "review_requests"
    # Change the organisation's requirement profile.
    MANAGE_REQUIREMENTS = "manage_requirements"
    MANAGE_USERS = "manage_users"
    # Make and revoke the organisation's API keys (admins: ROLE_ACTIONS below).
    MANAGE_API_KEYS = "manage_api_keys"
    # Read and export the organisation's audit trail (admins).
    VIEW_AUDIT = "view_audit"
    # Adopt a directory listing as the school's assessment of a supplier.
    ADOPT_ENTRIES = "adopt_entries"
    # Work the directory: consented submissions, drafts, publishing, withdrawing.
    CURATE = "curate"
    # The school's own side: its digital lead, standards self-assessment, plans and RACI.
    MANAGE_STANDARDS = "manage_standards"
    # Start and write a full DPIA, send it for the DPO's advice and record it.
    MANAGE_DPIA = "manage_dpia"
    # Sign a DPIA off (admins; the SLT digital lead too: may_approve_dpia).
    APPROVE_DPIA = "approve_dpia"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    # Curating is the curator organisation's work, never a school admin's.
    Role.ADMIN: frozenset(Action) - {Action.CURATE},
    Role.REVIEWER: frozenset(
        {
            Action.VIEW_REQUESTS,
            Action.SEND_REQUESTS,
            Action.REVIEW_REQUESTS,
            Action.ADOPT_ENTRIES,
            Action.MANAGE_STANDARDS,
            Action.MANAGE_DPIA,
        }
    ),
    Role.VIEWER: frozenset({Action.VIEW_REQUESTS}),
    # Curators gather generic assessments by sending requests themselves.
    Role.CURATOR: frozenset(
        {Action.VIEW_REQUESTS, Action.SEND_REQUESTS, Action.REVIEW_REQUESTS, Action.CURATE}
    ),
}


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_to_sign_in)
    app.before_request(_authenticator_first)

    @app.context_processor
    def inject_membership() -> dict[str, Any]:
        return {"membership": current_membership(), "can": can}


# Staff sessions (server-side rules on a signed cookie): they end after
# STAFF_IDLE_MINUTES without a request and STAFF_SESSION_HOURS in all, and
# every session of a user ends when their session_version is raised (sign-out,
# password change, account disabled).
SESSION_VERSION = "sv"
SIGNED_IN_AT = "auth_at"
LAST_SEEN_AT = "seen_at"
SESSION_ID = "sid"
# Refreshing the last-seen time on every request would rewrite the cookie on
# every response; a minute's precision is plenty for a 30-minute limit.
SEEN_PRECISION_SECONDS = 60


def start_session(user: User) -> None:
    """Sign the user in with a brand-new session (no fixation), remember-me off."""
    session.clear()
    login_user(user, remember=False)
    now = int(utcnow().timestamp())
    session[SESSION_ID] = secrets.token_urlsafe(16)
    session[SESSION_VERSION] = user.session_version
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    session.permanent = False


def end_session() -> None:
    """Sign out here, and end the user's sessions everywhere else too."""
    if current_user.is_authenticated:
        user = current_actor()
        user.end_sessions()
        for membership in user.memberships:
            record_event(db.session, "signed_out", organisation=membership.organisation, actor=user)
    logout_user()
    session.clear()


def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdecimal() else None
    if user is None or not user.is_active or user.is_service:
        return None
    ended = _session_ended(user)
    if ended:
        g.session_ended = ended
        for key in ("_user_id", "_fresh", "_id", SESSION_VERSION, SIGNED_IN_AT, LAST_SEEN_AT):
            session.pop(key, None)
        return None
    now = int(utcnow().timestamp())
    if now - int(session.get(LAST_SEEN_AT, 0)) >= SEEN_PRECISION_SECONDS:
        session[LAST_SEEN_AT] = now
    return user


def _authenticator_first() -> ResponseReturnValue | None:
    """Someone who must use an authenticator app and has none set up can only
    set it up (or sign out) until they do."""
    from .services.accounts.mfa import required_for

    endpoint = request.endpoint or ""
    if endpoint.startswith(("auth.", "supplier.")) or endpoint == "static":
        return None
    if not current_user.is_authenticated:
        return None
    user = current_actor()
    if user.mfa_enabled_at is not None or not required_for(user):
        return None
    if request.path.startswith("/api/"):
        abort(403, description="Set up your authenticator app before using the API this way")
    return redirect(url_for("auth.authenticator"))


def _to_sign_in() -> ResponseReturnValue:
    """Anonymous on a staff page: to the sign-in page, saying why if a session just ended."""
    flash(g.get("session_ended") or "Sign in to continue", "info")
    return redirect(login_url("auth.login", next_url=request.full_path.rstrip("?")))


def _session_ended(user: User) -> str | None:
    """Why this session of ``user`` may no longer be used, or None."""
    config = current_app.config
    now = utcnow().timestamp()
    if session.get(SESSION_VERSION) != user.session_version:
        return "You were signed out because you signed out or changed your password elsewhere"
    if now - float(session.get(SIGNED_IN_AT, 0)) > config["STAFF_SESSION_HOURS"] * 3600:
        return f"You were signed out after {config['STAFF_SESSION_HOURS']} hours. Sign in again"
    if now - float(session.get(LAST_SEEN_AT, 0)) > config["STAFF_IDLE_MINUTES"] * 60:
        return (
            f"You were signed out after {config['STAFF_IDLE_MINUTES']} minutes without activity. "
            "Sign in again"
        )
    return None


def current_membership() -> Membership | None:
    """The membership the signed-in user is acting under, or None."""
    if "membership" in g:
        return g.membership
    membership: Membership | None = None
    if current_user.is_authenticated:
        memberships = current_user.memberships
        chosen = session.get("organisation_id")
        membership = next((m for m in memberships if m.organisation_id == chosen), None)
        if membership is None and memberships:
            membership = memberships[0]
    g.membership = membership
    return membership


def current_actor() -> User:
    """The signed-in user as a plain model object (not Flask-Login's proxy)."""
    user: User = current_user._get_current_object()
    return user


def current_organisation() -> Organisation:

    membership = current_membership()
    if membership is None:
        abort(403)
    return membership.organisation


def can(action: Action | str) -> bool:
    membership = current_membership()
    return membership is not None and Action(action) in ROLE_ACTIONS.get(
        membership.role, frozenset()
    )


def requires(action: Action) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Sign-in required (anonymous users go to the sign-in page), then the action."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not can(action):
                _refuse(action)
            return view(*args, **kwargs)

        return login_required(guarded)

    return decorate


def _refuse(action: Action, detail: str | None = None) -> NoReturn:
    """403, with an audit event saying who tried what."""
    membership = current_membership()
    record_now(
        "permission_denied",
        organisation=membership.organisation if membership else None,
        actor=membership.user if membership else None,
        needed=str(action),
        method=request.method,
        path=redaction.redact(request.path)[:300],
    )
    if detail:
        abort(403, description=detail)
    abort(403)


def switch_organisation(organisation_id: int) -> bool:
    if any(m.organisation_id == organisation_id for m in current_user.memberships):
        session["organisation_id"] = organisation_id
        g.pop("membership", None)
        return True
    return False


def get_for_org(model: type[ModelT], row_id: int, organisation: Organisation) -> ModelT:
    """The row with this id if it belongs to ``organisation``; otherwise 404."""
    columns: Any = model  # any model with id and organisation_id columns
    row = db.session.scalar(
        select(model).where(columns.id == row_id, columns.organisation_id == organisation.id)
    )
    if row is None:
        abort(404)
    return row


def dpia_signing_roles(organisation: Organisation) -> tuple[str, ...]:
    """The roles the signed-in person may sign a DPIA off as: the school's SLT
    digital lead (whatever their role here), and an admin as headteacher.
    Naming the digital lead is an admin's act, so no one grants it to themselves."""
    membership = current_membership()
    if membership is None or membership.organisation_id != organisation.id:
        return ()
    roles: list[str] = []
    if (
        organisation.digital_lead_id is not None
        and membership.user_id == organisation.digital_lead_id
    ):
        roles.append("SLT digital lead")
    if can(Action.APPROVE_DPIA):
        roles.append("Headteacher")
    return tuple(roles)


def may_approve_dpia(organisation: Organisation) -> bool:
    return bool(dpia_signing_roles(organisation))


def ensure(action: Action) -> None:
    """Refuse (403, audited) unless the signed-in person may do this: for views
    whose GET anyone signed in may read but whose POST changes something."""
    if not can(action):
        _refuse(action)


def ensure_dpia_approver(organisation: Organisation) -> tuple[str, ...]:
    roles = dpia_signing_roles(organisation)
    if not roles:
        _refuse(
            Action.APPROVE_DPIA, "Only the SLT digital lead or the headteacher signs a DPIA off"
        )
    return roles


def request_for_org(reference: str, organisation: Organisation) -> Request:
    """The organisation's request with this reference (as the API names them); otherwise 404."""
    row = db.session.scalar(
        select(Request).where(
            Request.reference == reference, Request.organisation_id == organisation.id
        )
    )
    if row is None:
        abort(404)
    return row


# --- The directory -------------------------------------------------------------


def curatable(row: Request) -> bool:
    """A submission may reach the directory: the supplier consented, it is
    answered, and it assesses the supplier (a screening or a self-assessment
    describes one school, not the supplier)."""
    from .services.platform.questionnaire_registry import definition_for

    if not row.directory_consent or row.status not in ANSWERED_STATUSES:
        return False
    questionnaire = definition_for(row.questionnaire_version)
    return questionnaire.triage is None and not questionnaire.answered_by_staff


def consented_submission(request_id: int) -> Request:
    """A request a curator may read (see :func:`curatable`). Else 404."""
    row = db.session.get(Request, request_id)
    if row is None or not curatable(row):
        abort(404)
    return row


def request_on_behalf(request_id: int, organisation: Organisation) -> Request:
    """A trust's request made on behalf of this school (read only). Else 404."""
    row = db.session.scalar(
        select(Request)
        .join(RequestOnBehalf, RequestOnBehalf.request_id == Request.id)
        .where(Request.id == request_id, RequestOnBehalf.organisation_id == organisation.id)
    )
    if row is None:
        abort(404)
    return row


def shared_for_feedback(share_id: int, organisation: Organisation) -> FeedbackShare:
    """A share a school made with this curator organisation and has not
    withdrawn. Else 404: once withdrawn, the curator sees nothing of it."""
    found = db.session.get(FeedbackShare, share_id)
    if found is None or found.curator_id != organisation.id or found.withdrawn_at is not None:
        abort(404)
    return found


def curated_entry(entry_id: int) -> DirectoryEntry:
    """Any directory entry, for the curator (who owns the directory)."""
    entry = db.session.get(DirectoryEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def visible_entry(entry_id: int, organisation: Organisation) -> DirectoryEntry:
    """An entry a school may open: published, or a version of a listing it
    adopted (shown with its state). Drafts and other withdrawn entries are 404."""
    entry = db.session.get(DirectoryEntry, entry_id)
    if entry is None:
        abort(404)
    if entry.status == EntryStatus.PUBLISHED:
        return entry
    adopted = db.session.scalar(
        select(Adoption.id).where(
            Adoption.organisation_id == organisation.id, Adoption.listing_id == entry.listing_id
        )
    )
    if adopted is None or entry.status == EntryStatus.DRAFT:
        abort(404)
    return entry


def trust_schools(organisation: Organisation) -> list[Organisation]:
    """The schools whose standards and registers this organisation's members
    may see beside its own: a trust's own schools; nobody else's."""
    if organisation.kind != OrgKind.TRUST:
        return []
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.trust_id == organisation.id)
            .order_by(Organisation.name)
        )
    )


def schools_of_trust(organisation: Organisation) -> list[Organisation]:
    """The trust's schools for its overview page; 404 for anyone but a trust."""
    if organisation.kind != OrgKind.TRUST:
        abort(404)
    return trust_schools(organisation)


def register_entry(supplier_id: int, organisation: Organisation) -> Any:
    """This supplier's entry in the organisation's register (a row of its own,
    a request, one made on its behalf, or an adoption). Else 404: suppliers are
    shared between schools, and another school's are not ours to see."""
    from .services.school.register import entries

    for entry in entries(db.session, organisation):
        if entry.supplier.id == supplier_id:
            return entry
    abort(404)


def authenticator_resettable(members: list[Membership]) -> set[int]:
    """Whose authenticator app the signed-in admin may reset: only people all
    of whose organisations they administer. An app is a sign-in factor of the
    whole account, so one school's admin must not take it from a person who
    also signs in to another school (issue 20, finding 1); the operator can
    reset anyone's from the CLI."""
    person_ids = [m.user_id for m in members if m.user.mfa_enabled_at is not None]
    if not person_ids:
        return set()
    administered = {m.organisation_id for m in current_user.memberships if m.role == Role.ADMIN}
    theirs = db.session.execute(
        select(Membership.user_id, Membership.organisation_id).where(
            Membership.user_id.in_(person_ids)
        )
    ).all()
    outside = {user_id for user_id, org_id in theirs if org_id not in administered}
    return set(person_ids) - outside


def ensure_may_reset_authenticator(member: Membership) -> None:
    if member.user_id not in authenticator_resettable([member]):
        _refuse(
            Action.MANAGE_USERS,
            f"{member.user.name} also belongs to another organisation, so only an "
            "administrator of every organisation they belong to (or the operator) can "
            "reset their authenticator app. Ask them to use a recovery code.",
        )


def invitation_for_org(invitation_id: int, organisation: Organisation) -> MembershipInvitation:
    """The organisation's own invitation; another organisation's is 404."""
    return get_for_org(MembershipInvitation, invitation_id, organisation)


def own_invitation(invitation_id: int) -> MembershipInvitation:
    """An invitation addressed to the signed-in person's email; anyone else's is 404."""
    invitation = db.session.scalar(
        select(MembershipInvitation).where(
            MembershipInvitation.id == invitation_id,
            MembershipInvitation.email == current_user.email,
        )
    )
    if invitation is None:
        abort(404)
    return invitation


def org_members(organisation: Organisation) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.organisation_id == organisation.id)
            .join(Membership.user)
            .where(User.is_service.is_(False))  # API keys are listed on their own page
            .order_by(User.name)
        )
    )


# --- Suppliers -------------------------------------------------------------


def _grant_fingerprint(request_row: Request) -> str:
    # Ties the grant to the token in force: reissuing or revoking the link ends it.
    return hashlib.sha256(f"grant:{request_row.token_hash}".encode()).hexdigest()[:32]


def grant_supplier_access(request_row: Request) -> None:
    grants = dict(session.get(SUPPLIER_SESSION_KEY, {}))
    now = int(utcnow().timestamp())
    grants = {ref: grant for ref, grant in grants.items() if grant.get("until", 0) > now}
    grants[request_row.reference] = {
        "fp": _grant_fingerprint(request_row),
        "until": now + SUPPLIER_IDLE_SECONDS,
    }
    session[SUPPLIER_SESSION_KEY] = grants


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
    """The request this supplier session may work on, or 404."""
    from .services.requests.lifecycle import link_is_live

    grant = session.get(SUPPLIER_SESSION_KEY, {}).get(reference)
    if not grant or grant.get("until", 0) <= utcnow().timestamp():
        _refuse_supplier()
    query = _FOR_WRITING if in_write_request() else _FOR_READING
    row = db.session.scalar(query, {"reference": reference})
    if row is None or grant.get("fp") != _grant_fingerprint(row) or not link_is_live(row):
        _refuse_supplier()
    # Sliding expiry: every page keeps an active supplier's session alive.
    now = int(utcnow().timestamp())
    if grant["until"] - now < SUPPLIER_IDLE_SECONDS - 60:
        grants = dict(session[SUPPLIER_SESSION_KEY])
        grants[reference] = {**grant, "until": now + SUPPLIER_IDLE_SECONDS}
        session[SUPPLIER_SESSION_KEY] = grants
    return row


def _refuse_supplier() -> NoReturn:
    """404, and if the supplier was posting answers, show them what they typed:
    a session that ended must not throw their work away."""
    typed = posted_answers()
    if typed and not request.is_json:
        abort(make_response(render_template("supplier/session_ended.html", typed=typed), 404))
    abort(404)


def posted_answers() -> list[tuple[str, str]]:
    """What a supplier typed in a posted form, without the form's own fields."""
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if value.strip()
        and name not in ("csrf_token", "shown", "action")
        and not name.startswith("rev-")
    ]


def supplier_view(view: Callable[..., R]) -> Callable[..., R]:
    """Resolve ``reference`` to the request once and pass it to the view."""

    @wraps(view)
    def guarded(reference: str, **kwargs: Any) -> R:
        return view(supplier_request(reference), **kwargs)

    return guarded


# --- The JSON API ----------------------------------------------------------


def bearer_token() -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


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


def session_holds_credentials() -> bool:
    """Whether the browser session signs someone in or holds a supplier's grant."""
    return bool(current_user.is_authenticated or session.get(SUPPLIER_SESSION_KEY))


def api_caller(action: Action) -> ApiCaller:
    """The staff API's caller: an organisation API key sent as a Bearer token,
    else the signed-in user's current membership. No credential is a 401; a
    key or role that may not do ``action`` is a 403 (a read-only key's role
    has no write actions)."""
    caller: ApiCaller | None = g.get("api_caller")
    if caller is None:
        caller = _resolve_api_caller()
        g.api_caller = caller
    if Action(action) not in ROLE_ACTIONS.get(caller.membership.role, frozenset()):
        g.membership = caller.membership  # so the refusal is filed under the caller
        _refuse(action, _FORBIDDEN.get(action, "This key or account may not do this"))
    return caller


_FORBIDDEN = {
    Action.SEND_REQUESTS: "This needs a read and write key, or a role that may send requests",
    Action.REVIEW_REQUESTS: "This needs a read and write key, or a role that may review requests",
    Action.ADOPT_ENTRIES: "This needs a read and write key, or a role that may adopt entries",
}


def _resolve_api_caller() -> ApiCaller:
    from .services.accounts.api_keys import find_live_key, stamp_last_use

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
    from .services.platform.tokens import hash_token

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
        return supplier_request(reference)
    query = select(Request).where(Request.token_hash == hash_token(token))
    if request.method in WRITE_METHODS:
        query = query.with_for_update(of=Request)  # one writer per request, as in the UI
    from .services.requests.lifecycle import link_is_live

    row = db.session.scalar(query)
    if row is None or not link_is_live(row):
        raise ApiUnauthorised(
            "This link's token is not valid: it may have expired, been revoked or replaced. "
            "Ask the school for a new link"
        )
    return row


def api_reader() -> ApiCaller | Request:
    """Anyone the API knows, for what is not an organisation's own (the
    questionnaires): a staff caller, or a supplier with a live link."""
    from .services.accounts.api_keys import KEY_PREFIX

    token = bearer_token()
    if (token is None and current_user.is_authenticated) or (
        token is not None and token.startswith(KEY_PREFIX)
    ):
        return api_caller(Action.VIEW_REQUESTS)
    return api_supplier_request()
