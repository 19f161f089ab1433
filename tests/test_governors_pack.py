"""The governors' pack: one PDF for a governors' meeting, read back with
pypdf, on the demo's data (Oakfield has standards, a DPIA begun, suppliers in
its register and Cyber Essentials expiring next month)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.exports.governors_pack import governors_pack_pdf
from portal.exports.pdf import RestrictedFetcher
from portal.models import AuditEvent, Organisation, Request, User

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory
from .test_reports import flat, pages

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
PASSWORD = "correct-horse-battery-staple-42"
HOSTILE = '<img src="file:///etc/passwd">'


@pytest.fixture
def demo(app: Flask, dbs: Session) -> Session:
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    dbs.rollback()
    return dbs


def sign_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def oakfield(dbs: Session) -> Organisation:
    return dbs.scalars(
        select(Organisation).where(Organisation.name == "Oakfield Primary School")
    ).one()


def test_the_pack_gathers_standards_owners_suppliers_dpias_and_evidence(
    app: Flask, demo: Session
) -> None:
    # A decided supplier whose annual review is a week overdue.
    from portal.extensions import db
    from portal.services.review import decisions

    with app.test_request_context():
        row = db.session.scalars(select(Request).where(Request.reference == "DD-DEMO03")).one()
        admin = db.session.scalars(select(User).where(User.email == "admin@oakfield.example")).one()
        decisions.decide(db.session, row, admin, decisions.Decision(
            "accepted", "Fine for now.", [], date.today() + timedelta(days=30)))  # fmt: skip
        db.session.execute(
            update(Request).where(Request.id == row.id)
            .values(next_review_date=date.today() - timedelta(days=7))
        )  # fmt: skip
        db.session.commit()
    response = sign_in(app, "admin@oakfield.example").get("/standards/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    texts = pages(response.data)
    cover = " ".join(texts[0].split())
    assert "Oakfield Primary School" in cover and "Produced" in cover
    assert "SLT digital lead Amira Khan" in cover
    assert "with a review overdue" in cover
    text = " ".join(" ".join(texts).split())
    for heading in ("The DfE digital and technology standards", "What is due",
                    "Tasks without a clear owner", "Supplier reviews", "Open DPIAs",
                    "Evidence that has run out or soon will"):  # fmt: skip
        assert text.count(heading) >= 2, heading  # in the contents and as a heading
    assert "DfE digital leadership standard 1 Met" in text
    reviews = "".join(text[text.rindex("Supplier reviews") :].split())
    assert "ReviewNorthernSchoolsIT" in reviews and "OVERDUE" in reviews  # the tag is capitals
    dpias = text[text.rindex("Open DPIAs") :]
    assert "Cloudy Classroom" in dpias and "Draft" in dpias
    evidence = text[text.rindex("Expiring within 60 days") :]
    assert "Northern Schools IT" in evidence
    for number, page in enumerate(texts, 1):
        assert f"Page {number} of {len(texts)}" in page
    demo.rollback()
    event = demo.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded")).one()
    assert (event.detail["what"], event.detail["format"]) == ("governors_pack", "pdf")


def test_a_schools_pack_holds_nothing_of_another_school(app: Flask, demo: Session) -> None:
    response = sign_in(app, "head@riverside-academy.example").get("/standards/report.pdf")
    assert response.status_code == 200
    text = flat(response.data)
    assert "RiversideAcademy" in text
    for theirs in ("Oakfield", "CloudyClassroom", "NorthernSchoolsIT", "AmiraKhan"):
        assert theirs not in text, theirs


def test_school_text_prints_as_text_and_nothing_is_fetched(app: Flask, demo: Session) -> None:
    from portal.extensions import db
    from portal.models import Supplier
    from portal.services.downloads import governors_pack as pack

    demo.execute(
        update(Organisation)
        .where(Organisation.id == oakfield(demo).id)
        .values(link_governor=HOSTILE)
    )
    # A supplier names itself: its name reaches the pack's evidence table.
    demo.execute(
        update(Supplier)
        .where(Supplier.name == "Northern Schools IT")
        .values(name=f'Northern <a href="http://attacker.example/">IT</a> {HOSTILE}')
    )
    demo.commit()
    fetcher = RestrictedFetcher()
    with app.app_context():
        school = db.session.get(Organisation, oakfield(demo).id)
        pdf = governors_pack_pdf(pack.governors_pack(db.session, school), fetcher)
    assert fetcher.asked == []
    text = flat(pdf)
    assert text.count('<imgsrc="file:///etc/passwd">') >= 2  # the governor and the supplier
    assert '<ahref="http://attacker.example/">IT</a>' in text


def test_the_command_line_writes_a_schools_pack(app: Flask, demo: Session, tmp_path: Path) -> None:
    out = tmp_path / "pack.pdf"
    runner = app.test_cli_runner()
    done = runner.invoke(
        args=["governors-pack", "--org", "Oakfield Primary School", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "Oakfield Primary School" in pages(out.read_bytes())[0]
    unknown = runner.invoke(args=["governors-pack", "--org", "Nowhere School", "--out", str(out)])
    assert unknown.exit_code == 2 and "No organisation is called 'Nowhere School'" in unknown.output


def test_the_standards_pages_link_to_the_pack(app: Flask, demo: Session) -> None:
    client = sign_in(app, "admin@oakfield.example")
    for page in ("/standards", "/standards/timeline", "/standards/report"):
        assert 'href="/standards/report.pdf"' in client.get(page).get_data(as_text=True), page


def test_the_pack_costs_the_same_statements_for_few_or_many_suppliers(
    app: Flask, demo: Session, make: Factory, statements: list[str]
) -> None:
    admin = demo.scalars(select(User).where(User.email == "admin@oakfield.example")).one()
    client = sign_in(app, "admin@oakfield.example")

    def pack() -> tuple[int, str]:
        statements.clear()
        response = client.get("/standards/report.pdf")
        assert response.status_code == 200
        return len(statements), flat(response.data)

    pack()  # the first reads the standards questionnaire's definition into its cache
    few, _ = pack()
    for n in range(6):
        make.submitted(admin, "cloud_supplier", supplier_name=f"Extra Supplier {n}")
    many, text = pack()
    assert "11suppliersintheregister" in text
    assert many == few


def cover_line(app: Flask, label: str) -> str:
    cover = pages(sign_in(app, "admin@oakfield.example").get("/standards/report.pdf").data)[0]
    line = next(line for line in cover.splitlines() if line.startswith(label))
    return " ".join(line.split())


def test_supplier_reviews_due_soon_and_overdue_are_counted_apart(app: Flask, demo: Session) -> None:
    """The cover counts reviews overdue and due within the home page's 30 days
    apart: a review today is due, not overdue; one yesterday is overdue."""
    from portal.extensions import db
    from portal.services.review import decisions

    with app.test_request_context():
        row = db.session.scalars(select(Request).where(Request.reference == "DD-DEMO03")).one()
        admin = db.session.scalars(select(User).where(User.email == "admin@oakfield.example")).one()
        decisions.decide(db.session, row, admin, decisions.Decision(
            "accepted", "Fine for now.", [], date.today() + timedelta(days=200)))  # fmt: skip
        db.session.commit()
        reference = row.id

    def review_on(days: int) -> str:
        demo.execute(
            update(Request).where(Request.id == reference)
            .values(next_review_date=date.today() + timedelta(days=days))
        )  # fmt: skip
        demo.commit()
        return cover_line(app, "Suppliers in the register")

    assert review_on(200).endswith("0 with a review overdue, 0 due within 30 days")
    assert review_on(30).endswith("0 with a review overdue, 1 due within 30 days")
    assert review_on(0).endswith("0 with a review overdue, 1 due within 30 days")
    assert review_on(-1).endswith("1 with a review overdue, 0 due within 30 days")
    assert review_on(31).endswith("0 with a review overdue, 0 due within 30 days")


def test_a_task_without_an_accountable_person_is_listed_with_its_gap(
    app: Flask, demo: Session
) -> None:
    from portal.extensions import db
    from portal.models import RaciEntry, RaciLetter
    from portal.services.school import raci, standards

    school = oakfield(demo)
    with app.app_context():
        found = standards.progress(
            db.session, db.session.get(Organisation, school.id), date.today()
        )
        task = raci.tasks(db.session, db.session.get(Organisation, school.id), found.questionnaire)[
            0
        ]
    # A chart stored with a responsible party and no one accountable (the
    # form refuses it; an imported or older chart can still hold it).
    demo.add(RaciEntry(organisation_id=school.id, question_id=task.question.id,
                       letter=RaciLetter.RESPONSIBLE, party="Office manager"))  # fmt: skip
    demo.commit()
    text = " ".join(
        " ".join(
            pages(sign_in(app, "admin@oakfield.example").get("/standards/report.pdf").data)
        ).split()
    )
    owners = text[text.rindex("Tasks without a clear owner") : text.rindex("Supplier reviews")]
    assert " ".join(str(task.question.label).split())[:40] in owners
    assert "No one is accountable" in owners


def test_expired_evidence_is_listed_with_its_supplier_and_date(app: Flask, demo: Session) -> None:
    from portal.models import TrackedEvidence

    assert cover_line(app, "Evidence") == "Evidence 0 expired; 2 expiring within 60 days"
    demo.rollback()  # after what the app committed (the download's audit event)
    school = oakfield(demo)
    soon = demo.scalars(
        select(TrackedEvidence)
        .join(Request, Request.id == TrackedEvidence.request_id)
        .where(
            Request.organisation_id == school.id,
            TrackedEvidence.expires_on > date.today(),
            TrackedEvidence.expires_on <= date.today() + timedelta(days=60),
        )
        .order_by(TrackedEvidence.expires_on)
    ).first()
    assert soon is not None  # the demo's Cyber Essentials, expiring next month
    expired = date.today() - timedelta(days=3)
    soon.expires_on = expired
    supplier = soon.request.supplier.name
    demo.commit()
    text = " ".join(
        " ".join(
            pages(sign_in(app, "admin@oakfield.example").get("/standards/report.pdf").data)
        ).split()
    )
    evidence = text[text.rindex("Evidence that has run out or soon will") :]
    expired_part = evidence[evidence.index("Expired") : evidence.index("Expiring within 60 days")]
    assert supplier in expired_part
    assert f"{expired.day} {expired:%B %Y}" in expired_part
    assert cover_line(app, "Evidence") == "Evidence 1 expired; 1 expiring within 60 days"
