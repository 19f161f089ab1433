"""reuse codes without a source

A code is made (and counted) even when the address typed at a supplier link
matched no reusable submission, so the page answers alike either way: its
source is then empty. The masked address it was asked for is kept for the page.

Revision ID: 9865c76cdc30
Revises: 7835244fa39f
Create Date: 2026-12-04 01:59:24.002932
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9865c76cdc30"
down_revision = "7835244fa39f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reuse_code", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sent_to",
                sa.String(length=320),
                server_default="",
                nullable=False,
                comment="the address typed, masked",
            )
        )
        batch_op.alter_column(
            "source_request_id",
            existing_type=sa.INTEGER(),
            nullable=True,
            existing_comment="the submission to copy from",
            comment="the submission to copy from; none if the address matched none",
        )
        batch_op.create_index(
            batch_op.f("ix_reuse_code_source_request_id"), ["source_request_id"], unique=False
        )


def downgrade() -> None:
    # Codes that matched nothing have no source to keep: they can go.
    op.execute(sa.text("DELETE FROM reuse_code WHERE source_request_id IS NULL"))
    with op.batch_alter_table("reuse_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reuse_code_source_request_id"))
        batch_op.alter_column(
            "source_request_id",
            existing_type=sa.INTEGER(),
            nullable=False,
            existing_comment="the submission to copy from; none if the address matched none",
            comment="the submission to copy from",
        )
        batch_op.drop_column("sent_to")
