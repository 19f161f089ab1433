"""Saving answers as the supplier types (JSON), and two tabs that disagree."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import Answer, Request

from .factories import Factory


@pytest.fixture
def supplier(client: FlaskClient, make: Factory) -> tuple[FlaskClient, Request]:
    row, link = make.request(make.user(), questionnaire="features")
    assert client.get(link).status_code == 303
    return client, row


def stored(dbs: Session, row: Request) -> dict[str, tuple[Any, int]]:
    dbs.rollback()
    return {
        a.question_id: (a.value, a.revision)
        for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }


def autosave(client: FlaskClient, row: Request, section: str = "main", **payload: Any) -> Any:
    return client.post(f"/respond/{row.reference}/sections/{section}/autosave", json=payload)


def test_each_answer_saves_alone_and_invalid_ones_do_not_block_others(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    ok = autosave(client, row, answers={"certificate": "plus"})
    assert ok.status_code == 200
    assert ok.json["saved"] == ["certificate"]
    assert ok.json["revisions"] == {"certificate": 1}
    assert ok.json["shown"]["expiry"] is True  # the follow-up appears at once

    mixed = autosave(client, row, answers={"cover": "£2,000,000", "response_minutes": "a lot"})
    assert mixed.status_code == 422
    assert mixed.json["saved"] == ["cover"]
    assert mixed.json["errors"] == {
        "response_minutes": "Enter a number of minutes between 0 and 1440"
    }
    assert stored(dbs, row) == {"certificate": ("plus", 1), "cover": (2_000_000, 1)}

    again = autosave(client, row, answers={"cover": "2000000"})  # the same value
    assert again.status_code == 200
    assert stored(dbs, row)["cover"] == (2_000_000, 1)  # idempotent: no new revision

    comment = autosave(client, row, comments={"certificate": "Renewed yearly"})
    assert comment.status_code == 200
    dbs.rollback()
    answer = dbs.scalar(select(Answer).where(Answer.question_id == "certificate"))
    assert answer is not None
    assert answer.comment == "Renewed yearly"


def test_autosave_applies_the_same_logic_as_the_form(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    autosave(client, row, answers={"response_minutes": 60})
    refused = autosave(client, row, answers={"resolution_minutes": 30})
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "resolution_minutes": "The resolution target cannot be shorter than the response target"
    }
    autosave(client, row, answers={"certificate": "basic", "expiry": "2099-02-01"})
    hidden = autosave(client, row, answers={"certificate": "none"})
    assert hidden.json["shown"]["expiry"] is False
    assert "expiry" not in stored(dbs, row)  # dropped once hidden


def test_a_stale_revision_is_a_409_and_nothing_is_overwritten(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    first = autosave(
        client, row, answers={"response_minutes": 30}, revisions={"response_minutes": 0}
    )
    assert first.status_code == 200
    # Another tab, opened before that save, still thinks there is no answer.
    stale = autosave(
        client,
        row,
        answers={"response_minutes": 45, "cover": "100"},
        revisions={"response_minutes": 0, "cover": 0},
    )
    assert stale.status_code == 409
    assert "It now says: 30 minutes" in stale.json["conflicts"]["response_minutes"]
    assert stale.json["saved"] == ["cover"]
    assert stored(dbs, row)["response_minutes"] == (30, 1)
    assert stored(dbs, row)["cover"] == (100, 1)
    # Knowing the current revision, the supplier can overwrite on purpose.
    deliberate = autosave(
        client, row, answers={"response_minutes": 45}, revisions={"response_minutes": 1}
    )
    assert deliberate.status_code == 200
    assert stored(dbs, row)["response_minutes"] == (45, 2)


def test_a_stale_page_post_is_a_409_showing_both_values(
    supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    page = client.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)
    assert 'name="rev-response_minutes" value="0"' in page
    autosave(client, row, answers={"response_minutes": 30})  # the other tab
    response = client.post(
        f"/respond/{row.reference}/sections/main",
        data={
            "certificate": "none",
            "why_not": "Applying",
            "response_minutes": "45",
            "resolution_minutes": "60",
            "cover": "100",
            "rev-response_minutes": "0",
            "rev-cover": "0",
            "shown": ["certificate", "response_minutes", "resolution_minutes", "cover", "why_not"],
        },
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "It now says: 30 minutes" in text
    assert 'value="45"' in text  # ours stays on screen
    assert 'name="rev-response_minutes" value="1"' in text  # saving again overwrites on purpose
    assert stored(dbs, row)["response_minutes"] == (30, 1)
    assert stored(dbs, row)["cover"] == (100, 1)  # the rest did save


def test_autosave_needs_the_link_and_an_open_request(
    app: Flask, supplier: tuple[FlaskClient, Request], dbs: Session
) -> None:
    client, row = supplier
    stranger = app.test_client()
    assert autosave(stranger, row, answers={"cover": "1"}).status_code == 404
    assert autosave(client, row, answers="not an object").status_code == 400  # type: ignore[arg-type]
    stored_row = dbs.get(Request, row.id)
    assert stored_row is not None
    stored_row.status = "submitted"
    dbs.commit()
    assert autosave(client, row, answers={"cover": "1"}).status_code in (404, 409)


def test_concurrent_autosaves_from_several_tabs_all_land(
    app: Flask, make: Factory, dbs: Session
) -> None:
    """A real threaded server: eight saves at once on one request, none lost or failed."""
    import http.cookiejar
    import json
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from itertools import repeat

    from .conftest import real_server

    row, link = make.request(make.user(), questionnaire="features")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    saves = {
        "certificate": "plus",
        "response_minutes": "30",
        "resolution_minutes": "240",
        "cover": "5000",
        "uptime": "99.5",
        "why_not": "n/a",
        "certificate-comment": None,
        "expiry": "2099-03-01",
    }

    def save(base: str, item: tuple[str, Any]) -> int:
        qid, value = item
        payload = (
            {"comments": {"certificate": "tab two"}} if value is None else {"answers": {qid: value}}
        )
        request = urllib.request.Request(
            f"{base}/respond/{row.reference}/sections/main/autosave",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with opener.open(request) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    with real_server(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        opener.open(base + link).read()
        statuses = list(pool.map(save, repeat(base), saves.items()))
    assert 500 not in statuses
    saved = stored(dbs, row)
    for qid in (
        "certificate",
        "response_minutes",
        "resolution_minutes",
        "cover",
        "uptime",
        "why_not",
    ):
        assert qid in saved, (qid, statuses)


def only_sqlite(dbs: Session) -> None:
    # PostgreSQL holds the request's row from the start of an autosave, so no
    # other save can land in between (test_concurrent_autosaves... covers it).
    if dbs.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's check-then-write path; PostgreSQL locks the row throughout")


def test_a_save_that_lands_between_checking_and_writing_is_not_overwritten(
    supplier: tuple[FlaskClient, Request], dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An autosave checks as a reader, then takes the write lock: if another tab
    saved in that moment, it checks again under the lock."""
    only_sqlite(dbs)
    import portal.views.supplier as views
    from portal.extensions import start_writing

    client, row = supplier
    assert autosave(client, row, answers={"certificate": "plus"}).status_code == 200

    def another_tab_saves_first(session: Session) -> bool:
        dbs.rollback()
        answer = dbs.scalars(
            select(Answer).where(Answer.request_id == row.id, Answer.question_id == "certificate")
        ).one()
        answer.value, answer.revision = "basic", answer.revision + 1
        dbs.commit()
        return start_writing(session)

    monkeypatch.setattr(views, "start_writing", another_tab_saves_first)
    late = autosave(client, row, answers={"certificate": "none"}, revisions={"certificate": 1})
    assert late.status_code == 409
    assert "Someone changed this answer" in late.json["conflicts"]["certificate"]
    assert stored(dbs, row)["certificate"] == ("basic", 2)  # theirs kept, ours not written


