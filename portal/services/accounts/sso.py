"""Single sign-on's decisions: who a verified identity is here, which
organisation a tenant belongs to, and each organisation's sign-in rules.

The identity arrives verified (identity/sso.py checked the ID token); what
is decided here is whether it may enter, and as whom:

- only a verified email is believed (Entra and Google both let a tenant
  admin type any email on an account);
- a tenant belongs to the one organisation whose admin linked it by signing
  in through it; a tenant nobody linked signs nobody in;
- an identity already known (issuer and subject) is that account; otherwise
  the account with the verified email, which is then remembered;
- someone from a linked tenant with no place in its organisation waits for
  an admin's approval, or joins as a viewer, as the organisation chose; a
  pending invitation to it is accepted instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...models import (
    ExternalIdentity,
    InvitationStatus,
    JoinStatus,
    Membership,
    MembershipInvitation,
    Newcomers,
    Organisation,
    OrgKind,
    Role,
    SsoJoinRequest,
    SsoLink,
    User,
    utcnow,
)
from ..errors import ServiceError
from ..platform.audit import record_event
from . import users
from .sign_in import normalise_email


@dataclass(frozen=True)
class Identity:
    """A person as their provider vouched for them in a verified ID token."""

    provider: str
    provider_label: str
    issuer: str
    subject: str
    email: str  # lower-case
    email_verified: bool
    name: str
    # What links them to an organisation: the Entra tenant id, the Google
    # Workspace domain, or (another provider) the domain of their email.
    tenant: str | None
    mfa: bool  # the provider says more than one factor was used (amr "mfa")


class SsoRefused(ServiceError):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SignedIn:
    user: User
    link: SsoLink
    # What the sign-in may act for: the linked organisation, and a trust's schools.
    organisation_ids: tuple[int, ...]
    # The organisations whose "require an authenticator app" rule this sign-in
    # meets: every one when the provider says MFA was used, the linked one when
    # its admin trusts the tenant's own MFA, none otherwise.
    mfa_all: bool
    mfa_organisation_ids: tuple[int, ...]


@dataclass(frozen=True)
class Waiting:
    organisation: Organisation


def sign_in(session: Session, identity: Identity, address: str | None) -> SignedIn | Waiting:
    """Decide a verified identity's sign-in; every refusal is audited (under
    the linked organisation when there is one) and raised as SsoRefused."""
    if not identity.email or not identity.email_verified:
        _refuse(
            session,
            identity,
            None,
            address,
            f"{identity.provider_label} did not confirm that {identity.email or 'your email'} "
            "is yours, so we cannot match it to an account. Ask your IT administrator to "
            "verify the address, or sign in with your password.",
            "email not verified",
        )
    if not identity.tenant:
        _refuse(
            session,
            identity,
            None,
            address,
            "That looks like a personal account. Sign in with your school's or organisation's "
            f"{identity.provider_label} account.",
            "no tenant (personal account)",
        )
    link = session.scalar(
        select(SsoLink).where(
            SsoLink.provider == identity.provider, SsoLink.tenant == identity.tenant
        )
    )
    if link is None:
        _refuse(
            session,
            identity,
            None,
            address,
            f"Your organisation has not turned on sign-in with {identity.provider_label} here. "
            "Sign in with your email address and password, or ask your administrator to link "
            "your organisation's account on its Users page.",
            "tenant not linked",
        )
    organisation = link.organisation
    user = _known_user(session, identity)
    if user is not None and not user.is_active:
        _refuse(
            session,
            identity,
            organisation,
            address,
            "Your account here is closed. Ask an administrator of your organisation to invite "
            "you again.",
            "account closed",
        )
    if user is None or not any(m.organisation_id == organisation.id for m in user.memberships):
        joined = _newcomer(session, identity, organisation, user)
        if joined is None:
            return Waiting(organisation)
        user = joined
    _remember(session, user, identity)
    reach = (organisation.id, *_schools_of(session, organisation))
    return SignedIn(
        user=user,
        link=link,
        organisation_ids=reach,
        mfa_all=identity.mfa,
        mfa_organisation_ids=reach if link.trusts_mfa else (),
    )


def _schools_of(session: Session, organisation: Organisation) -> list[int]:
    """A trust's schools share its tenant (one Microsoft 365 for the trust)."""
    if organisation.kind != OrgKind.TRUST:
        return []
    return list(
        session.scalars(select(Organisation.id).where(Organisation.trust_id == organisation.id))
    )


def _known_user(session: Session, identity: Identity) -> User | None:
    known = session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == identity.issuer,
            ExternalIdentity.subject == identity.subject,
        )
    )
    if known is not None:
        return known.user
    return session.scalar(
        select(User).where(
            User.email == normalise_email(identity.email), User.is_service.is_(False)
        )
    )


def _remember(session: Session, user: User, identity: Identity) -> None:
    known = session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == identity.issuer,
            ExternalIdentity.subject == identity.subject,
        )
    )
    if known is None:
        known = ExternalIdentity(user_id=user.id, issuer=identity.issuer, subject=identity.subject)
        session.add(known)
    known.last_used_at = utcnow()
    session.flush()


