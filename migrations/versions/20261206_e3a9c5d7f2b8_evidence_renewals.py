"""evidence renewals

An ask to a supplier's contact for renewed evidence (issue 26), with its own
link opening only the evidence named.

Revision ID: e3a9c5d7f2b8
Revises: d2f6b8c4e1a7
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e3a9c5d7f2b8"
down_revision = "d2f6b8c4e1a7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_renewal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "questions", sa.JSON(), nullable=False, comment="the evidence questions to renew"
        ),
        sa.Column(
            "reason",
            sa.String(length=20),
            nullable=False,
            comment="before (30 days ahead), after (it ran out) or school (by hand)",
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_evidence_renewal_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["user_account.id"],
            name=op.f("fk_evidence_renewal_sent_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_renewal")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_evidence_renewal_token_hash")),
    )
    op.create_index(
        op.f("ix_evidence_renewal_request_id"), "evidence_renewal", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_renewal_request_id"), table_name="evidence_renewal")
    op.drop_table("evidence_renewal")
