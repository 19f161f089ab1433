"""prefilled answers

Revision ID: 0803144778fc
Revises: 123f64c0503a
Create Date: 2026-11-28 14:55:11.536346
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0803144778fc"
down_revision = "123f64c0503a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "prefilled",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="copied from an earlier submission and not yet confirmed",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("prefilled")
