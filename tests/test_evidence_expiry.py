"""Evidence that knows when it runs out (issue 26): the dates a supplier gives
beside an upload, checked, kept with the file, and nothing lost when they
are wrong."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Evidence, Request, utcnow

from .factories import Factory

PDF = b"%PDF-1.7 x"


def opened(app: Flask, make: Factory) -> tuple[FlaskClient, Request]:
    row, path = make.request(make.user(make.org("Oakfield Primary School")), "expiring")
    supplier = app.test_client()
    supplier.get(path)
    return supplier, row


def post_certs(supplier: FlaskClient, row: Request, **fields: Any) -> Any:
    return supplier.post(
        f"/respond/{row.reference}/sections/certs",
        data={"action": "later", **fields},
        content_type="multipart/form-data",
    )


def files_of(dbs: Session, row: Request) -> dict[str, Evidence]:
    dbs.rollback()
    return {
        e.question_id: e for e in dbs.scalars(select(Evidence).where(Evidence.request_id == row.id))
    }


def day(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def test_the_page_asks_for_the_dates_each_rule_needs(app: Flask, make: Factory) -> None:
    supplier, row = opened(app, make)
    page = supplier.get(f"/respond/{row.reference}/sections/certs").get_data(as_text=True)
    assert 'name="insured-expires"' in page and 'name="insured-issued"' in page
    assert 'name="pen_test_report-issued"' in page
    assert 'name="pen_test_report-expires"' not in page  # counted from the issue date
    assert 'name="ce_certificate-issued"' not in page  # its expiry is the answer above
    assert "It has run out and is being renewed" in page


def test_dates_are_kept_with_the_file(app: Flask, make: Factory, dbs: Session) -> None:
    supplier, row = opened(app, make)
    saved = post_certs(
        supplier,
        row,
        insured="yes",
        **{"insured-evidence": (io.BytesIO(PDF), "insurance.pdf")},
        **{"insured-issued": day(-30), "insured-expires": day(335)},
        **{"pen_test_report": (io.BytesIO(PDF), "pentest.pdf")},
        **{"pen_test_report-issued": day(-60)},
    )
    assert saved.status_code == 302
    stored = files_of(dbs, row)
    assert stored["insured"].expires_on.isoformat() == day(335)
    assert stored["insured"].issued_on.isoformat() == day(-30)
    assert stored["pen_test_report"].issued_on.isoformat() == day(-60)
    assert not stored["insured"].renewing
    page = supplier.get(f"/respond/{row.reference}/sections/certs").get_data(as_text=True)
    assert "insurance.pdf" in page and "expires" in page


def test_wrong_dates_keep_the_file_out_and_what_was_typed_in(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    cases = [
        ({"insured-expires": day(-3)}, "This document has expired: upload the current one"),
        (
            {"insured-issued": day(10), "insured-expires": day(300)},
            "The issue date must be today or in the past",
        ),  # fmt: skip
        (
            {"insured-issued": day(-10), "insured-expires": day(-20)},
            "The expiry date must be after the issue date",
        ),  # fmt: skip
        ({"insured-expires": "2126-01-01"}, "The expiry date must be within 10 years"),
        ({"insured-expires": "31/02/2027"}, "Enter a real date, for example 31/03/2027"),
        ({}, "Enter the date the document expires"),
    ]
    for typed, message in cases:
        page = post_certs(
            supplier,
            row,
            insured="yes",
            legal_name="Acme",
            **{"insured-evidence": (io.BytesIO(PDF), "insurance.pdf")},
            **typed,
        )
        text = page.get_data(as_text=True)
        assert page.status_code != 302, typed
        assert message in text, (typed, message)
        assert "Your file was not saved: choose it again" in text
        for value in typed.values():
            assert f'value="{value}"' in text  # what was typed stays on the page
        assert "insured" not in files_of(dbs, row)

    period = post_certs(
        supplier,
        row,
        **{"pen_test_report": (io.BytesIO(PDF), "pentest.pdf"),
           "pen_test_report-issued": day(-400)},
    )  # fmt: skip
    assert "this document ran out on" in period.get_data(as_text=True)
    assert "pen_test_report" not in files_of(dbs, row)


def test_a_document_being_renewed_may_have_run_out(app: Flask, make: Factory, dbs: Session) -> None:
    supplier, row = opened(app, make)
    saved = post_certs(
        supplier,
        row,
        insured="yes",
        **{"insured-evidence": (io.BytesIO(PDF), "old-insurance.pdf")},
        **{"insured-expires": day(-3), "insured-renewing": "y"},
    )
    assert saved.status_code == 302
    stored = files_of(dbs, row)["insured"]
    assert stored.renewing and stored.expires_on.isoformat() == day(-3)


def test_dates_are_not_asked_without_a_new_file(app: Flask, make: Factory, dbs: Session) -> None:
    supplier, row = opened(app, make)
    saved = post_certs(supplier, row, insured="no", legal_name="Acme")
    assert saved.status_code == 302


def test_submitting_tracks_each_piece_of_evidence_with_its_expiry(
    app: Flask, make: Factory, dbs: Session
) -> None:
    """Derived each way: from the date answer, as given, from the issue date."""
    from portal.models import TrackedEvidence

    author = make.user(make.org("Oakfield Primary School"))
    row, _ = make.submitted(author, "expiring", answers={"ce_expiry": day(20), "insured": "yes"})
    dbs.rollback()
    tracked = {
        t.question_id: t
        for t in dbs.scalars(select(TrackedEvidence).where(TrackedEvidence.request_id == row.id))
    }
    assert set(tracked) == {"ce_certificate", "insured", "pen_test_report"}
    assert tracked["ce_certificate"].kind == "certificate"
    assert tracked["ce_certificate"].expires_on.isoformat() == day(20)  # the answer
    assert tracked["insured"].kind == "insurance"
    assert tracked["insured"].expires_on.isoformat() == day(305)  # as given beside it
    assert tracked["pen_test_report"].kind == "test_report"
    issued = utcnow().date() - timedelta(days=60)
    from portal.questionnaire.expiry import add_months

    assert tracked["pen_test_report"].expires_on == add_months(issued, 12)  # a year on


def test_evidence_without_files_or_a_date_is_not_tracked(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from portal.extensions import db
    from portal.models import TrackedEvidence
    from portal.services.requests import evidence_life

    author = make.user(make.org("Oakfield Primary School"))
    row, _ = make.submitted(author, "expiring", answers={"ce_expiry": day(200), "insured": "no"})
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        for item in db.session.scalars(
            select(Evidence).where(Evidence.request_id == row.id, Evidence.question_id == "insured")
        ):
            db.session.delete(item)
        db.session.flush()
        evidence_life.track(db.session, request)
        db.session.commit()
    dbs.rollback()
    tracked = {
        t.question_id
        for t in dbs.scalars(select(TrackedEvidence).where(TrackedEvidence.request_id == row.id))
    }
    assert tracked == {"ce_certificate", "pen_test_report"}
