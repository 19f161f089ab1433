"""A request's answers read in one aggregated query are exactly the stored
answers, whatever their type (SQLite keeps a JSON column with numeric
affinity, so "72" comes back a number there and a string elsewhere)."""

from __future__ import annotations

import json
import math

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Answer, Request
from portal.questionnaire.examples import example_answers
from portal.services.requests import answering as responses

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import FEATURES_MAIN, Factory


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_stored_answers_match_the_rows_for_every_type(app: Flask, make: Factory) -> None:
    row, _ = make.request(make.user(), "cloud_supplier")
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        assert request is not None
        assert responses.stored_answers(db.session, request).values == {}
        questionnaire = responses.questionnaire_of(request)
        answers = example_answers(
            questionnaire,
            fixed={"supplier_name": "0123", "product_description": "1e3 \u00e9 \"quoted\" \\ line\nbreak",
                   "availability_percent": 99.95, "breach_notice_hours": 24},
        )  # fmt: skip
        responses.save_answers(
            db.session, request, answers, {"hosting_location": "Leeds and \u2603"}
        )
        db.session.commit()
        stored = responses.stored_answers(db.session, request)
        rows = db.session.query(Answer).filter_by(request_id=request.id).all()
        assert stored.values == {a.question_id: a.value for a in rows}
        assert stored.revisions == {a.question_id: a.revision for a in rows}
        assert stored.comments == {"hosting_location": "Leeds and \u2603"}
        assert stored.values["supplier_name"] == "0123"
        assert stored.values["availability_percent"] == 99.95
        assert isinstance(stored.values["breach_notice_hours"], int)
        assert isinstance(stored.values["sub_processors"], list)


# Issue 20, finding 6: numbers JSON, a float and a spreadsheet cannot hold are refused.
HOSTILE_NUMBERS = ["1e400", "9" * 400, "NaN", "Infinity", "-inf", "1e-400"]


@pytest.mark.parametrize("typed", HOSTILE_NUMBERS)
def test_a_hostile_number_is_refused_on_the_page_and_nothing_is_stored(
    client: FlaskClient, make: Factory, dbs: Session, typed: str
) -> None:
    row, link = make.request(make.user(), "features")
    client.get(link)
    page = client.post(
        f"/respond/{row.reference}/sections/main", data={**FEATURES_MAIN, "cover": typed}
    )
    assert page.status_code in (200, 409, 422)
    text = page.get_data(as_text=True)
    assert "Enter an amount in pounds" in text
    dbs.rollback()
    assert (
        dbs.scalar(select(Answer).where(Answer.request_id == row.id, Answer.question_id == "cover"))
        is None
    )
    # The request's pages still open.
    assert client.get(f"/respond/{row.reference}/check").status_code == 200


@pytest.mark.parametrize("typed", [*HOSTILE_NUMBERS, 1e308 * 10, 10**400])
def test_a_hostile_number_is_refused_by_the_api_and_nothing_is_stored(
    app: Flask, make: Factory, dbs: Session, typed: object
) -> None:
    from .test_api import token_of

    row, link = make.request(make.user(), "features")
    response = app.test_client().put(
        "/api/v1/supplier/answers/uptime",
        data=json.dumps({"value": typed, "revision": 0}) if not isinstance(typed, float)
        else '{"value": 1e400, "revision": 0}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_of(link)}"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Enter a percentage" in str(response.json["errors"])
    dbs.rollback()
    assert dbs.scalar(select(Answer).where(Answer.request_id == row.id)) is None


def test_minus_zero_is_stored_as_zero(client: FlaskClient, make: Factory, dbs: Session) -> None:
    row, link = make.request(make.user(), "features")
    client.get(link)
    client.post(f"/respond/{row.reference}/sections/main", data={**FEATURES_MAIN, "cover": "-0"})
    dbs.rollback()
    stored = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == "cover")
    )
    assert stored is not None and stored.value == 0
    assert math.copysign(1, stored.value) == 1  # 0, never -0


def test_nothing_non_finite_can_be_written_as_json(app: Flask) -> None:
    from portal.database import strict_json_dumps

    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        strict_json_dumps({"cover": float("inf")})
    with app.app_context(), pytest.raises(ValueError, match="not JSON compliant"):
        app.json.dumps({"uptime": float("nan")})
