"""The curated directory: the curator's flow, schools' search, each school's own
comparison, adoption, export, and who may see what."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Adoption, Answer, AuditEvent, DirectoryEntry, User, utcnow

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

DETAILS = {
    "product": "Cloudy Classroom",
    "category": "learning_platform",
    "summary": "Solid on security; slow breach notice.",
    "rating": "amber",
    "conditions": "Ask for 24-hour breach notice in the contract",
}


def curator(make: Factory) -> User:
    return make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")


def text_of(html: str, element_id: str) -> str:
    part = html.split(f'id="{element_id}"', 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", part.split("</table>")[0].split("</ul>")[0]).split())


def publish_from_submission(
    client: FlaskClient,
    make: Factory,
    answers: dict[str, Any] | None = None,
    supplier: str = "Cloudy Classroom Ltd",
    **details: str,
) -> tuple[int, Any]:
    """A school's consented submission turned into a published entry by a curator."""
    school_user = make.user(make.org(f"School {make_counter()}"))
    row, _ = make.submitted(
        school_user,
        answers=answers or {"breach_notice_hours": 72},
        consent=True,
        supplier_name=supplier,
    )
    login(client, curator(make))
    created = client.post(f"/curate/submissions/{row.id}", data={**DETAILS, **details})
    assert created.status_code == 302, created.get_data(as_text=True)
    entry_id = int(created.location.rstrip("/").rsplit("/", 1)[1])
    assert client.post(f"/curate/entries/{entry_id}/publish").status_code == 302
    return entry_id, row


_counter = iter(range(1, 10_000))


def make_counter() -> int:
    return next(_counter)


