"""dpia review_of_id where missing

Commit 8ce6cff added ``dpia.review_of_id`` by editing the already released
full-DPIA migration (2b6a9bc6cc81). A database upgraded before that commit
has the revision but not the column, and Alembic saw nothing to do. This
revision adds the column, and its foreign key, only where it is missing
(issue 22, A3). Released migrations are never edited again:
tests/test_migrations.py holds each one to its recorded hash.

Revision ID: 3e106c5f278b
Revises: 0406d49269da
Create Date: 2026-12-04 04:35:14.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3e106c5f278b"
down_revision = "0406d49269da"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("dpia")}
    if "review_of_id" in columns:
        return  # created by 2b6a9bc6cc81 as it now stands
    with op.batch_alter_table("dpia", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "review_of_id",
                sa.Integer(),
                nullable=True,
                comment="the approved DPIA this one reviews (its answers were the start)",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_dpia_review_of_id_dpia"),
            "dpia",
            ["review_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    # Nothing to undo: the column belongs to 2b6a9bc6cc81 as it now stands,
    # and a database this revision repaired must keep it to match the models.
    pass
