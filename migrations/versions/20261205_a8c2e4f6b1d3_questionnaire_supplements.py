"""questionnaire supplements

A school's (or trust's) own extra questions, asked as a final section of the
requests it sends of a questionnaire (issue 24): each change a new version,
and each request keeps the version it was sent with.

The request's new column is added in place (on SQLite with its reference
written inline), so the table of every request is not rebuilt and its
triggers stay.

Revision ID: a8c2e4f6b1d3
Revises: f3a9c1e5b7d4
Create Date: 2026-12-05 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a8c2e4f6b1d3"
down_revision = "f3a9c1e5b7d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questionnaire_supplement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column(
            "questions",
            sa.JSON(),
            nullable=False,
            comment="the questions as a definition's section lists them, choices inline",
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_questionnaire_supplement_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_questionnaire_supplement_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_supplement")),
        sa.UniqueConstraint(
            "organisation_id", "questionnaire_key", "version", name="uq_questionnaire_supplement"
        ),
    )
    column = sa.Column(
        "supplement_id",
        sa.Integer(),
        nullable=True,
        comment="the organisation's own extra questions, as they were when it was sent",
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with a reference only when it is written inline.
        column.append_foreign_key(sa.ForeignKey("questionnaire_supplement.id"))
        op.add_column("request", column, inline_references=True)
    else:
        op.add_column("request", column)
        op.create_foreign_key(
            op.f("fk_request_supplement_id_questionnaire_supplement"),
            "request",
            "questionnaire_supplement",
            ["supplement_id"],
            ["id"],
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite drops a column with a reference only by rebuilding the table,
        # which drops its triggers: they are read first and put back as they were.
        triggers = list(
            bind.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'request'"
                )
            ).scalars()
        )
        with op.batch_alter_table("request", schema=None) as batch_op:
            batch_op.drop_column("supplement_id")
        for sql in triggers:
            op.execute(sql)
    else:
        op.drop_constraint(
            op.f("fk_request_supplement_id_questionnaire_supplement"),
            "request",
            type_="foreignkey",
        )
        op.drop_column("request", "supplement_id")
    op.drop_table("questionnaire_supplement")
