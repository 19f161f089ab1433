"""A trust's overview reads each school's stored summary (issue 23). A summary
stands while nothing it rests on changes; every change, whoever makes it,
is on the next view, and one made while a view was computing is never
hidden by that view's store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Organisation, Request, SchoolSummary, User
from portal.services.school import school_summary

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))


@dataclass
class Trust:
    trust: Organisation
    schools: list[Organisation]
    admins: list[User]
    central_admin: User
    central: FlaskClient
    staff: list[FlaskClient]


@pytest.fixture
def trust(app: Flask, make: Factory) -> Trust:
    found = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        trust_row = db.session.get(Organisation, found.id)
    schools = [make.org("Hillside Primary", trust=trust_row),
               make.org("Brookfield Academy", trust=trust_row)]  # fmt: skip
    admins = [make.user(school, role="admin") for school in schools]
    staff = []
    for admin in admins:
        client = app.test_client()
        login(client, admin)
        staff.append(client)
    central_admin = make.user(found, role="admin")
    central = app.test_client()
    login(central, central_admin)
    return Trust(found, schools, admins, central_admin, central, staff)


def overview(client: FlaskClient) -> str:
    page = client.get("/standards/schools")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def generations(dbs: Session) -> dict[int, tuple[int, int | None]]:
    dbs.rollback()
    return {
        row.organisation_id: (row.generation, row.stored_generation)
        for row in dbs.scalars(select(SchoolSummary))
    }


def without_nonce(page: str) -> str:
    """The page without what changes on every view: the script nonce, and the
    sign-out form's CSRF token (signed with the second it was made)."""
    page = re.sub(r'nonce="[^"]*"', "", page)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def section(page: str, marker: str) -> str:
    return " ".join(page.split(f'id="{marker}"', 1)[1].split("</table>", 1)[0].split())


# The progress table's columns after the school's name.
COLUMNS = ("lead", "met", "partly", "not met", "raci gaps", "suppliers", "overdue")


