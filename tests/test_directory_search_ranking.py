"""Directory search ranks, pages and marks the words, on SQLite (FTS5) and
PostgreSQL (tsvector): the best matches first, 50 a page with the total,
typed text never taken as query syntax, and the index in step with every
publication, withdrawal and supplier rename."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, text, update

from portal.extensions import db
from portal.models import DirectoryEntry, Supplier, User
from portal.services.directory import curation
from portal.services.directory.search import Search, excerpt, search_window

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login
from .test_api import bearer, make_key

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

Publish = Callable[..., int]


@pytest.fixture
def publish(app: Flask, make: Factory) -> Publish:
    """Publish an entry through the curator's own services; its id."""
    curator = make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")

    def published(
        product: str,
        supplier: str = "Acme Learning Ltd",
        summary: str = "A sound choice.",
        category: str = "learning_platform",
        rating: str = "green",
    ) -> int:
        with app.app_context():
            actor = db.session.get(User, curator.id)
            assert actor is not None
            entry = curation.draft_authored(
                db.session,
                actor,
                supplier,
                "cloud_supplier",
                curation.EntryDetails(
                    product, category, summary, rating, "", None, sources="https://example.org"
                ),
            )
            entry.answers = {"breach_notice_hours": 24}
            curation.publish(db.session, actor, entry)
            db.session.commit()
            return entry.id

    return published


@pytest.fixture
def school(client: FlaskClient, make: Factory) -> FlaskClient:
    login(client, make.user(make.org("Oakfield Primary School")))
    return client


def results(client: FlaskClient, **args: str) -> tuple[list[str], str]:
    """The products listed, in order, and the page's HTML."""
    page = client.get(f"/directory/?{urlencode(args)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    table = html.split('id="results"', 1)[1].split("</table>", 1)[0]
    products = re.findall(r'<a class="govuk-link" href="/directory/\d+">(.*?)</a>', table)
    return [re.sub(r"</?mark>", "", p) for p in products], html


def test_a_product_name_match_ranks_above_a_summary_match(
    school: FlaskClient, publish: Publish
) -> None:
    publish("Planner Pro", summary="Lesson plans; works with Kestrel sign-in.")
    publish("Alpha Reader", summary="Reading records.")
    publish("Kestrel Maths", summary="Times tables.")
    publish("Zebra Notes", supplier="Kestrel Software Ltd", summary="Notes.")

    listed, html = results(school, q="kestrel")
    # Product first, then the supplier's name, then the summary only.
    assert listed == ["Kestrel Maths", "Zebra Notes", "Planner Pro"]
    assert "3 entries found" in html
    # No words: every entry, by product name.
    assert results(school)[0] == ["Alpha Reader", "Kestrel Maths", "Planner Pro", "Zebra Notes"]


def test_several_words_all_count_and_a_word_finds_words_it_begins(
    school: FlaskClient, publish: Publish
) -> None:
    publish("Teams", supplier="Microsoft Ltd", summary="Video calls and chat.")
    publish("Teams Board", supplier="Other Ltd", summary="Staff rotas.")
    publish("Wordsmith", supplier="Microsoft Ltd", summary="Spelling for schools.")

    assert results(school, q="micro teams")[0] == ["Teams"]
    assert set(results(school, q="MICROSOFT")[0]) == {"Teams", "Wordsmith"}
    assert results(school, q="school spelling")[0] == ["Wordsmith"]  # schools, any ending
    assert results(school, q="teams rotas")[0] == ["Teams Board"]
    assert results(school, q="teams nowhere")[0] == []


@pytest.mark.parametrize(
    "typed",
    [
        '"unclosed',
        "NEAR(teams chat, 2)",
        "teams AND OR NOT chat",
        "team* ^teams -chat +x",
        "(teams) OR (chat",
        "product:teams",
        "' OR 1=1; --",
        "%_\\",
        "***",
        "Ünïcödé 東京 ½ ① café",
        "\u0000\u200b\ufeff",
        "teams " * 50,
        "x" * 300,
        "🙂" * 100,
    ],
)
def test_hostile_text_is_only_words_to_search_for(
    school: FlaskClient, publish: Publish, typed: str
) -> None:
    publish("Teams", summary="Video calls and chat.")
    page = school.get(f"/directory/?{urlencode({'q': typed})}")
    assert page.status_code == 200
    assert "entr" in page.get_data(as_text=True)


def test_operators_are_words_not_syntax(school: FlaskClient, publish: Publish) -> None:
    publish("Near Field", summary="Not a scanner.")
    publish("Teams", summary="Video calls and chat.")
    assert results(school, q="near")[0] == ["Near Field"]
    assert results(school, q='"not" NOT')[0] == ["Near Field"]
    assert results(school, q="NEAR(teams chat)")[0] == []  # near, teams and chat: no entry has all


def test_fifty_one_entries_page_with_a_total_keeping_the_filters(
    school: FlaskClient, publish: Publish
) -> None:
    for n in range(51):
        publish(f"Product {n:02}", summary="Cloud storage.", category="learning_platform")
    publish("Other", summary="Cloud storage.", category="ai_tool")

    first, html = results(school, q="cloud", category="learning_platform")
    assert len(first) == 50
    assert "Showing 1 to 50 of 51 entries" in html
    assert "51 entries found" in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html)
    assert next_link is not None
    href = next_link.group(1).replace("&amp;", "&")
    assert "category=learning_platform" in href and "q=cloud" in href
    second = school.get(href).get_data(as_text=True)
    assert "Showing 51 to 51 of 51 entries" in second
    listed, _ = results(school, q="cloud", category="learning_platform", page="2")
    assert len(listed) == 1 and listed[0] not in first
    assert "Other" not in first + listed
    # An address kept from a longer list shows the last page, with its total.
    kept, html = results(school, q="cloud", category="learning_platform", page="9")
    assert kept == listed and "Showing 51 to 51 of 51 entries" in html
    nothing, html = results(school, q="cloud", category="mis", page="3")
    assert nothing == [] and "0 entries found" in html


