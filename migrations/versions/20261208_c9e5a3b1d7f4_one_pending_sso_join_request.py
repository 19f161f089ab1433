"""one waiting single sign-on join request per person and organisation

Two first sign-ins of the same newcomer at once could each record a request
to join (issue 27's note): a unique index on the pending ones makes the
second a no-op (services/accounts/sso.py). Duplicates already waiting are
turned away first, keeping the oldest.

Revision ID: c9e5a3b1d7f4
Revises: b7d3f1a9c5e2
Create Date: 2026-12-08 03:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c9e5a3b1d7f4"
down_revision = "b7d3f1a9c5e2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE sso_join_request SET status = 'declined' WHERE status = 'pending' AND id NOT IN "
        "(SELECT MIN(id) FROM sso_join_request WHERE status = 'pending' "
        "GROUP BY organisation_id, issuer, subject)"
    )
    op.create_index(
        "uq_sso_join_request_pending",
        "sso_join_request",
        ["organisation_id", "issuer", "subject"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_sso_join_request_pending", table_name="sso_join_request")
