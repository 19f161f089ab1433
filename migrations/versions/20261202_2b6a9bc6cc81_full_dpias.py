"""full DPIAs

Revision ID: 2b6a9bc6cc81
Revises: ccd32b0a6436
Create Date: 2026-12-02 06:20:31.214020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2b6a9bc6cc81"
down_revision = "ccd32b0a6436"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dpia",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            nullable=True,
            comment="the request it was started from, whose answers prefilled it",
        ),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column(
            "title",
            sa.String(length=200),
            nullable=False,
            comment="the tool, as the school names it",
        ),
        sa.Column(
            "review_of_id",
            sa.Integer(),
            nullable=True,
            comment="the approved DPIA this one reviews (its answers were the start)",
        ),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when an answer last changed",
        ),
        sa.Column("dpo_name", sa.String(length=200), nullable=True),
        sa.Column("dpo_advice", sa.Text(), nullable=True),
        sa.Column("dpo_advised_on", sa.Date(), nullable=True),
        sa.Column("advice_recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("advice_followed", sa.Boolean(), nullable=True),
        sa.Column("advice_not_followed_reason", sa.Text(), nullable=True),
        sa.Column(
            "approver_role",
            sa.String(length=60),
            nullable=True,
            comment="SLT digital lead or headteacher",
        ),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("next_review_date", sa.Date(), nullable=True),
        sa.Column(
            "ico_consultation",
            sa.Boolean(),
            nullable=False,
            comment="approved with a high residual risk: the ICO is consulted before processing",
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'awaiting_advice', 'awaiting_approval', 'approved', 'rejected')",
            name=op.f("ck_dpia_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["advice_recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_dpia_advice_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_dpia_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_dpia_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_dpia_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_version.id"],
            name=op.f("fk_dpia_questionnaire_version_id_questionnaire_version"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_dpia_request_id_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["review_of_id"],
            ["dpia.id"],
            name=op.f("fk_dpia_review_of_id_dpia"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_dpia_supplier_id_supplier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpia")),
    )
    with op.batch_alter_table("dpia", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dpia_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dpia_request_id"), ["request_id"], unique=False)

    op.create_table(
        "dpia_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dpia_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "source",
            sa.Text(),
            nullable=True,
            comment="where a prefilled answer came from; cleared when the school changes it",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dpia_id"], ["dpia.id"], name=op.f("fk_dpia_answer_dpia_id_dpia"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_dpia_answer_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpia_answer")),
        sa.UniqueConstraint("dpia_id", "question_id", name=op.f("uq_dpia_answer_dpia_id")),
    )


def downgrade() -> None:
    op.drop_table("dpia_answer")
    with op.batch_alter_table("dpia", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dpia_request_id"))
        batch_op.drop_index(batch_op.f("ix_dpia_organisation_id"))

    op.drop_table("dpia")