def test_an_answer_added_and_another_removed_meanwhile_are_seen_under_the_lock(
    supplier: tuple[FlaskClient, Request], dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One answer removed and another added between checking and writing leave
    the count and the revisions as they were: the check still sees it."""
    only_sqlite(dbs)
    import portal.views.supplier as views
    from portal.extensions import start_writing

    client, row = supplier
    assert autosave(client, row, answers={"cover": "1000"}).status_code == 200

    def another_tab_swaps_answers(session: Session) -> bool:
        dbs.rollback()
        dbs.execute(delete(Answer).where(Answer.request_id == row.id))
        dbs.add(Answer(request_id=row.id, question_id="response_minutes", value=30))
        dbs.commit()
        return start_writing(session)

    monkeypatch.setattr(views, "start_writing", another_tab_swaps_answers)
    late = autosave(client, row, answers={"response_minutes": "45"})
    assert late.status_code == 200, late.json
    assert stored(dbs, row) == {"response_minutes": (45, 2)}


def test_a_submit_between_checking_and_writing_stops_the_save(
    supplier: tuple[FlaskClient, Request], dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal.views.supplier as views
    from portal.extensions import start_writing

    only_sqlite(dbs)
    client, row = supplier

    def submitted_meanwhile(session: Session) -> bool:
        dbs.rollback()
        dbs.get(Request, row.id).status = "submitted"
        dbs.commit()
        return start_writing(session)

    monkeypatch.setattr(views, "start_writing", submitted_meanwhile)
    late = autosave(client, row, answers={"certificate": "plus"})
    assert late.status_code == 409
    assert "submitted" in late.json["error"]
    assert stored(dbs, row) == {}
