"""stored school ratings of trust requests and adoptions

A trust's request rated against each school it was made for, and an adopted
directory entry rated against the adopting school's rules, are kept on their
rows (as a request's own rating is) so registers and the trust overview read
them instead of comparing on every view (issue 23). Rows from before have no
rating yet: ``flask db upgrade`` rates them once the schema is in place.

Revision ID: a1c3e5f7b9d2
Revises: 3e106c5f278b
Create Date: 2026-12-04 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a1c3e5f7b9d2"
down_revision = "3e106c5f278b"
branch_labels = None
depends_on = None

TABLES = ("request_on_behalf", "adoption")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "rating", sa.String(length=10), nullable=True, comment="green, amber or red"
                )
            )
            batch_op.add_column(
                sa.Column(
                    "rated_at",
                    sa.DateTime(timezone=True),
                    nullable=True,
                    comment="null: never rated (a row from before)",
                )
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rated_at")
            batch_op.drop_column("rating")
