"""A page's cost does not grow with the rows it lists: each page's SQL
statements are counted with a few rows and with many, and must be the same."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import DirectoryEntry, Organisation, User
from portal.services.school import feedback

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))


def share_with_comments(
    app: Flask, make: Factory, school: Organisation, curator: User, comments: int
) -> None:
    admin = make.user(school, role="admin")
    row, _ = make.submitted(admin, supplier_name=f"{school.name} Supplier")
    with app.app_context():
        session = db.session
        found = feedback.share(
            session, session.merge(school), session.merge(admin), session.merge(row), ""
        )
        for n in range(comments):
            feedback.comment(session, session.merge(curator), found, f"Comment {n}")
        session.commit()


def test_the_curators_feedback_list_costs_the_same_for_few_or_many_shares(
    app: Flask, make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    curator = make.user(make.org("Data Protection Partners", kind="curator"), role="curator")
    login(client, curator)

    def listing() -> tuple[int, str]:
        statements.clear()
        # Each has comments: answered, so on the caseload's second list.
        page = client.get("/curator/feedback?show=answered")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    for n in range(2):
        share_with_comments(app, make, make.org(f"School {n}"), curator, comments=1)
    few, page = listing()
    assert "School 1 Supplier" in page
    for n in range(2, 12):
        share_with_comments(app, make, make.org(f"School {n}"), curator, comments=3)
    many, page = listing()
    assert "School 11 Supplier" in page
    assert many == few
    row = next(r for r in page.split("<tr") if "School 11 Supplier" in r)
    assert re.search(r'<td class="govuk-table__cell">3</td>', row)  # its comments, counted
    assert "Showing 1 to 12 of 12 shares" in page


def test_the_school_home_page_lists_fifty_requests_a_page_at_the_same_cost(
    make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    admin = make.user(role="admin")
    login(client, admin)

    def home(query: str = "") -> tuple[int, str]:
        statements.clear()
        page = client.get(f"/{query}")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    for n in range(3):
        make.request(admin, supplier_name=f"Early Supplier {n}")
    few, page = home()
    assert "Showing 1 to 3 of 3 requests" in page
    for n in range(60):
        make.request(admin, supplier_name=f"Later Supplier {n:02d}")
    many, page = home()
    assert many == few
    assert "Showing 1 to 50 of 63 requests" in page
    assert "Later Supplier 59" in page  # newest first
    assert "Early Supplier" not in page
    assert 'href="/?page=2"' in page
    _, second = home("?page=2")
    assert "Showing 51 to 63 of 63 requests" in second
    assert "Early Supplier 0" in second and "Later Supplier 59" not in second
    # A page past the end (an old bookmark) shows the last page, not an error.
    assert "Showing 51 to 63" in home("?page=9")[1]
    assert "Showing 1 to 50" in home("?page=nonsense")[1]


def test_the_school_home_page_filters_in_the_database_and_keeps_the_filter_in_its_pages(
    make: Factory, client: FlaskClient
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    for n in range(55):
        make.request(admin, supplier_name=f"Acme Cloud {n:02d}")
    make.request(admin, supplier_name="Brightboard Learning")
    make.submitted(admin, supplier_name="Acme Submitted Ltd")
    page = client.get("/?supplier=acme").get_data(as_text=True)
    assert "Showing 1 to 50 of 56 requests" in page
    assert "Brightboard" not in page.split('id="requests"')[1]
    assert 'href="/?supplier=acme&amp;page=2"' in page
    assert "Showing 51 to 56 of 56" in client.get("/?supplier=acme&page=2").get_data(as_text=True)
    submitted = client.get("/?status=submitted").get_data(as_text=True)
    assert "Showing 1 to 1 of 1 requests" in submitted
    assert "Acme Submitted Ltd" in submitted.split('id="requests"')[1]
    nothing = client.get("/?supplier=nobody").get_data(as_text=True)
    assert "No requests match these filters." in nothing
    # A status no list offers (edited by hand) filters nothing.
    assert "of 57 requests" in client.get("/?status=<script>").get_data(as_text=True)
    # Another school's requests never appear, whatever the filter.
    other = make.user(make.org("Elm Tree Academy"), role="admin")
    make.request(other, supplier_name="Acme Elsewhere")
    assert "Acme Elsewhere" not in client.get("/?supplier=acme&page=2").get_data(as_text=True)


def copies_of_entry(app: Flask, entry_id: int, count: int, **changes: Any) -> None:
    """``count`` more entries like a published one (rows written directly: the
    workspace lists them, it does not care how they were made)."""
    with app.app_context():
        session = db.session
        entry = session.get(DirectoryEntry, entry_id)
        assert entry is not None
        columns = [c.key for c in DirectoryEntry.__table__.columns if c.key != "id"]
        for n in range(count):
            copy = DirectoryEntry(**{c: getattr(entry, c) for c in columns})
            copy.product = f"Copied Product {n:03d}"
            copy.listing_id = None  # a listing of its own
            copy.source_request_id = None
            for name, value in changes.items():
                setattr(copy, name, value)
            session.add(copy)
        session.commit()


def test_the_curators_workspace_shows_one_list_a_page_at_a_time_at_the_same_cost(
    app: Flask, make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    from .test_directory import curator, publish_from_submission

    entry_id, _ = publish_from_submission(client, make, supplier="First Supplier Ltd")
    school = make.user(make.org("Consenting School"))
    make.submitted(school, consent=True, supplier_name="Queued Supplier 0")
    login(client, curator(make))

    def workspace(query: str = "") -> tuple[int, str]:
        statements.clear()
        page = client.get(f"/curate/{query}")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    few, page = workspace()
    assert "Queued Supplier 0" in page.split('id="queue"')[1]
    few_published, _ = workspace("?list=published")
    copies_of_entry(app, entry_id, 55)
    copies_of_entry(app, entry_id, 3, status="draft")
    for n in range(1, 4):
        make.submitted(school, consent=True, supplier_name=f"Queued Supplier {n}")
    make.submitted(school, supplier_name="Not Consenting Ltd")
    many, page = workspace()
    assert many == few
    lists = " ".join(
        re.sub(r"<[^>]+>", " ", page.split('id="workspace-lists"')[1].split("</ul>")[0]).split()
    )
    assert "Submissions shared with the directory (4)" in lists
    assert "Published (56)" in lists and "Drafts (3)" in lists and "Review overdue (0)" in lists
    assert "Not Consenting Ltd" not in page
    many_published, published = workspace("?list=published")
    assert many_published == few_published
    assert "Showing 1 to 50 of 56 entries" in published
    assert 'href="/curate/?list=published&amp;page=2"' in published
    _, second = workspace("?list=published&page=2")
    assert "Showing 51 to 56 of 56 entries" in second
    drafts = workspace("?list=drafts")[1].split('id="drafts"')[1].split("</table>")[0]
    assert drafts.count("Copied Product") == 3
    # An unknown list (an edited address) shows the queue.
    assert 'id="queue"' in workspace("?list=<b>")[1]


def test_the_supplier_register_pages_by_supplier_at_the_same_cost_whatever_the_history(
    make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    admin = make.user(role="admin")
    login(client, admin)

    def register(query: str = "") -> tuple[int, str]:
        statements.clear()
        page = client.get(f"/suppliers{query}")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    make.submitted(admin, supplier_name="Supplier A Ltd")
    make.request(admin, supplier_name="Supplier A Ltd")  # a newer request, not answered
    few, page = register()
    assert "Showing 1 to 1 of 1 suppliers" in page
    assert "Green" in page or "Amber" in page  # the answered one stands above the newer
    for n in range(55):
        make.request(admin, supplier_name=f"Supplier B{n:02d} Ltd")
    for _ in range(5):
        make.request(admin, supplier_name="Supplier A Ltd")  # more history, one supplier
    many, page = register()
    assert many == few
    assert "Showing 1 to 50 of 56 suppliers" in page
    assert "Supplier A Ltd" in page and "Supplier B48 Ltd" in page  # by name
    assert "Supplier B49 Ltd" not in page
    _, second = register("?page=2")
    assert "Showing 51 to 56 of 56 suppliers" in second and "Supplier B54 Ltd" in second


def test_the_trust_overview_costs_the_same_for_two_schools_or_six(
    app: Flask, make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        trust_row = db.session.get(Organisation, trust.id)
    login(client, make.user(trust, role="admin"))

    def school(n: int) -> None:
        found = make.org(f"Trust School {n}", trust=trust_row)
        admin = make.user(found, role="admin")
        with app.app_context():  # each school names its digital lead, shown on the page
            db.session.get(Organisation, found.id).digital_lead_id = admin.id
            db.session.commit()
        make.request(admin, supplier_name="Shared Supplier Ltd")
        make.request(admin, supplier_name=f"Own Supplier {n}")

    def overview() -> tuple[int, str]:
        statements.clear()
        page = client.get("/standards/schools")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    for n in range(2):
        school(n)
    few, page = overview()
    assert "Trust School 1" in page and "Shared Supplier Ltd" in page
    for n in range(2, 6):
        school(n)
    make.submitted(make.user(make.org("Trust School 0b", trust=trust_row)), supplier_name="X")
    many, page = overview()
    assert many == few
    assert "Trust School 5" in page and "Own Supplier 5" not in page  # only shared suppliers


def test_side_by_side_reads_answers_files_and_reviews_once_for_every_column(
    make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    admin = make.user(role="admin")
    rows = [make.submitted(admin, supplier_name=f"Column Supplier {n}")[0] for n in range(4)]
    login(client, admin)

    def reads(count: int) -> dict[str, int]:
        query = "&".join(f"request={row.id}" for row in rows[:count])
        statements.clear()
        page = client.get(f"/compare?{query}")
        assert page.status_code == 200
        assert f"Column Supplier {count - 1}" in page.get_data(as_text=True)
        return {
            table: sum(1 for s in statements if re.search(rf"\bFROM {table}\b", s))
            for table in ("answer", "evidence", "finding_review", "requirement_rule")
        }

    two, four = reads(2), reads(4)
    assert two == four
    assert two["answer"] == 1 and two["evidence"] == 1 and two["finding_review"] == 1


def test_the_compare_page_offers_each_questionnaires_newest_and_narrows_by_supplier(
    make: Factory, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.services.review import side_by_side

    monkeypatch.setattr(side_by_side, "CHOICES_SHOWN", 3)
    admin = make.user(role="admin")
    rows = [make.submitted(admin, supplier_name=f"Choice Supplier {n}")[0] for n in range(5)]
    make.submitted(admin, supplier_name="Brightboard Learning")
    login(client, admin)
    page = client.get("/compare").get_data(as_text=True)
    choices = page.split('id="compare-choices"')[1].split("</form>")[0]
    assert "(the 3 newest of 6: narrow them by supplier name)" in choices
    assert "Brightboard Learning" in choices and "Choice Supplier 4" in choices
    assert "Choice Supplier 0" not in choices
    narrowed = client.get("/compare?supplier=choice").get_data(as_text=True)
    assert "the 3 newest of 5" in narrowed and "Brightboard" not in narrowed.split("</form>")[0]
    # A request chosen earlier stays offered, and ticked, whatever its place.
    chosen = client.get(f"/compare?request={rows[0].id}&request={rows[4].id}")
    html = chosen.get_data(as_text=True)
    assert f'value="{rows[0].id}" checked' in html
    assert 'id="compare-matrix"' in html
    assert "No submitted answers from a supplier whose name holds" in client.get(
        "/compare?supplier=nobody"
    ).get_data(as_text=True)


def test_the_evidence_page_costs_the_same_for_one_supplier_or_many(
    make: Factory, client: FlaskClient, statements: list[str]
) -> None:
    """Suppliers -> Evidence (issue 26): its counts in one statement, a page
    of 50 pieces of evidence and their requests in a few, whatever the total."""
    admin = make.user(role="admin")
    login(client, admin)

    def evidence(query: str = "") -> tuple[int, str]:
        statements.clear()
        page = client.get(f"/suppliers/evidence{query}")
        assert page.status_code == 200
        return len(statements), page.get_data(as_text=True)

    make.submitted(admin, supplier_name="Supplier A Ltd")
    few, page = evidence()
    shown = int(re.search(r"of (\d+) pieces of evidence", page).group(1))  # type: ignore[union-attr]
    assert shown >= 2
    for n in range(18):
        make.submitted(admin, supplier_name=f"Supplier B{n:02d} Ltd")
    many, page = evidence()
    total = int(re.search(r"of (\d+) pieces of evidence", page).group(1))  # type: ignore[union-attr]
    assert total == shown * 19 and total > 50
    assert many == few
    assert f"Showing 1 to 50 of {total}" in page
