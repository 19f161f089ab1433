"""outbox html body and attempts

Revision ID: 0d4477c26483
Revises: aae9cd4ef60a
Create Date: 2026-11-28 14:11:24.968441
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0d4477c26483"
down_revision = "aae9cd4ef60a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("html_body")
