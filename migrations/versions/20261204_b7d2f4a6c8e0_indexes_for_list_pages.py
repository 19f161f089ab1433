"""indexes for list pages

An index for each filter and sort the staff lists use (issue 23): a school's
requests newest first, by status and due date, by supplier; the curator's
queue of shared submissions; the audit trail newest first and by kind; the
directory's lists by state; adoptions by entry.

Revision ID: b7d2f4a6c8e0
Revises: a1c3e5f7b9d2
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7d2f4a6c8e0"
down_revision = "a1c3e5f7b9d2"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_request_organisation_created", "request", ["organisation_id", "created_at"]),
    ("ix_request_organisation_status_due", "request", ["organisation_id", "status", "due_date"]),
    ("ix_request_organisation_supplier", "request", ["organisation_id", "supplier_id"]),
    ("ix_audit_event_organisation_id_id", "audit_event", ["organisation_id", "id"]),
    ("ix_audit_event_organisation_action", "audit_event", ["organisation_id", "action", "id"]),
    ("ix_directory_entry_status_updated", "directory_entry", ["status", "updated_at"]),
    ("ix_directory_entry_status_review", "directory_entry", ["status", "review_due"]),
    ("ix_adoption_entry_id", "adoption", ["entry_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_index(
        "ix_request_shared_submitted",
        "request",
        # Status and version too: the queue is counted from the index alone.
        ["submitted_at", "status", "questionnaire_version_id"],
        sqlite_where=sa.text("directory_consent = 1"),
        postgresql_where=sa.text("directory_consent"),
    )


def downgrade() -> None:
    op.drop_index("ix_request_shared_submitted", table_name="request")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
