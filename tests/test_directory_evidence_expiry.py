"""A directory entry never shows a stale certificate as current (issue 26):
an entry keeps when its evidence runs out, says "Evidence expired on ..."
wherever it appears, its fit check counts that evidence as missing, the
curator's workspace lists what to refresh, and a refreshed version clears
it and tells the schools that adopted it."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Adoption, AuditEvent, DirectoryEntry, Organisation, User, utcnow
from portal.questionnaire.compare import Outcome
from portal.questionnaire.display import format_day
from portal.services.directory import curation
from portal.services.requirements import ratings
from portal.services.requirements.profiles import RuleInput

from .factories import Factory, login
from .test_stored_ratings import set_rule

DETAILS = {
    "product": "Safe Cloud",
    "category": "learning_platform",
    "summary": "Certified and insured.",
    "rating": "green",
    "conditions": "",
}
# A school's rule a data-protection officer would set: cyber insurance, with
# the certificate to show for it (the question asks for evidence when "yes").
INSURED = RuleInput("equals", "yes", "major", False, "We rely on the supplier's cyber insurance.")


def today() -> date:
    return utcnow().date()


def stale_in(text: str) -> bool:
    return re.search(r"Evidence expired on \d", text) is not None


def words(day: date) -> str:
    return format_day(day)


def curator(make: Factory, name: str = "Northgate Data Protection") -> User:
    return make.user(make.org(name, kind="curator"), role="curator")


def text_of(html: str, element_id: str) -> str:
    part = html.split(f'id="{element_id}"', 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", part.split("</table>")[0].split("</ul>")[0]).split())


def published(
    client: FlaskClient, make: Factory, ce_expiry: date, supplier: str = "Safe Cloud Ltd"
) -> tuple[int, User]:
    """A school's consented "expiring" submission, drafted and published by a
    curator (signed in on ``client``): its certificate expires on ``ce_expiry``,
    its insurance in 305 days (portal/demo.py dates the files)."""
    school_user = make.user(make.org(f"{supplier} asker"))
    row, _ = make.submitted(
        school_user,
        "expiring",
        answers={"ce_expiry": ce_expiry.isoformat(), "insured": "yes"},
        consent=True,
        supplier_name=supplier,
    )
    login(client, curator(make))
    created = client.post(
        f"/curate/submissions/{row.id}", data={**DETAILS, "product": supplier.removesuffix(" Ltd")}
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    entry_id = int(created.location.rsplit("/", 1)[1])
    assert client.post(f"/curate/entries/{entry_id}/publish").status_code == 302
    return entry_id, school_user


def run_out(dbs: Session, entry_id: int, question_id: str, day: date) -> None:
    """Time passes: the stored date of one question's evidence becomes ``day``."""
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    assert entry is not None
    entry.evidence_expiry = {**(entry.evidence_expiry or {}), question_id: day.isoformat()}
    dbs.commit()


def school_client(client: FlaskClient, user: User) -> FlaskClient:
    other = client.application.test_client()
    login(other, user)
    return other


