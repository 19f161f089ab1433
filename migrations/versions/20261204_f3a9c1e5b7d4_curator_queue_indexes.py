"""curator queue indexes

The curator's queue counted at a seek per status and questionnaire version
from a partial index of shared submissions, and "not used by an entry yet"
answered from an index of entries by source request instead of reading every
entry (issue 23).

Revision ID: f3a9c1e5b7d4
Revises: d5f1b3c7e9a2
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f3a9c1e5b7d4"
down_revision = "d5f1b3c7e9a2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_request_shared_status",
        "request",
        ["status", "questionnaire_version_id", "submitted_at"],
        sqlite_where=sa.text("directory_consent = 1"),
        postgresql_where=sa.text("directory_consent"),
    )
    op.create_index(
        "ix_directory_entry_source_request_id", "directory_entry", ["source_request_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_directory_entry_source_request_id", table_name="directory_entry")
    op.drop_index("ix_request_shared_status", table_name="request")
