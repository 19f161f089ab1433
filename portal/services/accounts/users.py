"""Organisations and their people: accounts, invitations, password resets, membership."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import (
    InvitationStatus,
    LoginFailure,
    Membership,
    MembershipInvitation,
    Organisation,
    OrgKind,
    Role,
    TokenPurpose,
    User,
    UserToken,
    utcnow,
)
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.runtime import runtime
from ..platform.tokens import hash_token, new_token
from .passwords import check_password_rules, hash_password, verify_password
from .sign_in import email_key, normalise_email


class LinkError(ServiceError):
    """An invitation or reset link that cannot be used; the message says why.

    ``gone`` is True for a link that existed but is used or expired (HTTP 410).
    """

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


def create_organisation(
    session: Session,
    name: str,
    kind: str,
    *,
    trust: Organisation | None = None,
    urn: str | None = None,
) -> Organisation:
    if kind not in set(OrgKind):
        raise ServiceError(f"Kind must be one of {', '.join(OrgKind)}", "kind")
    if trust is not None and trust.kind != OrgKind.TRUST:
        raise ServiceError(f"{trust.name} is not a trust", "trust")
    organisation = Organisation(name=name.strip(), kind=kind, trust=trust, urn=urn)
    session.add(organisation)
    session.flush()
    return organisation


def set_trust(session: Session, school: Organisation, trust: Organisation | None) -> None:
    """A school joins a trust, moves to another or leaves (``trust`` None).
    The trust it leaves reads nothing of it from the next request on: a
    trust's view of its schools is worked out per request
    (identity/staff_sessions.trust_views), never stored."""
    if school.kind != OrgKind.SCHOOL:
        raise ServiceError(f"{school.name} is not a school", "org")
    if trust is not None and trust.kind != OrgKind.TRUST:
        raise ServiceError(f"{trust.name} is not a trust", "trust")
    before = school.trust
    if before == trust:
        return
    school.trust = trust
    detail: dict[str, Any] = {
        "left": before.name if before else None,
        "joined": trust.name if trust else None,
    }
    record_event(
        session, "trust_changed", organisation=school, actor_label="Command line", **detail
    )
    for side in filter(None, (before, trust)):
        record_event(
            session, "trust_changed", organisation=side, actor_label="Command line",
            school=school.name, **detail,
        )  # fmt: skip
    session.flush()


def _check_role(role: str, organisation: Organisation) -> None:
    if role not in set(Role):
        raise ServiceError(f"Role must be one of {', '.join(Role)}", "role")
    if (role == Role.CURATOR) != (organisation.kind == OrgKind.CURATOR) and role != Role.ADMIN:
        raise ServiceError("The curator role is only for curator organisations", "role")


def _check_name(name: str) -> None:
    if len(name.strip().splitlines()) > 1:
        raise ServiceError("Enter the name on one line", "name")


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    organisation: Organisation,
    role: str,
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a user with a membership, or add the membership to an existing
    user: for the operator's CLI and the demo. Staff invite through invite_user,
    which never attaches an account that exists."""
    _check_role(role, organisation)
    email = normalise_email(email)
    _check_name(name)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if password is not None:
            check_password_rules(password, email=email, name=name)
            password_hash = hash_password(password)
        user = User(email=email, name=name.strip(), password_hash=password_hash)
        session.add(user)
        session.flush()
    elif any(m.organisation_id == organisation.id for m in user.memberships):
        raise ServiceError(f"{email} is already a member of {organisation.name}", "email")
    user.memberships.append(Membership(organisation_id=organisation.id, role=role))
    session.flush()
    return user


