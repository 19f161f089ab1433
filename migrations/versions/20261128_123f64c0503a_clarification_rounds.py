"""clarification rounds

Revision ID: 123f64c0503a
Revises: 0d4477c26483
Create Date: 2026-11-28 14:52:00.851864
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "123f64c0503a"
down_revision = "0d4477c26483"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clarification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "round",
                sa.Integer(),
                server_default="1",
                nullable=False,
                comment="1 for the first ask",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clarification", schema=None) as batch_op:
        batch_op.drop_column("round")
