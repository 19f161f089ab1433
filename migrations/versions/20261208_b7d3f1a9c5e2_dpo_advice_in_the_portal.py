"""the DPO service advises in the portal

A school shares a DPIA with the curator organisation (its DPO service) for
advice (issue 29): a feedback share names the DPIA; a share records when the
DPO answered it (advice given, or a first comment), which the DPO's caseload
sorts by; the DPIA keeps whether the DPO advises consulting the ICO.

Revision ID: b7d3f1a9c5e2
Revises: a4c8e2f6b9d1
Create Date: 2026-12-08 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7d3f1a9c5e2"
down_revision = "a4c8e2f6b9d1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with a reference only when it is written inline
        # (and reads no ON DELETE back from one: a DPIA goes only with its
        # organisation, whose shares go with it, so none is needed).
        op.execute("ALTER TABLE feedback_share ADD COLUMN dpia_id INTEGER REFERENCES dpia (id)")
    else:
        op.add_column(
            "feedback_share",
            sa.Column(
                "dpia_id",
                sa.Integer(),
                nullable=True,
                comment="a DPIA shared for the DPO's advice",
            ),
        )
        op.create_foreign_key(
            op.f("fk_feedback_share_dpia_id_dpia"),
            "feedback_share",
            "dpia",
            ["dpia_id"],
            ["id"],
        )
    op.create_index(op.f("ix_feedback_share_dpia_id"), "feedback_share", ["dpia_id"], unique=False)
    op.add_column(
        "feedback_share",
        sa.Column(
            "answered_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the DPO service first answered: advice given, or a comment",
        ),
    )
    op.add_column(
        "dpia",
        sa.Column(
            "dpo_advises_ico",
            sa.Boolean(),
            nullable=True,
            comment="the DPO advises consulting the ICO before the processing starts",
        ),
    )


def downgrade() -> None:
    op.drop_column("dpia", "dpo_advises_ico")
    op.drop_index(op.f("ix_feedback_share_dpia_id"), table_name="feedback_share")
    with op.batch_alter_table("feedback_share", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
        batch_op.drop_column("dpia_id")
