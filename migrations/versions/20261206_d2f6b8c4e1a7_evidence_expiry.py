"""evidence expiry

Evidence that knows when it runs out (issue 26): each evidence file keeps
the dates the supplier gave beside it; tracked_evidence holds, per submitted
request, each piece of evidence whose expiry the school follows, with the
renewal asks sent for it; a directory entry keeps its evidence's expiry.
Columns are added in place (no table is rebuilt).

Revision ID: d2f6b8c4e1a7
Revises: c1e5a7b9d3f6
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d2f6b8c4e1a7"
down_revision = "c1e5a7b9d3f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "evidence",
        sa.Column("issued_on", sa.Date(), nullable=True, comment="the document's issue date"),
    )
    op.add_column(
        "evidence",
        sa.Column(
            "expires_on", sa.Date(), nullable=True, comment="the expiry date given beside it"
        ),
    )
    op.add_column(
        "evidence",
        sa.Column(
            "renewing",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="uploaded after it ran out, the supplier saying it is being renewed",
        ),
    )
    op.add_column(
        "directory_entry",
        sa.Column(
            "evidence_expiry",
            sa.JSON(),
            nullable=True,
            comment="question id -> the ISO date its evidence expires",
        ),
    )
    op.create_table(
        "tracked_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column(
            "kind", sa.String(length=20), nullable=False, comment="certificate, test_report, ..."
        ),
        sa.Column(
            "expires_on",
            sa.Date(),
            nullable=True,
            comment="the earliest expiry of its files; none when no date was given",
        ),
        sa.Column(
            "asked_before_on",
            sa.Date(),
            nullable=True,
            comment="the expiry whose renewal was asked for before it",
        ),
        sa.Column(
            "asked_after_on",
            sa.Date(),
            nullable=True,
            comment="the expiry whose renewal was asked for once it had passed",
        ),
        sa.Column(
            "accepted_reason",
            sa.Text(),
            nullable=True,
            comment="why the school accepted it without an expiry date",
        ),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["user_account.id"],
            name=op.f("fk_tracked_evidence_accepted_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_tracked_evidence_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_evidence")),
        sa.UniqueConstraint(
            "request_id", "question_id", name=op.f("uq_tracked_evidence_request_id")
        ),
    )
    op.create_index(
        op.f("ix_tracked_evidence_request_id"), "tracked_evidence", ["request_id"], unique=False
    )
    op.create_index(
        op.f("ix_tracked_evidence_expires_on"), "tracked_evidence", ["expires_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tracked_evidence_expires_on"), table_name="tracked_evidence")
    op.drop_index(op.f("ix_tracked_evidence_request_id"), table_name="tracked_evidence")
    op.drop_table("tracked_evidence")
    # Dropped in place (SQLite 3.35+ can): rebuilding directory_entry would
    # drop the search index's triggers on it.
    op.drop_column("directory_entry", "evidence_expiry")
    op.drop_column("evidence", "renewing")
    op.drop_column("evidence", "expires_on")
    op.drop_column("evidence", "issued_on")
