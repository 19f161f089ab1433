"""Retention: closed requests and their files are purged after the configured
years, listed first by a dry run; the purge's own audit event stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import AuditEvent, Evidence, Request, utcnow
from portal.services.platform.runtime import runtime

from .factories import Factory


def age(dbs: Session, row: Request, years: float, **values: object) -> None:
    """Make a request look as if it closed ``years`` ago."""
    when = utcnow() - timedelta(days=365.25 * years)
    dbs.execute(
        update(Request)
        .where(Request.id == row.id)
        .values(decided_at=when, token_expires_at=when, **values)
    )
    dbs.commit()


# The files as files in a folder (tests/test_shared_hosts.py: the database store's).
@pytest.mark.config(EVIDENCE_STORE="folder")
def test_a_dry_run_lists_then_the_purge_removes_rows_and_files(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org("Oakfield Primary")
    author = make.user(school)
    old_decided, _ = make.submitted(author, "features", supplier_name="Old Decided Ltd")
    recent_decided, _ = make.submitted(author, "features", supplier_name="Recent Ltd")
    old_undecided, _ = make.submitted(author, "features", supplier_name="Still Waiting Ltd")
    old_unanswered, _ = make.request(author, "features", supplier_name="Never Answered Ltd")
    age(dbs, old_decided, 7, status="accepted")
    age(dbs, recent_decided, 2, status="rejected")
    age(dbs, old_undecided, 9)  # submitted, never decided: kept however old
    age(dbs, old_unanswered, 8)
    with app.app_context():
        key = db.session.scalars(
            select(Evidence.storage_key).where(Evidence.request_id == old_decided.id)
        ).first()
        assert key is not None
        old_file = runtime(db.session).storage.path(key)
    assert old_file.exists()

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge-closed", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert old_decided.reference in dry.output and old_unanswered.reference in dry.output
    assert recent_decided.reference not in dry.output
    assert old_undecided.reference not in dry.output
    assert "2 requests closed more than 6 years ago would be purged" in dry.output
    dbs.rollback()
    assert dbs.get(Request, old_decided.id) is not None  # a dry run changes nothing

    done = runner.invoke(args=["purge-closed"])
    assert done.exit_code == 0, done.output
    assert "Purged 2 requests" in done.output
    dbs.rollback()
    remaining = set(dbs.scalars(select(Request.reference)))
    assert remaining == {recent_decided.reference, old_undecided.reference}
    assert dbs.scalars(select(Evidence).where(Evidence.request_id == old_decided.id)).all() == []
    assert not old_file.exists()
    purged = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "request_purged")).all()
    assert {e.detail["reference"] for e in purged} == {
        old_decided.reference,
        old_unanswered.reference,
    }
    assert all(e.organisation_id == school.id and e.request_id is None for e in purged)

    shorter = runner.invoke(args=["purge-closed", "--years", "1", "--dry-run"])
    assert recent_decided.reference in shorter.output
