"""The DPO service advises in the portal (issue 29): a school shares a DPIA
waiting for advice with the curator organisation, the DPO records the advice
(with whether to consult the ICO), the school decides as before; each side is
emailed; the school can withdraw at any time; the DPO's caseload lists what
waits (oldest first) and what it answered, and nothing a school did not share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.demo import DEMO_PASSWORD
from portal.models import AuditEvent, Dpia, FeedbackShare, OutgoingEmail, User

from .factories import Factory, login
from .test_dpia import LOW_RISK, answer_every_section, screened_high, shipped, sign_off, start

pytestmark = shipped

ADVICE = {
    "action": "advice",
    "dpo_name": "Jo Patel, Shire DPO Service",
    "advice": "Go ahead once the transfer agreement is signed.",
    "ico": "no",
    "advised_on": date.today().isoformat(),
}


@pytest.fixture
def dpo(app: Flask, make: Factory) -> tuple[FlaskClient, User]:
    service = make.org("Shire DPO Service", kind="curator")
    adviser = make.user(service, role="curator", email="jo@shire-dpo.example")
    client = app.test_client()
    login(client, adviser)
    return client, adviser


def waiting_dpia(client: FlaskClient, make: Factory, dbs: Session, admin: User) -> int:
    _, cloud = screened_high(make, admin, dbs)
    dpia_id = start(client, cloud)
    answer_every_section(client, dbs, dpia_id, {"risk_register": LOW_RISK})
    assert client.post(f"/dpias/{dpia_id}/ask-for-advice").status_code == 302
    return dpia_id


def emails_to(dbs: Session, address: str) -> list[OutgoingEmail]:
    dbs.rollback()
    return list(
        dbs.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.to_address == address)
            .order_by(OutgoingEmail.id)
        )
    )


def the_share(dbs: Session, dpia_id: int) -> FeedbackShare:
    dbs.rollback()
    return dbs.scalars(select(FeedbackShare).where(FeedbackShare.dpia_id == dpia_id)).one()


def test_the_dpo_service_advises_on_a_shared_dpia_and_the_school_decides(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, dpo: tuple[FlaskClient, User]
) -> None:
    adviser_client, adviser = dpo
    admin = make.user(make.org("Hillside Primary"), role="admin", email="head@hillside.example")
    login(client, admin)
    dpia_id = waiting_dpia(client, make, dbs, admin)
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "Ask the DPO service for advice" in page
    shared = client.post(f"/dpias/{dpia_id}/dpo-share", data={"message": "Is the IDTA enough?"})
    assert shared.status_code == 302
    share = the_share(dbs, dpia_id)

    # The DPO service is told, with a link to the share.
    told = emails_to(dbs, "jo@shire-dpo.example")
    assert len(told) == 1
    assert told[0].subject == "Hillside Primary asks for your advice"
    assert "the DPIA of Brightpath Learning Ltd" in told[0].body
    assert "Is the IDTA enough?" in told[0].body
    assert f"/curator/feedback/{share.id}" in told[0].body

    # It waits on the caseload, and the DPO reads the DPIA's answers and risks.
    caseload = adviser_client.get("/curator/feedback").get_data(as_text=True)
    assert (
        "Advice on the DPIA of Brightpath Learning Ltd" in caseload
        and "Hillside Primary" in caseload
    )
    opened = adviser_client.get(f"/curator/feedback/{share.id}").get_data(as_text=True)
    assert "Risk register" in opened and "Single sign-on with school accounts only" in opened
    assert "Is the IDTA enough?" in opened
    # Who and when are filled in for the DPO, in the inputs themselves.
    assert f'value="{date.today().isoformat()}"' in opened
    assert "Shire DPO Service" in opened

    # The ICO question must be answered; what was typed stays.
    missing = adviser_client.post(f"/curator/feedback/{share.id}", data={**ADVICE, "ico": ""})
    assert missing.status_code == 422
    text = missing.get_data(as_text=True)
    assert "Say whether the school should consult the ICO" in text
    assert "Go ahead once the transfer agreement is signed." in text
    assert the_share(dbs, dpia_id).dpia.status == "awaiting_advice"

    given = adviser_client.post(f"/curator/feedback/{share.id}", data={**ADVICE, "ico": "yes"})
    assert given.status_code == 302
    dbs.rollback()
    row = dbs.get(Dpia, dpia_id)
    assert row.status == "awaiting_approval"
    assert row.dpo_name == "Jo Patel, Shire DPO Service"
    assert row.dpo_advice == "Go ahead once the transfer agreement is signed."
    assert row.dpo_advises_ico is True and row.dpo_advised_on == date.today()
    assert row.advice_recorded_by_id == adviser.id
    assert the_share(dbs, dpia_id).answered_at is not None

    # The school is told, and sees the advice where it decides.
    back = [m for m in emails_to(dbs, "head@hillside.example") if "Shire" in m.subject]
    assert [m.subject for m in back] == [
        "Shire DPO Service gave its advice on the DPIA of Brightpath Learning Ltd"
    ]
    assert f"/dpias/{dpia_id}" in back[0].body
    school_page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "Go ahead once the transfer agreement is signed." in school_page
    assert "the DPO advises consulting the ICO before the processing starts" in school_page
    assert "Approve or reject" in school_page

    # Now answered, on the caseload's second list; no longer waiting.
    assert "Brightpath Learning Ltd" not in adviser_client.get("/curator/feedback").get_data(
        as_text=True
    )
    answered = adviser_client.get("/curator/feedback?show=answered").get_data(as_text=True)
    assert "Advice on the DPIA of Brightpath Learning Ltd" in answered

    # The school decides, as when its own staff record the advice.
    decided = client.post(f"/dpias/{dpia_id}/decision", data=sign_off())
    assert decided.status_code == 302, decided.get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(Dpia, dpia_id).status == "approved"
    events = {
        e.action
        for e in dbs.scalars(
            select(AuditEvent).where(AuditEvent.organisation_id == row.organisation_id)
        )
    }
    assert {"feedback_shared", "dpia_awaiting_approval", "dpia_approved"} <= events


def test_the_school_withdraws_and_the_dpo_sees_nothing_more(
    client: FlaskClient, make: Factory, dbs: Session, dpo: tuple[FlaskClient, User]
) -> None:
    adviser_client, _ = dpo
    admin = make.user(make.org("Hillside Primary"), role="admin")
    login(client, admin)
    dpia_id = waiting_dpia(client, make, dbs, admin)
    client.post(f"/dpias/{dpia_id}/dpo-share", data={"message": ""})
    share = the_share(dbs, dpia_id)
    assert adviser_client.get(f"/curator/feedback/{share.id}").status_code == 200
    withdrawn = client.post(f"/dpias/{dpia_id}/dpo-share/withdraw")
    assert withdrawn.status_code == 302
    assert adviser_client.get(f"/curator/feedback/{share.id}").status_code == 404
    assert adviser_client.post(f"/curator/feedback/{share.id}", data=ADVICE).status_code == 404
    assert "Brightpath" not in adviser_client.get("/curator/feedback").get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(Dpia, dpia_id).status == "awaiting_advice"  # nothing recorded
    # The school may record advice given some other way, as before.
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "Record the DPO's advice" in page and "You withdrew the share" in page


def test_only_a_dpia_waiting_for_advice_is_shared_and_only_by_its_school(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, dpo: tuple[FlaskClient, User]
) -> None:
    adviser_client, _ = dpo
    admin = make.user(make.org("Hillside Primary"), role="admin")
    login(client, admin)
    _, cloud = screened_high(make, admin, dbs)
    draft = start(client, cloud)
    early = client.post(f"/dpias/{draft}/dpo-share", data={}, follow_redirects=True)
    assert "Send the DPIA for the DPO&#39;s advice first" in early.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalars(select(FeedbackShare)).all() == []
    # A DPIA never shared is nowhere for the DPO service, and not theirs to open.
    assert adviser_client.get(f"/dpias/{draft}").status_code == 404
    assert "Brightpath" not in adviser_client.get("/curator/feedback").get_data(as_text=True)
    # Another school can neither share nor withdraw it.
    other = app.test_client()
    login(other, make.user(make.org("Elm Tree Academy"), role="admin"))
    assert other.post(f"/dpias/{draft}/dpo-share", data={}).status_code == 404
    assert other.post(f"/dpias/{draft}/dpo-share/withdraw").status_code == 404
    # A viewer of the school may read but not share.
    viewer = app.test_client()
    login(viewer, make.user(dbs.get(User, admin.id).memberships[0].organisation, role="viewer"))
    assert viewer.post(f"/dpias/{draft}/dpo-share", data={}).status_code == 403


def test_the_caseload_lists_what_waits_oldest_first(
    client: FlaskClient, make: Factory, dbs: Session, dpo: tuple[FlaskClient, User]
) -> None:
    adviser_client, _ = dpo
    admin = make.user(make.org("Hillside Primary"), role="admin")
    login(client, admin)
    first = waiting_dpia(client, make, dbs, admin)
    client.post(f"/dpias/{first}/dpo-share", data={})
    row, _ = make.submitted(admin, supplier_name="Later Supplier Ltd")
    client.post(f"/requests/{row.id}/feedback", data={"message": "Fine?"})
    # The request's share is made a week older: it comes first, though shared last.
    dbs.rollback()  # after what the app committed
    dbs.execute(
        update(FeedbackShare).where(FeedbackShare.request_id == row.id)
        .values(shared_at=datetime.now(UTC) - timedelta(days=7))
    )  # fmt: skip
    dbs.commit()
    page = adviser_client.get("/curator/feedback").get_data(as_text=True)
    assert page.index("Later Supplier Ltd") < page.index("Brightpath Learning Ltd")
    # A comment answers a request's share: it moves to the answered list, and
    # the school is told.
    share = dbs.scalars(select(FeedbackShare).where(FeedbackShare.request_id == row.id)).one()
    adviser_client.post(f"/curator/feedback/{share.id}", data={"body": "Ask for 24 hours."})
    assert "Later Supplier Ltd" not in adviser_client.get("/curator/feedback").get_data(
        as_text=True
    )
    subjects = [m.subject for m in emails_to(dbs, dbs.get(User, admin.id).email)]
    assert any(s.startswith("Shire DPO Service commented on request") for s in subjects)


def test_the_demo_has_a_trust_with_two_schools_and_a_dpia_waiting_for_advice(
    app: Flask, dbs: Session
) -> None:
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    trust = app.test_client()
    assert trust.post("/login", data={"email": "it@riverside.example",
                                      "password": DEMO_PASSWORD}).status_code == 302  # fmt: skip
    listed = trust.get("/trust/requests").get_data(as_text=True)
    assert "Riverside Academy" in listed and "Meadow Lane Primary" in listed
    dbs.rollback()
    waiting = dbs.scalars(select(FeedbackShare).where(FeedbackShare.dpia_id.is_not(None))).one()
    assert waiting.organisation.name == "Meadow Lane Primary"
    assert waiting.curator.name == "Northgate Data Protection"
    assert waiting.dpia.status == "awaiting_advice" and waiting.answered_at is None
    assert waiting.dpia.title == "Brightboard Learning"
