"""A request's answers read in one aggregated query are exactly the stored
answers, whatever their type (SQLite keeps a JSON column with numeric
affinity, so "72" comes back a number there and a string elsewhere)."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.extensions import db
from portal.models import Answer, Request
from portal.questionnaire.examples import example_answers
from portal.services import responses

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory


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
