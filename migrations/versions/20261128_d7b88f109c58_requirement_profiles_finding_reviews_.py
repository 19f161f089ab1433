"""requirement profiles, finding reviews and decisions

Revision ID: d7b88f109c58
Revises: 0803144778fc
Create Date: 2026-11-28 15:46:04.128175
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d7b88f109c58"
down_revision = "0803144778fc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requirement_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=30), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("off", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, comment="why this school's rule differs"),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_requirement_rule_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_requirement_rule_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requirement_rule")),
        sa.UniqueConstraint(
            "organisation_id",
            "questionnaire_key",
            "question_id",
            name="uq_requirement_rule_question",
        ),
    )
    with op.batch_alter_table("requirement_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_requirement_rule_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "finding_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_finding_review_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_finding_review_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_review")),
        sa.UniqueConstraint("request_id", "question_id", name="uq_finding_review_question"),
    )
    with op.batch_alter_table("finding_review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finding_review_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rating", sa.String(length=10), nullable=True, comment="green, amber or red")
        )
        batch_op.add_column(
            sa.Column(
                "score", sa.Integer(), nullable=True, comment="0-100, see questionnaire/compare.py"
            )
        )
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("decision_conditions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("next_review_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "decided_rules",
                sa.JSON(),
                nullable=True,
                comment="the profile's rules when decided, so the record stays as judged",
            )
        )
        batch_op.add_column(
            sa.Column(
                "follows_request_id",
                sa.Integer(),
                nullable=True,
                comment="the screening this request follows up",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_request_follows_request_id_request"),
            "request",
            ["follows_request_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_request_decided_by_id_user_account"),
            "user_account",
            ["decided_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_request_decided_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_request_follows_request_id_request"), type_="foreignkey"
        )
        batch_op.drop_column("follows_request_id")
        batch_op.drop_column("decided_rules")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("next_review_date")
        batch_op.drop_column("decision_conditions")
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("score")
        batch_op.drop_column("rating")

    with op.batch_alter_table("finding_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_review_request_id"))

    op.drop_table("finding_review")
    with op.batch_alter_table("requirement_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requirement_rule_organisation_id"))

    op.drop_table("requirement_rule")