def test_a_draft_copies_when_the_submissions_evidence_runs_out(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    expires = today() + timedelta(days=200)
    entry_id, _ = published(client, make, expires)
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    assert entry is not None
    assert entry.evidence_expiry == {
        "ce_certificate": expires.isoformat(),
        "insured": (today() + timedelta(days=305)).isoformat(),
        "pen_test_report": (today() + timedelta(days=305)).isoformat(),
    }
    page = client.get(f"/curate/entries/{entry_id}").get_data(as_text=True)
    dates = text_of(page, "evidence-dates")
    assert "Upload your Cyber Essentials certificate From the answer to" in dates
    assert words(expires) in dates and "Current" in dates
    assert not stale_in(page)


def test_a_curator_authored_entrys_dates_follow_its_answers(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    login(client, curator(make))
    created = client.post(
        "/curate/new",
        data={
            **DETAILS,
            "supplier_name": "Public Docs Ltd",
            "questionnaire": "expiring",
            "sources": "Their trust centre, March 2026",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    entry_id = int(created.location.rsplit("/", 1)[1])
    first = today() + timedelta(days=90)
    client.post(
        f"/curate/entries/{entry_id}/sections/certs",
        data={"ce_expiry": first.isoformat(), "insured": "no"},
    )
    dbs.rollback()
    assert dbs.get(DirectoryEntry, entry_id).evidence_expiry == {
        "ce_certificate": first.isoformat()
    }
    # A date the curator reads in the documents, for evidence the answers do not date.
    client.post(
        f"/curate/entries/{entry_id}/sections/certs",
        data={"ce_expiry": first.isoformat(), "insured": "yes"},
    )
    insured = today() + timedelta(days=200)
    saved = client.post(
        f"/curate/entries/{entry_id}/evidence-expiry",
        data={"question": "insured", "expires": insured.isoformat()},
    )
    assert saved.status_code == 302
    assert saved.location.endswith(f"/curate/entries/{entry_id}#evidence-expiry")
    # The answer changes: the certificate's date follows it, the insurance's stays.
    later = today() + timedelta(days=400)
    client.post(
        f"/curate/entries/{entry_id}/sections/certs",
        data={"ce_expiry": later.isoformat(), "insured": "yes"},
    )
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    assert entry.evidence_expiry == {
        "ce_certificate": later.isoformat(),
        "insured": insured.isoformat(),
    }
    dated = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "entry_evidence_dated"))
    assert dated is not None and dated.detail["question"] == "insured"


def test_an_entry_goes_stale_wherever_it_appears_and_a_refresh_clears_it(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    adopter = make.user(make.org("Oakfield Primary School"), role="admin")
    school = school_client(client, adopter)
    assert school.post(f"/directory/{entry_id}/adopt").status_code == 302

    def search() -> str:
        return text_of(school.get("/directory/?q=safe").get_data(as_text=True), "results")

    assert "Safe Cloud" in search() and not stale_in(search())
    ran_out = today() - timedelta(days=3)
    run_out(dbs, entry_id, "ce_certificate", ran_out)
    stale = f"Evidence expired on {words(ran_out)}"

    assert stale in search()
    page = school.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert stale in page
    assert "Expired" in text_of(page, "evidence-dates")
    assert stale in client.get(f"/curate/entries/{entry_id}").get_data(as_text=True)
    book = load_workbook(io.BytesIO(school.get("/directory/export.xlsx").data))
    sheet = book.worksheets[0]
    ids = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] == "Safe Cloud")
    assert row[ids.index("_evidence")] == stale
    assert [c.value for c in sheet[2]][ids.index("_evidence")] == "Evidence"

    # The curator refreshes it: a new version, the renewed certificate's date
    # (its expiry is an answer) and a corrected insurance date.
    drafted = client.post(f"/curate/entries/{entry_id}/new-version")
    draft_id = int(drafted.location.rsplit("/", 1)[1])
    renewed = today() + timedelta(days=365)
    client.post(
        f"/curate/entries/{draft_id}/sections/certs",
        data={"ce_expiry": renewed.isoformat(), "insured": "yes"},
    )
    insured = today() + timedelta(days=500)
    client.post(
        f"/curate/entries/{draft_id}/evidence-expiry",
        data={"question": "insured", "expires": insured.isoformat()},
    )
    sent_mail.clear()
    assert client.post(f"/curate/entries/{draft_id}/publish").status_code == 302

    assert "Safe Cloud" in search() and not stale_in(search())
    new_page = school.get(f"/directory/{draft_id}").get_data(as_text=True)
    assert not stale_in(new_page)
    assert "Safe Cloud" not in text_of(
        client.get("/curate/?list=refresh").get_data(as_text=True), "refresh"
    )
    book = load_workbook(io.BytesIO(school.get("/directory/export.xlsx").data))
    assert all(
        not r[ids.index("_evidence")]
        for r in book.worksheets[0].iter_rows(min_row=3, values_only=True)
    )
    # The school that adopted it is told, with what was renewed.
    told = [m for m in sent_mail if m["to"] == adopter.email]
    assert len(told) == 1
    assert told[0]["subject"] == (
        "Safe Cloud (Safe Cloud Ltd): a new version in the directory, evidence renewed"
    )
    body = " ".join(told[0]["body"].split())
    assert "The evidence was renewed:" in body
    assert f"Upload your Cyber Essentials certificate: now runs out on {words(renewed)}" in body
    assert f"Do you hold cyber insurance?: now runs out on {words(insured)}" in body
    assert f"/directory/{draft_id}" in body
    assert not [m for m in sent_mail if m["to"] != adopter.email]


def test_a_new_version_without_new_dates_tells_adopters_without_saying_renewed(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    adopter = make.user(make.org("Oakfield Primary School"), role="admin")
    assert school_client(client, adopter).post(f"/directory/{entry_id}/adopt").status_code == 302
    ran_out = today() - timedelta(days=1)
    run_out(dbs, entry_id, "ce_certificate", ran_out)
    draft_id = int(
        client.post(f"/curate/entries/{entry_id}/new-version").location.rsplit("/", 1)[1]
    )
    sent_mail.clear()
    client.post(f"/curate/entries/{draft_id}/publish")
    (told,) = [m for m in sent_mail if m["to"] == adopter.email]
    assert told["subject"] == "Safe Cloud (Safe Cloud Ltd): a new version in the directory"
    body = " ".join(told["body"].split())
    assert "renewed" not in body
    assert f"Evidence expired on {words(ran_out)}" in body


def test_the_fit_check_counts_expired_evidence_as_missing(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    certificate_runs_out = today() + timedelta(days=100)
    entry_id, _ = published(client, make, certificate_runs_out)
    dpo_school = make.org("Hillside Primary")
    admin = make.user(dpo_school, role="admin")
    set_rule(app, dpo_school, admin, "expiring", "insured", INSURED)
    insurance_runs_out = today() + timedelta(days=305)

    def findings(on: date) -> dict[str, tuple[str, str]]:
        with app.app_context():
            entry = db.session.get(DirectoryEntry, entry_id)
            school = db.session.get(Organisation, dpo_school.id)
            found = ratings.comparison_for_entry(db.session, entry, school, on)
            return {f.question.id: (f.outcome, f.reason) for f in found.findings}

    before = findings(today())
    assert before["ce_certificate"][0] == Outcome.MET
    assert before["insured"][0] == Outcome.MET  # insured, with the certificate to show
    after = findings(insurance_runs_out + timedelta(days=1))
    assert after["insured"] == (
        Outcome.NOT_MET,
        f"The evidence expired on {words(insurance_runs_out)}",
    )
    assert after["ce_certificate"] == (
        Outcome.NOT_MET,
        f"The evidence expired on {words(certificate_runs_out)}",
    )
    # On its expiry day a certificate has run out, as a "date after today" rule says.
    assert findings(certificate_runs_out)["ce_certificate"][0] == Outcome.NOT_MET
    assert findings(certificate_runs_out - timedelta(days=1))["ce_certificate"][0] == Outcome.MET

    # The school's page says so beside the finding, and its rating follows.
    school = school_client(client, admin)
    page = school.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert "The evidence expired" not in page
    ran_out = today() - timedelta(days=2)
    run_out(dbs, entry_id, "insured", ran_out)
    page = school.get(f"/directory/{entry_id}").get_data(as_text=True)
    row = " ".join(
        re.sub(r"<[^>]+>", " ", page.split('id="finding-insured"')[1].split("</tr>")[0]).split()
    )
    assert f"Not met The evidence expired on {words(ran_out)}" in row


def test_an_adopting_schools_register_and_workbooks_say_the_evidence_expired(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    adopter = make.user(make.org("Oakfield Primary School"), role="admin")
    school = school_client(client, adopter)
    school.post(f"/directory/{entry_id}/adopt")

    def register_row() -> str:
        page = school.get("/suppliers").get_data(as_text=True)
        table = page.split('id="supplier-register"', 1)[1].split("</table>")[0]
        row = next(r for r in table.split("<tr") if "Safe Cloud Ltd" in r)
        return " ".join(re.sub(r"<[^>]+>", " ", row).split())

    assert not stale_in(register_row())
    assert words(today() + timedelta(days=200)) in register_row()  # its next expiry
    ran_out = today() - timedelta(days=10)
    run_out(dbs, entry_id, "pen_test_report", ran_out)
    stale = f"Evidence expired on {words(ran_out)}"
    assert stale in register_row()

    suppliers = load_workbook(io.BytesIO(school.get("/suppliers/register.xlsx").data)).active
    headings = [c.value for c in suppliers[1]]
    line = next(
        r for r in suppliers.iter_rows(min_row=2, values_only=True) if r[0] == "Safe Cloud Ltd"
    )
    assert line[headings.index("Next evidence expiry")].date() == ran_out

    register = load_workbook(io.BytesIO(school.get("/register.xlsx").data)).active
    headings = [c.value for c in register[1]]
    line = next(
        r for r in register.iter_rows(min_row=2, values_only=True) if r[1] == "Safe Cloud Ltd"
    )
    assert line[headings.index("Overdue")] == stale


def test_the_workspace_lists_entries_to_refresh_first_to_run_out_first(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    soon, _ = published(client, make, today() + timedelta(days=20), supplier="Soon Ltd")
    later, _ = published(client, make, today() + timedelta(days=300), supplier="Later Ltd")
    gone, _ = published(client, make, today() + timedelta(days=200), supplier="Gone Ltd")
    ran_out = today() - timedelta(days=40)
    run_out(dbs, gone, "pen_test_report", ran_out)
    # A draft of a new version, its evidence expired too: not yet the curator's to refresh.
    client.post(f"/curate/entries/{gone}/new-version")
    workspace = client.get("/curate/?list=refresh").get_data(as_text=True)
    assert "Evidence to refresh (2)" in text_of(workspace, "workspace-lists")
    listed = text_of(workspace, "refresh")
    assert "Later Ltd" not in listed  # its first expiry is 300 days away
    assert listed.index("Gone Ltd") < listed.index("Soon Ltd")
    assert f"Evidence expired on {words(ran_out)}" in listed
    assert f"Evidence expires on {words(today() + timedelta(days=20))}" in listed
    # Withdrawn: nothing for schools to be misled by.
    client.post(f"/curate/entries/{soon}/withdraw", data={"reason": "Supplier closed"})
    assert "Soon Ltd" not in text_of(
        client.get("/curate/?list=refresh").get_data(as_text=True), "refresh"
    )
    assert later  # listed nowhere: current


def test_the_refresh_list_costs_the_same_for_few_or_many_entries(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, statements: list[str]
) -> None:
    from .test_page_queries import copies_of_entry

    entry_id, _ = published(client, make, today() + timedelta(days=10))

    def workspace(query: str) -> tuple[int, str]:
        statements.clear()
        page = client.get(f"/curate/{query}")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    few = workspace("?list=refresh")[0]
    few_queue = workspace("")[0]
    copies_of_entry(app, entry_id, 55)
    many, page = workspace("?list=refresh")
    assert many == few
    assert workspace("")[0] == few_queue
    assert "Evidence to refresh (56)" in text_of(page, "workspace-lists")
    assert "Showing 1 to 50 of 56 entries" in page


def test_dates_are_checked_and_only_a_drafts_can_change(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    # A published entry's dates change only by a new version.
    assert (
        client.post(
            f"/curate/entries/{entry_id}/evidence-expiry",
            data={"question": "insured", "expires": "2030-01-01"},
        ).status_code
        == 404
    )
    draft_id = int(
        client.post(f"/curate/entries/{entry_id}/new-version").location.rsplit("/", 1)[1]
    )

    def post(**data: str) -> str:
        client.post(f"/curate/entries/{draft_id}/evidence-expiry", data=data)
        return client.get(f"/curate/entries/{draft_id}").get_data(as_text=True)

    century = (today() + timedelta(days=365 * 100)).isoformat()
    assert "The expiry date must be within 10 years: check the year" in post(
        question="insured", expires=century
    )
    assert "Enter a real date, for example 31/03/2027" in post(
        question="insured", expires="31/02/2027"
    )
    assert "The expiry date must be after" in post(question="insured", expires="1901-05-01")
    assert "Choose a question whose evidence expires" in post(
        question="legal_name", expires="2027-01-01"
    )
    dbs.rollback()
    before = dbs.get(DirectoryEntry, entry_id).evidence_expiry
    assert dbs.get(DirectoryEntry, draft_id).evidence_expiry == before  # nothing saved
    # Blank clears a date the documents do not give.
    post(question="insured", expires="")
    dbs.rollback()
    assert "insured" not in dbs.get(DirectoryEntry, draft_id).evidence_expiry
    # In British form, as the other date fields take it.
    post(question="insured", expires=f"{(today() + timedelta(days=30)):%d/%m/%Y}")
    dbs.rollback()
    assert (
        dbs.get(DirectoryEntry, draft_id).evidence_expiry["insured"]
        == (today() + timedelta(days=30)).isoformat()
    )


def test_who_may_see_and_change_is_unchanged(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, school_user = published(client, make, today() + timedelta(days=200))
    draft_id = int(
        client.post(f"/curate/entries/{entry_id}/new-version").location.rsplit("/", 1)[1]
    )
    school_admin = make.user(make.org("Oakfield Primary School"), role="admin")
    for user in (school_user, school_admin):
        school = school_client(client, user)
        assert (
            school.post(
                f"/curate/entries/{draft_id}/evidence-expiry",
                data={"question": "insured", "expires": "2030-01-01"},
            ).status_code
            == 403
        )
        assert school.get("/curate/?list=refresh").status_code == 403
        assert school.get(f"/directory/{draft_id}").status_code == 404  # a draft
    # The directory is the curators': another curator organisation's curator works on it.
    other = school_client(client, curator(make, "Southgate Data Protection"))
    saved = other.post(
        f"/curate/entries/{draft_id}/evidence-expiry",
        data={"question": "insured", "expires": "2030-01-01"},
    )
    assert saved.status_code == 302
    assert (
        other.post(
            "/curate/entries/999999/evidence-expiry",
            data={"question": "insured", "expires": "2030-01-01"},
        ).status_code
        == 404
    )
    dbs.rollback()
    assert dbs.get(DirectoryEntry, draft_id).evidence_expiry["insured"] == "2030-01-01"


def test_an_entry_from_before_dates_were_kept_is_never_stale(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    entry.evidence_expiry = None  # a row from before migration d2f6b8c4e1a7
    dbs.commit()
    assert "Safe Cloud" not in text_of(
        client.get("/curate/?list=refresh").get_data(as_text=True), "refresh"
    )
    assert "Evidence to refresh (0)" in text_of(
        client.get("/curate/").get_data(as_text=True), "workspace-lists"
    )
    with app.app_context():
        found = curation.workspace(db.session, "refresh", 1, today() + timedelta(days=3650))
        assert found.counts["refresh"] == 0


def test_the_api_says_when_an_entrys_evidence_expired(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    from .test_api import bearer, make_key

    entry_id, _ = published(client, make, today() + timedelta(days=200))
    school = make.org("Oakfield Primary School")
    key = bearer(make_key(app, school))
    api = app.test_client()
    assert api.get(f"/api/v1/directory/{entry_id}", headers=key).json["evidence_expired_on"] is None
    ran_out = today() - timedelta(days=5)
    run_out(dbs, entry_id, "ce_certificate", ran_out)
    (item,) = api.get("/api/v1/directory?q=safe", headers=key).json["items"]
    assert item["evidence_expired_on"] == ran_out.isoformat()
    detail = api.get(f"/api/v1/directory/{entry_id}?compare=true", headers=key).json
    finding = next(
        f for f in detail["comparison"]["findings"] if f["question_id"] == "ce_certificate"
    )
    assert finding["outcome"] == "not_met"
    assert finding["reason"] == f"The evidence expired on {words(ran_out)}"


def test_the_daily_job_re_rates_an_adoption_once_its_evidence_runs_out(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, _ = published(client, make, today() + timedelta(days=200))
    hillside = make.org("Hillside Primary")
    admin = make.user(hillside, role="admin")
    set_rule(app, hillside, admin, "expiring", "insured", INSURED)
    school_client(client, admin).post(f"/directory/{entry_id}/adopt")
    dbs.rollback()
    adoption = dbs.scalar(select(Adoption).where(Adoption.organisation_id == hillside.id))
    assert adoption is not None
    rated = adoption.rating
    # Ten days on, the insurance ran out yesterday.
    adoption.rated_at = utcnow() - timedelta(days=10)
    dbs.commit()
    run_out(dbs, entry_id, "insured", today() - timedelta(days=1))

    first = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "1 adopted directory entry re-rated: evidence expired" in first.output
    dbs.rollback()
    adoption = dbs.get(Adoption, adoption.id)
    assert (rated, adoption.rating) == ("green", "amber")  # a major rule not met
    again = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "re-rated" not in again.output
