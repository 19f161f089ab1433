"""Answering a request in a spreadsheet (issue 25, part 1): download every
question as a workbook, fill it in elsewhere, upload it back through the
pages' own checks; refused answers, conflicts and what is still needed are
listed, and nothing good is lost."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.demo import attach_demo_files
from portal.extensions import db
from portal.models import Answer, AnswerUpload, Request, User
from portal.questionnaire import answer_workbook as layout
from portal.questionnaire.examples import example_answers
from portal.services.requests import answering

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import DECLARATION, Factory

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))


def opened(app: Flask, make: Factory, author: User | None = None) -> tuple[FlaskClient, Request]:
    """A supplier at its link, in its own browser."""
    author = author or make.user(make.org("Oakfield Primary School"))
    row, path = make.request(author, "cloud_supplier")
    supplier = app.test_client()
    supplier.get(path)
    return supplier, row


def download(supplier: FlaskClient, row: Request) -> Any:
    got = supplier.get(f"/respond/{row.reference}/answers.xlsx")
    assert got.status_code == 200
    return load_workbook(io.BytesIO(got.data))


def ids_of(book: Any) -> list[list[Any]]:
    return [list(r) for r in book["ids"].iter_rows(values_only=True)]


def fill(book: Any, app: Flask, row: Request, fixed: dict[str, Any] | None = None) -> None:
    """Every question's example answer written as a person would: labels
    for choices, dates as dates, tables on their own sheets."""
    with app.test_request_context():
        questionnaire = answering.questionnaire_of(db.session.get(Request, row.id))
        answers = example_answers(questionnaire, fixed=fixed or {})
    for sheet, line, qid, _revision, kind in (r[:5] for r in ids_of(book) if len(r) >= 5):
        if kind not in ("question", "table") or qid not in answers:
            continue
        question = questionnaire.question(qid)
        if kind == "table":
            for index, cells in enumerate(layout.table_cells(question, answers[qid]), start=2):
                for column, value in enumerate(cells, start=1):
                    book[sheet].cell(index, column, value)
        else:
            book[sheet].cell(line, 2, layout.cell_of(question, answers[qid]))


def upload(supplier: FlaskClient, row: Request, book: Any, name: str = "answers.xlsx") -> Any:
    buffer = io.BytesIO()
    book.save(buffer)
    return send(supplier, row, buffer.getvalue(), name)


def send(supplier: FlaskClient, row: Request, data: bytes, name: str = "answers.xlsx") -> Any:
    return supplier.post(
        f"/respond/{row.reference}/answers/upload",
        data={"workbook": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def answers_of(dbs: Session, row: Request) -> dict[str, Any]:
    dbs.rollback()
    return {
        a.question_id: a.value
        for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }


def test_a_whole_request_answered_in_a_spreadsheet_and_submitted(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    assert book.sheetnames[0] == "About this workbook"
    assert book["ids"].sheet_state == "hidden"
    fill(book, app, row)
    sent = upload(supplier, row, book)
    assert sent.status_code == 302
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "answers saved" in report
    assert "could not be saved" not in report
    assert "Files to upload on the pages" in report  # evidence cannot travel
    stored = answers_of(dbs, row)
    assert len(stored) > 40
    assert dbs.scalar(select(func.count()).select_from(AnswerUpload)) == 1

    # The files, on the pages (here through the service), then submit.
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        attach_demo_files(db.session, request, answering.questionnaire_of(request))
        db.session.commit()
    check = supplier.get(f"/respond/{row.reference}/check").get_data(as_text=True)
    assert "more question" not in check
    submitted = supplier.post(f"/respond/{row.reference}/check", data=DECLARATION)
    assert submitted.status_code == 302
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "submitted"


def test_refused_answers_are_listed_and_the_rest_are_saved(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row)
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["breach_notice_hours"]
    book[sheet].cell(line, 2, "about a day")
    email_sheet, email_line = where["privacy_contact_email"]
    book[email_sheet].cell(email_line, 2, '=HYPERLINK("http://evil.example")')
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True)
    assert f"{sheet} row {line}" in report and "Enter a number" in report
    assert f"{email_sheet} row {email_line}" in report  # a formula is text, and not an email
    stored = answers_of(dbs, row)
    assert "breach_notice_hours" not in stored and "privacy_contact_email" not in stored
    assert len(stored) > 40


def test_an_answer_changed_on_the_web_since_the_download_is_kept_and_listed(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row, {"breach_notice_hours": 24})
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        questionnaire = answering.questionnaire_of(request)
        section = questionnaire.section_of("breach_notice_hours")
        answering.autosave(db.session, request, section, {"breach_notice_hours": 48}, {}, {})
        db.session.commit()
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "changed on the web since you downloaded the workbook" in report
    assert "24" in report and "48" in report
    assert answers_of(dbs, row)["breach_notice_hours"] == 48


def test_follow_ups_the_uploaded_answers_bring_in_are_still_needed(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["uses_subprocessors"]
    assert book[sheet].cell(line, 6).value == "" or book[sheet].cell(line, 6).value is None
    book[sheet].cell(line, 2, "Yes")
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "Still needed before you can submit" in report
    assert answers_of(dbs, row)["uses_subprocessors"] == "yes"


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda data, other: other, "This workbook is for request"),
        (lambda data, other: b"not a workbook at all", "not an Excel workbook"),
        (lambda data, other: b"x" * (6 * 1024 * 1024), "MB: an answers workbook is far smaller"),
    ],
)
def test_a_workbook_that_is_not_this_requests_saves_nothing(
    app: Flask, make: Factory, dbs: Session, spoil: Any, message: str
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row)
    mine = io.BytesIO()
    book.save(mine)
    other_supplier, other = opened(app, make)
    theirs = download(other_supplier, other)
    fill(theirs, app, other)
    other_bytes = io.BytesIO()
    theirs.save(other_bytes)
    sent = send(supplier, row, spoil(mine.getvalue(), other_bytes.getvalue()))
    assert sent.status_code == 302
    page = supplier.get(sent.location).get_data(as_text=True)
    assert "Nothing was saved" in page and message in page
    assert answers_of(dbs, row) == {}
    assert dbs.scalar(select(func.count()).select_from(AnswerUpload)) == 0


def test_a_workbook_for_another_version_or_with_moved_rows(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row)
    ids = book["ids"]
    for cells in ids.iter_rows():
        if cells[0].value == "version":
            cells[1].value = 99
    page = supplier.get(upload(supplier, row, book).location).get_data(as_text=True)
    assert "another version of the questionnaire" in page
    assert answers_of(dbs, row) == {}

    book = download(supplier, row)
    fill(book, app, row)
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["breach_notice_hours"]
    book[sheet].cell(line, 1, "Something else entirely")
    book[sheet].cell(book[sheet].max_row + 3, 2, "an extra row")
    page = supplier.get(upload(supplier, row, book).location).get_data(as_text=True)
    assert f"{sheet} row {line}: this row no longer holds" in page
    stored = answers_of(dbs, row)
    assert "breach_notice_hours" not in stored and len(stored) > 40


def test_another_requests_upload_is_not_found(app: Flask, make: Factory) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row)
    mine = upload(supplier, row, book).location
    other_supplier, other = opened(app, make)
    upload_id = mine.rsplit("/", 1)[1]
    assert (
        other_supplier.get(f"/respond/{other.reference}/answers/uploads/{upload_id}").status_code
        == 404
    )
    assert other_supplier.get(mine).status_code in (403, 404)


def test_the_api_gives_and_takes_the_workbook(app: Flask, make: Factory, dbs: Session) -> None:
    author = make.user(make.org("Oakfield Primary School"))
    row, path = make.request(author, "cloud_supplier")
    token = {"Authorization": f"Bearer {path.rsplit('/', 1)[1]}"}
    client = app.test_client()
    got = client.get("/api/v1/supplier/workbook", headers=token)
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.data))
    fill(book, app, row, {"breach_notice_hours": 24})
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["privacy_contact_email"]
    book[sheet].cell(line, 2, "not an email")
    buffer = io.BytesIO()
    book.save(buffer)
    sent = client.post(
        "/api/v1/supplier/workbook",
        data={"workbook": (io.BytesIO(buffer.getvalue()), "answers.xlsx")},
        content_type="multipart/form-data",
        headers=token,
    )
    assert sent.status_code == 200, sent.json
    assert sent.json["saved"] > 40
    assert any(f"{sheet} row {line}" in line_ for line_ in sent.json["refused"])
    assert sent.json["files_needed"]
    assert answers_of(dbs, row)["breach_notice_hours"] == 24
    wrong = client.post(
        "/api/v1/supplier/workbook",
        data={"workbook": (io.BytesIO(b"nope"), "x.xlsx")},
        content_type="multipart/form-data",
        headers=token,
    )
    assert wrong.status_code == 422 and "not an Excel workbook" in wrong.json["detail"]


@pytest.mark.office
def test_a_workbook_saved_by_libreoffice_still_imports(
    app: Flask, make: Factory, dbs: Session, tmp_path: Any
) -> None:
    from .test_office import convert

    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row, {"breach_notice_hours": 24})
    book.save(tmp_path / "answers.xlsx")
    convert([tmp_path / "answers.xlsx"], "xlsx:Calc MS Excel 2007 XML", tmp_path)
    resaved = (tmp_path / "out" / "answers.xlsx").read_bytes()
    sent = send(supplier, row, resaved)
    assert sent.status_code == 302
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "could not be saved" not in report, report
    stored = answers_of(dbs, row)
    assert stored["breach_notice_hours"] == 24 and len(stored) > 40


def test_a_curator_answers_a_draft_entry_in_a_spreadsheet(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from portal.models import DirectoryEntry

    from .factories import login

    curator = make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")
    desk = app.test_client()
    login(desk, curator)
    created = desk.post(
        "/curate/new",
        data={"supplier_name": "Cloudy Classroom Ltd", "questionnaire": "cloud_supplier",
              "product": "Cloudy", "category": "learning_platform", "summary": "From its documents",
              "rating": "amber", "conditions": "", "sources": "Privacy notice, 1 October 2026"},
    )  # fmt: skip
    assert created.status_code == 302, created.get_data(as_text=True)
    entry_id = int(created.location.rstrip("/").rsplit("/", 1)[1])
    got = desk.get(f"/curate/entries/{entry_id}/answers.xlsx")
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.data))
    with app.test_request_context():
        entry = db.session.get(DirectoryEntry, entry_id)
        from portal.services.platform.questionnaire_registry import definition_for

        questionnaire = definition_for(entry.questionnaire_version)
        answers = example_answers(questionnaire, fixed={"breach_notice_hours": 24})
    for sheet, line, qid, _rev, kind in (r[:5] for r in ids_of(book) if len(r) >= 5):
        if kind == "question" and qid in answers:
            book[sheet].cell(line, 2, layout.cell_of(questionnaire.question(qid), answers[qid]))
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["privacy_contact_email"]
    book[sheet].cell(line, 2, "nobody")
    buffer = io.BytesIO()
    book.save(buffer)
    sent = desk.post(
        f"/curate/entries/{entry_id}/answers/upload",
        data={"workbook": (io.BytesIO(buffer.getvalue()), "entry.xlsx")},
        content_type="multipart/form-data",
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "answers saved" in page
    assert f"{sheet} row {line}" in page
    dbs.rollback()
    stored = dbs.get(DirectoryEntry, entry_id).answers
    assert stored["breach_notice_hours"] == 24 and "privacy_contact_email" not in stored

    # A supplier's request workbook is not this entry's.
    supplier, row = opened(app, make)
    theirs = supplier.get(f"/respond/{row.reference}/answers.xlsx").data
    refused = desk.post(
        f"/curate/entries/{entry_id}/answers/upload",
        data={"workbook": (io.BytesIO(theirs), "x.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Nothing was saved: This workbook is not this entry" in refused.get_data(as_text=True)


def test_an_edited_list_of_ids_is_reported_and_that_row_not_read(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    fill(book, app, row)
    for cells in book["ids"].iter_rows():
        if cells[2].value == "breach_notice_hours":
            cells[2].value = "breach_notice_days"
    page = supplier.get(upload(supplier, row, book).location).get_data(as_text=True)
    assert "names “breach_notice_days”, which this questionnaire does not ask" in page
    stored = answers_of(dbs, row)
    assert "breach_notice_hours" not in stored and len(stored) > 40


@pytest.mark.parametrize(
    ("cell", "number_format", "stored"),
    [
        (0.995, "0.0%", 99.5),  # "99.5%" typed into Excel
        (1, "0%", 100),  # "100%": a whole number once scaled
        (0.5, "0.00%", 50),
        (99.9, "General", 99.9),  # a plain number is already a percentage
        (0.5, "General", 0.5),  # half a per cent, not 50
        ("99.5%", "@", 99.5),  # kept as text
    ],
)
def test_a_percentage_is_read_as_the_cell_shows_it(
    app: Flask, make: Factory, dbs: Session, cell: Any, number_format: str, stored: float
) -> None:
    supplier, row = opened(app, make)
    book = download(supplier, row)
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["availability_percent"]
    book[sheet].cell(line, 2, cell).number_format = number_format
    sent = upload(supplier, row, book)
    assert sent.status_code == 302
    assert answers_of(dbs, row)["availability_percent"] == stored


def _web(app: Flask, row: Request, answers: dict[str, Any], comments: dict[str, str]) -> None:
    """Answers saved on the web pages, as the supplier's autosave saves them."""
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        questionnaire = answering.questionnaire_of(request)
        for qid in dict.fromkeys([*answers, *comments]):  # in order: follow-ups last
            section = questionnaire.section_of(qid)
            result = answering.autosave(
                db.session,
                request,
                section,
                {qid: answers[qid]} if qid in answers else {},
                {qid: comments[qid]} if qid in comments else {},
                {qid: answering.stored_answers(db.session, request).revisions.get(qid, 0)},
            )
            assert not result.errors and not result.conflicts, (result.errors, result.conflicts)
        db.session.commit()


