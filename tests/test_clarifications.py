"""The school queries some answers; the supplier changes only those and resubmits."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer, Clarification, Request

from .factories import DECLARATION, FEATURES_MAIN, Factory, link_path, login


def submitted_request(make: Factory, supplier: FlaskClient) -> tuple[Any, Request]:
    reviewer = make.user()
    row, link = make.request(reviewer, questionnaire="features")
    supplier.get(link)
    base = f"/respond/{row.reference}"
    assert supplier.post(f"{base}/sections/main", data=FEATURES_MAIN).status_code == 302
    more = supplier.post(
        f"{base}/sections/more",
        data={
            "uses_subprocessors": "no",
            "policy": (io.BytesIO(b"%PDF-1.7 x"), "p.pdf"),
            "shown": ["policy"],
        },
        content_type="multipart/form-data",
    )
    assert more.status_code == 302
    assert supplier.post(f"{base}/check", data=DECLARATION).status_code == 302
    return reviewer, row


def value(dbs: Session, row: Request, qid: str) -> Any:
    dbs.rollback()
    answer = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == qid)
    )
    return answer.value if answer else None


def test_a_clarification_round_from_question_to_resubmission(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    supplier = client.application.test_client()
    reviewer, row = submitted_request(make, supplier)
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Ask the supplier to clarify some answers" in page

    empty = client.post(f"/requests/{row.id}/clarify", data={"note-cover": "  "})
    assert "Write a note against at least one answer" in empty.get_data(as_text=True)
    asked = client.post(
        f"/requests/{row.id}/clarify", data={"note-cover": "Is this per claim or in total?"}
    )
    assert asked.status_code == 302
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "clarification"
    email = sent_mail[-1]
    assert "has questions about your answers" in email["subject"]
    assert "Is this per claim or in total?" in email["body"]
    new_link = link_path(email["body"])

    assert supplier.get(f"/respond/{row.reference}/").status_code == 404  # the old grant ended
    assert supplier.get(new_link).status_code == 303
    start = supplier.get(f"/respond/{row.reference}/").get_data(as_text=True)
    assert "Cyber insurance cover" in start
    assert "Is this per claim or in total?" in start

    section = supplier.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)
    assert 'name="cover"' in section and 'type="hidden" name="cover"' not in section
    assert (
        'type="hidden" name="response_minutes" value="30"' in section
    )  # read-only, posted unchanged

    changed = supplier.post(
        f"/respond/{row.reference}/sections/main",
        data={
            **FEATURES_MAIN,
            "cover": "2000000",
            "response_minutes": "5",
            "resolution_minutes": "10",
        },
    )
    assert changed.status_code == 302
    assert value(dbs, row, "cover") == 2000000
    assert value(dbs, row, "response_minutes") == 30  # not part of the round: unchanged
    sneaky = supplier.post(
        f"/respond/{row.reference}/sections/main/autosave",
        json={"answers": {"certificate": "plus"}},
    )
    assert sneaky.json["saved"] == []
    assert value(dbs, row, "certificate") == "basic"

    assert supplier.post(f"/respond/{row.reference}/check", data=DECLARATION).status_code == 302
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "resubmitted"
    item = dbs.scalar(select(Clarification))
    assert item is not None
    assert item.resolved_at is not None
    view = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Round 1: answered" in view
    assert "Clarification asked (round 1)" in view
    assert "Resubmitted" in view

    again = client.post(
        f"/requests/{row.id}/clarify", data={"note-certificate": "Which body issued it?"}
    )
    assert again.status_code == 302
    dbs.rollback()
    assert [c.round for c in dbs.scalars(select(Clarification).order_by(Clarification.id))] == [
        1,
        2,
    ]


def test_clarification_needs_a_submission_and_the_right_role(
    client: FlaskClient, make: Factory
) -> None:
    school = make.org()
    row, _ = make.request(make.user(school))
    login(client, make.user(school))
    early = client.post(f"/requests/{row.id}/clarify", data={"note-cover": "?"})
    assert "once the supplier has submitted" in early.get_data(as_text=True)
    viewer = client.application.test_client()
    login(viewer, make.user(school, role="viewer"))
    assert viewer.get(f"/requests/{row.id}/clarify").status_code == 403