def invite_user(
    session: Session,
    *,
    inviter: User,
    organisation: Organisation,
    email: str,
    name: str,
    role: str,
) -> MembershipInvitation:
    """Invite the owner of an email address to join the organisation.

    Nobody joins because an admin typed their address (issue 20, finding 1):
    a new address gets an account without a password and a set-password link
    that accepts this invitation; the owner of an account that exists is asked
    to sign in and accept. Either way the inviter sees only what they typed,
    so the users page does not even tell whether the address had an account.
    Inviting an address again replaces its pending invitation.
    """
    _check_role(role, organisation)
    _check_name(name)
    email = normalise_email(email)
    member = session.scalar(
        select(Membership.id)
        .join(Membership.user)
        .where(User.email == email, Membership.organisation_id == organisation.id)
    )
    if member is not None:
        raise ServiceError(f"{email} is already a member of {organisation.name}", "email")
    now = utcnow()
    hours = runtime(session).settings.invitation_lifetime_hours
    for earlier in session.scalars(
        select(MembershipInvitation).where(
            MembershipInvitation.organisation_id == organisation.id,
            MembershipInvitation.email == email,
            MembershipInvitation.status == InvitationStatus.PENDING,
        )
    ):
        earlier.status = InvitationStatus.WITHDRAWN
        earlier.decided_at = now
    invitation = MembershipInvitation(
        organisation_id=organisation.id,
        email=email,
        name=name.strip(),
        role=role,
        invited_by_id=inviter.id,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(invitation)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name.strip(), password_hash=None)
        session.add(user)
    session.flush()
    if user.password_hash is None or not user.is_active:
        # Setting the password from the emailed link proves the address is theirs.
        link = _issue_user_link(
            session, user, TokenPurpose.INVITATION, hours, invitation=invitation
        )
        template = "invitation"
    else:
        link = runtime(session).links.url("auth.account")
        template = "added_to_organisation"
    queue_email(
        session,
        to=email,
        subject=f"{inviter.name} has invited you to {organisation.name} on the Due Diligence Portal",
        template=template,
        organisation=organisation,
        user=user,
        inviter=inviter,
        link=link,
        hours=hours,
    )
    record_event(
        session, "user_invited", organisation=organisation, actor=inviter, email=email, role=role
    )
    return invitation


def members(session: Session, organisation: Organisation) -> list[Membership]:
    """The organisation's people, by name; API keys are listed on their own page."""
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.organisation_id == organisation.id)
            .join(Membership.user)
            .where(User.is_service.is_(False))
            .order_by(User.name)
        )
    )