def _where(book: Any) -> dict[str, tuple[str, int]]:
    return {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}


def test_copied_answers_are_marked_and_an_upload_confirms_only_those_changed(
    app: Flask, make: Factory, dbs: Session
) -> None:
    """Copied answers count once the supplier has looked at them: a workbook
    sent back with a copy left as it was must not confirm it unread."""
    supplier, row = opened(app, make)
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        for qid, value in (("ico_registration", "yes"), ("breach_history", "no")):
            request.answers.append(
                Answer(
                    question_id=qid,
                    value=value,
                    prefilled=True,
                    answered_by="From your CSA CAIQ v4 (question A&A-01.1)",
                )
            )
        db.session.commit()
    book = download(supplier, row)
    where = _where(book)
    sheet, line = where["ico_registration"]
    assert book[sheet].cell(1, 9).value == "Copied answer"
    assert "From your CSA CAIQ v4 (question A&A-01.1)" in book[sheet].cell(line, 9).value
    assert "saved straight away" in " ".join(
        str(c.value) for r in book["About this workbook"].iter_rows() for c in r if c.value
    )
    changed_sheet, changed_line = where["breach_history"]
    book[changed_sheet].cell(changed_line, 2, "Yes")
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "Copied answers still to confirm" in report
    assert f"{sheet} row {line}" in report
    dbs.rollback()
    stored = {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }
    assert stored["ico_registration"].prefilled  # left as it was: still to confirm
    assert not stored["breach_history"].prefilled  # changed in the workbook: theirs now
    assert stored["breach_history"].value == "yes"
    assert stored["breach_history"].answered_by == "Sam Carter"


