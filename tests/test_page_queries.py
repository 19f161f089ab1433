"""A page's cost does not grow with the rows it lists: each page's SQL
statements are counted with a few rows and with many, and must be the same."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Organisation, User
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
        page = client.get("/curator/feedback")
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
