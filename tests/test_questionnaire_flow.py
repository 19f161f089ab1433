"""The supplier pages with the questionnaire's logic: questions that appear,
hidden answers dropped, constraints, tables, files and comments."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer, Evidence, Request

from .factories import DECLARATION, FEATURES_MAIN, Factory

MAIN_OK = {
    "certificate": "basic",
    "expiry": "2099-01-31",
    "response_minutes": "30",
    "resolution_minutes": "240",
    "cover": "£1,000,000",
}
ALL_SHOWN = [
    "certificate",
    "expiry",
    "response_minutes",
    "resolution_minutes",
    "cover",
    "uptime",
    "why_not",
]


@pytest.fixture
def supplier(client: FlaskClient, make: Factory) -> tuple[FlaskClient, Request]:
    row, link = make.request(make.user(), questionnaire="features")
    assert client.get(link).status_code == 303
    return client, row


def answers(dbs: Session, row: Request) -> dict[str, Any]:
    dbs.rollback()
    return {
        a.question_id: a.value
        for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }


def post(
    client: FlaskClient, row: Request, section: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    return client.post(f"/respond/{row.reference}/sections/{section}", data=data, **kwargs)


def test_a_follow_up_question_appears_without_an_error(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    page = client.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)
    assert (
        '<div class="portal-question" data-question="expiry" hidden>' in page
    )  # until a certificate is chosen
    assert "Read this before the next question." in page

    shown = [q for q in ALL_SHOWN if q != "expiry"]
    data = {**MAIN_OK, "shown": shown}
    del data["expiry"]
    response = post(client, row, "main", data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        "Your answers are saved. Because of them we have a further question for you below." in text
    )
    assert '<div class="portal-question" data-question="expiry">' in text
    assert "There is a problem" not in text
    assert answers(dbs, row)["certificate"] == "basic"

    done = post(client, row, "main", {**MAIN_OK, "shown": ALL_SHOWN})
    assert done.status_code == 302
    assert done.location.endswith(f"/respond/{row.reference}/sections/more")
    assert answers(dbs, row)["expiry"] == "2099-01-31"
    assert answers(dbs, row)["cover"] == 1000000


def test_hidden_answers_are_dropped_and_required_if_applies(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    post(client, row, "main", {**MAIN_OK, "shown": ALL_SHOWN})
    assert "expiry" in answers(dbs, row)

    response = post(client, row, "main", {**MAIN_OK, "certificate": "none", "shown": ALL_SHOWN})
    text = response.get_data(as_text=True)
    assert "Why do you hold no certificate?: Enter an answer" in text  # required_if now holds
    saved = answers(dbs, row)
    assert saved["certificate"] == "none"
    assert "expiry" not in saved  # hidden by show_if: neither required nor kept

    ok = post(
        client,
        row,
        "main",
        {**MAIN_OK, "certificate": "none", "why_not": "Applying now.", "shown": ALL_SHOWN},
    )
    assert ok.status_code == 302


def test_constraint_and_format_errors_keep_what_was_typed(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    response = post(
        client,
        row,
        "main",
        {
            **MAIN_OK,
            "resolution_minutes": "10",
            "cover": "1000.555",
            "uptime": "101",
            "shown": ALL_SHOWN,
        },
    )
    text = response.get_data(as_text=True)
    assert (
        "Resolution target: The resolution target cannot be shorter than the response target"
        in text
    )
    assert (
        "Cyber insurance cover: Enter an amount in pounds and pence, like 1000000 or 2500.50"
        in text
    )
    assert "Availability: Enter a percentage between 0 and 100" in text
    assert 'value="1000.555"' in text
    assert 'value="101"' in text
    # What is valid is saved; what is not stays on screen with its message.
    assert answers(dbs, row) == {
        "certificate": "basic",
        "expiry": "2099-01-31",
        "response_minutes": 30,
    }


def test_comment_is_stored_with_its_answer(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    post(
        client,
        row,
        "main",
        {**MAIN_OK, "certificate-comment": "Renewal booked for May.", "shown": ALL_SHOWN},
    )
    dbs.rollback()
    answer = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == "certificate")
    )
    assert answer is not None
    assert answer.comment == "Renewal booked for May."
    page = client.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)
    assert "Renewal booked for May." in page


def test_table_rows_are_checked_added_and_dropped_when_hidden(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    revealed = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "yes", "shown": ["uses_subprocessors", "policy"]},
    )
    assert '<div class="portal-question" data-question="subprocessors">' in revealed.get_data(
        as_text=True
    )

    shown = ["uses_subprocessors", "subprocessors", "policy"]
    bad = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "yes",
            "subprocessors-0-name": "Hosting Ltd",
            "subprocessors-0-country": "UK",
            "subprocessors-1-name": "Mail Co",
            "subprocessors-1-since": "31/02/2020",
            "shown": shown,
        },
    )
    text = bad.get_data(as_text=True)
    assert "Row 2, since: Enter a real date, for example 31/03/2027" in text
    assert 'value="Mail Co"' in text

    added = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "yes",
            "subprocessors-0-name": "Hosting Ltd",
            "subprocessors-0-country": "UK",
            "action": "add_row",
            "shown": shown,
        },
    )
    assert added.status_code == 302
    page = client.get(added.location).get_data(as_text=True)
    assert 'name="subprocessors-1-name"' in page  # a blank row to add another
    assert answers(dbs, row)["subprocessors"] == [
        {"name": "Hosting Ltd", "country": "UK", "since": None}
    ]

    missing_cell = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "yes", "subprocessors-0-name": "Hosting Ltd", "shown": shown},
    )
    assert "Row 1: enter an answer for country" in missing_cell.get_data(as_text=True)

    post(client, row, "more", {"uses_subprocessors": "no", "shown": shown, "action": "later"})
    assert "subprocessors" not in answers(dbs, row)


def upload(name: str, size: int = 100, content: bytes = b"%PDF-1.7\n") -> tuple[io.BytesIO, str]:
    return io.BytesIO(content + b"x" * (size - len(content))), name


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_files_upload_with_checks_and_can_be_removed(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    shown = ["uses_subprocessors", "policy"]
    wrong = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "no", "policy": upload("virus.exe"), "shown": shown},
        content_type="multipart/form-data",
    )
    assert "Upload your security policy: virus.exe must be a PDF or DOCX file" in wrong.get_data(
        as_text=True
    )
    big = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "no", "policy": upload("big.pdf", 1024 * 1024 + 1), "shown": shown},
        content_type="multipart/form-data",
    )
    assert "big.pdf must be smaller than 1 MB" in big.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalar(select(Evidence)) is None

    ok = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "no", "policy": upload("Policy v2.pdf"), "shown": shown},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    dbs.rollback()
    evidence = dbs.scalar(select(Evidence))
    assert evidence is not None
    assert evidence.filename == "Policy_v2.pdf"
    assert evidence.size == 100
    assert answers(dbs, row)["policy"] == [evidence.id]
    page = client.get(f"/respond/{row.reference}/sections/more").get_data(as_text=True)
    assert "Keep Policy_v2.pdf" in page

    too_many = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": [str(evidence.id), upload("a.pdf"), upload("b.pdf")],
            "shown": shown,
        },
        content_type="multipart/form-data",
    )
    assert "You can upload up to 2 files here" in too_many.get_data(as_text=True)

    removed = post(
        client, row, "more", {"uses_subprocessors": "no", "shown": shown, "action": "later"}
    )
    assert removed.status_code == 302
    assert "policy" not in answers(dbs, row)


def test_someone_elses_file_cannot_be_claimed(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    author = make.user()
    theirs, their_link = make.request(author, questionnaire="features")
    client.get(their_link)
    post(
        client,
        theirs,
        "more",
        {"uses_subprocessors": "no", "policy": upload("theirs.pdf"), "shown": ["policy"]},
        content_type="multipart/form-data",
    )
    dbs.rollback()
    their_file = dbs.scalar(select(Evidence))
    assert their_file is not None
    mine, my_link = make.request(author, questionnaire="features", supplier_name="Other Ltd")
    client.get(my_link)
    post(
        client,
        mine,
        "more",
        {"uses_subprocessors": "no", "policy": str(their_file.id), "shown": ["policy"]},
    )
    assert "policy" not in answers(dbs, mine)


def test_whole_features_questionnaire_submits(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    assert (
        post(client, row, "main", {**MAIN_OK, "uptime": "99.9", "shown": ALL_SHOWN}).status_code
        == 302
    )
    more = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "yes",
            "subprocessors-0-name": "Hosting Ltd",
            "subprocessors-0-country": "UK",
            "policy": upload("policy.pdf"),
            "shown": ["uses_subprocessors", "subprocessors", "policy"],
        },
        content_type="multipart/form-data",
    )
    assert more.status_code == 302
    assert more.location.endswith("/check")
    check = client.get(more.location).get_data(as_text=True)
    assert "£1,000,000" in check
    assert "99.9%" in check
    assert "Hosting Ltd" in check
    assert "policy.pdf" in check
    assert "31 January 2099" in check
    submitted = client.post(f"/respond/{row.reference}/check", data=DECLARATION)
    assert submitted.status_code == 302
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "submitted"


def test_file_content_must_match_its_name(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    shown = ["uses_subprocessors", "policy"]
    fake = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": upload("policy.pdf", content=b"MZ\x90\x00"),
            "shown": shown,
        },
        content_type="multipart/form-data",
    )
    assert (
        "policy.pdf is not a real PDF file: save it again as PDF or DOCX and upload that"
        in fake.get_data(as_text=True)
    )
    fake_docx = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": upload("policy.docx", content=b"PK\x03\x04junk"),
            "shown": shown,
        },
        content_type="multipart/form-data",
    )
    assert "policy.docx is not a real DOCX file" in fake_docx.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalar(select(Evidence)) is None
    real_docx = docx_bytes()
    ok = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": (io.BytesIO(real_docx), "policy.docx"),
            "shown": shown,
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    dbs.rollback()
    stored = dbs.scalar(select(Evidence))
    assert stored is not None
    assert stored.content_type.endswith("wordprocessingml.document")


@pytest.mark.config(EVIDENCE_REQUEST_LIMIT_MB=1)
def test_a_request_holds_a_limited_total_of_files(supplier: tuple[FlaskClient, Request]) -> None:
    client, row = supplier
    shown = ["uses_subprocessors", "policy"]
    first = post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": upload("a.pdf", 700 * 1024),
            "shown": shown,
            "action": "later",
        },
        content_type="multipart/form-data",
    )
    assert first.status_code == 302
    page = client.get(f"/respond/{row.reference}/sections/more").get_data(as_text=True)
    kept = page.split('name="policy" type="checkbox" value="', 1)[1].split('"', 1)[0]
    second = post(
        client,
        row,
        "more",
        {"uses_subprocessors": "no", "policy": [kept, upload("b.pdf", 700 * 1024)], "shown": shown},
        content_type="multipart/form-data",
    )
    text = second.get_data(as_text=True)
    assert "b.pdf would take this request&#39;s files over 1 MB: remove a file first" in text


def test_files_download_as_attachments_for_supplier_and_school(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    from .factories import login

    school = make.org()
    reviewer = make.user(school)
    row, link = make.request(reviewer, questionnaire="features")
    client.get(link)
    post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": upload("Our policy.pdf"),
            "shown": ["policy"],
            "action": "later",
        },
        content_type="multipart/form-data",
    )
    dbs.rollback()
    evidence = dbs.scalar(select(Evidence))
    assert evidence is not None
    mine = client.get(f"/respond/{row.reference}/files/{evidence.id}")
    assert mine.status_code == 200
    assert mine.headers["Content-Disposition"].startswith("attachment")
    assert "Our_policy.pdf" in mine.headers["Content-Disposition"]
    assert mine.headers["X-Content-Type-Options"] == "nosniff"
    assert mine.data.startswith(b"%PDF-")

    staff = client.application.test_client()
    login(staff, reviewer)
    theirs = staff.get(f"/requests/{row.id}/files/{evidence.id}")
    assert theirs.status_code == 200
    assert theirs.data == mine.data
    assert "Our_policy.pdf" in staff.get(f"/requests/{row.id}").get_data(as_text=True)

    other_row, _ = make.request(reviewer, questionnaire="features", supplier_name="Other Ltd")
    assert staff.get(f"/requests/{other_row.id}/files/{evidence.id}").status_code == 404
    outsider = client.application.test_client()
    login(outsider, make.user(make.org()))
    assert outsider.get(f"/requests/{row.id}/files/{evidence.id}").status_code == 404
    assert (
        client.application.test_client()
        .get(f"/respond/{row.reference}/files/{evidence.id}")
        .status_code
        == 404
    )


def test_task_list_shows_sections_that_wait_on_earlier_answers(
    client: FlaskClient, make: Factory
) -> None:
    row, link = make.request(make.user(), questionnaire="gated")
    client.get(link)
    tasks = f"/respond/{row.reference}/tasks"
    page = client.get(tasks).get_data(as_text=True)
    assert "Cannot start yet" in page
    assert "Answer the earlier sections first" in page
    assert "0 of 1 questions answered" in page

    post(client, row, "first", {"uses_cloud": "no", "shown": "uses_cloud"})
    page = client.get(tasks).get_data(as_text=True)
    assert "Not needed" in page
    assert "You have completed 1 of 1 sections: 1 of 1 questions answered" in page

    post(client, row, "first", {"uses_cloud": "yes", "shown": "uses_cloud"})
    page = client.get(tasks).get_data(as_text=True)
    assert "Not yet started" in page
    assert "1 of 3 questions answered" in page


def test_a_stale_security_token_keeps_everything_typed(
    app: Flask, supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    app.config["WTF_CSRF_ENABLED"] = True
    response = post(client, row, "main", {**MAIN_OK, "csrf_token": "stale", "shown": ALL_SHOWN})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Your answers have not been saved yet" in text
    assert 'value="2099-01-31"' in text
    assert 'value="£1,000,000"' in text
    assert 'name="csrf_token" value="' in text  # a fresh token to save with
    assert answers(dbs, row) == {}


def test_an_ended_session_shows_what_was_typed(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    with client.session_transaction() as session:
        session["supplier_grants"] = {}
    response = post(
        client, row, "main", {**MAIN_OK, "why_not": "A long explanation", "shown": ALL_SHOWN}
    )
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Your session has ended" in text
    assert "A long explanation" in text
    assert "2099-01-31" in text
    assert answers(dbs, row) == {}


def test_supplier_downloads_a_copy_of_the_submitted_answers(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    from openpyxl import load_workbook

    client, row = supplier
    copy_url = f"/respond/{row.reference}/copy.xlsx"
    assert client.get(copy_url).status_code == 302  # not before submitting
    post(
        client,
        row,
        "main",
        {**MAIN_OK, "certificate-comment": '=HYPERLINK("http://evil.example")', "shown": ALL_SHOWN},
    )
    post(
        client,
        row,
        "more",
        {
            "uses_subprocessors": "no",
            "policy": upload("policy.pdf"),
            "shown": ["uses_subprocessors", "policy"],
        },
        content_type="multipart/form-data",
    )
    client.post(f"/respond/{row.reference}/check", data=DECLARATION)
    confirmation = client.get(f"/respond/{row.reference}/confirmation").get_data(as_text=True)
    assert "Download a copy of your answers (Excel)" in confirmation
    response = client.get(copy_url)
    assert response.status_code == 200
    assert (
        f"{row.reference} Acme IT Services Ltd answers " in response.headers["Content-Disposition"]
    )
    book = load_workbook(io.BytesIO(response.data))
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Reference"] == row.reference
    assert summary["Declaration by"] == "Sam Carter, Director"
    sheet = book["Answers"]
    rows = {r[1]: r[2:5] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["certificate"] == (
        "Which certificate do you hold?",
        "Basic",
        '=HYPERLINK("http://evil.example")',
    )
    comment = next(c for c in sheet["E"] if c.value == '=HYPERLINK("http://evil.example")')
    assert comment.data_type == "s"  # text, never a formula
    assert comment.quotePrefix
    assert rows["cover"][1] == 1000000  # a number, formatted as pounds
    assert rows["expiry"][1] == datetime(2099, 1, 31)  # an Excel date
    assert rows["policy"][1] == "policy.pdf"
    assert "subprocessors" not in rows  # hidden questions are left out


def test_evidence_beside_a_question_when_the_answer_calls_for_it(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    row, link = make.request(make.user(), questionnaire="evidenced")
    client.get(link)
    base = f"/respond/{row.reference}"
    page = client.get(f"{base}/sections/only").get_data(as_text=True)
    assert 'name="has_policy-evidence"' in page
    assert "Evidence for this answer (optional)" in page  # beside "insured"

    client.post(
        f"{base}/sections/only",
        data={"has_policy": "yes", "insured": "no", "shown": ["has_policy", "insured"]},
    )
    check = client.get(f"{base}/check").get_data(as_text=True)
    assert "attach a file as evidence for this answer" in check
    assert client.post(f"{base}/check", data=DECLARATION).status_code == 200  # not submitted

    attached = post(
        client,
        row,
        "only",
        {
            "has_policy": "yes",
            "insured": "no",
            "has_policy-evidence": upload("policy.pdf"),
            "shown": ["has_policy"],
        },
        content_type="multipart/form-data",
    )
    assert attached.status_code == 302
    dbs.rollback()
    stored = dbs.scalar(select(Evidence).where(Evidence.question_id == "has_policy"))
    assert stored is not None
    check = client.get(f"{base}/check").get_data(as_text=True)
    assert "Evidence: " in check
    assert "policy.pdf" in check

    # Unticking the file removes it.
    post(
        client,
        row,
        "only",
        {"has_policy": "yes", "insured": "no", "shown": ["has_policy"], "action": "later"},
    )
    dbs.rollback()
    assert dbs.scalar(select(Evidence)) is None
    # With "no", no evidence is needed.
    post(client, row, "only", {"has_policy": "no", "insured": "no", "shown": ["has_policy"]})
    assert client.post(f"{base}/check", data=DECLARATION).status_code == 302


def test_each_supplier_sees_their_own_answers_on_pages_rendered_from_memory(
    app: Flask, make: Factory
) -> None:
    """Question markup is kept per answer state (portal/templating.py): two
    suppliers on the same questionnaire version each see their own answer and
    their own errors, whatever the other saw first."""
    school = make.user()
    pages = []
    for value in ("basic", "plus"):
        row, link = make.request(school, questionnaire="features")
        client = app.test_client()
        assert client.get(link).status_code == 303
        saved = client.post(
            f"/respond/{row.reference}/sections/main/autosave",
            json={"answers": {"certificate": value}},
        )
        assert saved.status_code == 200
        pages.append((client, row))

    def page(client: FlaskClient, row: Request) -> str:
        return client.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)

    for _ in range(2):  # the second time from memory
        first, second = page(*pages[0]), page(*pages[1])
        assert 'value="basic" checked' in first
        assert 'value="plus" checked' not in first
        assert 'value="plus" checked' in second
        assert 'value="basic" checked' not in second

    client, row = pages[0]
    wrong = post(client, row, "main", {**MAIN_OK, "response_minutes": "soon", "shown": ALL_SHOWN})
    assert "Enter a number of minutes between 0 and 1440" in wrong.get_data(as_text=True)
    assert 'value="soon"' in wrong.get_data(as_text=True)
    again = page(client, row)
    assert "Enter a number of minutes" not in again
    assert 'value="soon"' not in again
    assert "Enter a number of minutes" not in page(*pages[1])


@pytest.mark.parametrize("csrf", [True, False])
def test_saving_without_the_session_cookie_shows_what_was_typed(
    app: Flask, make: Factory, dbs: Session, csrf: bool
) -> None:
    app.config["WTF_CSRF_ENABLED"] = csrf
    row, link = make.request(make.user(), "features")
    lost = app.test_client()  # a private window, or the cookie cleared: no grant
    typed = {**FEATURES_MAIN, "cover": "2750000", "csrf_token": "from-the-old-page"}
    response = lost.post(f"/respond/{row.reference}/sections/main", data=typed)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Your session has ended" in page
    assert "2750000" in page  # nothing typed is lost
    dbs.rollback()
    assert dbs.scalars(select(Answer).where(Answer.request_id == row.id)).all() == []
