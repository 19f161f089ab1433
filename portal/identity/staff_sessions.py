"""Staff sign-in sessions: who is signed in, under which membership, and when
their session ends.

Sessions are server-side rules on a signed cookie: one ends after
STAFF_IDLE_MINUTES without a request and STAFF_SESSION_HOURS in all, and every
session of a user ends when their session_version is raised (sign-out, password
change, account disabled).

A session remembers how it began (:class:`SignInMethod`), because that decides
which of the person's organisations it may act for: one that requires single
sign-on is entered only through its linked tenant, or by its admins with a
password and their authenticator app (break-glass); and whether an
organisation's "require an authenticator app" rule is met.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_url, login_user, logout_user
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.exceptions import Forbidden

from ..extensions import db, login_manager
from ..models import Membership, Organisation, OrgKind, Role, User, utcnow
from ..services.platform.audit import record_event
from ..services.school.trust_overview import trust_schools

SESSION_VERSION = "sv"
SIGNED_IN_AT = "auth_at"
LAST_SEEN_AT = "seen_at"
SESSION_ID = "sid"
SIGN_IN_METHOD = "how"
# Pages on the way in or out, open whatever the session may enter.
SIGNING_IN = frozenset(
    {"static", "auth.login", "auth.logout", "auth.enter_code", "sso.start", "sso.callback"}
)
# Refreshing the last-seen time on every request would rewrite the cookie on
# every response; a minute's precision is plenty for a 30-minute limit.
SEEN_PRECISION_SECONDS = 60


class NoMembership(Forbidden):
    """Signed in, but a member of no organisation: nothing of any school is theirs."""


@dataclass(frozen=True)
class SignInMethod:
    """How a session began."""

    via: str = "password"  # or "sso"
    app: bool = False  # an authenticator-app (or recovery) code was given
    # The organisations linked to the tenant an SSO sign-in came through (a
    # trust's schools with the trust).
    sso_organisation_ids: tuple[int, ...] = ()
    # The provider said more than one factor was used (amr "mfa"): meets every
    # organisation's rule; or the linked organisation's admin trusts its tenant's
    # MFA: meets that organisation's rule only.
    mfa_all: bool = False
    mfa_organisation_ids: tuple[int, ...] = ()

    def may_enter(self, membership: Membership) -> bool:
        """Whether this session may act for the membership's organisation.

        A single sign-on enters only the organisations its tenant is linked to
        (a trust's link, the trust and its schools): the tenant decides the
        organisation, so a provider that vouched for an email never opens
        another organisation that account belongs to."""
        if self.via == "sso":
            return membership.organisation_id in self.sso_organisation_ids
        if membership.organisation.password_sign_in:
            return True
        # Break-glass: the organisation's admins keep a password, with their app.
        return membership.role == Role.ADMIN and self.app

    def meets_mfa(self, membership: Membership) -> bool:
        """Whether this session has the second factor the membership may need.
        A curator's is always their own authenticator app."""
        if self.app:
            return True
        if membership.role == Role.CURATOR or membership.organisation.kind == OrgKind.CURATOR:
            return False
        return self.mfa_all or membership.organisation_id in self.mfa_organisation_ids

    def needs_code(self, user: User) -> bool:
        """Whether the user must still give their authenticator app's code: they
        have one, and this sign-in does not stand for the second factor of every
        organisation it enters (a curator's is always their own app)."""
        if user.mfa_enabled_at is None:
            return False
        return not all(self.meets_mfa(m) for m in user.memberships if self.may_enter(m))

    def keeps_access_without_passwords(self, organisation_id: int, user: User) -> bool:
        """Whether this admin would still get into the organisation once it
        turns passwords off: they came through its link, or have an app (the
        break-glass way in)."""
        came_through_link = self.via == "sso" and organisation_id in self.sso_organisation_ids
        return came_through_link or user.mfa_enabled_at is not None

    def as_session(self) -> dict[str, object]:
        return {
            "via": self.via,
            "app": self.app,
            "sso": list(self.sso_organisation_ids),
            "mfa_all": self.mfa_all,
            "mfa": list(self.mfa_organisation_ids),
        }

    @classmethod
    def from_session(cls, data: object) -> SignInMethod:
        if not isinstance(data, dict):
            return cls()
        return cls(
            via=str(data.get("via", "password")),
            app=bool(data.get("app")),
            sso_organisation_ids=tuple(int(i) for i in data.get("sso", ())),
            mfa_all=bool(data.get("mfa_all")),
            mfa_organisation_ids=tuple(int(i) for i in data.get("mfa", ())),
        )


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_to_sign_in)
    app.before_request(_authenticator_first)
    app.context_processor(lambda: {"usable_memberships": usable_memberships})


