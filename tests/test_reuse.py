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

from portal.extensions import db
from portal.models import Answer, AuditEvent, Organisation, Request, ReuseCode, User, utcnow
from portal.services.accounts import api_keys

from .factories import DECLARATION, FEATURES_MAIN, Factory, login


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
    events = dbs.scalars(
        select(AuditEvent).where(AuditEvent.action == "answers_reused").order_by(AuditEvent.id)
    ).all()
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


def ask_for_code(client: FlaskClient, row: Request, address: str) -> str:
    """Type an address on the code page, as the person at the link would."""
    sent = client.post(
        f"/respond/{row.reference}/reuse/code", data={"send-email": address}, follow_redirects=True
    )
    return sent.get_data(as_text=True)


def as_seen(page: str, row: Request) -> str:
    """A page with what differs between any two links taken out."""
    page = re.sub(r'(name="csrf_token" value=|nonce=)"[^"]*"', "", page)
    return page.replace(row.reference, "REF")


def mails_to(sent_mail: list[dict[str, str]], address: str) -> int:
    return sum(1 for mail in sent_mail if mail["to"] == address)


def a_consenting_source(
    app: Flask, make: Factory, consent: bool = True
) -> tuple[Request, Organisation]:
    """Oakfield's request, answered and submitted by sam@acme.example."""
    oakfield = make.org("Oakfield Primary")
    source = submit_features(app.test_client(), make, make.user(oakfield), reuse_consent=consent)
    return source, oakfield


