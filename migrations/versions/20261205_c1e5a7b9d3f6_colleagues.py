"""colleagues

The supplier's contact hands sections to colleagues (issue 25), each with
their own link; each answer says who gave it. The answer table's new column
is added in place.

Revision ID: c1e5a7b9d3f6
Revises: b9d3f5a7c2e4
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c1e5a7b9d3f6"
down_revision = "b9d3f5a7c2e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "colleague",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False, comment="the section ids handed over"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_colleague_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colleague")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_colleague_token_hash")),
    )
    op.create_index(op.f("ix_colleague_request_id"), "colleague", ["request_id"], unique=False)
    op.add_column(
        "answer",
        sa.Column(
            "answered_by",
            sa.String(length=200),
            nullable=True,
            comment="who at the supplier gave the answer: the contact or a colleague",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("answered_by")
    op.drop_index(op.f("ix_colleague_request_id"), table_name="colleague")
    op.drop_table("colleague")