def test_a_comment_changed_on_the_web_since_the_download_is_kept(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    _web(app, row, {"hosting_location": "uk", "access_outside_uk": "no"},
         {"hosting_location": "AWS London"})  # fmt: skip
    book = download(supplier, row)
    where = _where(book)
    sheet, line = where["hosting_location"]
    assert book[sheet].cell(line, 3).value == "AWS London"
    outside_sheet, outside_line = where["access_outside_uk"]
    # On the web meanwhile: both comments change.
    _web(app, row, {}, {"hosting_location": "AWS London and Dublin",
                        "access_outside_uk": "Support desk in the UK"})  # fmt: skip
    # In the workbook: one comment left as downloaded, the other changed too.
    book[outside_sheet].cell(outside_line, 3, "Nobody outside the UK")
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True)
    assert "(comment)" in report and "Nobody outside the UK" in report
    assert "Support desk in the UK" in report
    dbs.rollback()
    comments = {
        a.question_id: a.comment
        for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }
    assert comments["hosting_location"] == "AWS London and Dublin"  # not undone
    assert comments["access_outside_uk"] == "Support desk in the UK"  # listed, kept

    # A comment changed in the workbook alone is saved.
    book = download(supplier, row)
    book[sheet].cell(line, 3, "AWS London only")
    upload(supplier, row, book)
    dbs.rollback()
    answer = dbs.scalar(select(Answer).filter_by(request_id=row.id, question_id="hosting_location"))
    assert answer is not None and answer.comment == "AWS London only"


