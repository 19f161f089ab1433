"""Answer once, reuse: a supplier starts from its last submitted answers."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer, AuditEvent

from .factories import DECLARATION, FEATURES_MAIN, Factory


def test_a_supplier_starts_from_its_earlier_answers_and_confirms_them(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    first_school = make.user(make.org("Oakfield Primary"))
    old, old_link = make.request(first_school, questionnaire="features")
    client.get(old_link)
    base = f"/respond/{old.reference}"
    client.post(f"{base}/sections/main", data=FEATURES_MAIN)
    client.post(
        f"{base}/sections/more",
        data={
            "uses_subprocessors": "no",
            "policy": (io.BytesIO(b"%PDF-1.7 x"), "p.pdf"),
            "shown": ["policy"],
        },
        content_type="multipart/form-data",
    )
    assert client.post(f"{base}/check", data=DECLARATION).status_code == 302

    # Another school asks the same supplier (same email domain) the same questionnaire.
    other = make.user(make.org("Elm Tree Academy"))
    new, new_link = make.request(other, questionnaire="features", supplier_name="ACME IT")
    client.get(new_link)
    start = client.get(f"/respond/{new.reference}/").get_data(as_text=True)
    assert "You last submitted answers to this questionnaire on" in start
    assert "Oakfield" not in start

    copied = client.post(f"/respond/{new.reference}/reuse")
    assert copied.status_code == 302
    tasks = client.get(copied.location).get_data(as_text=True)
    assert "answers copied from your earlier questionnaire" in tasks
    dbs.rollback()
    answers = {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == new.id))
    }
    assert answers["cover"].value == 1000000
    assert answers["cover"].prefilled is True
    assert "policy" not in answers  # files are not copied
    reused = dbs.get(type(new), new.id)
    assert reused.status == "in_progress"
    events = dbs.scalars(select(AuditEvent).where(AuditEvent.request_id == new.id)).all()
    assert old.reference not in str([e.detail for e in events])  # another school's request

    check = client.get(f"/respond/{new.reference}/check").get_data(as_text=True)
    assert "check this answer from your earlier questionnaire, then save its section" in check
    page = client.get(f"/respond/{new.reference}/sections/main").get_data(as_text=True)
    assert "Copied from your earlier answers" in page
    confirm = client.post(
        f"/respond/{new.reference}/sections/main", data={**FEATURES_MAIN, "cover": "1500000"}
    )
    assert confirm.status_code == 302
    dbs.rollback()
    answers = {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == new.id))
    }
    assert answers["cover"].value == 1500000
    assert not any(a.prefilled for qid, a in answers.items() if qid in FEATURES_MAIN)

    # Once answers exist, the offer is gone.
    assert "Start from my earlier answers" not in client.get(f"/respond/{new.reference}/").get_data(
        as_text=True
    )


def test_no_offer_without_an_earlier_submission(client: FlaskClient, make: Factory) -> None:
    row, link = make.request(make.user(), questionnaire="features")
    client.get(link)
    assert "Start from my earlier answers" not in client.get(f"/respond/{row.reference}/").get_data(
        as_text=True
    )
    assert client.post(f"/respond/{row.reference}/reuse").status_code == 302
