"""organisation risk matrix

An organisation may set its own DPIA risk matrix (likelihood by severity to a
level); none means the portal's default (issue 21).

Revision ID: 0406d49269da
Revises: 9865c76cdc30
Create Date: 2026-12-04 03:49:17.946677
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0406d49269da"
down_revision = "9865c76cdc30"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "risk_matrix",
                sa.JSON(),
                nullable=True,
                comment="DPIA risk matrix, 'likelihood_severity' -> level; none: the default",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("risk_matrix")
