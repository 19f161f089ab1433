"""The main loop end to end: a reviewer sends a request, a supplier answers and
submits through the link, the reviewer sees the answers and the history."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Answer, AuditEvent, OutgoingEmail, Request, utcnow
from portal.services.requests.lifecycle import issue_link

from .factories import DECLARATION, Factory, link_path, login

T = TypeVar("T")

ABOUT = {
    "legal_name": "Acme IT Services Ltd",
    "company_number": "01234567",
    "support_model": "external",
    "service_contact_email": "help@acme.example",
}


def latest(dbs: Session, model: type[T], **where: object) -> T | None:
    """The row as now committed (a new transaction sees other sessions' commits)."""
    dbs.rollback()
    return dbs.scalar(select(model).filter_by(**where))


def test_reviewer_sends_request_and_supplier_answers_and_submits(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]], dbs: Session
) -> None:
    reviewer = make.user(role="reviewer")
    login(client, reviewer)

    page = client.get("/requests/new")
    assert page.status_code == 200
    assert "IT support provider due diligence" in page.get_data(as_text=True)

    response = client.post(
        "/requests/new",
        data={
            "questionnaire": "it_support",
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": "Sam Carter",
            "contact_email": "sam@acme.example",
            "due_date": "2099-03-31",
            "message": "Before we renew in April, please.",
        },
    )
    assert response.status_code == 302
    row = latest(dbs, Request, contact_email="sam@acme.example")
    assert isinstance(row, Request)
    assert row.status == "sent"
    assert row.token_hash and len(row.token_hash) == 64
    assert response.location.endswith(f"/requests/{row.id}")

    # The invitation is in the outbox and was delivered with the link.
    assert sent_mail[-1]["to"] == "sam@acme.example"
    link = link_path(sent_mail[-1]["body"])
    assert row.token_hash not in sent_mail[-1]["body"]
    stored = latest(dbs, OutgoingEmail, request_id=row.id)
    assert isinstance(stored, OutgoingEmail) and stored.sent_at is not None
    assert "/respond/link/" in stored.body and link not in stored.body  # token gone once sent

    page = client.get(response.location).get_data(as_text=True)
    assert f"Request {row.reference} sent to sam@acme.example" in page
    assert link in page  # shown once to copy
    assert link not in client.get(response.location).get_data(as_text=True)
    assert "Oakfield" not in page
    assert "31 March 2099" in page

    # The supplier, in another browser, without an account.
    supplier = client.application.test_client()
    opened = supplier.get(link)
    assert opened.status_code == 303
    assert link.rsplit("/", 1)[1] not in opened.location
    start = supplier.get(opened.location).get_data(as_text=True)
    assert "IT support provider due diligence" in start
    assert "Before we renew in April, please." in start
    assert "31 March 2099" in start
    assert latest(dbs, Request, id=row.id).status == "sent"  # opening changes nothing

    base = f"/respond/{row.reference}"
    tasks = supplier.get(f"{base}/tasks").get_data(as_text=True)
    assert "You have completed 0 of 4 sections" in tasks

    # Bad input: a clear message per question, and what was typed stays.
    bad = supplier.post(
        f"{base}/sections/about", data={**ABOUT, "service_contact_email": "help-at-acme"}
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "Email address for service matters: Enter an email address in the correct format" in text
    assert 'value="Acme IT Services Ltd"' in text
    assert 'value="help-at-acme"' in text
    # The valid answers are kept; the wrong one is not saved.
    assert latest(dbs, Answer, request_id=row.id, question_id="legal_name") is not None
    assert latest(dbs, Answer, request_id=row.id, question_id="service_contact_email") is None

    saved = supplier.post(f"{base}/sections/about", data=ABOUT)
    assert saved.status_code == 302
    assert saved.location.endswith(f"{base}/sections/standards")
    assert latest(dbs, Request, id=row.id).status == "in_progress"
    answer = latest(dbs, Answer, request_id=row.id, question_id="support_model")
    assert isinstance(answer, Answer) and answer.value == "external"

    check = supplier.get(f"{base}/check").get_data(as_text=True)
    assert "You need to answer 11 more questions before you can submit" in check
    refused = supplier.post(f"{base}/check", data=DECLARATION)
    assert refused.status_code == 200
    assert latest(dbs, Request, id=row.id).status == "in_progress"

    supplier.post(
        f"{base}/sections/standards",
        data={
            "knows_dfe_standards": "yes",
            "p1_response_minutes": "30",
            "tickets_visible": "yes",
            "review_frequency": "annually",
        },
    )
    supplier.post(
        f"{base}/sections/security",
        data={
            "cyber_essentials": "yes",
            "cyber_essentials_expiry": "31/03/2099",
            "admin_mfa": "yes",
            "filtering_duties": ["configure", "monitor"],
            "staff_vetting": "yes",
        },
    )
    supplier.post(
        f"{base}/sections/data_and_exit",
        data={
            "art28_terms": "yes",
            "breach_notice_hours": "24",
            "exit_plan": "Full handover in 30 days.",
        },
    )
    check = supplier.get(f"{base}/check").get_data(as_text=True)
    assert "Declaration" in check and "more question" not in check

    no_name = supplier.post(
        f"{base}/check", data={"declared_name": "", "declared_role": "Director"}
    )
    text = no_name.get_data(as_text=True)
    assert "Enter your full name" in text
    assert "Confirm that the answers are accurate to submit them" in text
    assert 'value="Director"' in text

    submitted = supplier.post(f"{base}/check", data={**DECLARATION, "directory_consent": "y"})
    assert submitted.status_code == 302
    again = supplier.post(f"{base}/check", data=DECLARATION)  # a double click
    assert again.status_code == 302
    assert again.location.endswith("/confirmation")
    receipt, notice = sent_mail[-2:]
    assert receipt["to"] == "sam@acme.example"
    assert f"Reference: {row.reference}" in receipt["body"]
    assert notice["to"] == reviewer.email
    assert "Acme IT Services Ltd has submitted their answers" in notice["subject"]
    assert "curated due-diligence directory" in notice["body"]
    confirmation = supplier.get(submitted.location).get_data(as_text=True)
    assert "Answers submitted" in confirmation and row.reference in confirmation
    row = latest(dbs, Request, id=row.id)
    assert row.status == "submitted" and row.submitted_at is not None

    # Submitted answers can no longer be changed through the link.
    late = supplier.post(f"{base}/sections/about", data={**ABOUT, "legal_name": "Changed"})
    assert late.status_code == 302 and late.location.endswith("/confirmation")
    assert (
        latest(dbs, Answer, request_id=row.id, question_id="legal_name").value
        == "Acme IT Services Ltd"
    )

    # The reviewer sees the answers and the history.
    view = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Submitted" in view
    assert "Monitor alerts and pass them to the designated safeguarding lead" in view
    assert "30 minutes" in view
    assert "31 March 2099" in view
    assert "Full handover in 30 days." in view
    for step in ("Request created", "Sent", "In progress", "Declaration signed"):
        assert step in view
    actions = [
        (e.action, e.detail.get("to"))
        for e in dbs.scalars(
            select(AuditEvent).where(AuditEvent.request_id == row.id).order_by(AuditEvent.id)
        )
    ]
    assert actions == [
        ("request_created", None),
        ("status_changed", "sent"),
        ("link_opened", None),
        ("status_changed", "in_progress"),
        ("status_changed", "submitted"),
        ("declaration_signed", None),
    ]
    assert "by Sam Carter, Director" in view
    assert "agrees these answers may be shared in the curated directory" in view


def test_viewer_cannot_send_requests(client: FlaskClient, make: Factory) -> None:
    login(client, make.user(role="viewer"))
    assert client.get("/").status_code == 200
    assert client.get("/requests/new").status_code == 403
    assert client.post("/requests/new", data={}).status_code == 403


def test_new_request_form_errors_keep_what_was_typed(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    login(client, make.user(role="reviewer"))
    response = client.post(
        "/requests/new",
        data={
            "questionnaire": "it_support",
            "supplier_name": "Acme",
            "contact_name": "",
            "contact_email": "not-an-email",
            "due_date": "2001-01-01",
            "message": "Keep me",
        },
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter the name of the person who will answer" in text
    assert "Enter an email address in the correct format, like name@example.com" in text
    assert 'value="Acme"' in text and "Keep me" in text and 'value="not-an-email"' in text
    assert latest(dbs, Request) is None


def test_due_date_in_the_past_is_refused(client: FlaskClient, make: Factory) -> None:
    login(client, make.user(role="reviewer"))
    response = client.post(
        "/requests/new",
        data={
            "questionnaire": "it_support",
            "supplier_name": "Acme",
            "contact_name": "Sam",
            "contact_email": "sam@acme.example",
            "due_date": "2001-01-01",
        },
    )
    assert "The due date must be today or in the future" in response.get_data(as_text=True)
    assert 'value="2001-01-01"' in response.get_data(as_text=True)


def test_unknown_revoked_and_expired_links_all_answer_404_with_one_page(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    school = make.org("Oakfield Primary School")
    row, link = make.request(make.user(school))
    unknown = client.get("/respond/link/not-a-real-token")
    assert unknown.status_code == 404
    assert "This link does not work" in unknown.get_data(as_text=True)
    assert "Oakfield" not in unknown.get_data(as_text=True)

    stored = dbs.get(Request, row.id)
    stored.token_expires_at = utcnow() - timedelta(minutes=1)
    dbs.commit()
    expired = client.get(link)
    assert expired.status_code == 404
    text = expired.get_data(as_text=True)
    assert "Ask Oakfield Primary School for a new link" in text
    assert "Acme" not in text  # no answers, no supplier details

    stored.token_expires_at = utcnow() + timedelta(days=1)
    stored.revoked_at = utcnow()
    dbs.commit()
    revoked = client.get(link)
    assert revoked.status_code == 404
    assert "This link does not work" in revoked.get_data(as_text=True)
    assert "Oakfield" not in revoked.get_data(as_text=True)


def test_link_redirects_with_303_and_supplier_pages_are_private(
    client: FlaskClient, make: Factory
) -> None:
    row, link = make.request(make.user())
    opened = client.get(link)
    assert opened.status_code == 303
    assert opened.location == f"/respond/{row.reference}/"
    page = client.get(opened.location)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "noindex" in page.headers["X-Robots-Tag"]


def test_supplier_session_ends_after_two_hours_idle(client: FlaskClient, make: Factory) -> None:
    row, link = make.request(make.user())
    client.get(link)
    base = f"/respond/{row.reference}/tasks"
    assert client.get(base).status_code == 200
    with client.session_transaction() as session:
        grant = session["supplier_grants"][row.reference]
        grant["until"] = int(utcnow().timestamp()) - 1
        session["supplier_grants"] = {row.reference: grant}
    assert client.get(base).status_code == 404
    assert client.get(link).status_code == 303  # the link opens a new session
    assert client.get(base).status_code == 200


def test_reissued_link_ends_the_old_supplier_session(client: FlaskClient, make: Factory) -> None:
    author = make.user()
    row, link = make.request(author)
    assert client.get(link).status_code == 303
    assert client.get(f"/respond/{row.reference}/tasks").status_code == 200
    with client.application.test_request_context():
        issue_link(db.session, db.session.get(Request, row.id), db.session.merge(author))
        db.session.commit()
    assert client.get(f"/respond/{row.reference}/tasks").status_code == 404
    assert client.get(link).status_code == 404


def test_supplier_pages_need_the_link(client: FlaskClient, make: Factory) -> None:
    row, _ = make.request(make.user())
    assert client.get(f"/respond/{row.reference}/").status_code == 404
    assert client.get(f"/respond/{row.reference}/tasks").status_code == 404


def test_save_and_come_back_later_keeps_a_partial_section(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    row, link = make.request(make.user())
    client.get(link)
    base = f"/respond/{row.reference}"
    # Blank required answers are fine for later, but what is typed must be valid.
    bad = client.post(
        f"{base}/sections/about",
        data={"legal_name": "Acme", "service_contact_email": "nope", "action": "later"},
    )
    assert bad.status_code == 200
    assert "Enter an email address in the correct format" in bad.get_data(as_text=True)
    assert "Select one option" not in bad.get_data(as_text=True)
    later = client.post(f"{base}/sections/about", data={"legal_name": "Acme", "action": "later"})
    assert later.status_code == 302
    assert later.location.endswith(f"{base}/tasks")
    saved = latest(dbs, Answer, request_id=row.id, question_id="legal_name")
    assert saved is not None
    assert saved.value == "Acme"
    assert "In progress" in client.get(f"{base}/tasks").get_data(as_text=True)
    page = client.get(f"{base}/sections/about").get_data(as_text=True)
    assert 'value="Acme"' in page
