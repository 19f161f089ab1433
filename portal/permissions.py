"""What a caller may see and do: the only place access is decided.

Who the caller is (a staff session, a supplier's grant, an API key) is
portal/identity/'s to say; this module decides what that caller may do.

School and curator staff act within one organisation at a time (their current
membership); each role has a set of actions (:data:`ROLE_ACTIONS`). Every lookup
of an organisation's row goes through :func:`get_for_org` or one of the scoped
loaders below, which answer 404 for a row of any other organisation, so a
guessed id never confirms that something exists. A refusal of an action is a
403 with an audit event saying who tried what.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

from flask import Flask, abort, g, request
from flask_login import current_user, login_required
from sqlalchemy import select

from . import redaction
from .extensions import db
from .identity.api_callers import ApiCaller, api_supplier_request, bearer_token, staff_caller
from .identity.staff_sessions import act_as, current_membership, view_only
from .input_hygiene import valid_id
from .models import (
    Adoption,
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
    SigningRole,
    SsoJoinRequest,
    SsoLink,
    User,
)
from .request_audit import record_now
from .services.accounts.api_keys import KEY_PREFIX
from .services.accounts.users import trust_people
from .services.directory.curation import curatable
from .services.school.register import RegisterEntry, entry_for
from .services.school.trust_overview import trust_schools

P = ParamSpec("P")
R = TypeVar("R")
ModelT = TypeVar("ModelT", bound=Base)
T = TypeVar("T")


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
    @app.context_processor
    def inject_membership() -> dict[str, Any]:
        return {"membership": current_membership(), "can": can}


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
                refuse(action)
            return view(*args, **kwargs)

        return login_required(guarded)

    return decorate


def refuse(action: Action, detail: str | None = None) -> NoReturn:
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


def _found(row: T | None) -> T:
    if row is None:
        abort(404)
    return row


def get_for_org(model: type[ModelT], row_id: int, organisation: Organisation) -> ModelT:
    """The row with this id if it belongs to ``organisation``; otherwise 404."""
    columns: Any = model  # any model with id and organisation_id columns
    return _found(
        db.session.scalar(
            select(model).where(columns.id == row_id, columns.organisation_id == organisation.id)
        )
    )


def dpia_signing_roles(organisation: Organisation) -> tuple[SigningRole, ...]:
    """The roles the signed-in person may sign a DPIA off as: the school's SLT
    digital lead (whatever their role here), and an admin as headteacher.
    Naming the digital lead is an admin's act, so no one grants it to themselves."""
    membership = current_membership()
    if membership is None or membership.organisation_id != organisation.id:
        return ()
    roles: list[SigningRole] = []
    if (
        organisation.digital_lead_id is not None
        and membership.user_id == organisation.digital_lead_id
    ):
        roles.append(SigningRole.DIGITAL_LEAD)
    if can(Action.APPROVE_DPIA):
        roles.append(SigningRole.HEADTEACHER)
    return tuple(roles)


def may_approve_dpia(organisation: Organisation) -> bool:
    return bool(dpia_signing_roles(organisation))


def ensure(action: Action) -> None:
    """Refuse (403, audited) unless the signed-in person may do this: for views
    whose GET anyone signed in may read but whose POST changes something."""
    if not can(action):
        refuse(action)


def ensure_dpia_approver(organisation: Organisation) -> tuple[SigningRole, ...]:
    roles = dpia_signing_roles(organisation)
    if not roles:
        refuse(Action.APPROVE_DPIA, "Only the SLT digital lead or the headteacher signs a DPIA off")
    return roles


def request_for_org(reference: str, organisation: Organisation) -> Request:
    """The organisation's request with this reference (as the API names them); otherwise 404."""
    return _found(
        db.session.scalar(
            select(Request).where(
                Request.reference == reference, Request.organisation_id == organisation.id
            )
        )
    )


# --- The directory -------------------------------------------------------------


def consented_submission(request_id: int) -> Request:
    """A request a curator may read (services/directory/curation.curatable). Else 404."""
    row = _found(db.session.get(Request, request_id))
    if not curatable(row):
        abort(404)
    return row


def request_on_behalf(request_id: int, organisation: Organisation) -> Request:
    """A trust's request made on behalf of this school (read only). Else 404."""
    return _found(
        db.session.scalar(
            select(Request)
            .join(RequestOnBehalf, RequestOnBehalf.request_id == Request.id)
            .where(Request.id == request_id, RequestOnBehalf.organisation_id == organisation.id)
        )
    )


def shared_for_feedback(share_id: int, organisation: Organisation) -> FeedbackShare:
    """A share a school made with this curator organisation and has not
    withdrawn. Else 404: once withdrawn, the curator sees nothing of it."""
    found = db.session.get(FeedbackShare, share_id)
    if found is None or found.curator_id != organisation.id or found.withdrawn_at is not None:
        abort(404)
    return found


def curated_entry(entry_id: int) -> DirectoryEntry:
    """Any directory entry, for the curator (who owns the directory)."""
    return _found(db.session.get(DirectoryEntry, entry_id))


def visible_entry(entry_id: int, organisation: Organisation) -> DirectoryEntry:
    """An entry a school may open: published, or a version of a listing it
    adopted (shown with its state). Drafts and other withdrawn entries are 404."""
    entry = _found(db.session.get(DirectoryEntry, entry_id))
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


