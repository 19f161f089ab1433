"""Single sign-on (Newcomers, a column of Organisation, lives with it): which organisation a Microsoft 365 tenant or Google Workspace
domain belongs to, which accounts an identity provider's people are, and who
from a linked domain asked to join."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk, str_email, str_name


class SsoProvider(enum.StrEnum):
    MICROSOFT = "microsoft"  # Entra ID: the tenant id (``tid``) names the organisation
    GOOGLE = "google"  # Google Workspace: the hosted domain (``hd``)
    OIDC = "oidc"  # any OpenID Connect provider the operator configures: the email domain


class JoinStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class SsoLink(Base):
    """An organisation's claim to a tenant or domain, made by one of its admins
    signing in through it. One organisation per tenant: the unique constraint is
    what refuses a second school linking a tenant already linked."""

    __tablename__ = "sso_link"
    __table_args__ = (
        UniqueConstraint("provider", "tenant", name="uq_sso_link_provider_tenant"),
        enum_check("provider", SsoProvider),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    tenant: Mapped[str] = mapped_column(
        String(255), comment="Entra tenant id, Google Workspace domain, or email domain; lower-case"
    )
    trusts_mfa: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="the admin says this tenant enforces MFA: its sign-ins meet require_mfa",
    )
    linked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    organisation: Mapped[Organisation] = relationship()
    linked_by: Mapped[User | None] = relationship()


class ExternalIdentity(Base):
    """A person at an identity provider (issuer and subject, which never change)
    known to be this account: the email only finds the account the first time."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identity_issuer"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SsoJoinRequest(Base):
    """Someone from a linked tenant with no place in the organisation, waiting
    for an admin (the organisation's default for newcomers)."""

    __tablename__ = "sso_join_request"
    __table_args__ = (
        enum_check("status", JoinStatus),
        Index("ix_sso_join_request_organisation_id_status", "organisation_id", "status"),
        # One waiting request per person and organisation, even when two first
        # sign-ins of the same newcomer arrive at once (services/accounts/sso).
        Index(
            "uq_sso_join_request_pending",
            "organisation_id",
            "issuer",
            "subject",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str_email] = mapped_column(comment="as the provider verified it, lower-case")
    name: Mapped[str_name]
    status: Mapped[str] = mapped_column(String(20), default=JoinStatus.PENDING)
    created_at: Mapped[created_at]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    organisation: Mapped[Organisation] = relationship()
