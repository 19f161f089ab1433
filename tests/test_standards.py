"""The school's own side: digital lead, the standards self-assessment with
notes and evidence, each standard's status and plan, RACI, and the timeline."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AssessmentAnswer,
    AssessmentFile,
    AuditEvent,
    FeedbackShare,
    Organisation,
    RaciEntry,
)

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
PDF = b"%PDF-1.4\n% test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def school(client: FlaskClient, make: Factory) -> tuple[FlaskClient, Organisation]:
    organisation = make.org("Hillside Primary")
    user = make.user(organisation, role="admin")
    login(client, user)
    return client, organisation


def leadership(client: FlaskClient, **data: object) -> object:
    return client.post("/standards/sections/leadership", data=data)


def test_the_dashboard_and_overview_nag_until_a_digital_lead_is_named(
    school: tuple[FlaskClient, Organisation], make: Factory, dbs: Session
) -> None:
    client, organisation = school
    assert "has not named its SLT digital lead" in client.get("/").get_data(as_text=True)
    page = client.get("/standards").get_data(as_text=True)
    assert "has not named its SLT digital lead" in page

    guidance = client.get("/standards/digital-lead").get_data(as_text=True)
    assert "not the IT technician" in guidance or "they are not the digital lead" in guidance
    assert "Who suits the role" in guidance and "What the role does" in guidance

    lead = make.user(organisation, role="viewer")
    missing = client.post("/standards/digital-lead", data={"lead": "", "link_governor": "x"})
    assert missing.status_code == 422
    assert "Choose the SLT digital lead" in missing.get_data(as_text=True)
    stranger = make.user(make.org("Elsewhere"), role="admin")
    forged = client.post("/standards/digital-lead", data={"lead": str(stranger.id)})
    assert "Choose the SLT digital lead from the list" in forged.get_data(as_text=True)

    saved = client.post(
        "/standards/digital-lead", data={"lead": str(lead.id), "link_governor": "Pat Governor"}
    )
    assert saved.status_code == 302
    dbs.rollback()
    stored = dbs.get(Organisation, organisation.id)
    assert stored is not None and stored.digital_lead_id == lead.id
    assert stored.link_governor == "Pat Governor"
    assert "has not named" not in client.get("/").get_data(as_text=True)
    assert lead.name in client.get("/standards").get_data(as_text=True)
    # The lead leaves the school: it is asked to name another.
    assert client.post(f"/users/{lead.id}/remove").status_code == 302
    assert "has not named its SLT digital lead" in client.get("/").get_data(as_text=True)


def test_answers_notes_and_evidence_give_each_standard_a_status(
    school: tuple[FlaskClient, Organisation], dbs: Session
) -> None:
    client, organisation = school
    overview = client.get("/standards").get_data(as_text=True)
    assert "DfE digital leadership standard 1" in overview
    assert "0 of" in overview and "Not started" in overview

    saved = client.post(
        "/standards/sections/leadership",
        data={
            "digital_lead_named": "yes",
            "link_governor": "no",
            "registers_up_to_date": "partly",
            "digital_lead_named-note": "Ms Khan since September",
            "digital_lead_named-evidence": (io.BytesIO(PDF), "job-description.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    dbs.rollback()
    answers = {a.question_id: a for a in dbs.scalars(select(AssessmentAnswer))}
    assert answers["digital_lead_named"].value == "yes"
    assert answers["digital_lead_named"].note == "Ms Khan since September"
    assert answers["registers_up_to_date"].value == "partly"
    files = list(dbs.scalars(select(AssessmentFile)))
    assert [f.filename for f in files] == ["job-description.pdf"]

    page = client.get("/standards/standard/dfe-digital-leadership-standard-1").get_data(
        as_text=True
    )
    # One item met, one not: partly met.
    assert "Partly met" in page
    assert "Ms Khan since September" in page
    download = client.get(f"/standards/files/{files[0].id}")
    assert download.status_code == 200 and download.data == PDF
    standard_2 = client.get("/standards/standard/dfe-digital-leadership-standard-2").get_data(
        as_text=True
    )
    assert "Partly met" in standard_2  # "partly in place"

    client.post("/standards/sections/leadership", data={"digital_lead_named": "yes", "link_governor": "yes", "digital_lead_named-evidence-keep": str(files[0].id)})  # fmt: skip
    assert '<strong class="govuk-tag govuk-tag--green">Met</strong>' in client.get(
        "/standards/standard/dfe-digital-leadership-standard-1"
    ).get_data(as_text=True)
    assert dbs.scalar(select(AuditEvent).where(AuditEvent.action == "standards_answered"))


def test_bad_input_is_kept_with_a_clear_message(
    school: tuple[FlaskClient, Organisation], dbs: Session
) -> None:
    client, _ = school
    response = client.post(
        "/standards/sections/leadership",
        data={
            "digital_lead_named": "yes",
            "digital_strategy": "fully",
            "strategy_review_date": "31/02/2026",
            "link_governor-note": "x" * 2001,
            "link_governor-evidence": (io.BytesIO(b"MZ not a pdf"), "minutes.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Enter a real date" in text
    assert "Notes must be 2,000 characters or fewer" in text
    assert "minutes.pdf is not a real PDF file" in text
    assert 'value="31/02/2026"' in text
    dbs.rollback()
    # What was valid is saved; the long note is not.
    stored = {a.question_id: a for a in dbs.scalars(select(AssessmentAnswer))}
    assert stored["digital_lead_named"].value == "yes"
    assert "link_governor" not in stored


def test_a_plan_dates_each_standard_and_the_timeline_puts_overdue_first(
    school: tuple[FlaskClient, Organisation], make: Factory
) -> None:
    client, organisation = school
    past = date.today() - timedelta(days=10)
    soon = date.today() + timedelta(days=40)
    bad = client.post(
        "/standards/standard/dfe-it-support-standard-4",
        data={"target_date": "next year", "next_review_date": ""},
    )
    assert "Enter a real date" in bad.get_data(as_text=True)
    assert 'value="next year"' in bad.get_data(as_text=True)
    ok = client.post(
        "/standards/standard/dfe-it-support-standard-4",
        data={"target_date": soon.isoformat(), "next_review_date": past.isoformat()},
    )
    assert ok.status_code == 302
    client.post(
        "/suppliers/add",
        data={
            "supplier_name": "TechCare IT",
            "next_review_date": (past - timedelta(days=5)).isoformat(),
        },
    )
    timeline = client.get("/standards/timeline").get_data(as_text=True)
    assert timeline.index("Review TechCare IT") < timeline.index("Review DfE IT support standard 4")
    review = timeline.index("Review DfE IT support standard 4")
    target = timeline.index("Meet DfE IT support standard 4")
    assert review < target  # overdue first
    assert "Overdue" in timeline
    assert "Standards not yet met with no target date" in timeline

    workbook = load_workbook(io.BytesIO(client.get("/standards/timeline.xlsx").data))
    rows = list(workbook["Timeline"].iter_rows(values_only=True))
    assert rows[0][:2] == ("Due", "What")
    assert rows[1][1] == "Review TechCare IT" and rows[1][4] == "Overdue"
    assert rows[2][1] == "Review DfE IT support standard 4" and rows[2][4] == "Overdue"
    standards_sheet = {r[0]: r for r in workbook["Standards"].iter_rows(values_only=True)}
    assert standards_sheet["DfE IT support standard 4"][1] == "Not started"

    report = client.get("/standards/report").get_data(as_text=True)
    assert "Hillside Primary: digital and technology standards" in report
    assert "Review DfE IT support standard 4" in report


def test_raci_needs_exactly_one_accountable_and_shows_gaps(
    school: tuple[FlaskClient, Organisation], make: Factory, dbs: Session
) -> None:
    client, organisation = school
    person = make.user(organisation, role="viewer")
    chart = client.get("/standards/raci").get_data(as_text=True)
    assert "Governors" in chart and "with gaps" not in chart

    none = client.post("/standards/raci/digital_lead_named", data={"responsible": ["Headteacher"]})
    assert none.status_code == 422
    assert "Choose who is accountable" in none.get_data(as_text=True)
    forged = client.post(
        "/standards/raci/digital_lead_named",
        data={"responsible": ["user:999999"], "accountable": "Headteacher"},
    )
    assert "Choose people and roles from the lists" in forged.get_data(as_text=True)
    no_r = client.post("/standards/raci/digital_lead_named", data={"accountable": "Headteacher"})
    assert "at least one person or role who is responsible" in no_r.get_data(as_text=True)

    saved = client.post(
        "/standards/raci/digital_lead_named",
        data={
            "responsible": [f"user:{person.id}"],
            "accountable": "Governors",
            "consulted": ["DPO", "SLT digital lead"],
            "informed": ["All staff"],
        },
    )
    assert saved.status_code == 302
    dbs.rollback()
    letters = {
        (e.letter, e.party)
        for e in dbs.scalars(select(RaciEntry).where(RaciEntry.question_id == "digital_lead_named"))
    }
    assert ("A", "Governors") in letters and ("R", f"user:{person.id}") in letters
    chart = client.get("/standards/raci").get_data(as_text=True)
    assert person.name in chart and "Ours" in chart
    # IT support is named after the register's IT support supplier.
    client.post("/suppliers/add", data={"supplier_name": "TechCare IT", "category": "it_support"})
    assert "IT support (TechCare IT)" in client.get("/standards/raci").get_data(as_text=True)

    # A gap: a chart stored with no accountable (as an older import might leave).
    dbs.rollback()
    dbs.execute(
        RaciEntry.__table__.delete().where(RaciEntry.letter == "A")  # type: ignore[attr-defined]
    )
    dbs.commit()
    assert "No one is accountable" in client.get("/standards/raci").get_data(as_text=True)

    workbook = load_workbook(io.BytesIO(client.get("/standards/raci.xlsx").data))
    sheet = workbook["RACI"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "Task" and person.name in header and header[-1] == "Gaps"
    first = [c.value for c in sheet[2]]
    assert first[header.index(person.name)] == "R"
    assert first[-1] == "No one is accountable"

    reset = client.post("/standards/raci/digital_lead_named", data={"action": "reset"})
    assert reset.status_code == 302
    dbs.rollback()
    assert not list(dbs.scalars(select(RaciEntry)))


def test_viewers_see_but_cannot_change_and_other_schools_see_nothing(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin")
    first = app.test_client()
    login(first, admin)
    first.post(
        "/standards/sections/leadership",
        data={"digital_lead_named-evidence": (io.BytesIO(PDF), "secret.pdf")},
        content_type="multipart/form-data",
    )
    file_id = dbs.scalar(select(AssessmentFile.id))

    viewer = app.test_client()
    login(viewer, make.user(school, role="viewer"))
    assert viewer.get("/standards").status_code == 200
    assert viewer.post("/standards/sections/leadership", data={"digital_lead_named": "no"}).status_code == 403  # fmt: skip
    assert viewer.post("/standards/raci/digital_lead_named", data={"accountable": "DPO"}).status_code == 403  # fmt: skip
    assert viewer.get(f"/standards/files/{file_id}").status_code == 200

    other = app.test_client()
    login(other, make.user(make.org("Other School"), role="admin"))
    assert other.get(f"/standards/files/{file_id}").status_code == 404
    assert "secret.pdf" not in other.get("/standards/sections/leadership").get_data(as_text=True)


def test_a_self_assessment_cannot_be_sent_to_a_supplier(
    school: tuple[FlaskClient, Organisation],
) -> None:
    client, _ = school
    form = client.get("/requests/new").get_data(as_text=True)
    assert "school_it_standards" not in form
    refused = client.post(
        "/requests/new",
        data={
            "supplier_name": "Acme", "contact_name": "Sam", "contact_email": "sam@acme.example",
            "questionnaire": "school_it_standards", "link_days": "30",
        },
    )  # fmt: skip
    assert refused.status_code == 200
    assert "Choose a questionnaire from the list" in refused.get_data(as_text=True)


def test_the_service_refuses_a_self_assessment_as_a_request(app: Flask, make: Factory) -> None:
    from portal.extensions import db
    from portal.services.errors import ServiceError
    from portal.services.requests import lifecycle as requests

    user = make.user()
    with app.app_context():
        organisation = db.session.merge(make.org())
        details = requests.NewRequest(
            supplier_name="Acme", contact_name="Sam", contact_email="sam@acme.example",
            questionnaire_key="school_it_standards", due_date=None, message="", link_days=30,
        )  # fmt: skip
        with pytest.raises(ServiceError, match="answered by our own staff"):
            requests.create_request(db.session, organisation, db.session.merge(user), details)


def test_the_new_request_page_takes_a_questionnaire_from_its_list(
    school: tuple[FlaskClient, Organisation],
) -> None:
    client, _ = school
    sent = client.post(
        "/requests/new",
        data={
            "supplier_name": "Acme", "contact_name": "Sam", "contact_email": "sam@acme.example",
            "questionnaire": "it_support", "link_days": "30",
        },
    )  # fmt: skip
    assert sent.status_code == 302


def test_a_trust_sees_its_schools_side_by_side_and_nobody_else_does(
    app: Flask, make: Factory
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        from portal.extensions import db

        trust_row = db.session.get(Organisation, trust.id)
    first = make.org("Hillside Primary", trust=trust_row)
    second = make.org("Brookfield Academy", trust=trust_row)
    outsider = make.org("Elsewhere School")
    for school, answer in ((first, "yes"), (second, "no")):
        client = app.test_client()
        login(client, make.user(school, role="admin"))
        client.post(
            "/standards/sections/leadership",
            data={"digital_lead_named": answer, "link_governor": "yes"},
        )
        past = (date.today() - timedelta(days=3)).isoformat()
        client.post(
            "/suppliers/add", data={"supplier_name": "TechCare IT", "next_review_date": past}
        )
    other = app.test_client()
    login(other, make.user(outsider, role="admin"))
    other.post("/suppliers/add", data={"supplier_name": "Hidden Supplier Ltd"})

    central = app.test_client()
    login(central, make.user(trust, role="viewer"))
    page = central.get("/standards/schools")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Hillside Primary" in text and "Brookfield Academy" in text
    assert "Elsewhere School" not in text and "Hidden Supplier" not in text
    assert "TechCare IT" in text  # shared by both schools
    assert text.count("Review TechCare IT") == 2  # overdue at each
    standards_table = text[text.index('id="trust-standards"') : text.index('id="trust-shared"')]
    assert "Met" in standards_table and "Partly met" in standards_table

    # A school, or another trust, has no such page.
    assert other.get("/standards/schools").status_code == 404
    rival = app.test_client()
    login(rival, make.user(make.org("Other Trust", kind="trust"), role="admin"))
    rival_page = rival.get("/standards/schools").get_data(as_text=True)
    assert "Hillside Primary" not in rival_page


def test_a_school_shares_for_dpo_feedback_and_withdraws(
    app: Flask, make: Factory, dbs: Session
) -> None:
    curator_org = make.org("Data Protection Partners", kind="curator")
    curator = app.test_client()
    login(curator, make.user(curator_org, role="curator"))
    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin")
    client = app.test_client()
    login(client, admin)
    row, _ = make.submitted(admin, supplier_name="Cloudy Ltd")
    client.post("/standards/sections/leadership", data={"digital_lead_named": "no"})

    assert "Share for feedback" in client.get(f"/requests/{row.id}").get_data(as_text=True)
    shared = client.post(f"/requests/{row.id}/feedback", data={"message": "Is 72 hours fine?"})
    assert shared.status_code == 302
    client.post("/standards/feedback", data={"message": ""})
    again = client.post(f"/requests/{row.id}/feedback", data={}, follow_redirects=True)
    assert "This is already shared for feedback" in again.get_data(as_text=True)

    listing = curator.get("/curator/feedback").get_data(as_text=True)
    assert (
        "Hillside Primary" in listing and "Cloudy Ltd" in listing and "Standards tracker" in listing
    )
    share_ids = [s.id for s in dbs.scalars(select(FeedbackShare).order_by(FeedbackShare.id))]
    page = curator.get(f"/curator/feedback/{share_ids[0]}").get_data(as_text=True)
    assert "Is 72 hours fine?" in page
    empty = curator.post(f"/curator/feedback/{share_ids[0]}", data={"body": "  "})
    assert empty.status_code == 422 and "Enter your feedback" in empty.get_data(as_text=True)
    curator.post(f"/curator/feedback/{share_ids[0]}", data={"body": "Ask for 24 hours in the DPA."})
    tracker = curator.get(f"/curator/feedback/{share_ids[1]}").get_data(as_text=True)
    assert "DfE digital leadership standard 1" in tracker

    assert "Ask for 24 hours in the DPA." in client.get(f"/requests/{row.id}").get_data(
        as_text=True
    )

    # Another school, and curators once the share is withdrawn, see nothing.
    other = app.test_client()
    login(other, make.user(make.org("Other School"), role="admin"))
    assert other.post(f"/requests/{row.id}/feedback").status_code == 404
    assert other.get(f"/curator/feedback/{share_ids[0]}").status_code == 403
    client.post(f"/requests/{row.id}/feedback/withdraw")
    assert curator.get(f"/curator/feedback/{share_ids[0]}").status_code == 404
    assert "Cloudy Ltd" not in curator.get("/curator/feedback").get_data(as_text=True)
    assert (
        curator.post(f"/curator/feedback/{share_ids[0]}", data={"body": "late"}).status_code == 404
    )
    after = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Share for feedback" in after  # may share again
    assert "Ask for 24 hours in the DPA." in after  # and keeps what it was told
    assert "You withdrew the share" in after
