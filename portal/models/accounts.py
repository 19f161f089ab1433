"""Organisations, people, their roles, and the single-use links sent to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, enum_check, intpk, str_email, str_name


class OrgKind(enum.StrEnum):
    SCHOOL = "school"
    COLLEGE = "college"
    TRUST = "trust"
    CURATOR = "curator"


class Role(enum.StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    VIEWER = "viewer"
    CURATOR = "curator"


class Newcomers(enum.StrEnum):
    """What happens to someone from a linked SSO tenant who has no place here yet."""

    APPROVAL = "approval"  # they wait until an admin approves them
    VIEWER = "viewer"  # they join at once as a viewer


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a secret)


class Organisation(Base):
    __tablename__ = "organisation"
    __table_args__ = (enum_check("kind", OrgKind), enum_check("sso_newcomers", Newcomers))

    id: Mapped[intpk]
    name: Mapped[str_name]
    kind: Mapped[str] = mapped_column(String(20))
    urn: Mapped[str | None] = mapped_column(String(20), comment="DfE unique reference number")
    trust_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"),
        comment="the academy trust a school belongs to",
    )
    require_mfa: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="every member must sign in with an authenticator app",
    )
    created_at: Mapped[created_at]
    digital_lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"),
        comment="the SLT member who owns the digital strategy and the standards",
    )
    link_governor: Mapped[str | None] = mapped_column(
        String(200), comment="the governor or trustee linked with the digital lead"
    )
    risk_matrix: Mapped[dict[str, str] | None] = mapped_column(
        JSON, comment="DPIA risk matrix, 'likelihood_severity' -> level; none: the default"
    )
    password_sign_in: Mapped[bool] = mapped_column(
        default=True,
        server_default=true(),
        comment="false: members sign in through single sign-on; admins keep a password "
        "with their authenticator app for emergencies",
    )
    sso_newcomers: Mapped[str] = mapped_column(
        String(20),
        default=Newcomers.APPROVAL,
        server_default=Newcomers.APPROVAL.value,
        comment="someone new from a linked tenant: 'approval' (waits for an admin) or 'viewer'",
    )

    trust: Mapped[Organisation | None] = relationship(remote_side="Organisation.id")
    digital_lead: Mapped[User | None] = relationship(foreign_keys=[digital_lead_id])

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[intpk]
    email: Mapped[str_email] = mapped_column(unique=True, comment="stored lower-case")
    name: Mapped[str_name]
    password_hash: Mapped[str | None] = mapped_column(
        String(255), comment="empty until an invitation is accepted"
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    mfa_secret: Mapped[str | None] = mapped_column(
        String(64), comment="base32 TOTP secret once the authenticator app is confirmed"
    )
    mfa_enabled_at: Mapped[datetime | None]
    mfa_last_step: Mapped[int | None] = mapped_column(
        comment="the last TOTP time step used: a code works once"
    )
    session_version: Mapped[int] = mapped_column(
        default=1,
        server_default="1",
        comment="raised to end every session of the user (sign-out, password change)",
    )
    is_service: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="acts for an API key: never signs in, not listed among people",
    )
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id"
    )

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def end_sessions(self) -> None:
        """End every session of this person, on every device, at its next
        request (identity/staff_sessions.py compares the version)."""
        self.session_version += 1


class Membership(Base):
    __tablename__ = "membership"
    # through_trust below is a plain attribute, never a column.
    __allow_unmapped__ = True
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", name="uq_membership_user_org"),
        enum_check("role", Role),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[created_at]

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()

    # Set on the view-only membership a trust's person holds in each of its
    # schools (identity/staff_sessions.trust_views): made for the request,
    # never stored.
    through_trust: Organisation | None = None


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class MembershipInvitation(Base):
    """An organisation asks the owner of an email address to join it.

    Nobody joins an organisation because an admin typed their address: the
    person accepts, by setting their password from the emailed link (a new
    account) or signed in (an account they already have). Until then the
    inviter sees only what they typed themselves.
    """

    __tablename__ = "membership_invitation"
    __table_args__ = (
        enum_check("role", Role),
        enum_check("status", InvitationStatus),
        Index("ix_membership_invitation_email_status", "email", "status"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str_email] = mapped_column(comment="as the inviter typed it, lower-case")
    name: Mapped[str_name] = mapped_column(comment="as the inviter typed it")
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=InvitationStatus.PENDING)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User | None] = relationship()


class UserToken(Base):
    """A single-use link for setting a password (invitation or reset)."""

    __tablename__ = "user_token"
    __table_args__ = (enum_check("purpose", TokenPurpose),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership_invitation.id", ondelete="CASCADE"),
        comment="the invitation a set-password link accepts when it is used",
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256 hex")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    user: Mapped[User] = relationship()
    invitation: Mapped[MembershipInvitation | None] = relationship()


class RecoveryCode(Base):
    """A one-time code for signing in without the authenticator app; hash only."""

    __tablename__ = "recovery_code"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 hex")
    used_at: Mapped[datetime | None]
    created_at: Mapped[created_at]


class LoginFailure(Base):
    """A failed sign-in, keyed by a hash of the email typed, registered or not.

    Counting by what was typed means an unknown address locks exactly like a
    known one, so the lock message reveals nothing.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_email_at", "email_hash", "failed_at"),)

    id: Mapped[intpk]
    email_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime]
