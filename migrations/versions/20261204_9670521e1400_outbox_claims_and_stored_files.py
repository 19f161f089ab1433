"""outbox claims and stored files

Several app servers (issue 23): an email is claimed before it is sent
(claimed_until, a lease; retry_at, the wait after a failed try), the unsent
emails have a partial index for the workers that poll them, and evidence
files can live in the database (stored_file and its chunks) for servers that
share no folder.

Revision ID: 9670521e1400
Revises: e1093e68055b
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9670521e1400"
down_revision = "e1093e68055b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_outgoing_email_unsent",
        "outgoing_email",
        ["id"],
        unique=False,
        sqlite_where=sa.text("sent_at IS NULL"),
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "stored_file",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "chunks", sa.Integer(), nullable=False, comment="how many stored_file_chunk rows"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_file")),
    )
    op.create_table(
        "stored_file_chunk",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key"],
            ["stored_file.key"],
            name=op.f("fk_stored_file_chunk_key_stored_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "seq", name=op.f("pk_stored_file_chunk")),
    )


def downgrade() -> None:
    op.drop_table("stored_file_chunk")
    op.drop_table("stored_file")
    op.drop_index("ix_outgoing_email_unsent", table_name="outgoing_email")
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("claimed_until")
