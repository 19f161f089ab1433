"""Asking for renewed evidence (issue 26): the daily job asks 30 days before
an expiry and again once it has passed, once each; a school may ask by
hand, never twice a day; the renewal link opens only the evidence asked
for; the renewed evidence replaces the old once it is all in, the request is
judged again and the school is told; its decision stands."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (
    AuditEvent,
    Evidence,
    EvidenceRenewal,
    OutgoingEmail,
    Request,
    RequestStatus,
    TrackedEvidence,
    utcnow,
)
from portal.services.jobs.evidence_renewals import send_renewals

from .factories import Factory, login

RENEW_LINK = re.compile(r"https?://[^/\s]+(/renew/link/[A-Za-z0-9_\-]+)")
PDF = b"%PDF-1.7 renewed"
TODAY = utcnow().date()


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def school_with(make: Factory, ce_in_days: int) -> tuple[Any, Request]:
    """A school whose supplier's Cyber Essentials runs out in ``ce_in_days``
    (the other evidence a year away), its request accepted."""
    author = make.user(make.org("Oakfield Primary School"), role="admin")
    row, _ = make.submitted(
        author, "expiring", answers={"ce_expiry": _day(ce_in_days), "insured": "no"}
    )
    return author, row


def accept(app: Flask, row: Request) -> None:
    with app.app_context():
        found = db.session.get(Request, row.id)
        found.status = RequestStatus.ACCEPTED
        db.session.commit()


def run(app: Flask, today: date) -> list[Any]:
    with app.app_context():
        asked = send_renewals(db.session, today)
        db.session.commit()
        return asked


def renewal_mails(dbs: Session, row: Request) -> list[OutgoingEmail]:
    dbs.rollback()
    return list(
        dbs.scalars(
            select(OutgoingEmail).where(
                OutgoingEmail.request_id == row.id,
                OutgoingEmail.subject.like("%asks for renewed evidence%"),
            )
        )
    )


def test_the_job_asks_30_days_before_and_once_it_has_run_out_each_once(
    app: Flask, make: Factory, dbs: Session
) -> None:
    _, row = school_with(make, 40)
    assert run(app, TODAY) == []  # 40 days away: not yet
    assert renewal_mails(dbs, row) == []
    first = run(app, TODAY + timedelta(days=10))  # 30 days before
    assert [(a.questions, a.reason) for a in first] == [(("ce_certificate",), "before")]
    assert run(app, TODAY + timedelta(days=10)) == []  # run twice: sends once
    assert run(app, TODAY + timedelta(days=11)) == []  # the next day: asked for this expiry
    mails = renewal_mails(dbs, row)
    assert len(mails) == 1 and mails[0].to_address == "sam@acme.example"
    assert "/renew/link/" in mails[0].body and "expires on" in mails[0].body
    after = run(app, TODAY + timedelta(days=40))  # the day it runs out
    assert [(a.questions, a.reason) for a in after] == [(("ce_certificate",), "after")]
    assert run(app, TODAY + timedelta(days=41)) == []
    assert len(renewal_mails(dbs, row)) == 2
    dbs.rollback()
    events = dbs.scalars(
        select(AuditEvent).where(
            AuditEvent.request_id == row.id, AuditEvent.action == "renewal_requested"
        )
    ).all()
    assert [e.detail["reason"] for e in events] == ["before", "after"]


def test_a_superseded_request_is_not_asked(app: Flask, make: Factory, dbs: Session) -> None:
    author, old = school_with(make, 20)
    newer, _ = make.submitted(author, "expiring", answers={"ce_expiry": _day(300), "insured": "no"})
    asked = run(app, TODAY)
    assert old.id not in [a.request.id for a in asked]


def _renewal_link(dbs: Session, row: Request) -> str:
    body = renewal_mails(dbs, row)[-1].body
    found = RENEW_LINK.search(body)
    assert found, body
    return found.group(1)


def test_the_renewal_link_opens_only_the_evidence_asked_for(
    app: Flask, make: Factory, dbs: Session
) -> None:
    _, row = school_with(make, 20)
    run(app, TODAY)
    supplier = app.test_client()
    opened = supplier.get(_renewal_link(dbs, row))
    assert opened.status_code == 303
    page = supplier.get(opened.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Upload your Cyber Essentials certificate" in text
    assert 'name="ce_expiry"' in text and 'name="ce_certificate"' in text
    assert "penetration test" not in text and "cyber insurance" not in text
    base = f"/respond/{row.reference}"
    for path in (f"{base}/", f"{base}/tasks", f"{base}/sections/certs", f"{base}/check",
                 f"{base}/confirmation"):  # fmt: skip
        assert supplier.get(path).status_code == 404, path
    assert supplier.get("/api/v1/supplier/request").status_code == 401
    # Another request's renewal page is not opened by this grant, though it has one open.
    _, other = school_with(make, 15)
    run(app, TODAY + timedelta(days=1))
    assert renewal_mails(dbs, other)
    assert supplier.get(f"/renew/{other.reference}").status_code == 404
    assert supplier.post(f"/renew/{other.reference}", data={}).status_code == 404
    assert supplier.get("/renew/DD-NOTOURS").status_code == 404


def _renew(supplier: FlaskClient, row: Request, **fields: Any) -> Any:
    return supplier.post(f"/renew/{row.reference}", data=fields, content_type="multipart/form-data")


def test_renewed_evidence_replaces_the_old_rerates_and_tells_the_school(
    app: Flask, make: Factory, dbs: Session
) -> None:
    author, row = school_with(make, -5)  # ran out five days ago
    accept(app, row)
    run(app, TODAY)
    dbs.rollback()
    assert dbs.get(Request, row.id).rating != "green"
    old_files = {e.id for e in dbs.scalars(select(Evidence).where(Evidence.request_id == row.id,
                                                                  Evidence.question_id == "ce_certificate"))}  # fmt: skip
    supplier = app.test_client()
    supplier.get(_renewal_link(dbs, row))
    done = _renew(
        supplier,
        row,
        ce_expiry=_day(360),
        ce_certificate=(io.BytesIO(PDF), "ce-2027.pdf"),
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    assert "Renewed evidence sent" in supplier.get(done.location).get_data(as_text=True)
    dbs.rollback()
    request = dbs.get(Request, row.id)
    assert request.status == RequestStatus.ACCEPTED  # the decision stands
    files = dbs.scalars(
        select(Evidence).where(
            Evidence.request_id == row.id, Evidence.question_id == "ce_certificate"
        )
    ).all()
    assert [f.filename for f in files] == ["ce-2027.pdf"] and not {f.id for f in files} & old_files
    tracked = dbs.scalar(
        select(TrackedEvidence).filter_by(request_id=row.id, question_id="ce_certificate")
    )
    assert tracked is not None and tracked.expires_on.isoformat() == _day(360)
    told = dbs.scalars(
        select(OutgoingEmail).where(OutgoingEmail.subject.like("%sent renewed evidence%"))
    ).all()
    assert [m.to_address for m in told] == [author.email]
    assert request.rating == "green"
    # The link has done its job.
    assert supplier.get(f"/renew/{row.reference}").status_code == 404
    school = app.test_client()
    login(school, author)
    view = school.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Renewed evidence received" in view and "Renewed evidence asked for" in view


def test_wrong_renewed_evidence_changes_nothing(app: Flask, make: Factory, dbs: Session) -> None:
    _, row = school_with(make, 10)
    run(app, TODAY)
    supplier = app.test_client()
    supplier.get(_renewal_link(dbs, row))
    cases = [
        ({"ce_expiry": _day(360)}, "Choose the renewed file"),
        (
            {"ce_expiry": _day(-1), "ce_certificate": (io.BytesIO(PDF), "ce.pdf")},
            "expiry date must be after today",
        ),  # fmt: skip
        (
            {"ce_expiry": "31/02/2027", "ce_certificate": (io.BytesIO(PDF), "ce.pdf")},
            "Enter a real date",
        ),  # fmt: skip
        (
            {"ce_expiry": _day(360), "ce_certificate": (io.BytesIO(b"MZ not a pdf"), "ce.pdf")},
            "PDF",
        ),  # fmt: skip
    ]
    for fields, message in cases:
        page = _renew(supplier, row, **fields)
        assert page.status_code == 422, fields
        assert message in page.get_data(as_text=True), (fields, message)
    dbs.rollback()
    files = dbs.scalars(
        select(Evidence).where(
            Evidence.request_id == row.id, Evidence.question_id == "ce_certificate"
        )
    ).all()
    assert [f.filename for f in files] == ["ce_certificate.pdf"]  # the old one stays
    assert dbs.scalar(select(EvidenceRenewal).filter_by(request_id=row.id)).completed_at is None


def test_a_school_asks_by_hand_never_twice_a_day(app: Flask, make: Factory, dbs: Session) -> None:
    author, row = school_with(make, 200)
    school = app.test_client()
    login(school, author)
    asked = school.post(
        f"/requests/{row.id}/evidence/renew", data={"question": ["pen_test_report"]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Asked sam@acme.example for the renewed evidence" in asked.get_data(as_text=True)
    again = school.post(
        f"/requests/{row.id}/evidence/renew", data={"question": ["ce_certificate"]},
        follow_redirects=True,
    )  # fmt: skip
    assert "asked for renewed evidence today already" in again.get_data(as_text=True)
    assert len(renewal_mails(dbs, row)) == 1
    none = school.post(f"/requests/{row.id}/evidence/renew", data={}, follow_redirects=True)
    assert "today already" in none.get_data(as_text=True) or "Choose the evidence" in none.get_data(
        as_text=True
    )
    rival = app.test_client()
    login(rival, make.user(make.org("Riverside Academy"), role="admin"))
    assert (
        rival.post(
            f"/requests/{row.id}/evidence/renew", data={"question": ["ce_certificate"]}
        ).status_code
        == 404
    )