def school_row(page: str, name: str) -> dict[str, str]:
    row = section(page, "trust-schools").split(f">{name}</th>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="govuk-table__cell">(.*?)</td>', row)
    return dict(zip(COLUMNS, (re.sub(r"<[^>]+>", "", cell) for cell in cells), strict=True))


def test_a_second_view_reads_the_stored_summaries_not_each_schools_records(
    trust: Trust, make: Factory, dbs: Session, statements: list[str]
) -> None:
    for admin in trust.admins:
        make.request(admin, supplier_name="Shared Support Ltd")
    first = overview(trust.central)
    stored = generations(dbs)
    assert {s.id for s in trust.schools} <= set(stored)
    assert all(generation == kept for generation, kept in stored.values())

    statements.clear()
    second = overview(trust.central)
    assert without_nonce(second) == without_nonce(first)
    read = " ".join(statements)
    assert "FROM request" not in read and "FROM supplier_use" not in read
    assert "FROM assessment_answer" not in read and "FROM raci_entry" not in read
    assert "Shared Support Ltd" in section(second, "trust-shared")


def test_what_a_school_changes_is_on_the_trusts_next_view(
    trust: Trust, make: Factory, dbs: Session
) -> None:
    hillside, brookfield = trust.staff
    for admin in trust.admins:
        make.submitted(admin, "it_support", supplier_name="Shared Support Ltd")
    before = overview(trust.central)
    assert "Accepted" not in section(before, "trust-shared")
    assert "Nothing is overdue." in before

    # A decision at one school.
    row = dbs.scalar(select(Request).where(Request.organisation_id == trust.schools[0].id))
    assert row is not None
    next_year = (date.today() + timedelta(days=365)).isoformat()
    decided = hillside.post(
        f"/requests/{row.id}/decision",
        data={"outcome": "accepted", "reason": "Meets our needs", "next_review": next_year},
    )
    assert decided.status_code == 302
    shared = section(overview(trust.central), "trust-shared")
    assert shared.count("Accepted") == 1 and shared.count("Not decided") == 1

    # A supplier added to the other school's register; its standards answered.
    last_week = (date.today() - timedelta(days=7)).isoformat()
    brookfield.post(
        "/suppliers/add", data={"supplier_name": "Reading Cloud Ltd", "next_review_date": last_week}
    )
    brookfield.post(
        "/standards/sections/leadership", data={"digital_lead_named": "yes", "link_governor": "yes"}
    )
    page = overview(trust.central)
    overdue = section(page, "trust-overdue")
    assert "Brookfield Academy" in overdue and "Review Reading Cloud Ltd" in overdue
    row = school_row(page, "Brookfield Academy")
    assert row["suppliers"] == "2" and row["overdue"] == "1"
    assert row["met"].startswith("1 of")  # its first standard, now met


def test_a_trusts_request_made_for_its_schools_moves_theirs_on(
    trust: Trust, make: Factory, dbs: Session
) -> None:
    row, _ = make.submitted(
        trust.central_admin, "it_support", supplier_name="Trustwide IT Ltd",
        on_behalf_of=tuple(s.id for s in trust.schools),
    )  # fmt: skip
    page = overview(trust.central)
    assert "Trustwide IT Ltd" in section(page, "trust-shared")
    assert "Accepted" not in section(page, "trust-shared")
    before = generations(dbs)

    decided = trust.central.post(
        f"/requests/{row.id}/decision", data={"outcome": "accepted", "reason": "Good"}
    )
    assert decided.status_code == 302
    after = generations(dbs)
    assert all(after[s.id][0] > before[s.id][0] for s in trust.schools)
    shared = section(overview(trust.central), "trust-shared")
    assert shared.count("Accepted") == 2  # each school reads the trust's decision


def test_a_suppliers_autosaves_leave_the_summary_alone(
    trust: Trust, make: Factory, app: Flask, dbs: Session
) -> None:
    row, link = make.request(trust.admins[0], "it_support", supplier_name="Busy Supplier Ltd")
    supplier = app.test_client()
    assert supplier.get(link).status_code == 303
    first = supplier.post(
        f"/respond/{row.reference}/sections/about/autosave", json={"legal_name": "Busy Ltd"}
    )
    assert first.status_code == 200  # the first save starts the response: a new status
    overview(trust.central)
    before = generations(dbs)[trust.schools[0].id]
    for name in ("Busy Supplier Limited", "Busy Supplier Ltd"):
        saved = supplier.post(
            f"/respond/{row.reference}/sections/about/autosave", json={"legal_name": name}
        )
        assert saved.status_code == 200
    assert generations(dbs)[trust.schools[0].id] == before


def test_every_writer_moves_the_generation_on_even_without_the_portal(
    trust: Trust, make: Factory, dbs: Session
) -> None:
    """The database keeps the generations: a bulk delete, a cascade or a
    fix typed by hand is seen as surely as the services' changes."""
    school, other = trust.schools
    make.submitted(trust.admins[0], "it_support", supplier_name="Hand Edited Ltd")
    trust.staff[0].post("/suppliers/add", data={"supplier_name": "Register Only Ltd"})
    trust.staff[0].post("/standards/sections/leadership", data={"digital_lead_named": "no"})
    overview(trust.central)

    def moved(statement: str) -> bool:
        before = generations(dbs)
        dbs.execute(text(statement), {"school": school.id})
        dbs.commit()
        after = generations(dbs)
        assert after[other.id] == before[other.id]  # another school's stays
        return after[school.id][0] > before[school.id][0]

    assert moved("UPDATE supplier_use SET notes = 'x' WHERE organisation_id = :school")
    assert moved(
        "UPDATE assessment_answer SET note = 'x' WHERE assessment_id IN "
        "(SELECT id FROM assessment WHERE organisation_id = :school)"
    )
    assert moved(
        "INSERT INTO raci_entry (organisation_id, question_id, letter, party) "
        "VALUES (:school, 'digital_lead_named', 'A', 'headteacher')"
    )
    assert moved("DELETE FROM raci_entry WHERE organisation_id = :school")
    assert moved("UPDATE request SET status = 'accepted' WHERE organisation_id = :school")
    assert not moved(
        "UPDATE request SET lock_version = lock_version + 1 WHERE organisation_id = :school"
    )
    assert moved("DELETE FROM request WHERE organisation_id = :school")
    page = overview(trust.central)
    assert "Hand Edited Ltd" not in page


def test_the_database_keeps_a_trigger_on_every_table_a_summary_rests_on(
    app: Flask, dbs: Session
) -> None:
    """A later migration that rebuilds one of these tables must put its
    triggers back (SQLite drops them with the table)."""
    from importlib import import_module

    migration = import_module("migrations.versions.20261204_c4e8a2d6f0b1_school_summaries")
    tables = (*migration.OWNED, *migration.ASSESSMENT_PARTS, "request")
    if dbs.get_bind().dialect.name == "sqlite":
        rows = dbs.execute(
            text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
                 "AND name LIKE 'school_summary_%'")
        ).all()  # fmt: skip
        found = {(table, event) for table, sql in rows for event in ("INSERT", "UPDATE", "DELETE")
                 if f"AFTER {event}" in sql}  # fmt: skip
    else:
        rows = dbs.execute(
            text("SELECT event_object_table, event_manipulation FROM information_schema.triggers "
                 "WHERE trigger_name LIKE 'school_summary_%'")
        ).all()  # fmt: skip
        found = {(table, event) for table, event in rows}
    for table in tables:
        for event in ("INSERT", "UPDATE", "DELETE"):
            assert (table, event) in found, (table, event)
    assert ("questionnaire_version", "INSERT") in found
    assert ("supplier", "UPDATE") in found


def test_a_summary_computed_before_a_change_is_not_stored_over_it(
    trust: Trust, app: Flask, dbs: Session
) -> None:
    school = trust.schools[0]
    with app.app_context():
        session = db.session
        schools = [session.get(Organisation, s.id) for s in trust.schools]
        computed = school_summary.summaries(session, [s for s in schools if s is not None])
        assert len(computed.unsaved) == 2
        session.rollback()
        # Meanwhile the school adds a supplier (another connection, committed).
        trust.staff[0].post("/suppliers/add", data={"supplier_name": "Added Meanwhile Ltd"})
        school_summary.save(session, computed.unsaved)
        session.commit()
    stored = generations(dbs)
    assert stored[school.id][1] != stored[school.id][0]  # not kept: it predates the change
    assert stored[trust.schools[1].id][1] == stored[trust.schools[1].id][0]
    assert school_row(overview(trust.central), "Hillside Primary")["suppliers"] == "1"


def test_what_is_overdue_follows_the_date_not_the_stored_day(trust: Trust, app: Flask) -> None:
    today = date.today()
    trust.staff[0].post(
        "/suppliers/add",
        data={"supplier_name": "Due Today Ltd", "next_review_date": today.isoformat()},
    )
    assert "Nothing is overdue." in overview(trust.central)  # due today, not yet overdue
    with app.app_context():
        session = db.session
        schools = [session.get(Organisation, s.id) for s in trust.schools]
        tomorrow = school_summary.summaries(
            session, [s for s in schools if s is not None], today + timedelta(days=1)
        )
    assert len(tomorrow.unsaved) == 2  # yesterday's summaries are not used
    overdue = tomorrow.by_school[trust.schools[0].id].overdue
    assert [item.what for item in overdue] == ["Review Due Today Ltd"]
