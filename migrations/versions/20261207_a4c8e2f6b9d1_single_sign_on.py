"""single sign-on

Staff sign in with Microsoft 365, Google Workspace or another OpenID Connect
provider (issue 27): the tenants an organisation has linked, the identities
known to be accounts, the newcomers waiting for an admin, and each
organisation's sign-in rules (passwords allowed or not; what happens to a
newcomer).

Revision ID: a4c8e2f6b9d1
Revises: f5b1d7e9a3c6
Create Date: 2026-12-07 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a4c8e2f6b9d1"
down_revision = "f5b1d7e9a3c6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_external_identity_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identity")),
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identity_issuer"),
    )
    op.create_index(
        op.f("ix_external_identity_user_id"), "external_identity", ["user_id"], unique=False
    )
    op.create_table(
        "sso_join_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column(
            "email",
            sa.String(length=320),
            nullable=False,
            comment="as the provider verified it, lower-case",
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined')",
            name=op.f("ck_sso_join_request_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_sso_join_request_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_sso_join_request_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_join_request")),
    )
    op.create_index(
        "ix_sso_join_request_organisation_id_status",
        "sso_join_request",
        ["organisation_id", "status"],
        unique=False,
    )
    op.create_table(
        "sso_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column(
            "tenant",
            sa.String(length=255),
            nullable=False,
            comment="Entra tenant id, Google Workspace domain, or email domain; lower-case",
        ),
        sa.Column(
            "trusts_mfa",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="the admin says this tenant enforces MFA: its sign-ins meet require_mfa",
        ),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('microsoft', 'google', 'oidc')", name=op.f("ck_sso_link_provider_valid")
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["user_account.id"],
            name=op.f("fk_sso_link_linked_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_sso_link_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_link")),
        sa.UniqueConstraint("provider", "tenant", name="uq_sso_link_provider_tenant"),
    )
    op.create_index(op.f("ix_sso_link_organisation_id"), "sso_link", ["organisation_id"])
    # In place, not a batch rebuild: SQLite's school-summary triggers name the
    # organisation table, and a rebuild would drop it from under them.
    op.add_column(
        "organisation",
        sa.Column(
            "password_sign_in",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
            comment="false: members sign in through single sign-on; admins keep a "
            "password with their authenticator app for emergencies",
        ),
    )
    newcomers = "sso_newcomers IN ('approval', 'viewer')"
    if op.get_context().dialect.name == "sqlite":
        # SQLite adds a CHECK only with the column it belongs to.
        op.execute(
            "ALTER TABLE organisation ADD COLUMN sso_newcomers VARCHAR(20) DEFAULT 'approval' "
            f"NOT NULL CONSTRAINT ck_organisation_sso_newcomers_valid CHECK ({newcomers})"
        )
    else:
        op.add_column(
            "organisation",
            sa.Column(
                "sso_newcomers",
                sa.String(length=20),
                server_default="approval",
                nullable=False,
                comment="someone new from a linked tenant: 'approval' (waits for an admin) "
                "or 'viewer'",
            ),
        )
        op.create_check_constraint(
            op.f("ck_organisation_sso_newcomers_valid"), "organisation", newcomers
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("ck_organisation_sso_newcomers_valid"), "organisation", type_="check"
        )
    op.drop_column("organisation", "sso_newcomers")
    op.drop_column("organisation", "password_sign_in")
    op.drop_index(op.f("ix_sso_link_organisation_id"), table_name="sso_link")
    op.drop_table("sso_link")
    op.drop_index("ix_sso_join_request_organisation_id_status", table_name="sso_join_request")
    op.drop_table("sso_join_request")
    op.drop_index(op.f("ix_external_identity_user_id"), table_name="external_identity")
    op.drop_table("external_identity")