def test_a_hostile_school_learns_nothing_and_copies_nothing_without_the_code(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    a_consenting_source(app, make)
    # A hostile school names the same supplier, with its own address (or one at
    # the supplier's domain) as the contact, and opens its own links.
    elm = make.user(make.org("Elm Tree Academy"))
    hostile = app.test_client()
    pages = {}
    for contact in ("me@elm.example", "boss@acme.example"):
        theirs, link = make.request(elm, questionnaire="features", contact_email=contact)
        hostile.get(link)
        start = hostile.get(f"/respond/{theirs.reference}/").get_data(as_text=True)
        assert "Oakfield" not in start and "Start from my earlier answers" not in start
        pages[contact] = as_seen(start, theirs)
        assert hostile.post(f"/respond/{theirs.reference}/reuse").status_code == 302
        # Today's flow emailed the source's contact on a bare POST; an address is needed now.
        bare = hostile.post(f"/respond/{theirs.reference}/reuse/code")
        assert bare.status_code == 422
        assert "Enter the email address your earlier answers were submitted from" in (
            bare.get_data(as_text=True)
        )
        assert copied_answers(dbs, theirs) == 0
    assert mails_to(sent_mail, "sam@acme.example") == 1  # the receipt of the source, no more
    # A supplier with nothing to reuse sees the very same start page.
    unknown, link = make.request(
        elm, questionnaire="features", supplier_name="Nobody Ltd", contact_email="me@elm.example"
    )
    hostile.get(link)
    start = hostile.get(f"/respond/{unknown.reference}/").get_data(as_text=True)
    assert (
        as_seen(start, unknown).replace("Nobody Ltd", "Acme IT Services Ltd")
        == pages["me@elm.example"]
    )

    # Asking for a code for the address that did submit, or for one that did
    # not, reads the same (both mask to s***@acme.example).
    guess, link = make.request(elm, questionnaire="features", contact_email="me@elm.example")
    hostile.get(link)
    right_address = ask_for_code(hostile, guess, "sam@acme.example")
    wrong, link = make.request(elm, questionnaire="features", contact_email="me@elm.example")
    hostile.get(link)
    wrong_address = ask_for_code(hostile, wrong, "sue@acme.example")
    assert "If your company submitted answers to this questionnaire from s***@acme.example" in (
        right_address
    )
    assert as_seen(right_address, guess) == as_seen(wrong_address, wrong)
    assert "Oakfield" not in right_address
    # The code went to the submitting contact, out of the hostile school's reach.
    assert mails_to(sent_mail, "sam@acme.example") == 2
    assert mails_to(sent_mail, "sue@acme.example") == 0

    for row in (guess, wrong):
        for left in (4, 3, 2, 1):
            refused = hostile.post(
                f"/respond/{row.reference}/reuse/confirm", data={"code": "123456"}
            )
            assert refused.status_code == 422
            assert (
                f"That code is not right. Enter the 6 digits from the email ({left} tries left)"
                in (refused.get_data(as_text=True))
            )
        hostile.post(f"/respond/{row.reference}/reuse/confirm", data={"code": "123456"})
        done = hostile.post(f"/respond/{row.reference}/reuse/confirm", data={"code": "123456"})
        assert "tried too many times. Ask for a new code" in done.get_data(as_text=True)
        assert copied_answers(dbs, row) == 0

    # Nothing in the hostile school's own audit trail tells the two apart.
    def trail(row: Request) -> list[tuple[str, dict[str, object]]]:
        return [
            (e.action, e.detail)
            for e in dbs.scalars(
                select(AuditEvent).where(AuditEvent.request_id == row.id).order_by(AuditEvent.id)
            )
            if e.action.startswith("reuse")
        ]

    assert trail(guess) == trail(wrong) and trail(guess)


def test_the_code_goes_to_who_submitted_the_source_works_once_and_is_audited(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    source, oakfield = a_consenting_source(app, make)
    asking = make.org("Ash Academy")
    # Ash typed another contact at the supplier; sam, who submitted, types their own address.
    mine, link = make.request(
        make.user(asking), questionnaire="features", contact_email="jo@acme.example"
    )
    supplier = app.test_client()
    supplier.get(link)
    base = f"/respond/{mine.reference}"
    start = supplier.get(f"{base}/").get_data(as_text=True)
    assert "Copy in those answers with a code" in start
    form = supplier.get(f"{base}/reuse/code").get_data(as_text=True)
    assert 'value="jo@acme.example"' in form  # the school's guess, to start from

    sent = ask_for_code(supplier, mine, " Sam@Acme.example ")
    assert "we have sent a 6-digit code to that address. It works once, for 15 minutes" in sent
    assert sent_mail[-1]["to"] == "sam@acme.example"  # as stored on the source, not as typed
    assert "Oakfield" not in sent_mail[-1]["body"] and "Ash" not in sent_mail[-1]["body"]
    code = emailed_code(sent_mail)
    mails = len(sent_mail)
    again = ask_for_code(supplier, mine, "sam@acme.example")
    assert "You asked for a code less than a minute ago" in again
    assert len(sent_mail) == mails
    dbs.rollback()
    stored = dbs.scalars(select(ReuseCode)).one()
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # hashed

    wrong = "000000" if code != "000000" else "111111"
    refused = supplier.post(f"{base}/reuse/confirm", data={"code": wrong})
    assert "That code is not right. Enter the 6 digits from the email (4 tries left)" in (
        refused.get_data(as_text=True)
    )
    done = supplier.post(f"{base}/reuse/confirm", data={"code": f" {code[:3]} {code[3:]} "})
    assert done.status_code == 302
    assert "answers copied from your earlier questionnaire" in supplier.get(done.location).get_data(
        as_text=True
    )
    assert copied_answers(dbs, mine) >= len(FEATURES_MAIN) - 1
    # A code works once.
    reused = supplier.post(f"{base}/reuse/confirm", data={"code": code})
    assert reused.status_code == 422
    assert "Ask for a code first" in reused.get_data(as_text=True)

    events = [
        (e.action, e.organisation_id, e.request_id, e.detail)
        for e in dbs.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]
    mine_events = {a: d for a, o, r, d in events if o == asking.id and r == mine.id}
    theirs = {a: d for a, o, r, d in events if o == oakfield.id and r == source.id}
    assert mine_events["reuse_code_requested"]["sent_to"] == "s***@acme.example"
    assert mine_events["reuse_code_refused"]["reason"] == "wrong code"
    assert mine_events["answers_reused"]["code_confirmed"] is True
    assert mine_events["answers_reused"]["source"] == "another organisation"
    assert theirs["reuse_code_sent"]["sent_to"] == "s***@acme.example"
    told = theirs["answers_reused_elsewhere"]
    assert told["code_confirmed"] is True and told["answers"] >= len(FEATURES_MAIN) - 1
    assert "Ash" not in str(told) and mine.reference not in str(told)
    # The other school's name and reference are never in the asking request's trail.
    assert not any(
        "Oakfield" in str(d) or source.reference in str(d)
        for a, o, r, d in events
        if o == asking.id
    )


def test_a_code_expires(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    a_consenting_source(app, make)
    supplier = app.test_client()
    row, link = make.request(make.user(make.org("Ash")), questionnaire="features")
    supplier.get(link)
    ask_for_code(supplier, row, "sam@acme.example")
    code = emailed_code(sent_mail)
    dbs.execute(update(ReuseCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    dbs.commit()
    late = supplier.post(f"/respond/{row.reference}/reuse/confirm", data={"code": code})
    assert late.status_code == 422
    assert "This code has expired" in late.get_data(as_text=True)
    assert copied_answers(dbs, row) == 0


def test_without_the_suppliers_consent_no_code_is_sent_and_the_page_does_not_say(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    a_consenting_source(app, make, consent=False)
    supplier = app.test_client()
    row, link = make.request(make.user(make.org("Ash")), questionnaire="features")
    supplier.get(link)
    mails = len(sent_mail)
    page = ask_for_code(supplier, row, "sam@acme.example")
    assert "If your company submitted answers to this questionnaire from s***@acme.example" in page
    assert len(sent_mail) == mails  # nothing to reuse: no code sent
    supplier.post(f"/respond/{row.reference}/reuse/confirm", data={"code": "123456"})
    assert copied_answers(dbs, row) == 0


def test_the_declaration_asks_for_consent_off_by_default(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    row, link = make.request(make.user(), questionnaire="features")
    client.get(link)
    client.post(f"/respond/{row.reference}/sections/main", data=FEATURES_MAIN)
    client.post(
        f"/respond/{row.reference}/sections/more",
        data={"uses_subprocessors": "no", "policy": (io.BytesIO(b"%PDF-1.7 x"), "p.pdf")},
        content_type="multipart/form-data",
    )
    check = client.get(f"/respond/{row.reference}/check").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="reuse_consent"[^>]*>', check)
    assert box is not None and "checked" not in box.group(0)
    assert "we may start from these answers, after typing a code emailed" in check


def test_codes_are_capped_per_link_and_per_submission(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    a_consenting_source(app, make)
    school = make.user(make.org("Elm"))
    supplier = app.test_client()
    row, link = make.request(school, questionnaire="features")
    supplier.get(link)
    for _ in range(5):  # codes a link may ask for in a day
        ask_for_code(supplier, row, "sam@acme.example")
        dbs.execute(update(ReuseCode).values(created_at=utcnow() - timedelta(minutes=5)))
        dbs.commit()
    capped = ask_for_code(supplier, row, "sam@acme.example")
    assert "You have asked for 5 codes in the last 24 hours" in capped
    assert mails_to(sent_mail, "sam@acme.example") == 1 + 5

    # From many links at once: the submitting contact gets a handful a day,
    # and the links see no difference.
    for _ in range(10):  # codes sent for one submission in a day
        other, link = make.request(school, questionnaire="features")
        supplier.get(link)
        page = ask_for_code(supplier, other, "sam@acme.example")
        assert "we have sent a 6-digit code to that address" in page
    assert mails_to(sent_mail, "sam@acme.example") == 1 + 10
    assert dbs.scalar(select(AuditEvent).where(AuditEvent.action == "reuse_code_withheld"))


def test_the_api_cannot_trigger_or_read_another_schools_answers(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    a_consenting_source(app, make)
    elm = make.org("Elm Tree Academy")
    with app.app_context():
        key = api_keys.create_api_key(db.session, db.session.merge(elm), None, "Hostile", "write")
        db.session.commit()
    staff = {"Authorization": f"Bearer {key.secret}"}
    hostile = app.test_client()
    created = hostile.post(
        "/api/v1/requests",
        json={
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": "Me",
            "contact_email": "me@acme.example",
            "questionnaire": "features",
            "email_supplier": False,
        },
        headers=staff,
    )
    assert created.status_code == 201, created.json
    reference = created.json["reference"]
    token = {"Authorization": "Bearer " + created.json["supplier_link"].rsplit("/", 1)[1]}
    mine = hostile.get("/api/v1/supplier/request", headers=token).json
    assert mine["answers"] == [] and "Oakfield" not in str(mine)
    # No API route offers reuse; the link's token does not open the pages' routes.
    assert not [r.rule for r in app.url_map.iter_rules() if "/api/" in r.rule and "reuse" in r.rule]
    assert hostile.post(f"/respond/{reference}/reuse/code", headers=token).status_code == 404
    # Through the link in a browser: no code without an address, none to the source.
    hostile.get(created.json["supplier_link"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert hostile.post(f"/respond/{reference}/reuse/code").status_code == 422
    hostile.post(f"/respond/{reference}/reuse")
    assert mails_to(sent_mail, "sam@acme.example") == 1
    answers = hostile.get(f"/api/v1/requests/{reference}/answers", headers=staff).json
    assert answers["answers"] in ([], {})


def test_copied_answers_reach_the_school_only_once_the_supplier_saves_them(
    app: Flask, make: Factory, dbs: Session
) -> None:
    """A copy is the supplier's draft: until they save a section as their
    answer to this school, neither the school's page nor its API shows it."""
    school = make.org("Oakfield Primary")
    supplier = app.test_client()
    submit_features(supplier, make, make.user(school), reuse_consent=False)
    new, link = make.request(make.user(school), questionnaire="features")
    supplier.get(link)
    supplier.post(f"/respond/{new.reference}/reuse")
    assert copied_answers(dbs, new) >= len(FEATURES_MAIN) - 1

    with app.app_context():
        key = api_keys.create_api_key(db.session, db.session.merge(school), None, "Ours", "read")
        db.session.commit()
    api = {"Authorization": f"Bearer {key.secret}"}
    staff = app.test_client()
    login(staff, make.user(school))
    answers = f"/api/v1/requests/{new.reference}/answers"
    assert staff.get(answers, headers=api).json["answers"] == []
    view = staff.get(f"/requests/{new.id}").get_data(as_text=True)
    assert "1,000,000" not in view

    supplier.post(f"/respond/{new.reference}/sections/main", data=FEATURES_MAIN)
    given = {a["question_id"]: a["value"] for a in staff.get(answers, headers=api).json["answers"]}
    assert given["cover"] == 1000000
    assert "1,000,000" in staff.get(f"/requests/{new.id}").get_data(as_text=True)
