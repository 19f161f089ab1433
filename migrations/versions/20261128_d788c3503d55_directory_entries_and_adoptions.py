"""directory entries and adoptions

Revision ID: d788c3503d55
Revises: d7b88f109c58
Create Date: 2026-11-28 16:21:10.905460
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d788c3503d55"
down_revision = "d7b88f109c58"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True, comment="id of the first version"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False, comment="copied, never linked"),
        sa.Column(
            "evidence_questions",
            sa.JSON(),
            nullable=False,
            comment="questions the source answered with evidence files",
        ),
        sa.Column("source_request_id", sa.Integer(), nullable=True),
        sa.Column(
            "curator_authored",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="filled in by the curator from public documents",
        ),
        sa.Column("sources", sa.Text(), nullable=False, comment="public documents used"),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "rating",
            sa.String(length=10),
            nullable=True,
            comment="the curator's: green, amber, red",
        ),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "reviewed_on", sa.Date(), nullable=True, comment="when the assessment was last reviewed"
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column(
            "changes",
            sa.JSON(),
            nullable=True,
            comment="answers added, changed, removed since the previous version",
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'superseded', 'withdrawn')",
            name=op.f("ck_directory_entry_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_directory_entry_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_version.id"],
            name=op.f("fk_directory_entry_questionnaire_version_id_questionnaire_version"),
        ),
        sa.ForeignKeyConstraint(
            ["source_request_id"],
            ["request.id"],
            name=op.f("fk_directory_entry_source_request_id_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_directory_entry_supplier_id_supplier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_entry")),
        sa.UniqueConstraint("listing_id", "version", name="uq_directory_entry_listing_version"),
    )
    with op.batch_alter_table("directory_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_entry_listing_id"), ["listing_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_entry_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "adoption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False, comment="the version adopted"),
        sa.Column("adopted_by_id", sa.Integer(), nullable=True),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adopted_by_id"],
            ["user_account.id"],
            name=op.f("fk_adoption_adopted_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["directory_entry.id"], name=op.f("fk_adoption_entry_id_directory_entry")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_adoption_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adoption")),
        sa.UniqueConstraint(
            "organisation_id", "listing_id", name="uq_adoption_organisation_listing"
        ),
    )
    with op.batch_alter_table("adoption", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adoption_listing_id"), ["listing_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_adoption_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("adoption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adoption_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_adoption_listing_id"))

    op.drop_table("adoption")
    with op.batch_alter_table("directory_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_entry_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_directory_entry_listing_id"))

    op.drop_table("directory_entry")
