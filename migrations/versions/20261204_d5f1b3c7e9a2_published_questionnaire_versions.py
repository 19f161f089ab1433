"""published questionnaire versions

Curators publish questionnaire versions from workbooks (issue 24): a version
says where it came from (a definition file, stored when first used, or a
workbook a curator published) and who published it when; a questionnaire can
be retired, so no new request uses it while those already sent keep theirs;
each workbook a curator uploads is kept, with its problems or its definition.

On SQLite the table is rebuilt (batch mode), and the school summaries'
trigger on it is dropped first and created again after.

Revision ID: d5f1b3c7e9a2
Revises: c4e8a2d6f0b1
Create Date: 2026-12-04 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d5f1b3c7e9a2"
down_revision = "c4e8a2d6f0b1"
branch_labels = None
depends_on = None

ORIGINS = "origin IN ('file', 'workbook')"


# SQLite's batch mode rebuilds the table, which drops its triggers: the school
# summaries' one (revision c4e8a2d6f0b1) is put back as it was.
SUMMARY_TRIGGER = """
CREATE TRIGGER school_summary_questionnaire_version AFTER INSERT ON questionnaire_version
WHEN new.key = 'school_it_standards'
BEGIN UPDATE school_summary SET generation = generation + 1; END
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS school_summary_questionnaire_version")
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=20), server_default="file", nullable=False)
        )
        batch_op.add_column(sa.Column("published_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_questionnaire_version_origin_valid"), ORIGINS)
        batch_op.create_foreign_key(
            op.f("fk_questionnaire_version_published_by_id_user_account"),
            "user_account",
            ["published_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    if sqlite:
        op.execute(SUMMARY_TRIGGER)
    op.create_table(
        "retired_questionnaire",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("retired_by_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["retired_by_id"],
            ["user_account.id"],
            name=op.f("fk_retired_questionnaire_retired_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_retired_questionnaire")),
    )
    op.create_table(
        "questionnaire_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "problems",
            sa.JSON(),
            nullable=True,
            comment="one line per problem, by sheet, row and column; null when sound",
        ),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_questionnaire_upload_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_version_id"],
            ["questionnaire_version.id"],
            name=op.f("fk_questionnaire_upload_published_version_id_questionnaire_version"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_questionnaire_upload_uploaded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_upload")),
    )
    op.create_index(
        op.f("ix_questionnaire_upload_organisation_id"),
        "questionnaire_upload",
        ["organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index(
        op.f("ix_questionnaire_upload_organisation_id"), table_name="questionnaire_upload"
    )
    op.drop_table("questionnaire_upload")
    op.drop_table("retired_questionnaire")
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS school_summary_questionnaire_version")
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_questionnaire_version_published_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("ck_questionnaire_version_origin_valid"), type_="check")
        batch_op.drop_column("published_at")
        batch_op.drop_column("published_by_id")
        batch_op.drop_column("origin")
    if sqlite:
        op.execute(SUMMARY_TRIGGER)