def trust_request(request_id: int, trust: Organisation) -> Request:
    """A request of the trust or of one of its schools, for the trust's
    people to open (read only, as identity/staff_sessions.trust_views lets
    them act). Else 404: another school's, or a school that left the trust."""
    ids = [trust.id, *(school.id for school in schools_of_trust(trust))]
    return _found(
        db.session.scalar(
            select(Request).where(Request.id == request_id, Request.organisation_id.in_(ids))
        )
    )


def school_of_trust(school_id: int, trust: Organisation) -> Organisation:
    """One of the trust's schools. Else 404."""
    return _found(next((s for s in schools_of_trust(trust) if s.id == school_id), None))


def trust_person_of(user_id: int, school: Organisation) -> User:
    """A person of the school's trust, for its admin to give a role. Else 404:
    anyone else's account is not the school's to find."""
    found = next((m.user for m in trust_people(db.session, school) if m.user_id == user_id), None)
    return _found(found)


def schools_of_trust(organisation: Organisation) -> list[Organisation]:
    """The trust's schools for its overview page; 404 for anyone but a trust."""
    if organisation.kind != OrgKind.TRUST:
        abort(404)
    return trust_schools(db.session, organisation)


def register_entry(supplier_id: int, organisation: Organisation) -> RegisterEntry:
    """This supplier's entry in the organisation's register. Else 404:
    suppliers are shared between schools, and another school's are not ours to see."""
    return _found(entry_for(db.session, organisation, supplier_id))


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
        refuse(
            Action.MANAGE_USERS,
            f"{member.user.name} also belongs to another organisation, so only an "
            "administrator of every organisation they belong to (or the operator) can "
            "reset their authenticator app. Ask them to use a recovery code.",
        )


def invitation_for_org(invitation_id: int, organisation: Organisation) -> MembershipInvitation:
    """The organisation's own invitation; another organisation's is 404."""
    return get_for_org(MembershipInvitation, invitation_id, organisation)


def sso_link_for_org(link_id: int, organisation: Organisation) -> SsoLink:
    """The organisation's own linked tenant; another organisation's is 404."""
    return get_for_org(SsoLink, link_id, organisation)


def join_request_for_org(join_id: int, organisation: Organisation) -> SsoJoinRequest:
    """Someone waiting to join this organisation; anyone else's newcomer is 404."""
    return get_for_org(SsoJoinRequest, join_id, organisation)


def own_invitation(invitation_id: int) -> MembershipInvitation:
    """An invitation addressed to the signed-in person's email; anyone else's is 404."""
    return _found(
        db.session.scalar(
            select(MembershipInvitation).where(
                MembershipInvitation.id == invitation_id,
                MembershipInvitation.email == current_user.email,
            )
        )
    )


# --- The JSON API ----------------------------------------------------------


def api_caller(action: Action, *, in_school: bool = True) -> ApiCaller:
    """The staff API's caller (identity/api_callers.staff_caller), if it may do
    ``action``: no credential is a 401; a key or role that may not is a 403 (a
    read-only key's role has no write actions).

    A trust's key or people read one of its schools with ``school=<id>``: the
    caller is then a viewer in that school, as on the pages (staff_sessions.
    trust_views), so reading works and any change is a 403; a school that is
    not the trust's (or a caller that is no trust) is a 404. ``in_school``
    False: the endpoint reads ``school`` itself (the trust's own lists)."""
    caller = staff_caller()
    if in_school and "school" in request.args:
        caller = _in_school(caller, request.args["school"])
    if Action(action) not in ROLE_ACTIONS.get(caller.membership.role, frozenset()):
        act_as(caller.membership)  # so the refusal is filed under the caller
        refuse(action, _FORBIDDEN.get(action, "This key or account may not do this"))
    return caller


def _in_school(caller: ApiCaller, school: str) -> ApiCaller:
    if not school.isdecimal() or (school_id := valid_id(int(school))) is None:
        abort(404)
    found = school_of_trust(school_id, caller.organisation)
    g.api_school = found.id  # the links of what is read say which school
    return ApiCaller(view_only(caller.actor, found, caller.organisation), caller.key)


_FORBIDDEN = {
    Action.SEND_REQUESTS: "This needs a read and write key, or a role that may send requests",
    Action.REVIEW_REQUESTS: "This needs a read and write key, or a role that may review requests",
    Action.ADOPT_ENTRIES: "This needs a read and write key, or a role that may adopt entries",
}


def api_reader() -> ApiCaller | Request:
    """Anyone the API knows, for what is not an organisation's own (the
    questionnaires): a staff caller, or a supplier with a live link."""
    token = bearer_token()
    if (token is None and current_user.is_authenticated) or (
        token is not None and token.startswith(KEY_PREFIX)
    ):
        return api_caller(Action.VIEW_REQUESTS)
    return api_supplier_request()


# The supplier pages a colleague's link opens (issue 25): the task list and
# their own sections, the files in them, and the confirmation. Everything
# else (checking, submitting, reuse, the spreadsheet, handing sections on)
# is the contact's: a colleague gets a 404, as for any page not theirs.
COLLEAGUE_PAGES = frozenset(
    {
        "supplier.task_list",
        "supplier.answer_section",
        "supplier.autosave",
        "supplier.download_file",
        "supplier.confirmation",
    }
)


def colleague_may(endpoint: str | None, view_args: dict[str, Any], sections: list[str]) -> bool:
    """Whether a colleague with these sections may open this supplier page."""
    if endpoint not in COLLEAGUE_PAGES:
        return False
    section = view_args.get("section_id")
    return section is None or section in sections