def _newcomer(
    session: Session, identity: Identity, organisation: Organisation, user: User | None
) -> User | None:
    """Someone from the linked tenant with no place in its organisation: the
    account they join with, or None while they wait for an admin."""
    invitation = session.scalar(
        select(MembershipInvitation)
        .where(
            MembershipInvitation.organisation_id == organisation.id,
            MembershipInvitation.email == identity.email,
            MembershipInvitation.status == InvitationStatus.PENDING,
            MembershipInvitation.expires_at > utcnow(),
        )
        .order_by(MembershipInvitation.id.desc())
        .limit(1)
    )
    if invitation is not None:
        # The provider proved the invited address is theirs: what the
        # invitation's emailed link would have proved.
        user = user or _new_account(session, identity)
        users.join_by_invitation(session, user, invitation, via=identity.provider)
        session.flush()
        return user
    if organisation.sso_newcomers == Newcomers.VIEWER:
        user = user or _new_account(session, identity)
        _add_membership(session, user, organisation, Role.VIEWER)
        record_event(
            session,
            "sso_joined",
            organisation=organisation,
            actor=user,
            role=Role.VIEWER.value,
            provider=identity.provider,
        )
        return user
    if pending_request(session, organisation, identity) is None:
        try:
            # A savepoint: the same newcomer's other first sign-in may have
            # made the request a moment ago (a unique index on pending ones).
            with session.begin_nested():
                session.add(
                    SsoJoinRequest(
                        organisation_id=organisation.id,
                        issuer=identity.issuer,
                        subject=identity.subject,
                        email=identity.email,
                        name=identity.name,
                    )
                )
        except IntegrityError:
            return None  # already waiting: the other sign-in recorded it
        record_event(
            session,
            "sso_join_requested",
            organisation=organisation,
            actor_label=identity.name,
            email=identity.email,
            provider=identity.provider,
        )
    session.flush()
    return None


def pending_request(
    session: Session, organisation: Organisation, identity: Identity
) -> SsoJoinRequest | None:
    """This person's request to join, still waiting, if they made one."""
    return session.scalar(
        select(SsoJoinRequest).where(
            SsoJoinRequest.organisation_id == organisation.id,
            SsoJoinRequest.issuer == identity.issuer,
            SsoJoinRequest.subject == identity.subject,
            SsoJoinRequest.status == JoinStatus.PENDING,
        )
    )


def _new_account(session: Session, identity: Identity) -> User:
    user = User(email=identity.email, name=identity.name.strip() or identity.email)
    session.add(user)
    session.flush()
    return user


def _add_membership(session: Session, user: User, organisation: Organisation, role: str) -> None:
    user.memberships.append(Membership(organisation_id=organisation.id, role=role))
    session.flush()


def _refuse(
    session: Session,
    identity: Identity,
    organisation: Organisation | None,
    address: str | None,
    message: str,
    reason: str,
) -> NoReturn:
    record_event(
        session,
        "sso_refused",
        organisation=organisation,
        actor_label=identity.name or "Unknown",
        email=identity.email[:200],
        provider=identity.provider,
        reason=reason,
        address=address,
    )
    raise SsoRefused(message, reason)


def record_refusal(session: Session, provider: str, reason: str, address: str | None) -> None:
    """A sign-in that failed before there was an identity (the provider said no,
    or its token did not verify): an unfiled audit event."""
    record_event(
        session,
        "sso_refused",
        organisation=None,
        actor_label="Unknown",
        provider=provider,
        reason=reason[:200],
        address=address,
    )


# An organisation's admins: linking, rules, newcomers.


def links(session: Session, organisation: Organisation) -> list[SsoLink]:
    return list(
        session.scalars(
            select(SsoLink).where(SsoLink.organisation_id == organisation.id).order_by(SsoLink.id)
        )
    )


def link_tenant(
    session: Session, organisation: Organisation, identity: Identity, actor: User
) -> SsoLink:
    """Link the tenant the admin just signed in through to their organisation."""
    if organisation.kind == OrgKind.CURATOR:
        raise ServiceError(
            "Curators sign in with a password and their own authenticator app: single sign-on "
            "is for schools, colleges and trusts."
        )
    if not identity.email_verified:
        raise ServiceError(
            f"{identity.provider_label} did not confirm your email address, so the account "
            "cannot vouch for your organisation. Ask your IT administrator to verify it."
        )
    if not identity.tenant:
        raise ServiceError(
            f"That is a personal {identity.provider_label} account. Sign in with your "
            "organisation's account to link it."
        )
    existing = session.scalar(
        select(SsoLink).where(
            SsoLink.provider == identity.provider, SsoLink.tenant == identity.tenant
        )
    )
    if existing is not None:
        if existing.organisation_id == organisation.id:
            raise ServiceError(f"{organisation.name} is already linked to this account's tenant.")
        record_event(
            session,
            "sso_link_refused",
            organisation=organisation,
            actor=actor,
            provider=identity.provider,
            tenant=identity.tenant,
        )
        # Which organisation holds it stays theirs to know.
        raise ServiceError(
            "That tenant is already linked to another organisation on the portal, so it cannot "
            "be linked to this one too. If it should be yours, contact us."
        )
    link = SsoLink(
        organisation_id=organisation.id,
        provider=identity.provider,
        tenant=identity.tenant,
        linked_by_id=actor.id,
    )
    session.add(link)
    session.flush()
    record_event(
        session,
        "sso_linked",
        organisation=organisation,
        actor=actor,
        provider=identity.provider,
        tenant=identity.tenant,
    )
    if normalise_email(identity.email) == actor.email:
        _remember(session, actor, identity)
    return link


