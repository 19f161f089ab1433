"""Answer once, reuse: a supplier starts from its last submitted answers, and
another school's only with the supplier's consent and a code emailed to whoever
submitted them (issue 20, finding 2)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import Answer, AuditEvent, Request, ReuseCode, User, utcnow

from .factories import DECLARATION, FEATURES_MAIN, Factory


def test_a_supplier_starts_from_its_earlier_answers_and_confirms_them(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    first_school = make.user(make.org("Oakfield Primary"))
    old = submit_features(client, make, first_school, reuse_consent=False)

    # The same school asks the same supplier again, a year on.
    new, new_link = make.request(first_school, questionnaire="features")
    client.get(new_link)
    start = client.get(f"/respond/{new.reference}/").get_data(as_text=True)
    assert "You last submitted answers to this questionnaire for Oakfield Primary on" in start

    copied = client.post(f"/respond/{new.reference}/reuse")
    assert copied.status_code == 302
    tasks = client.get(copied.location).get_data(as_text=True)
    assert "answers copied from your earlier questionnaire" in tasks
    dbs.rollback()
    answers = {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == new.id))
    }
    assert answers["cover"].value == 1000000
    assert answers["cover"].prefilled is True
    assert "policy" not in answers  # files are not copied
    reused = dbs.get(type(new), new.id)
    assert reused.status == "in_progress"
    events = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "answers_reused")).all()
    assert [(e.request_id, e.detail["source"]) for e in events] == [(new.id, old.reference)]

    check = client.get(f"/respond/{new.reference}/check").get_data(as_text=True)
    assert "check this answer from your earlier questionnaire, then save its section" in check
    page = client.get(f"/respond/{new.reference}/sections/main").get_data(as_text=True)
    assert "Copied from your earlier answers" in page
    confirm = client.post(
        f"/respond/{new.reference}/sections/main", data={**FEATURES_MAIN, "cover": "1500000"}
    )
    assert confirm.status_code == 302
    dbs.rollback()
    answers = {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == new.id))
    }
    assert answers["cover"].value == 1500000
    assert not any(a.prefilled for qid, a in answers.items() if qid in FEATURES_MAIN)

    # Once answers exist, the offer is gone.
    assert "Start from my earlier answers" not in client.get(f"/respond/{new.reference}/").get_data(
        as_text=True
    )


def test_no_offer_without_an_earlier_submission(client: FlaskClient, make: Factory) -> None:
    row, link = make.request(make.user(), questionnaire="features")
    client.get(link)
    assert "Start from my earlier answers" not in client.get(f"/respond/{row.reference}/").get_data(
        as_text=True
    )
    assert client.post(f"/respond/{row.reference}/reuse").status_code == 302


def submit_features(
    client: FlaskClient, make: Factory, author: User, *, reuse_consent: bool, **overrides: str
) -> Request:
    row, link = make.request(author, questionnaire="features", **overrides)
    client.get(link)
    base = f"/respond/{row.reference}"
    client.post(f"{base}/sections/main", data=FEATURES_MAIN)
    client.post(
        f"{base}/sections/more",
        data={
            "uses_subprocessors": "no",
            "policy": (io.BytesIO(b"%PDF-1.7 x"), "p.pdf"),
            "shown": ["policy"],
        },
        content_type="multipart/form-data",
    )
    consent = {"reuse_consent": "y"} if reuse_consent else {}
    assert client.post(f"{base}/check", data={**DECLARATION, **consent}).status_code == 302
    return row


def emailed_code(sent_mail: list[dict[str, str]]) -> str:
    found = re.search(r"\n(\d{6})\n", sent_mail[-1]["body"])
    assert found, "no code in the last email"
    return found.group(1)


def copied_answers(dbs: Session, row: Request) -> int:
    dbs.rollback()
    return len(dbs.scalars(select(Answer).where(Answer.request_id == row.id)).all())


def test_another_schools_answers_need_consent_and_the_code_sent_to_who_submitted_them(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    supplier = app.test_client()
    oakfield = make.org("Oakfield Primary")
    source = submit_features(supplier, make, make.user(oakfield), reuse_consent=True)

    # A hostile school names the same supplier, with its own address as the contact,
    # and opens its own link.
    hostile = app.test_client()
    elm = make.org("Elm Tree Academy")
    theirs, link = make.request(
        make.user(elm), questionnaire="features", contact_email="me@elm.example"
    )
    hostile.get(link)
    base = f"/respond/{theirs.reference}"
    start = hostile.get(f"{base}/").get_data(as_text=True)
    assert "Email a code to reuse earlier answers" in start
    assert "Oakfield" not in start and "Start from my earlier answers" not in start
    assert hostile.post(f"{base}/reuse").status_code == 302  # no copy without the code
    assert copied_answers(dbs, theirs) == 0

    sent = hostile.post(f"{base}/reuse/code", follow_redirects=True).get_data(as_text=True)
    assert "We sent a 6-digit code to s***@acme.example" in sent
    assert sent_mail[-1]["to"] == "sam@acme.example"  # who submitted, not who asked
    mails = len(sent_mail)
    again = hostile.post(f"{base}/reuse/code", follow_redirects=True).get_data(as_text=True)
    assert "A code was sent to s***@acme.example less than a minute ago" in again
    assert len(sent_mail) == mails  # nobody's inbox is flooded from a link
    code = emailed_code(sent_mail)
    wrong = "000000" if code != "000000" else "111111"
    refused = hostile.post(f"{base}/reuse/confirm", data={"code": wrong})
    assert refused.status_code == 422
    assert "That code is not right. Enter the 6 digits from the email (4 tries left)" in (
        refused.get_data(as_text=True)
    )
    for _ in range(4):
        hostile.post(f"{base}/reuse/confirm", data={"code": wrong})
    too_many = hostile.post(f"{base}/reuse/confirm", data={"code": code})
    assert "tried too many times. Ask for a new code" in too_many.get_data(as_text=True)
    assert copied_answers(dbs, theirs) == 0

    # The supplier's own contact, at a request of their own, with the code they were sent.
    asking = make.org("Ash Academy")
    mine, my_link = make.request(make.user(asking), questionnaire="features")
    supplier.get(my_link)
    mine_base = f"/respond/{mine.reference}"
    supplier.post(f"{mine_base}/reuse/code")
    code = emailed_code(sent_mail)
    done = supplier.post(f"{mine_base}/reuse/confirm", data={"code": f" {code[:3]} {code[3:]} "})
    assert done.status_code == 302
    assert "answers copied from your earlier questionnaire" in supplier.get(done.location).get_data(
        as_text=True
    )
    assert copied_answers(dbs, mine) >= len(FEATURES_MAIN) - 1

    events = {(e.action, e.organisation_id): e.detail for e in dbs.scalars(select(AuditEvent))}
    assert events[("reuse_code_sent", asking.id)]["sent_to"] == "s***@acme.example"
    reused = events[("answers_reused", asking.id)]
    assert reused["code_confirmed"] is True and reused["source"] == "another organisation"
    told = events[("answers_reused_elsewhere", oakfield.id)]
    assert told["code_confirmed"] is True and "Ash" not in str(told)
    assert source.reference  # the source itself is untouched


def test_a_code_expires(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    supplier = app.test_client()
    submit_features(supplier, make, make.user(make.org("Oakfield")), reuse_consent=True)
    row, link = make.request(make.user(make.org("Ash")), questionnaire="features")
    supplier.get(link)
    supplier.post(f"/respond/{row.reference}/reuse/code")
    code = emailed_code(sent_mail)
    dbs.execute(update(ReuseCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    dbs.commit()
    late = supplier.post(f"/respond/{row.reference}/reuse/confirm", data={"code": code})
    assert late.status_code == 422
    assert "This code has expired" in late.get_data(as_text=True)
    assert copied_answers(dbs, row) == 0


def test_without_the_suppliers_consent_another_school_is_offered_nothing(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    supplier = app.test_client()
    submit_features(supplier, make, make.user(make.org("Oakfield")), reuse_consent=False)
    row, link = make.request(make.user(make.org("Ash")), questionnaire="features")
    supplier.get(link)
    start = supplier.get(f"/respond/{row.reference}/").get_data(as_text=True)
    assert "reuse earlier answers" not in start and "earlier answers" not in start
    mails = len(sent_mail)
    refused = supplier.post(f"/respond/{row.reference}/reuse/code", follow_redirects=True)
    assert "There are no earlier answers from another organisation to copy" in refused.get_data(
        as_text=True
    )
    assert len(sent_mail) == mails
    assert copied_answers(dbs, row) == 0
