"""answer uploads

The answers workbooks suppliers upload (issue 25), each kept with its
request and what came of it.

Revision ID: b9d3f5a7c2e4
Revises: a8c2e4f6b1d3
Create Date: 2026-12-05 17:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b9d3f5a7c2e4"
down_revision = "a8c2e4f6b1d3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "report",
            sa.JSON(),
            nullable=True,
            comment="what the upload saved, refused and left in conflict",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_answer_upload_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_upload")),
    )
    op.create_index(
        op.f("ix_answer_upload_request_id"), "answer_upload", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_upload_request_id"), table_name="answer_upload")
    op.drop_table("answer_upload")
