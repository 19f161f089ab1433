"""The school's supplier register: every supplier it uses, contract and data
held, latest assessment, annual reviews, and the reminders when they fall due."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (
    Organisation,
    OutgoingEmail,
    ReminderSent,
    Request,
    StandardPlan,
    SupplierUse,
    User,
    utcnow,
)
from portal.services.jobs.review_reminders import send_review_reminders

from .factories import Factory, login


@pytest.fixture
def school(client: FlaskClient, make: Factory) -> tuple[FlaskClient, Organisation]:
    organisation = make.org("Hillside Primary")
    login(client, make.user(organisation, role="admin"))
    return client, organisation


def test_a_supplier_is_added_with_its_contract_and_data_and_bad_input_is_explained(
    school: tuple[FlaskClient, Organisation], dbs: Session
) -> None:
    client, organisation = school
    bad = client.post(
        "/suppliers/add",
        data={
            "supplier_name": "ReadWell Ltd", "category": "learning_platform",
            "contract_start": "1/9/2026", "contract_end": "31/8/2025",
            "data_held": "Pupils' names and reading levels",
        },
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "The contract cannot end before it starts" in text
    assert "Pupils&#39; names and reading levels" in text  # what was typed stays
    assert client.post("/suppliers/add", data={"supplier_name": " "}).status_code == 422

    ok = client.post(
        "/suppliers/add",
        data={
            "supplier_name": "ReadWell Ltd", "category": "learning_platform",
            "contract_start": "1/9/2026", "contract_end": "31/8/2029",
            "data_held": "Pupils' names and reading levels",
        },
    )  # fmt: skip
    assert ok.status_code == 302
    page = client.get("/suppliers").get_data(as_text=True)
    assert "ReadWell Ltd" in page and "Learning platform" in page and "31 August 2029" in page
    dbs.rollback()
    use = dbs.scalar(select(SupplierUse))
    assert use is not None and use.data_held == "Pupils' names and reading levels"


def test_the_register_shows_the_latest_assessment_and_the_review_is_recorded(
    school: tuple[FlaskClient, Organisation], make: Factory, app: Flask, dbs: Session
) -> None:
    client, organisation = school
    author = make.user(organisation, role="reviewer")
    row, _ = make.submitted(author, "it_support", supplier_name="TechCare IT")
    stored = dbs.get(Request, row.id)
    assert stored is not None
    stored.status = "accepted_with_conditions"
    stored.decision_conditions = ["Annual penetration test report"]
    stored.next_review_date = utcnow().date() - timedelta(days=3)
    dbs.commit()

    page = client.get("/suppliers").get_data(as_text=True)
    assert "TechCare IT" in page
    assert row.reference in page and "Annual penetration test report" in page
    assert "Overdue" in page
    supplier_id = stored.supplier_id

    done = client.post(f"/suppliers/{supplier_id}/reviewed")
    assert done.status_code == 302
    dbs.rollback()
    use = dbs.scalar(select(SupplierUse).where(SupplierUse.supplier_id == supplier_id))
    assert use is not None and use.last_reviewed_on == utcnow().date()
    assert use.next_review_date is not None and use.next_review_date > utcnow().date() + timedelta(
        days=360
    )
    assert "Overdue" not in client.get("/suppliers").get_data(as_text=True)

    workbook = load_workbook(io.BytesIO(client.get("/suppliers/register.xlsx").data))
    rows = list(workbook["Suppliers"].iter_rows(values_only=True))
    assert rows[0][0] == "Supplier" and rows[1][0] == "TechCare IT"
    assert rows[1][8] == "Annual penetration test report"


def test_a_decided_review_date_stands_while_a_newer_assessment_waits(
    school: tuple[FlaskClient, Organisation], make: Factory, dbs: Session
) -> None:
    client, organisation = school
    author = make.user(organisation, role="reviewer")
    old, _ = make.submitted(author, "it_support", supplier_name="TechCare IT")
    make.submitted(author, "it_support", supplier_name="TechCare IT")  # newer, undecided
    stored = dbs.get(Request, old.id)
    assert stored is not None
    stored.status = "accepted"
    stored.next_review_date = utcnow().date() - timedelta(days=1)
    dbs.commit()
    page = client.get("/suppliers").get_data(as_text=True)
    assert "Not decided" in page  # the newer assessment stands for the supplier
    assert "Overdue" in page  # and the decided one's review still counts
    assert "1</span> due for annual review" in client.get("/").get_data(as_text=True)


def test_another_schools_supplier_is_not_in_our_register(
    school: tuple[FlaskClient, Organisation], make: Factory
) -> None:
    client, _ = school
    other = make.user(make.org("Other School"), role="admin")
    row, _ = make.request(other, supplier_name="Secret Supplier Ltd")
    assert client.get(f"/suppliers/{row.supplier_id}").status_code == 404
    assert client.post(f"/suppliers/{row.supplier_id}/reviewed").status_code == 404
    assert "Secret Supplier" not in client.get("/suppliers").get_data(as_text=True)


def test_viewers_read_the_register_but_cannot_change_it(
    app: Flask, make: Factory, school: tuple[FlaskClient, Organisation]
) -> None:
    client, organisation = school
    client.post("/suppliers/add", data={"supplier_name": "ReadWell Ltd"})
    viewer = app.test_client()
    login(viewer, make.user(organisation, role="viewer"))
    assert "ReadWell Ltd" in viewer.get("/suppliers").get_data(as_text=True)
    assert viewer.post("/suppliers/add", data={"supplier_name": "X"}).status_code == 403


def test_reviews_falling_due_are_reminded_once_per_item_and_date(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin")
    lead = make.user(school, role="viewer")
    today = date(2027, 3, 1)
    with app.test_request_context():
        organisation = db.session.merge(school)
        from portal.services.school import register as supplier_register

        supplier = supplier_register.supplier_named(db.session, "TechCare IT")
        supplier_register.save_details(
            db.session, organisation, db.session.merge(admin), supplier,
            supplier_register.Details(None, None, None, "", "", today + timedelta(days=10)),
        )  # fmt: skip
        db.session.add(
            StandardPlan(
                organisation_id=organisation.id,
                standard="DfE IT support standard 4",
                next_review_date=today - timedelta(days=2),
            )
        )
        db.session.add(
            StandardPlan(
                organisation_id=organisation.id,
                standard="DfE cyber security standard 1",
                next_review_date=today + timedelta(days=200),  # not yet
            )
        )
        db.session.commit()

        first = send_review_reminders(db.session, today)
        db.session.commit()
        assert [[i.what for i in r.items] for r in first] == [
            ["Review DfE IT support standard 4", "Review TechCare IT"]
        ]
        assert first[0].to == (admin.email,)  # no digital lead named yet
        assert send_review_reminders(db.session, today + timedelta(days=1)) == []
        db.session.commit()

        named = db.session.get(Organisation, school.id)
        assert named is not None
        named.digital_lead = db.session.get(User, lead.id)
        plan = db.session.scalar(
            select(StandardPlan).where(StandardPlan.standard == "DfE IT support standard 4")
        )
        assert plan is not None
        plan.next_review_date = today + timedelta(days=20)  # a new date: a new reminder
        db.session.commit()
        again = send_review_reminders(db.session, today + timedelta(days=1))
        db.session.commit()
        assert [[i.what for i in r.items] for r in again] == [["Review DfE IT support standard 4"]]
        assert again[0].to == (lead.email,)
    assert len(list(dbs.scalars(select(ReminderSent)))) == 3
    mail = list(dbs.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))
    assert [m.to_address for m in mail] == [admin.email, lead.email]
    assert mail[0].subject == "Hillside Primary: 2 reviews due, 1 overdue"
    assert "Review TechCare IT: due by 11 March 2027" in mail[0].body
    assert "overdue since 27 February 2027" in mail[0].body


def test_send_reminders_reports_the_school_reviews(app: Flask, make: Factory, dbs: Session) -> None:
    school = make.org("Hillside Primary")
    make.user(school, role="admin")
    dbs.add(
        StandardPlan(
            organisation_id=school.id,
            standard="DfE IT support standard 4",
            next_review_date=utcnow().date(),
        )
    )
    dbs.commit()
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Hillside Primary: 1 review(s) due" in result.output
    assert "1 school(s) reminded of reviews" in result.output


def test_a_trust_asks_once_for_several_schools_and_each_sees_it_by_its_own_rules(
    app: Flask, make: Factory, dbs: Session
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        trust_row = db.session.get(Organisation, trust.id)
    first = make.org("Hillside Primary", trust=trust_row)
    second = make.org("Brookfield Academy", trust=trust_row)
    stranger = make.org("Elsewhere School")
    central = app.test_client()
    login(central, make.user(trust, role="admin"))
    form = central.get("/requests/new").get_data(as_text=True)
    assert "On behalf of which of our schools" in form and "Hillside Primary" in form
    assert "Elsewhere School" not in form

    base = {
        "supplier_name": "Cloudy Ltd", "contact_name": "Sam", "contact_email": "sam@cloudy.example",
        "questionnaire": "it_support", "link_days": "30",
    }  # fmt: skip
    refused = central.post("/requests/new", data={**base, "on_behalf_of": [str(stranger.id)]})
    assert "Choose schools of this trust from the list" in refused.get_data(as_text=True)
    sent = central.post(
        "/requests/new", data={**base, "on_behalf_of": [str(first.id), str(second.id)]}
    )
    assert sent.status_code == 302
    dbs.rollback()
    row = dbs.scalar(select(Request).where(Request.organisation_id == trust.id))
    assert row is not None
    invitation = dbs.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id.desc())).first()
    assert invitation is not None
    assert "on behalf of Brookfield Academy, Hillside Primary" in invitation.body

    school = app.test_client()
    login(school, make.user(first, role="viewer"))
    register = school.get("/suppliers").get_data(as_text=True)
    assert "Cloudy Ltd" in register and f"{row.reference} (by Riverside Learning Trust" in register
    view = school.get(f"/requests/on-behalf/{row.id}")
    assert view.status_code == 200
    assert "compared with <strong>our own</strong> requirements" in view.get_data(as_text=True)

    outsider = app.test_client()
    login(outsider, make.user(stranger, role="admin"))
    assert outsider.get(f"/requests/on-behalf/{row.id}").status_code == 404
    assert "Cloudy Ltd" not in outsider.get("/suppliers").get_data(as_text=True)

    # A school cannot ask on behalf of others.
    own = app.test_client()
    login(own, make.user(second, role="admin"))
    assert "On behalf of" not in own.get("/requests/new").get_data(as_text=True)
    forged = own.post("/requests/new", data={**base, "on_behalf_of": [str(first.id)]})
    assert "Only a trust can ask on behalf of schools" in forged.get_data(as_text=True)