def unlink(session: Session, link: SsoLink, actor: User) -> None:
    organisation = link.organisation
    if not organisation.password_sign_in and len(links(session, organisation)) == 1:
        raise ServiceError(
            "Allow passwords again before removing the last linked account: otherwise nobody "
            "but an administrator could sign in."
        )
    record_event(
        session,
        "sso_unlinked",
        organisation=organisation,
        actor=actor,
        provider=link.provider,
        tenant=link.tenant,
    )
    session.delete(link)
    session.flush()


def set_trusts_mfa(session: Session, link: SsoLink, actor: User, trusted: bool) -> None:
    if link.trusts_mfa == trusted:
        return
    link.trusts_mfa = trusted
    record_event(
        session,
        "sso_mfa_trust_changed",
        organisation=link.organisation,
        actor=actor,
        provider=link.provider,
        tenant=link.tenant,
        trusted=trusted,
    )
    session.flush()


def set_rules(
    session: Session,
    organisation: Organisation,
    actor: User,
    *,
    passwords: bool,
    newcomers: str,
    actor_keeps_access: bool,
) -> None:
    """Whether passwords remain allowed, and what happens to newcomers.

    ``actor_keeps_access``: whether the admin changing the rules could still
    enter under them (they signed in through a linked tenant, or have an
    authenticator app for the break-glass password)."""
    if newcomers not in set(Newcomers):
        raise ServiceError("Choose what happens to someone new", "newcomers")
    if not passwords:
        if not links(session, organisation):
            raise ServiceError(
                "Link your Microsoft 365 tenant or Google Workspace domain first: until then "
                "staff could not sign in at all.",
                "passwords",
            )
        if not actor_keeps_access:
            raise ServiceError(
                "Set up your authenticator app first, or sign in through your linked account: "
                "administrators keep a password for emergencies only with an authenticator app, "
                "and you signed in with a password alone.",
                "passwords",
            )
    if (organisation.password_sign_in, organisation.sso_newcomers) != (passwords, newcomers):
        organisation.password_sign_in = passwords
        organisation.sso_newcomers = newcomers
        record_event(
            session,
            "sso_rules_changed",
            organisation=organisation,
            actor=actor,
            passwords_allowed=passwords,
            newcomers=newcomers,
        )
    session.flush()


def signs_on(session: Session, user_ids: list[int]) -> set[int]:
    """Which of these people have signed in through a provider."""
    if not user_ids:
        return set()
    return set(
        session.scalars(
            select(ExternalIdentity.user_id).where(ExternalIdentity.user_id.in_(user_ids))
        )
    )


def waiting(session: Session, organisation: Organisation) -> list[SsoJoinRequest]:
    return list(
        session.scalars(
            select(SsoJoinRequest)
            .where(
                SsoJoinRequest.organisation_id == organisation.id,
                SsoJoinRequest.status == JoinStatus.PENDING,
            )
            .order_by(SsoJoinRequest.created_at, SsoJoinRequest.id)
        )
    )


def decide(
    session: Session, join: SsoJoinRequest, actor: User, *, approve: bool, role: str = Role.VIEWER
) -> User | None:
    """An admin lets a newcomer in (with a role) or turns them away."""
    if join.status != JoinStatus.PENDING:
        raise ServiceError("Someone has already answered this request")
    organisation = join.organisation
    join.decided_at = utcnow()
    join.decided_by_id = actor.id
    if not approve:
        join.status = JoinStatus.DECLINED
        record_event(
            session, "sso_join_declined", organisation=organisation, actor=actor, email=join.email
        )
        session.flush()
        return None
    if role not in {Role.ADMIN, Role.REVIEWER, Role.VIEWER}:
        raise ServiceError("Choose a role", "role")
    join.status = JoinStatus.APPROVED
    identity_row = session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == join.issuer, ExternalIdentity.subject == join.subject
        )
    )
    user = identity_row.user if identity_row else None
    user = user or session.scalar(
        select(User).where(User.email == join.email, User.is_service.is_(False))
    )
    if user is None:
        user = User(email=join.email, name=join.name)
        session.add(user)
        session.flush()
    if not user.is_active:
        user.is_active = True
    if not any(m.organisation_id == organisation.id for m in user.memberships):
        _add_membership(session, user, organisation, role)
    if identity_row is None:
        session.add(ExternalIdentity(user_id=user.id, issuer=join.issuer, subject=join.subject))
    record_event(
        session,
        "sso_join_approved",
        organisation=organisation,
        actor=actor,
        email=join.email,
        role=str(role),
    )
    session.flush()
    return user