def test_answers_an_upload_removes_are_listed_with_what_they_were(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    _web(app, row, {"hosting_location": "other", "access_outside_uk": "yes",
                    "transfer_mechanism": "bcr", "breach_history": "no"}, {})  # fmt: skip
    book = download(supplier, row)
    where = _where(book)
    for qid, cell in (("hosting_location", "United Kingdom"), ("access_outside_uk", "No"),
                      ("breach_history", None)):  # fmt: skip
        sheet, line = where[qid]
        book[sheet].cell(line, 2).value = cell  # cell(r, c, None) would leave it
    sent = upload(supplier, row, book)
    report = supplier.get(sent.location).get_data(as_text=True).replace("&#39;", "'")
    assert "2 answers removed" in report
    assert "“Binding corporate rules” was removed (it is no longer asked" in report
    assert "“No” was removed (you emptied its cell)" in report
    assert "2 answers saved" in report  # the two changed; the emptied one is listed above
    stored = answers_of(dbs, row)
    assert stored["hosting_location"] == "uk" and "transfer_mechanism" not in stored
    assert "breach_history" not in stored


def test_reading_an_upload_holds_no_lock_on_the_request(
    app: Flask, make: Factory, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a workbook takes a while: while it is read, the request's other
    writers (the supplier's autosaves in another tab) must not wait on it.
    Another connection takes the lock itself in the middle of the read."""
    from sqlalchemy import text

    from portal.services.requests import answer_workbooks

    supplier, row = opened(app, make)
    book = download(supplier, row)
    engine = app.extensions["portal_db"].engine_for(app)
    taken: list[bool] = []
    real_parse = answer_workbooks.parse

    def parse_while_another_writes(request: Request, data: bytes) -> Any:
        if engine.dialect.name == "sqlite":
            import sqlite3

            # A connection of its own, not the pool's: it must not wait.
            raw = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=0)
            try:
                raw.execute("BEGIN IMMEDIATE")  # fails at once if a writer holds the lock
                raw.execute("ROLLBACK")
            finally:
                raw.close()
        else:
            with engine.connect() as other:
                other.execute(
                    text("SELECT id FROM request WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": row.id},
                )  # fails at once if the upload holds the request's row
                other.rollback()
        taken.append(True)
        return real_parse(request, data)

    monkeypatch.setattr(answer_workbooks, "parse", parse_while_another_writes)
    sent = upload(supplier, row, book)
    assert sent.status_code == 302 and taken == [True]


def test_a_download_is_on_the_timeline_and_made_without_the_write_lock(
    app: Flask, make: Factory, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbook is built as a reader: a supplier downloading it must not
    hold up every writer of the database (SQLite) or of the request while it
    is made. The download is still recorded, in a transaction of its own."""
    from portal.extensions import in_write_request
    from portal.models import AuditEvent
    from portal.services.requests import answer_workbooks

    supplier, row = opened(app, make)
    writing: list[bool] = []
    real_workbook = answer_workbooks.workbook

    def noting(session: Session, request: Request) -> bytes:
        writing.append(in_write_request())
        return real_workbook(session, request)

    monkeypatch.setattr(answer_workbooks, "workbook", noting)
    download(supplier, row)
    assert supplier.get("/api/v1/supplier/workbook").status_code == 200
    assert writing == [False, False]
    dbs.rollback()
    recorded = dbs.scalars(
        select(AuditEvent).where(
            AuditEvent.request_id == row.id, AuditEvent.action == "export_downloaded"
        )
    ).all()
    assert [e.detail["what"] for e in recorded] == ["answers workbook", "answers workbook"]