def trust_people(session: Session, school: Organisation) -> list[Membership]:
    """The people of the school's trust, who read the school's records (view
    only) and whom its admin may give a role in it; none without a trust."""
    if school.trust_id is None:
        return []
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.organisation_id == school.trust_id)
            .join(Membership.user)
            .where(User.is_service.is_(False), User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def give_trust_person_a_role(
    session: Session, school: Organisation, actor: User, person: User, role: str
) -> Membership:
    """The school's admin gives one of its trust's people a role in the school
    (reviewer, say): their own membership then stands instead of the view
    the trust gives them. They are emailed. (permissions.trust_person_of
    finds them: a person outside the trust is a 404.)"""
    if role not in (Role.VIEWER, Role.REVIEWER, Role.ADMIN):
        raise ServiceError("Choose viewer, reviewer or admin", "role")
    if any(m.organisation_id == school.id for m in person.memberships):
        raise ServiceError(f"{person.name} already has a role in {school.name}", "role")
    membership = Membership(organisation_id=school.id, role=role)
    person.memberships.append(membership)
    record_event(
        session, "trust_person_given_role", organisation=school, actor=actor,
        person=person.email, role=role,
    )  # fmt: skip
    queue_email(
        session, to=person.email, subject=f"You are now a {role} in {school.name}",
        template="trust_role_given", organisation=school, role=role, user=person, actor=actor,
        link=runtime(session).links.url("school.dashboard"),
    )  # fmt: skip
    session.flush()
    return membership


def pending_invitations(session: Session, user: User) -> list[MembershipInvitation]:
    """The live invitations addressed to this person's email, oldest first."""
    return list(
        session.scalars(
            select(MembershipInvitation)
            .where(
                MembershipInvitation.email == user.email,
                MembershipInvitation.status == InvitationStatus.PENDING,
                MembershipInvitation.expires_at > utcnow(),
            )
            .order_by(MembershipInvitation.id)
        )
    )


def organisation_invitations(
    session: Session, organisation: Organisation
) -> list[MembershipInvitation]:
    """An organisation's invitations waiting for an answer (expired ones too)."""
    return list(
        session.scalars(
            select(MembershipInvitation)
            .where(
                MembershipInvitation.organisation_id == organisation.id,
                MembershipInvitation.status == InvitationStatus.PENDING,
            )
            .order_by(MembershipInvitation.name)
        )
    )


def answer_invitation(
    session: Session, user: User, invitation: MembershipInvitation, *, accept: bool
) -> None:
    """The invited person, signed in, accepts or declines their invitation
    (permissions.own_invitation found it)."""
    if invitation.status != InvitationStatus.PENDING or invitation.expires_at <= utcnow():
        raise ServiceError(
            "This invitation is no longer open: it was answered, withdrawn or has expired. "
            "Ask an administrator of the organisation to invite you again."
        )
    if accept:
        join_by_invitation(session, user, invitation)
    else:
        invitation.status = InvitationStatus.DECLINED
        invitation.decided_at = utcnow()
        record_event(
            session, "invitation_declined", organisation=invitation.organisation, actor=user
        )
    session.flush()


def join_by_invitation(
    session: Session, user: User, invitation: MembershipInvitation, via: str | None = None
) -> None:
    """``user`` takes up ``invitation``: by its emailed link, or ``via`` a
    single sign-on that proved the invited address theirs."""
    if not any(m.organisation_id == invitation.organisation_id for m in user.memberships):
        user.memberships.append(
            Membership(organisation_id=invitation.organisation_id, role=invitation.role)
        )
    invitation.status = InvitationStatus.ACCEPTED
    invitation.decided_at = utcnow()
    detail: dict[str, Any] = {"role": invitation.role}
    if via:
        detail["via"] = via
    record_event(
        session, "invitation_accepted", organisation=invitation.organisation, actor=user, **detail
    )


def withdraw_invitation(session: Session, invitation: MembershipInvitation, actor: User) -> None:
    """An admin takes back their organisation's invitation (permissions.invitation_for_org)."""
    if invitation.status != InvitationStatus.PENDING:
        raise ServiceError("This invitation has already been answered or withdrawn")
    invitation.status = InvitationStatus.WITHDRAWN
    invitation.decided_at = utcnow()
    record_event(
        session,
        "invitation_withdrawn",
        organisation=invitation.organisation,
        actor=actor,
        email=invitation.email,
    )
    session.flush()


def request_password_reset(session: Session, email: str) -> None:
    """Email a reset link if the address is registered; say nothing either way."""
    user = session.scalar(
        select(User).where(User.email == normalise_email(email), User.is_service.is_(False))
    )
    if user is None or not user.is_active:
        return
    hours = runtime(session).settings.reset_lifetime_hours
    link = _issue_user_link(session, user, TokenPurpose.PASSWORD_RESET, hours)
    queue_email(
        session,
        to=user.email,
        subject="Reset your Due Diligence Portal password",
        template="password_reset",
        user=user,
        link=link,
        hours=hours,
    )


def _issue_user_link(
    session: Session,
    user: User,
    purpose: str,
    hours: int,
    invitation: MembershipInvitation | None = None,
) -> str:
    now = utcnow()
    if invitation is None:
        # A new reset link replaces any unused one. Invitation links do not:
        # each accepts its own organisation's invitation, so one school's
        # invitation cannot cancel another's.
        for old in session.scalars(
            select(UserToken).where(
                UserToken.user_id == user.id,
                UserToken.purpose == purpose,
                UserToken.used_at.is_(None),
            )
        ):
            old.used_at = now
    token, digest = new_token()
    session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            invitation_id=invitation.id if invitation else None,
            token_hash=digest,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    endpoint = (
        "auth.accept_invitation" if purpose == TokenPurpose.INVITATION else "auth.reset_password"
    )
    return runtime(session).links.url(endpoint, token=token)


def find_user_link(
    session: Session, token: str, purpose: str, now: datetime | None = None
) -> UserToken:
    """The live link for this token, or LinkError saying what to do next."""
    now = now or utcnow()
    link = session.scalar(
        select(UserToken).where(
            UserToken.token_hash == hash_token(token), UserToken.purpose == purpose
        )
    )
    invitation = purpose == TokenPurpose.INVITATION
    if link is None:
        raise LinkError(
            "This link is not valid. Check you copied the whole link from the email."
            if invitation
            else "This reset link is not valid. Check you copied the whole link, or ask for a new one."
        )
    if link.used_at is not None:
        raise LinkError(
            "This invitation has already been used. Sign in with the password you set, "
            "or reset your password."
            if invitation
            else "This reset link has already been used or replaced by a newer one. Ask for a new one.",
            gone=True,
        )
    if link.invitation is not None and link.invitation.status != InvitationStatus.PENDING:
        raise LinkError(
            "This invitation was withdrawn or answered. Ask an administrator of the "
            "organisation to invite you again if you still need to join.",
            gone=True,
        )
    if link.expires_at <= now:
        raise LinkError(
            "This invitation has expired. Ask an administrator of your organisation to invite you again."
            if invitation
            else "This reset link has expired: reset links last one hour. Ask for a new one.",
            gone=True,
        )
    return link


def set_password_from_link(session: Session, token: str, purpose: str, password: str) -> User:
    """Use an invitation or reset link once to set a password."""
    link = find_user_link(session, token, purpose)
    user = link.user
    check_password_rules(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    user.end_sessions()  # a reset often follows a stolen password
    link.used_at = utcnow()
    if link.invitation is not None:
        user.is_active = True  # the emailed link proved the address is theirs
        join_by_invitation(session, user, link.invitation)
        session.flush()  # the new membership is among those audited below
    session.execute(delete(LoginFailure).where(LoginFailure.email_hash == email_key(user.email)))
    if purpose == TokenPurpose.PASSWORD_RESET:
        for membership in user.memberships:
            record_event(
                session, "password_reset", organisation=membership.organisation, actor=user
            )
    elif link.invitation is None:  # a link sent before invitations had to be accepted
        for membership in user.memberships:
            record_event(
                session, "invitation_accepted", organisation=membership.organisation, actor=user
            )
    session.flush()
    return user


def remove_member(session: Session, organisation: Organisation, user: User, actor: User) -> None:
    """Take someone out of an organisation (they left): this membership only,
    never their sign-in or their other organisations. With no organisation
    left the account is disabled and every session of theirs ends."""
    if user.id == actor.id:
        raise ServiceError("You cannot remove yourself: ask another administrator")
    membership = next((m for m in user.memberships if m.organisation_id == organisation.id), None)
    if membership is None:
        raise ServiceError(f"{user.name} is not a member of {organisation.name}")
    user.memberships.remove(membership)
    if organisation.digital_lead_id == user.id:
        organisation.digital_lead_id = None  # they no longer lead here: ask for another
    if not user.memberships:
        # Nothing left to sign in to: the account stops, on every device.
        user.is_active = False
        user.end_sessions()
    # Otherwise their sessions stay, for their other organisations: a session
    # acts under a membership it still has (permissions.current_membership),
    # so this organisation is closed to them from their next request.
    record_event(
        session,
        "member_removed",
        organisation=organisation,
        actor=actor,
        person=user.name,
        email=user.email,
        disabled=not user.is_active,
    )
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a signed-in person's password; every other session of theirs ends."""
    if not verify_password(user.password_hash, current):
        raise ServiceError("Your current password is not right", "current")
    check_password_rules(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.end_sessions()
    for membership in user.memberships:
        record_event(session, "password_changed", organisation=membership.organisation, actor=user)
    session.flush()


def person_or_admins(
    session: Session, organisation_id: int, person: User | None
) -> tuple[str, ...]:
    """Whom to email about one of an organisation's matters: ``person`` (its
    digital lead, whoever adopted an entry) while still an active member of
    it, else its active admins (never a service account)."""
    if (
        person is not None
        and person.is_active
        and any(m.organisation_id == organisation_id for m in person.memberships)
    ):
        return (person.email,)
    return active_emails(session, organisation_id, (Role.ADMIN,))


def active_emails(session: Session, organisation_id: int, roles: Iterable[str]) -> tuple[str, ...]:
    """The addresses of the organisation's active people in these roles (never
    a service account), by address."""
    return tuple(
        session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == organisation_id,
                Membership.role.in_(list(roles)),
                User.is_active.is_(True),
                User.is_service.is_(False),
            )
            .order_by(User.email)
        )
    )