def test_filters_combine_with_the_words(school: FlaskClient, publish: Publish) -> None:
    publish("Tutor Bot", summary="An AI tutor.", category="ai_tool", rating="red")
    publish("Tutor Hub", summary="Tutoring rota.", category="ai_tool", rating="green")
    publish("Chat Tutor", summary="Parents' messages.", category="communication", rating="red")
    assert set(results(school, q="tutor", category="ai_tool")[0]) == {"Tutor Bot", "Tutor Hub"}
    assert set(results(school, q="tutor", rating="red")[0]) == {"Tutor Bot", "Chat Tutor"}
    assert results(school, q="tutor", rating="red", category="ai_tool")[0] == ["Tutor Bot"]
    assert results(school, q="tutor", freshness="overdue")[0] == []
    assert results(school, q="tutor", questionnaire="it_support")[0] == []


def test_matched_words_are_marked_and_supplier_text_stays_text(
    school: FlaskClient, publish: Publish
) -> None:
    publish(
        "<script>alert(1)</script> Safe Reader",
        supplier='Reader & Co "<b>Ltd</b>"',
        summary="Reads <img src=x onerror=alert(1)> aloud to readers.",
    )
    _, html = results(school, q="reader script img")
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html and "<b>Ltd</b>" not in html
    assert (
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; Safe <mark>Reader</mark>"
        in html
    )
    assert "<mark>Reader</mark> &amp; Co &#34;&lt;b&gt;Ltd&lt;/b&gt;&#34;" in html
    assert "&lt;<mark>img</mark> src=x onerror=alert(1)&gt; aloud to <mark>readers</mark>." in html


def test_a_long_summary_is_cut_to_the_fragment_around_the_match() -> None:
    summary = " ".join(f"word{n}" for n in range(100)) + " encryption " + "tail " * 100
    pieces = excerpt(summary, ["encrypt"])
    shown = "".join(text for text, _ in pieces)
    assert ("encryption", True) in pieces
    assert shown.startswith("… ") and shown.endswith(" …")
    assert len(shown) < 200
    assert "word0 " not in shown


def test_a_withdrawn_entry_never_appears(
    app: Flask, school: FlaskClient, publish: Publish, make: Factory
) -> None:
    kept = publish("Harbour Maths")
    gone = publish("Harbour Science")
    assert results(school, q="harbour")[0] == ["Harbour Maths", "Harbour Science"]
    with app.app_context():
        entry = db.session.get(DirectoryEntry, gone)
        assert entry is not None
        curation.withdraw(db.session, entry.created_by, entry, "Sold to another firm")  # type: ignore[arg-type]
        db.session.commit()
    assert results(school, q="harbour")[0] == ["Harbour Maths"]
    assert results(school)[0] == ["Harbour Maths"]
    # A new version supersedes the old one: only the new one is found.
    with app.app_context():
        current = db.session.get(DirectoryEntry, kept)
        assert current is not None and current.created_by is not None
        fresh = curation.new_version(db.session, current.created_by, current)
        fresh.product = "Harbour Maths Plus"
        curation.publish(db.session, current.created_by, fresh)
        db.session.commit()
    assert results(school, q="harbour")[0] == ["Harbour Maths Plus"]


