"""The supplier's contact hands sections to colleagues (issue 25, part 3):
each colleague's own link opens their sections and nothing else; only the
contact submits; every answer says who gave it; the contact and the school
can take a link back; reminders reach whoever holds an unfinished section."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Answer, Colleague, OutgoingEmail, Request, User
from portal.services.jobs import reminders

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import DECLARATION, Factory, login

COLLEAGUE_LINK = re.compile(r"https?://[^/\s]+(/respond/colleague/[A-Za-z0-9_\-]+)")
SECTION = "DfE standards and service levels"
STANDARDS = {
    "knows_dfe_standards": "yes",
    "p1_response_minutes": "30",
    "tickets_visible": "yes",
    "review_frequency": "termly",
}


def contact_with_request(app: Flask, make: Factory) -> tuple[FlaskClient, Request, User]:
    author = make.user(make.org("Oakfield Primary School"), role="admin")
    row, path = make.request(author)
    contact = app.test_client()
    contact.get(path)
    return contact, row, author


def hand_over(
    contact: FlaskClient, row: Request, sent_mail: list[dict[str, str]], **typed: Any
) -> tuple[Any, str]:
    data = {"name": "Priya Shah", "email": "priya@acme.example", "sections": ["standards"], **typed}
    page = contact.post(f"/respond/{row.reference}/colleagues", data=data)
    found = COLLEAGUE_LINK.search(sent_mail[-1]["body"]) if page.status_code == 200 else None
    return page, found.group(1) if found else ""


def test_a_colleague_answers_only_their_section_and_the_contact_submits(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, author = contact_with_request(app, make)
    assert "Hand sections to colleagues" in contact.get(f"/respond/{row.reference}/tasks").get_data(
        as_text=True
    )
    page, link = hand_over(contact, row, sent_mail)
    assert page.status_code == 200 and "Sent Priya Shah a link" in page.get_data(as_text=True)
    mail = sent_mail[-1]
    assert mail["to"] == "priya@acme.example" and SECTION in mail["body"]
    assert "/respond/colleague/" in link

    colleague = app.test_client()
    opened = colleague.get(link)
    assert opened.status_code == 303 and opened.location.endswith(f"/respond/{row.reference}/tasks")
    tasks = colleague.get(opened.location).get_data(as_text=True)
    assert SECTION in tasks and "About your organisation" not in tasks
    assert "Check your answers and submit" not in tasks
    base = f"/respond/{row.reference}"
    saved = colleague.post(f"{base}/sections/standards", data=STANDARDS)
    assert saved.status_code == 302 and saved.location.endswith(f"{base}/tasks")
    dbs.rollback()
    answer = dbs.scalar(
        select(Answer).filter_by(request_id=row.id, question_id="knows_dfe_standards")
    )
    assert answer is not None and answer.answered_by == "Priya Shah"

    # Nothing else of the request is theirs: every other page is a 404.
    for path in (
        f"{base}/sections/about",
        f"{base}/check",
        f"{base}/",
        f"{base}/answers.xlsx",
        f"{base}/colleagues",
    ):
        assert colleague.get(path).status_code == 404, path
    assert colleague.post(f"{base}/check", data=DECLARATION).status_code == 404
    assert colleague.post(f"{base}/sections/about", data={"legal_name": "X"}).status_code == 404
    assert (
        colleague.post(f"{base}/sections/about/autosave", json={"answers": {}}).status_code == 404
    )

    # The contact sees who answered, and alone submits.
    check = contact.get(f"{base}/check").get_data(as_text=True)
    assert "Answered by Priya Shah" in check
    who = contact.get(f"{base}/colleagues").get_data(as_text=True)
    assert "Priya Shah" in who and SECTION in who
    school = app.test_client()
    login(school, author)
    view = school.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Priya Shah" in view and "Only Sam Carter can submit" in view


def test_a_colleague_link_taken_back_stops_working_and_their_answers_stay(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, author = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    base = f"/respond/{row.reference}"
    colleague.post(f"{base}/sections/standards", data=STANDARDS)
    dbs.rollback()
    found = dbs.scalar(select(Colleague).where(Colleague.request_id == row.id))
    assert found is not None
    taken = contact.post(f"{base}/colleagues/{found.id}/revoke", follow_redirects=True)
    assert "link no longer works" in taken.get_data(as_text=True)
    assert colleague.get(f"{base}/tasks").status_code == 404
    assert colleague.get(link).status_code == 404
    dbs.rollback()
    assert dbs.scalar(
        select(Answer).filter_by(request_id=row.id, question_id="knows_dfe_standards")
    )

    # The school can take a link back too.
    _, second = hand_over(contact, row, sent_mail, name="Tom Reed", email="tom@acme.example")
    other = app.test_client()
    other.get(second)
    school = app.test_client()
    login(school, author)
    dbs.rollback()
    tom = dbs.scalar(select(Colleague).where(Colleague.name == "Tom Reed"))
    assert tom is not None
    done = school.post(f"/requests/{row.id}/colleagues/{tom.id}/revoke", follow_redirects=True)
    assert "Tom Reed's link no longer works" in done.get_data(as_text=True).replace("&#39;", "'")
    assert other.get(f"{base}/tasks").status_code == 404
    # Another school cannot.
    rival = app.test_client()
    login(rival, make.user(make.org("Riverside Academy"), role="admin"))
    assert rival.post(f"/requests/{row.id}/colleagues/{tom.id}/revoke").status_code == 404


def test_a_colleague_link_opens_only_its_own_request(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, author = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    other_row, _ = make.request(author, supplier_name="Other Supplier Ltd")
    colleague = app.test_client()
    colleague.get(link)
    assert colleague.get(f"/respond/{other_row.reference}/tasks").status_code == 404
    assert colleague.get("/respond/colleague/not-a-real-token").status_code == 404


def test_handing_over_needs_a_name_an_email_and_a_section(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, _ = contact_with_request(app, make)
    before = len(sent_mail)
    for typed, message in (
        ({"name": ""}, "Enter your colleague&#39;s name"),
        ({"email": "priya-at-acme"}, "Enter an email address in the correct format"),
        ({"sections": []}, "Choose at least one section to hand over"),
        ({"sections": ["nonsense"]}, "Choose at least one section"),
    ):
        page, _ = hand_over(contact, row, sent_mail, **typed)
        assert page.status_code == 400, typed
        assert message in page.get_data(as_text=True), typed
    assert len(sent_mail) == before


def test_a_reminder_reaches_the_colleague_holding_an_unfinished_section(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, author = contact_with_request(app, make)
    hand_over(contact, row, sent_mail)
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        user = db.session.merge(author)
        reminders.remind_now(db.session, request, user)
        db.session.commit()
    dbs.rollback()
    queued = {
        mail.to_address: mail.body
        for mail in dbs.scalars(
            select(OutgoingEmail).where(
                OutgoingEmail.request_id == row.id, OutgoingEmail.subject.like("Reminder%")
            )
        )
    }
    assert set(queued) == {"priya@acme.example", "sam@acme.example"}
    assert SECTION in queued["priya@acme.example"]


def test_the_schools_workbook_says_who_answered(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    import io

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    contact, row, author = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    colleague.post(f"/respond/{row.reference}/sections/standards", data=STANDARDS)
    school = app.test_client()
    login(school, author)
    exported = school.get(f"/requests/{row.id}/export.xlsx")
    assert exported.status_code == 200
    book = load_workbook(io.BytesIO(exported.data))
    sheet = next(s for s in book.worksheets if s.cell(1, 2).value == "Question id")
    headings = [c.value for c in sheet[1]]
    by = headings.index("Answered by")
    rows = {r[1]: r[by] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["knows_dfe_standards"] == "Priya Shah"


def test_a_stale_form_on_another_section_shows_a_colleague_nothing(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, _ = contact_with_request(app, make)
    contact.post(
        f"/respond/{row.reference}/sections/about",
        data={"legal_name": "Acme Secret Holdings Ltd"},
    )
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        stale = colleague.post(f"/respond/{row.reference}/sections/about", data={"x": "y"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert stale.status_code == 404
    assert "Acme Secret Holdings" not in stale.get_data(as_text=True)


def test_a_colleagues_browser_session_opens_no_api(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    contact, row, _ = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    assert colleague.get("/api/v1/supplier/request").status_code == 401
    assert colleague.post("/api/v1/supplier/submit", json=DECLARATION).status_code == 401
    assert colleague.get("/api/v1/supplier/workbook").status_code == 401
    # The contact's own session still can.
    assert contact.get("/api/v1/supplier/request").status_code == 200


def test_after_submitting_a_colleague_still_sees_only_their_sections(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    author = make.user(make.org("Oakfield Primary School"), role="admin")
    row, path = make.request(author)
    contact = app.test_client()
    contact.get(path)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    with app.test_request_context():
        from portal.questionnaire.examples import example_answers
        from portal.services.requests import answering

        request = db.session.get(Request, row.id)
        questionnaire = answering.questionnaire_of(request)
        answers = example_answers(questionnaire, fixed={"legal_name": "Acme Secret Holdings Ltd"})
        answering.save_answers(db.session, request, answers)
        answering.submit_response(
            db.session, request, answering.Declaration("Sam Carter", "Director", False)
        )
        db.session.commit()
    page = colleague.get(f"/respond/{row.reference}/confirmation").get_data(as_text=True)
    assert SECTION in page and "Acme Secret Holdings" not in page
    assert "Download a copy" not in page


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))  # files in two sections
def test_a_colleagues_stale_form_names_no_file_of_another_section(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    """A section page lists a posted form's files by id: a colleague who names
    a file of a section not handed to them must not learn its name."""
    import io

    from portal.models import Evidence

    contact, row, _ = contact_with_request(app, make)
    base = f"/respond/{row.reference}"
    uploaded = contact.post(
        f"{base}/sections/about",
        data={
            "latest_accounts": (io.BytesIO(b"%PDF-1.7 x"), "acme-secret-accounts.pdf"),
            "action": "later",
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    dbs.rollback()
    secret = dbs.scalar(select(Evidence).where(Evidence.request_id == row.id))
    assert secret is not None and secret.question_id == "latest_accounts"
    _, link = hand_over(contact, row, sent_mail, sections=["certifications"])
    colleague = app.test_client()
    colleague.get(link)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        stale = colleague.post(
            f"{base}/sections/certifications",
            data={"cyber_essentials_certificate": str(secret.id), "cyber_essentials": "ce"},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400 and "Can you upload the certificate?" in page
    assert "acme-secret-accounts" not in page


def test_a_new_or_revoked_supplier_link_ends_the_colleague_links(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    """A school sends a new link because the old one leaked or the contact
    left: colleague links handed out under the old one must not live on."""
    contact, row, author = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    base = f"/respond/{row.reference}"
    assert colleague.get(f"{base}/tasks").status_code == 200
    school = app.test_client()
    login(school, author)
    assert school.post(f"/requests/{row.id}/link", data={"action": "reissue"}).status_code == 302
    assert colleague.get(f"{base}/tasks").status_code == 404
    assert app.test_client().get(link).status_code == 404  # opened afresh: still ended
    dbs.rollback()
    ended = dbs.scalar(select(Colleague).where(Colleague.request_id == row.id))
    assert ended is not None and not ended.active
    view = school.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Link taken back by Oakfield Primary School, with a new link" in view
    assert "1 colleague link ended with the supplier&#39;s link" in view

    # The new contact hands over again; taking the link back ends that one too.
    fresh = app.test_client()
    fresh.get(re.search(r"https?://[^/\s]+(/respond/link/\S+)", sent_mail[-1]["body"]).group(1))  # type: ignore[union-attr]
    _, second = hand_over(fresh, row, sent_mail, name="Tom Reed", email="tom@acme.example")
    assert app.test_client().get(second).status_code == 303
    assert school.post(f"/requests/{row.id}/link", data={"action": "revoke"}).status_code == 302
    school.post(f"/requests/{row.id}/link", data={"action": "reissue"})
    assert app.test_client().get(second).status_code == 404


def test_every_link_on_a_colleagues_pages_opens(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    """A colleague follows the pages' own links (the header's among them) and
    never meets a page that is not theirs."""
    contact, row, _ = contact_with_request(app, make)
    _, link = hand_over(contact, row, sent_mail)
    colleague = app.test_client()
    colleague.get(link)
    base = f"/respond/{row.reference}"
    seen: set[str] = set()
    waiting = [f"{base}/tasks"]
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        page = colleague.get(path)
        assert page.status_code == 200, path
        for href in re.findall(r'href="(/respond/[^"#?]*)', page.get_data(as_text=True)):
            waiting.append(href)
    assert f"{base}/sections/standards" in seen
    assert f"{base}/" not in seen  # the start page is the contact's