def start_session(user: User, method: SignInMethod | None = None) -> None:
    """Sign the user in with a brand-new session (no fixation), remember-me off."""
    session.clear()
    login_user(user, remember=False)
    now = int(utcnow().timestamp())
    session[SESSION_ID] = secrets.token_urlsafe(16)
    session[SESSION_VERSION] = user.session_version
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    session[SIGN_IN_METHOD] = (method or SignInMethod()).as_session()
    session.permanent = False


def sign_in_method() -> SignInMethod:
    return SignInMethod.from_session(session.get(SIGN_IN_METHOD))


def usable_memberships() -> list[Membership]:
    """The signed-in person's memberships this session may act under: their
    own, then a view-only one in each school of a trust they belong to."""
    if not current_user.is_authenticated:
        return []
    method = sign_in_method()
    user = current_actor()
    views: list[Membership] | None = g.get("trust_views")
    if views is None:
        views = g.trust_views = trust_views(user)
    return [m for m in [*user.memberships, *views] if method.may_enter(m)]


def trust_views(user: User) -> list[Membership]:
    """A trust's central team reads its schools: each person in a trust holds a
    viewer's membership in each of its schools (requests, standards, RACI,
    register, DPIAs; never a change), made here for the request and never
    stored, so a school that leaves the trust is closed to it at the next
    request. A school's admin may give a trust person a real membership
    (reviewer, say), which then stands instead."""
    held = {m.organisation_id for m in user.memberships}
    views: list[Membership] = []
    for membership in user.memberships:
        if membership.organisation.kind != OrgKind.TRUST:
            continue
        for school in trust_schools(db.session, membership.organisation):
            if school.id not in held:
                held.add(school.id)
                views.append(view_only(user, school, membership.organisation))
    return views


def view_only(user: User, school: Organisation, trust: Organisation) -> Membership:
    """A viewer's membership of ``user`` in ``school`` through ``trust``. Its
    relationships are set without events, so it never joins user.memberships
    or the database session."""
    view = Membership(user_id=user.id, organisation_id=school.id, role=Role.VIEWER)
    set_committed_value(view, "user", user)
    set_committed_value(view, "organisation", school)
    view.through_trust = trust
    return view


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
    set it up (or sign out) until they do; someone whose every organisation
    now requires single sign-on is signed out to use it."""
    from ..services.accounts.mfa import required_for

    endpoint = request.endpoint or ""
    if endpoint.startswith(("supplier.", "renewal.")) or endpoint in SIGNING_IN:
        return None
    if not current_user.is_authenticated:
        return None
    user = current_actor()
    usable = usable_memberships()
    if user.memberships and not usable:
        names = ", ".join(m.organisation.name for m in user.memberships)
        logout_user()
        session.clear()
        flash(f"{names} now requires you to sign in through your organisation's account", "info")
        return redirect(url_for("auth.login"))
    if endpoint.startswith("auth."):
        return None
    method = sign_in_method()
    if user.mfa_enabled_at is not None or not required_for(user, usable, method.meets_mfa):
        return None
    if request.path.startswith("/api/"):
        raise Forbidden("Set up your authenticator app before using the API this way")
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
        memberships = usable_memberships()
        chosen = session.get("organisation_id")
        membership = next((m for m in memberships if m.organisation_id == chosen), None)
        if membership is None and memberships:
            membership = memberships[0]
    g.membership = membership
    return membership


def act_as(membership: Membership) -> None:
    """Act under this membership for the rest of the request (an API key's)."""
    g.membership = membership


def current_actor() -> User:
    """The signed-in user as a plain model object (not Flask-Login's proxy)."""
    user: User = current_user._get_current_object()
    return user


def current_organisation() -> Organisation:
    """The organisation the signed-in person is acting for; 403 if they have none."""
    membership = current_membership()
    if membership is None:
        raise NoMembership()
    return membership.organisation


def switch_organisation(organisation_id: int) -> bool:
    """Act for another of the person's organisations from the next request on."""
    if any(m.organisation_id == organisation_id for m in usable_memberships()):
        session["organisation_id"] = organisation_id
        g.pop("membership", None)
        return True
    return False