def test_a_renamed_supplier_is_found_by_its_new_name(
    app: Flask, school: FlaskClient, publish: Publish
) -> None:
    entry_id = publish("Ledger", supplier="Oldname Finance Ltd")
    with app.app_context():
        supplier_id = db.session.get_one(DirectoryEntry, entry_id).supplier_id
        db.session.execute(
            update(Supplier).where(Supplier.id == supplier_id).values(name="Brightledger Ltd")
        )
        db.session.commit()
    assert results(school, q="brightledger")[0] == ["Ledger"]
    assert results(school, q="oldname")[0] == []


def test_the_search_page_costs_the_same_for_ten_or_sixty_entries(
    school: FlaskClient, publish: Publish, statements: list[str]
) -> None:
    def cost(**args: str) -> tuple[int, int]:
        statements.clear()
        listed, _ = results(school, **args)
        return len(statements), len(listed)

    for n in range(10):
        publish(f"Cloud Product {n:02}", summary="Cloud storage for schools.")
    few_words, few_shown = cost(q="cloud")
    few_all, _ = cost()
    for n in range(10, 60):
        publish(f"Cloud Product {n:02}", summary="Cloud storage for schools.")
    many_words, many_shown = cost(q="cloud")
    many_all, _ = cost()
    assert (few_shown, many_shown) == (10, 50)
    assert many_words == few_words
    assert many_all == few_all


def test_the_api_ranks_and_pages_by_cursor(
    app: Flask, client: FlaskClient, make: Factory, publish: Publish
) -> None:
    for n in range(5):
        publish(f"Falcon {n}", summary="Quiet storage.")
    publish("Quiet Room", summary="Falcon sign-in.")
    headers = bearer(make_key(app, make.org("Oakfield Primary School"), "read"))

    seen: list[str] = []
    cursor = None
    while True:
        query = {"q": "falcon", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/directory?{urlencode(query)}", headers=headers)
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        seen += [item["product"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen[:5] == [f"Falcon {n}" for n in range(5)]
    assert seen[5:] == ["Quiet Room"]  # a summary match comes after every product match
    bad = client.get("/api/v1/directory?cursor=not-ours", headers=headers)
    assert bad.status_code == 400
    hostile_query = urlencode({"q": 'NEAR("x'})
    hostile = client.get(f"/api/v1/directory?{hostile_query}", headers=headers)
    assert hostile.status_code == 200 and hostile.get_json()["items"] == []


def test_the_window_and_the_page_agree_on_the_order(app: Flask, publish: Publish) -> None:
    for product in ("Beta Cloud", "Alpha", "Cloud Gamma"):
        publish(product, summary="Cloud.")
    with app.app_context():
        entries = search_window(db.session, Search(text="cloud"), 0, 10)
        assert [e.product for e in entries] == ["Beta Cloud", "Cloud Gamma", "Alpha"]


def test_the_index_and_its_triggers_exist_at_head(app: Flask) -> None:
    """A later revision that recreates supplier or directory_entry on SQLite
    would drop these triggers: this says so before search goes stale."""
    with app.app_context():
        bind = db.session.get_bind()
        assert "directory_search" in inspect(bind).get_table_names()
        if bind.dialect.name == "sqlite":
            found = db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            wanted = {"added", "changed", "deleted"}
            assert {f"directory_search_entry_{w}" for w in wanted} <= set(found)
        else:
            found = db.session.scalars(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).all()
            assert {"directory_search_entry_changed"} <= set(found)
        assert "directory_search_supplier_renamed" in found


def test_postgresql_can_answer_from_the_gin_index(app: Flask, publish: Publish) -> None:
    """The index serves the prefix queries the search sends (at 5,000 rows
    the planner may still prefer a scan; ruled out here)."""
    publish("Teams", summary="Video calls.")
    with app.app_context():
        session = db.session
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the GIN index is PostgreSQL's")
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.scalars(
                text(
                    "EXPLAIN SELECT entry_id FROM directory_search "
                    "WHERE document @@ CAST(:words AS tsquery)"
                ),
                {"words": "'team':* & 'video':*"},
            )
        )
        assert "ix_directory_search_document" in plan, plan