def test_the_curator_flow_from_consent_to_a_republished_version(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    school_user = make.user(make.org("Oakfield Primary School"), role="admin")
    consented, _ = make.submitted(
        school_user,
        answers={"breach_notice_hours": 72},
        consent=True,
        supplier_name="Cloudy Classroom Ltd",
    )
    private, _ = make.submitted(school_user, supplier_name="Private Supplier Ltd")
    curator_user = curator(make)
    login(client, curator_user)
    workspace = client.get("/curate/").get_data(as_text=True)
    queue = text_of(workspace, "queue")
    assert "Cloudy Classroom Ltd" in queue
    assert "Private Supplier Ltd" not in queue  # no consent, never in the queue
    assert client.get(f"/curate/submissions/{private.id}").status_code == 404

    missing = client.post(f"/curate/submissions/{consented.id}", data={**DETAILS, "product": ""})
    assert "Enter the product or service name" in missing.get_data(as_text=True)
    created = client.post(f"/curate/submissions/{consented.id}", data=DETAILS)
    assert created.status_code == 302
    entry_id = int(created.location.rsplit("/", 1)[1])
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    assert entry is not None
    assert (entry.status, entry.version, entry.listing_id) == ("draft", 1, entry_id)
    assert entry.answers["breach_notice_hours"] == 72
    assert "Cloudy Classroom Ltd" not in text_of(
        client.get("/curate/").get_data(as_text=True), "queue"
    )

    # A school never sees a draft.
    school = client.application.test_client()
    login(school, school_user)
    assert school.get(f"/directory/{entry_id}").status_code == 404
    assert "Cloudy Classroom" not in text_of(
        school.get("/directory/").get_data(as_text=True), "results"
    )

    assert client.post(f"/curate/entries/{entry_id}/publish").status_code == 302
    found = school.get("/directory/?q=cloudy").get_data(as_text=True)
    assert "Cloudy Classroom" in text_of(found, "results")

    # The source request changing later does not change the published entry.
    dbs.rollback()
    answer = dbs.scalar(
        select(Answer).where(
            Answer.request_id == consented.id, Answer.question_id == "breach_notice_hours"
        )
    )
    assert answer is not None
    answer.value = 1
    dbs.commit()
    dbs.rollback()
    assert dbs.get(DirectoryEntry, entry_id).answers["breach_notice_hours"] == 72

    # Past its review date it shows as overdue everywhere.
    dbs.rollback()
    stored = dbs.get(DirectoryEntry, entry_id)
    stored.review_due = utcnow().date() - timedelta(days=1)
    dbs.commit()
    assert "Cloudy Classroom" in text_of(
        client.get("/curate/?list=overdue").get_data(as_text=True), "overdue"
    )
    assert "Review overdue" in school.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert "Review overdue" in text_of(school.get("/directory/").get_data(as_text=True), "results")
    assert "Cloudy Classroom" in text_of(
        school.get("/directory/?freshness=overdue").get_data(as_text=True), "results"
    )
    assert school.post(f"/directory/{entry_id}/adopt").status_code == 302

    # Refresh: a new version, its answers changed, published with a change list.
    started = client.post(f"/curate/entries/{entry_id}/new-version")
    assert started.status_code == 302
    draft_id = int(started.location.rsplit("/", 1)[1])
    section = client.get(f"/curate/entries/{draft_id}/sections/breaches_retention").get_data(
        as_text=True
    )
    assert 'name="breach_notice_hours"' in section
    saved = client.post(
        f"/curate/entries/{draft_id}/sections/breaches_retention",
        data={**section_values(dbs, draft_id, "breaches_retention"), "breach_notice_hours": "24"},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert client.post(f"/curate/entries/{draft_id}/publish").status_code == 302
    dbs.rollback()
    old, new = dbs.get(DirectoryEntry, entry_id), dbs.get(DirectoryEntry, draft_id)
    assert (old.status, new.status, new.version, new.listing_id) == (
        "superseded",
        "published",
        2,
        entry_id,
    )
    assert new.changes == {"added": [], "changed": ["breach_notice_hours"], "removed": []}
    assert new.review_due > utcnow().date()
    page = client.get(f"/curate/entries/{draft_id}").get_data(as_text=True)
    assert "Changed: breach notice hours." in text_of(page, "versions")
    # The school's adoption follows the listing to its newest version.
    adoption = dbs.scalar(select(Adoption))
    assert adoption is not None and adoption.entry_id == draft_id
    assert school.get(f"/directory/{draft_id}").status_code == 200
    assert "Cloudy Classroom" not in text_of(
        school.get("/directory/?freshness=overdue").get_data(as_text=True), "results"
    )

    withdrawn = client.post(f"/curate/entries/{draft_id}/withdraw", data={"reason": ""})
    assert withdrawn.status_code == 302
    dbs.rollback()
    assert dbs.get(DirectoryEntry, draft_id).status == "published"  # a reason is required
    client.post(f"/curate/entries/{draft_id}/withdraw", data={"reason": "The company closed"})
    dbs.rollback()
    assert dbs.get(DirectoryEntry, draft_id).status == "withdrawn"
    # The adopting school still sees it, marked withdrawn; others cannot find it.
    adopted_view = school.get(f"/directory/{draft_id}").get_data(as_text=True)
    assert "Withdrawn from the directory" in adopted_view and "The company closed" in adopted_view
    assert "Cloudy Classroom" not in text_of(
        school.get("/directory/").get_data(as_text=True), "results"
    )
    other = client.application.test_client()
    login(other, make.user(make.org("Elm Tree Academy")))
    assert other.get(f"/directory/{draft_id}").status_code == 404

    actions = [
        e.action
        for e in dbs.scalars(select(AuditEvent).where(AuditEvent.actor_id == curator_user.id))
        if e.action not in ("signed_in", "signed_out")
    ]
    assert actions == [
        "entry_drafted",
        "entry_published",
        "entry_drafted",
        "entry_answers_saved",
        "entry_published",
        "entry_withdrawn",
    ]


def section_values(dbs: Session, entry_id: int, section_id: str) -> dict[str, Any]:
    """The draft's current answers for a section, as its form posts them."""
    from portal.questionnaire.forms import formdata_pairs
    from portal.services.platform.questionnaire_registry import definition_for

    dbs.rollback()
    entry = dbs.get(DirectoryEntry, entry_id)
    questionnaire = definition_for(entry.questionnaire_version)
    data: dict[str, Any] = {}
    for question in questionnaire.section(section_id).answerable:
        for name, value in formdata_pairs(question, entry.answers.get(question.id)):
            data.setdefault(name, []).append(value)
    return data


def test_each_school_sees_the_entry_against_its_own_requirements(
    client: FlaskClient, make: Factory
) -> None:
    entry_id, _ = publish_from_submission(client, make, answers={"breach_notice_hours": 48})
    strict = make.user(make.org("Strict Academy"), role="admin")
    relaxed = make.user(make.org("Relaxed Primary"), role="admin")
    strict_client = client.application.test_client()
    login(strict_client, strict)
    relaxed_client = client.application.test_client()
    login(relaxed_client, relaxed)
    relaxed_client.post(
        "/requirements/cloud_supplier/breach_notice_hours",
        data={"operator": "max", "value": "72", "severity": "major", "note": "72 hours is the law"},
    )
    strict_page = strict_client.get(f"/directory/{entry_id}").get_data(as_text=True)
    relaxed_page = relaxed_client.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert "Not met" in text_of(strict_page, "finding-breach_notice_hours")
    assert "At most 24 hours" in text_of(strict_page, "finding-breach_notice_hours")
    assert "Met" in text_of(relaxed_page, "finding-breach_notice_hours")
    assert "At most 72 hours" in text_of(relaxed_page, "finding-breach_notice_hours")
    # Gaps come first.
    first_row = re.search(r'<tr class="govuk-table__row" id="finding-([a-z_0-9]+)"', strict_page)
    assert first_row and first_row.group(1) == "breach_notice_hours"


def test_schools_search_and_filter_the_directory(client: FlaskClient, make: Factory) -> None:
    publish_from_submission(client, make, product="Cloudy Classroom", category="learning_platform")
    publish_from_submission(
        client,
        make,
        supplier="Tutor Labs Ltd",
        product="Tutor Bot",
        category="ai_tool",
        rating="red",
        summary="An AI tutor.",
    )
    school = client.application.test_client()
    login(school, make.user(make.org("Oakfield Primary School")))

    def names(query: str) -> set[str]:
        table = text_of(school.get(f"/directory/?{query}").get_data(as_text=True), "results")
        return {name for name in ("Cloudy Classroom", "Tutor Bot") if name in table}

    assert names("") == {"Cloudy Classroom", "Tutor Bot"}
    assert names("q=tutor") == {"Tutor Bot"}
    assert names("q=AI+TUTOR") == {"Tutor Bot"}  # the summary, any case
    assert names("q=%25") == set()  # a typed % matches itself only
    assert names("category=learning_platform") == {"Cloudy Classroom"}
    assert names("rating=red") == {"Tutor Bot"}
    assert names("questionnaire=it_support") == set()
    assert names("questionnaire=cloud_supplier&freshness=current") == {
        "Cloudy Classroom",
        "Tutor Bot",
    }


def test_adopting_puts_the_supplier_in_the_register_without_naming_other_adopters(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    entry_id, _ = publish_from_submission(client, make)
    first = make.user(make.org("Oakfield Primary School"), role="admin")
    second = make.user(make.org("Elm Tree Academy"), role="admin")
    one = client.application.test_client()
    login(one, first)
    two = client.application.test_client()
    login(two, second)
    assert one.post(f"/directory/{entry_id}/adopt").status_code == 302
    again = one.post(f"/directory/{entry_id}/adopt", follow_redirects=True).get_data(as_text=True)
    assert "adopted this entry on" in again
    page = two.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert "Oakfield" not in page
    assert "Adopt this assessment" in page
    register = load_workbook(io.BytesIO(one.get("/register.xlsx").data))["Register"]
    rows = [r for r in register.iter_rows(min_row=2, values_only=True)]
    assert [(r[1], r[3], r[9]) for r in rows] == [
        ("Cloudy Classroom Ltd", "Adopted from the directory", "Adopted")
    ]
    assert rows[0][7] == "Red"  # rated against Oakfield's own (baseline) rules
    viewer = client.application.test_client()
    login(viewer, make.user(make.org("Viewer School"), role="viewer"))
    assert viewer.post(f"/directory/{entry_id}/adopt").status_code == 403


def test_a_fresh_assessment_prefills_a_new_request(client: FlaskClient, make: Factory) -> None:
    entry_id, _ = publish_from_submission(client, make)
    school = client.application.test_client()
    login(school, make.user(make.org("Oakfield Primary School")))
    response = school.get(f"/directory/{entry_id}/fresh")
    assert response.status_code == 302
    form = school.get(response.location).get_data(as_text=True)
    assert 'value="Cloudy Classroom Ltd"' in form
    assert '<option value="cloud_supplier" selected>' in form
    assert "found Cloudy Classroom in the due-diligence directory" in form


def test_school_users_cannot_reach_curator_routes(client: FlaskClient, make: Factory) -> None:
    entry_id, row = publish_from_submission(client, make)
    for role in ("admin", "reviewer", "viewer"):
        school = client.application.test_client()
        login(school, make.user(make.org(f"School {role}"), role=role))
        for path in (
            "/curate/",
            f"/curate/submissions/{row.id}",
            f"/curate/entries/{entry_id}",
            "/curate/new",
        ):
            assert school.get(path).status_code == 403, (role, path)
        assert (
            school.post(f"/curate/entries/{entry_id}/withdraw", data={"reason": "x"}).status_code
            == 403
        )


def test_a_curator_authors_an_entry_from_public_documents(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    login(client, curator(make))
    no_sources = client.post(
        "/curate/new",
        data={**DETAILS, "supplier_name": "Open Maths Ltd", "questionnaire": "cloud_supplier"},
    )
    assert "List the public documents you used" in no_sources.get_data(as_text=True)
    created = client.post(
        "/curate/new",
        data={
            **DETAILS,
            "supplier_name": "Open Maths Ltd",
            "questionnaire": "cloud_supplier",
            "sources": "Privacy notice, 1 October 2026",
        },
    )
    assert created.status_code == 302
    entry_id = int(created.location.rsplit("/", 1)[1])
    empty = client.post(f"/curate/entries/{entry_id}/publish", follow_redirects=True)
    assert "Answer the questionnaire before publishing" in empty.get_data(as_text=True)
    saved = client.post(
        f"/curate/entries/{entry_id}/sections/breaches_retention",
        data={"breach_notice_hours": "soon"},
    )
    assert "Enter a number of hours" in saved.get_data(as_text=True)
    assert 'value="soon"' in saved.get_data(as_text=True)  # what was typed is kept
    client.post(
        f"/curate/entries/{entry_id}/sections/breaches_retention",
        data={"breach_notice_hours": "24"},
    )
    assert client.post(f"/curate/entries/{entry_id}/publish").status_code == 302
    school = client.application.test_client()
    login(school, make.user(make.org("Oakfield Primary School")))
    page = school.get(f"/directory/{entry_id}").get_data(as_text=True)
    assert "Filled in by the curator from the supplier's public documents" in page
    assert "Privacy notice, 1 October 2026" in page


def test_the_directory_workbook_for_schools_and_curators(
    client: FlaskClient, make: Factory, app: Any, tmp_path: Any
) -> None:
    published_id, _ = publish_from_submission(client, make, product="Cloudy Classroom")
    school_user = make.user(make.org("Another School Ltd"), role="admin")
    draft = make.user(make.org("Draft School"), role="admin")
    row, _ = make.submitted(draft, consent=True, supplier_name="Draft Supplier Ltd")
    client.post(f"/curate/submissions/{row.id}", data={**DETAILS, "product": "Draft Product"})

    def products(data: bytes) -> list[str]:
        book = load_workbook(io.BytesIO(data))
        return [
            r[1] for sheet in book.worksheets for r in sheet.iter_rows(min_row=3, values_only=True)
        ]

    curator_book = client.get("/directory/export.xlsx")
    assert curator_book.status_code == 200
    assert sorted(products(curator_book.data)) == ["Cloudy Classroom", "Draft Product"]
    school = client.application.test_client()
    login(school, school_user)
    assert products(school.get("/directory/export.xlsx").data) == ["Cloudy Classroom"]

    out = tmp_path / "directory.xlsx"
    result = app.test_cli_runner().invoke(args=["export-directory", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"1 entries written to {out}" in result.output
    assert products(out.read_bytes()) == ["Cloudy Classroom"]
    every = app.test_cli_runner().invoke(args=["export-directory", "--out", str(out), "--all"])
    assert "2 entries written" in every.output


def test_a_consented_screening_never_reaches_the_curator(
    client: FlaskClient, make: Factory
) -> None:
    school_user = make.user(make.org("Oakfield Primary School"))
    screening, _ = make.submitted(
        school_user, "dpia_screening", consent=True, supplier_name="Screened Tool Ltd"
    )
    login(client, curator(make))
    assert "Screened Tool Ltd" not in text_of(
        client.get("/curate/").get_data(as_text=True), "queue"
    )
    # Not by guessing its id either, to read or to draft from.
    assert client.get(f"/curate/submissions/{screening.id}").status_code == 404
    assert client.post(f"/curate/submissions/{screening.id}", data=DETAILS).status_code == 404


def test_an_entry_copies_only_the_answers_the_supplier_was_asked(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    school_user = make.user(make.org("Another School"))
    row, _ = make.submitted(
        school_user,
        answers={"hosting_location": "uk", "access_outside_uk": "no"},
        consent=True,
        supplier_name="Second Ltd",
    )
    # A stale answer to a question that UK hosting hides (transfers abroad).
    dbs.add(Answer(request_id=row.id, question_id="transfer_mechanism", value="idta"))
    dbs.commit()
    login(client, curator(make))
    created = client.post(f"/curate/submissions/{row.id}", data=DETAILS)
    assert created.status_code == 302
    dbs.rollback()
    entry = dbs.get(DirectoryEntry, int(created.location.rsplit("/", 1)[1]))
    assert entry is not None
    assert "transfer_mechanism" not in entry.answers
    assert entry.answers["hosting_location"] == "uk"


def test_a_curators_valid_answers_are_kept_when_another_in_the_section_is_wrong(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    """The curator's section saves as every other questionnaire does (the one
    rule in questionnaire/answerset.py): the good answer is stored, the wrong
    one stays on the page with its message and is not stored."""
    login(client, curator(make))
    created = client.post(
        "/curate/new",
        data={
            **DETAILS,
            "supplier_name": "Open Maths Ltd",
            "questionnaire": "cloud_supplier",
            "sources": "Privacy notice, 1 October 2026",
        },
    )
    entry_id = int(created.location.rsplit("/", 1)[1])
    page = client.post(
        f"/curate/entries/{entry_id}/sections/breaches_retention",
        data={"breach_notice_hours": "24", "deletion_days": "soon", "deletion_certificate": "yes"},
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="soon"' in text  # what was typed stays on the page
    assert 'id="deletion_days-error"' in text
    entry = dbs.get(DirectoryEntry, entry_id)
    assert entry is not None
    assert entry.answers == {"breach_notice_hours": 24, "deletion_certificate": "yes"}
