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


# --- the school's side ------------------------------------------------------------


def _school_with_evidence(make: Factory) -> tuple[Any, Request, Request]:
    """A school with two suppliers: one whose certificate has run out, one
    whose insurance runs out within 60 days."""
    author = make.user(make.org("Oakfield Primary School"), role="admin")
    stale, _ = make.submitted(
        author, "expiring", answers={"ce_expiry": day(-10), "insured": "no"},
        supplier_name="Stale Certs Ltd",
    )  # fmt: skip
    soon, _ = make.submitted(
        author, "expiring", answers={"ce_expiry": day(400), "insured": "yes"},
        supplier_name="Soon Cover Ltd",
    )  # fmt: skip
    return author, stale, soon


def test_the_school_sees_its_evidence_first_to_run_out_first(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from .factories import login

    author, stale, soon = _school_with_evidence(make)
    school = app.test_client()
    login(school, author)
    page = school.get("/suppliers/evidence")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    table = text.split('id="evidence"', 1)[1]
    assert table.index("Stale Certs Ltd") < table.index("Soon Cover Ltd")
    assert "Expired" in table and "Current" in table
    counts = text.split('id="evidence-counts"', 1)[1].split("</ul>", 1)[0]
    assert "1 expired" in counts
    only = school.get("/suppliers/evidence?show=expired").get_data(as_text=True)
    listed = only.split('id="evidence"', 1)[1]
    assert "Stale Certs Ltd" in listed and "Soon Cover Ltd" not in listed

    home = school.get("/").get_data(as_text=True)
    assert "1 piece of evidence expired" in home

    register = school.get("/suppliers").get_data(as_text=True)
    line = register.split("Stale Certs Ltd", 1)[1].split("</tr>", 1)[0]
    assert "Expired" in line

    view = school.get(f"/requests/{stale.id}").get_data(as_text=True)
    finding = view.split('id="finding-ce_certificate"', 1)[1].split("</tr>", 1)[0]
    stale_day = utcnow().date() - timedelta(days=10)
    words = f"{stale_day.day} {stale_day:%B %Y}"
    assert f"Evidence expired on {words}" in finding
    # The file is there, but it has run out: the finding is not met, and says why.
    assert "Not met" in finding and f"The evidence expired on {words}" in finding
    assert 'id="tracked-evidence"' in view


def test_another_schools_evidence_is_never_listed(app: Flask, make: Factory) -> None:
    from .factories import login

    _school_with_evidence(make)
    rival = app.test_client()
    login(rival, make.user(make.org("Riverside Academy"), role="admin"))
    text = rival.get("/suppliers/evidence").get_data(as_text=True)
    assert "Stale Certs Ltd" not in text and "Soon Cover Ltd" not in text
    assert "0 expired" in text


def test_the_register_workbook_has_the_next_evidence_expiry(app: Flask, make: Factory) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from .factories import login

    author, stale, _ = _school_with_evidence(make)
    school = app.test_client()
    login(school, author)
    got = school.get("/suppliers/register.xlsx")
    assert got.status_code == 200, got.status_code
    sheet = load_workbook(io.BytesIO(got.data))["Suppliers"]
    headings = [c.value for c in sheet[1]]
    column = headings.index("Next evidence expiry")
    rows = {r[0]: r[column] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Stale Certs Ltd"].date() == utcnow().date() - timedelta(days=10)


def test_a_school_accepts_undated_evidence_with_a_reason(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from portal.extensions import db
    from portal.models import TrackedEvidence
    from portal.services.requests import evidence as files
    from portal.services.requests import evidence_life

    from .factories import login

    author = make.user(make.org("Oakfield Primary School"), role="admin")
    row, _ = make.submitted(author, "expiring", answers={"ce_expiry": day(200), "insured": "yes"})
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        for item in files.attached(db.session, request)["insured"]:
            item.expires_on = None  # the supplier would not say
        db.session.flush()
        evidence_life.track(db.session, request)
        db.session.commit()
    school = app.test_client()
    login(school, author)
    view = school.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Accept it without an expiry date, because" in view
    empty = school.post(f"/requests/{row.id}/evidence/insured/accept", data={"reason": " "},
                        follow_redirects=True)  # fmt: skip
    assert "Say why you accept this evidence without an expiry date" in empty.get_data(as_text=True)
    done = school.post(
        f"/requests/{row.id}/evidence/insured/accept",
        data={"reason": "Broker letter seen; renewal is annual in September"},
        follow_redirects=True,
    )
    assert "Accepted without a date" in done.get_data(as_text=True)
    dbs.rollback()
    accepted = dbs.scalar(
        select(TrackedEvidence).filter_by(request_id=row.id, question_id="insured")
    )
    assert accepted is not None and accepted.accepted_reason.startswith("Broker letter")
    rival = app.test_client()
    login(rival, make.user(make.org("Riverside Academy"), role="admin"))
    assert (
        rival.post(f"/requests/{row.id}/evidence/insured/accept", data={"reason": "x"}).status_code
        == 404
    )


def test_a_document_without_dates_is_kept_undated_for_the_school_to_decide(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    saved = post_certs(
        supplier,
        row,
        insured="yes",
        **{"insured-evidence": (io.BytesIO(PDF), "broker-letter.pdf"), "insured-undated": "y"},
    )
    assert saved.status_code == 302
    stored = files_of(dbs, row)["insured"]
    assert stored.expires_on is None and stored.issued_on is None
    # A date typed as well is still checked: "undated" does not hide a wrong one.
    wrong = post_certs(
        supplier,
        row,
        insured="yes",
        **{"insured-evidence": (io.BytesIO(PDF), "again.pdf"), "insured-undated": "y",
           "insured-expires": day(-5)},
    )  # fmt: skip
    assert wrong.status_code != 302
