"""Printable reports: each PDF read back as its reader sees it (pypdf's text,
page by page)."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.exports.pdf import RestrictedFetcher, html_to_pdf
from portal.models import AuditEvent, Request, User

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

SHIPPED = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
HOSTILE = '<img src="file:///etc/passwd"> <img src="http://attacker.example/x.png"> <b>bold</b>'


def pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    # Without the zero-width spaces that let long runs break (exports/pdf.py).
    return [
        (page.extract_text() or "").replace("\u200b", "")
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def flat(pdf: bytes) -> str:
    """All the text, without the line breaks a page put in it."""
    return "".join("".join(pages(pdf)).split())


def decide(
    app: Flask, row: Request, actor: User, outcome: str = "accepted_with_conditions"
) -> None:
    from portal.extensions import db
    from portal.services.review import decisions

    with app.test_request_context():
        decisions.decide(
            db.session, db.session.get(Request, row.id), db.session.get(User, actor.id),
            decisions.Decision(
                outcome, "Strong answers; two gaps to close.",
                ["Send the 2027 penetration test"], date(2027, 9, 1),
            ),
        )  # fmt: skip
        db.session.commit()


@pytest.fixture
def report(app: Flask, client: FlaskClient, make: Factory) -> tuple[Request, bytes]:
    """A complete cloud_supplier request, decided, with gaps, as the school downloads it."""
    reviewer = make.user(make.org("Oakfield Primary School"), role="admin")
    row, _ = make.submitted(
        reviewer,
        "cloud_supplier",
        answers={"breach_notice_hours": 96},
        comments={"hosting_location": HOSTILE + "\nA second line, as the supplier wrote it"},
        supplier_name="Acme Learning Ltd",
    )
    decide(app, row, reviewer)
    login(client, reviewer)
    response = client.get(f"/requests/{row.id}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    return row, response.data


@SHIPPED
def test_the_cover_names_the_request_and_its_decision(report: tuple[Request, bytes]) -> None:
    row, pdf = report
    cover = pages(pdf)[0]
    for text in (
        "Acme Learning Ltd", "Oakfield Primary School", "version 4", row.reference,
        "Decision: Accepted with conditions", "Strong answers; two gaps to close.",
        "Send the 2027 penetration test", "Next review: 1 September 2027", "Rating:",
    ):  # fmt: skip
        assert text in cover, text
    assert "Contents" in cover


@SHIPPED
def test_the_rating_is_explained_in_words(app: Flask, report: tuple[Request, bytes]) -> None:
    row, pdf = report
    from portal.extensions import db
    from portal.services.requirements import ratings

    with app.app_context():
        comparison = ratings.comparison_for(db.session, db.session.get(Request, row.id))
        sentence = comparison.rating_summary
        rating = comparison.rating
    assert sentence
    text = " ".join(" ".join(pages(pdf)).split())
    assert " ".join(sentence.split()) in text
    assert f"Rating: {rating.capitalize()}" in text  # in words, not only a colour


@SHIPPED
def test_gaps_come_before_met_findings(report: tuple[Request, bytes]) -> None:
    _, pdf = report
    text = "\n".join(pages(pdf))
    findings = text[text.index("\nFindings") :]
    severe = findings.index("Critical and major gaps")
    settled = findings.index("Met or not applicable")
    assert severe < settled
    # The 96-hour breach notice is a gap, listed before anything met.
    assert findings.index("breach") < settled


@SHIPPED
def test_the_answers_read_question_then_answer_with_their_own_line_breaks(
    report: tuple[Request, bytes],
) -> None:
    _, pdf = report
    text = "\n".join(pages(pdf))
    answers = text[text.index("\nAnswers by section") :]
    # The question in bold, its answer run in after it.
    assert re.search(r"about a personal data breach affecting its data\?\s+96", answers)
    # The supplier's line break is kept, and its markup is printed as text.
    assert re.search(r"<b>bold</b>\s*\n\s*A second line, as the supplier wrote it", answers)


@SHIPPED
def test_every_page_has_its_number_and_the_reference(report: tuple[Request, bytes]) -> None:
    row, pdf = report
    texts = pages(pdf)
    assert len(texts) >= 3
    for number, text in enumerate(texts, 1):
        assert f"Page {number} of {len(texts)}" in text
        if number > 1:
            assert row.reference in text


@SHIPPED
def test_supplier_text_is_printed_as_text_and_nothing_is_fetched(
    app: Flask, report: tuple[Request, bytes]
) -> None:
    row, pdf = report
    text = flat(pdf)
    assert '<imgsrc="file:///etc/passwd">' in text
    assert '<imgsrc="http://attacker.example/x.png">' in text
    assert "<b>bold</b>" in text
    # The same report drawn again, watching every address WeasyPrint asks for.
    from portal.exports.request_report import request_pdf
    from portal.extensions import db
    from portal.services.downloads import reports

    fetcher = RestrictedFetcher()
    with app.app_context():
        request_pdf(reports.request_report(db.session, db.session.get(Request, row.id)), fetcher)
    assert fetcher.asked == []


def test_the_fetcher_refuses_every_address_outside_our_static_files() -> None:
    fetcher = RestrictedFetcher()
    html = (
        '<html lang="en"><head><title>t</title></head><body>'
        '<img src="file:///etc/passwd" alt="a"><img src="http://127.0.0.1:9/x.png" alt="b">'
        '<link rel="stylesheet" href="portal-static:../../etc/passwd">'
        '<img src="portal-static:favicon.svg" alt="ours"></body></html>'
    )
    pdf = html_to_pdf(html, fetcher)
    assert pdf.startswith(b"%PDF-")
    assert "file:///etc/passwd" in fetcher.asked  # asked, and refused
    assert any(url.startswith("http://127.0.0.1:9") for url in fetcher.asked)


def test_the_pdf_is_tagged_with_its_language_and_title(app: Flask) -> None:
    pdf = html_to_pdf(
        '<html lang="en-GB"><head><title>Due diligence report DD-ABC123</title></head>'
        "<body><h1>Report</h1><p>Text</p></body></html>"
    )
    reader = PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert "/StructTreeRoot" in root  # tagged
    assert root["/MarkInfo"]["/Marked"]
    assert reader.metadata is not None and reader.metadata.title == "Due diligence report DD-ABC123"


@SHIPPED
def test_a_huge_answer_and_a_long_table_still_make_a_document(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    """A comment as long as an Excel cell holds (32,767 characters, one long
    word among them) and a 500-line timeline."""
    from portal.extensions import db
    from portal.services.platform.audit import record_event

    reviewer = make.user(make.org(), role="admin")
    huge = (("A" * 5000 + " ") * 7)[:32760] + " end."
    row, _ = make.submitted(reviewer, "cloud_supplier", comments={"hosting_location": huge})
    with app.app_context():
        merged = db.session.get(Request, row.id)
        for n in range(500):
            record_event(db.session, "reminder_sent", organisation=merged.organisation,
                         request=merged, note=f"line {n}")  # fmt: skip
        db.session.commit()
    login(client, reviewer)
    response = client.get(f"/requests/{row.id}/report.pdf")
    assert response.status_code == 200
    text = flat(response.data)
    assert text.count("A") > 32_000 and "end." in text  # all of it, over many pages
    assert text.count("Remindersent") >= 500  # every line of the timeline


@SHIPPED
def test_the_report_is_audited_and_another_schools_is_404(
    client: FlaskClient, make: Factory, dbs: Session, report: tuple[Request, bytes]
) -> None:
    row, _ = report
    dbs.rollback()
    event = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded")).one()
    assert (event.request_id, event.detail["format"]) == (row.id, "pdf")
    intruder = client.application.test_client()
    login(intruder, make.user(make.org("Elm Tree Academy"), role="admin"))
    assert intruder.get(f"/requests/{row.id}/report.pdf").status_code == 404


@SHIPPED
def test_the_request_page_links_to_its_report(
    client: FlaskClient, report: tuple[Request, bytes]
) -> None:
    row, _ = report
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert re.search(rf'href="/requests/{row.id}/report.pdf"', page)


def test_an_api_key_reads_its_schools_report_and_no_other(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from .test_api import bearer, make_key

    school = make.org("Oakfield Primary School")
    row, _ = make.submitted(make.user(school), "features", supplier_name="Acme Learning Ltd")
    api = app.test_client()
    response = api.get(f"/api/v1/requests/{row.reference}/report.pdf",
                       headers=bearer(make_key(app, school, "read")))  # fmt: skip
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Acme Learning Ltd" in pages(response.data)[0]
    other = make_key(app, make.org("Elm Tree Academy"), "read")
    refused = api.get(f"/api/v1/requests/{row.reference}/report.pdf", headers=bearer(other))
    assert refused.status_code == 404
    dbs.rollback()
    [event] = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
    assert event.detail["format"] == "pdf"


def test_the_command_line_writes_the_report(app: Flask, make: Factory, tmp_path: Any) -> None:
    row, _ = make.submitted(make.user(make.org()), "features", supplier_name="Acme Learning Ltd")
    out = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(args=["export-request", "--ref", row.reference,
                                                "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert row.reference in pages(out.read_bytes())[0]


def test_the_report_costs_the_same_statements_for_a_short_or_long_history(
    app: Flask, client: FlaskClient, make: Factory, statements: list[str]
) -> None:
    from portal.extensions import db
    from portal.services.platform.audit import record_event

    reviewer = make.user(make.org(), role="admin")
    row, _ = make.submitted(reviewer, "features")
    login(client, reviewer)

    def report() -> int:
        statements.clear()
        assert client.get(f"/requests/{row.id}/report.pdf").status_code == 200
        return len(statements)

    report()  # the first reads the questionnaire's definition into its cache
    few = report()
    with app.app_context():
        merged = db.session.get(Request, row.id)
        for n in range(40):
            record_event(db.session, "reminder_sent", organisation=merged.organisation,
                         request=merged, note=f"{n}")  # fmt: skip
        db.session.commit()
    assert report() == few
