"""declaration name, role and directory consent

Revision ID: aae9cd4ef60a
Revises: 4504a24e7694
Create Date: 2026-11-28 14:07:55.284859
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "aae9cd4ef60a"
down_revision = "4504a24e7694"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "declared_name",
                sa.String(length=200),
                nullable=True,
                comment="who signed the declaration",
            )
        )
        batch_op.add_column(sa.Column("declared_role", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "directory_consent",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="answers may be shared in the curated directory",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_column("directory_consent")
        batch_op.drop_column("declared_role")
        batch_op.drop_column("declared_name")
