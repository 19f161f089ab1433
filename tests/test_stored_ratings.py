"""Ratings kept where they are read (issue 23): a trust's request rated for
each school it was made for, and an adopted directory entry rated for the
adopting school, stay current when that school's rules change, and the
register shows them without comparing on every view."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.cli import db_upgrade
from portal.extensions import db
from portal.models import Adoption, Organisation, Request, RequestOnBehalf, User
from portal.services.platform.questionnaire_registry import find_current
from portal.services.requirements import changes
from portal.services.requirements.profiles import RuleInput

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login
from .test_directory import publish_from_submission

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

STRICT = RuleInput("max", "30", "critical", False, "Our site team cannot cover a P1 outage.")


def set_rule(app: Flask, organisation: Organisation, admin: User, key: str, question: str,
             rule: RuleInput | None) -> None:  # fmt: skip
    with app.app_context():
        session = db.session
        questionnaire = find_current(session, key)
        school, actor = session.merge(organisation), session.merge(admin)
        if rule is None:
            changes.remove_rule(session, school, actor, questionnaire, question)
        else:
            changes.save_rule(session, school, actor, questionnaire, question, rule)
        session.commit()


def register_row(client: FlaskClient, supplier: str) -> str:
    page = client.get("/suppliers").get_data(as_text=True)
    table = page.split('id="supplier-register"', 1)[1]
    row = next(r for r in table.split("<tr") if supplier in r)
    return " ".join(row.split())


def test_a_trusts_request_is_rated_by_each_schools_own_rules_and_follows_them(
    app: Flask, make: Factory, dbs: Session
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        trust_row = db.session.get(Organisation, trust.id)
    strict = make.org("Hillside Primary", trust=trust_row)
    relaxed = make.org("Brookfield Academy", trust=trust_row)
    strict_admin = make.user(strict, role="admin")
    central = make.user(trust, role="admin")
    set_rule(app, strict, strict_admin, "it_support", "p1_response_minutes", STRICT)
    row, _ = make.submitted(
        central, "it_support", answers={"p1_response_minutes": 60},
        supplier_name="Slow Response IT", on_behalf_of=(strict.id, relaxed.id),
    )  # fmt: skip
    dbs.rollback()
    trusts_own = dbs.get(Request, row.id)
    assert trusts_own is not None and trusts_own.rating != "red"
    stored = {
        r.organisation_id: r
        for r in dbs.scalars(select(RequestOnBehalf).where(RequestOnBehalf.request_id == row.id))
    }
    assert stored[strict.id].rating == "red"  # a critical rule of its own not met
    assert stored[relaxed.id].rating == trusts_own.rating  # the same rules as the trust
    assert all(r.rated_at is not None for r in stored.values())

    school = app.test_client()
    login(school, strict_admin)
    assert "Red" in register_row(school, "Slow Response IT")

    # The school relaxes its rule: its rating of the trust's request follows at once.
    set_rule(app, strict, strict_admin, "it_support", "p1_response_minutes", None)
    dbs.rollback()
    again = dbs.scalar(
        select(RequestOnBehalf).where(
            RequestOnBehalf.request_id == row.id, RequestOnBehalf.organisation_id == strict.id
        )
    )
    assert again is not None and again.rating == trusts_own.rating
    assert "Red" not in register_row(school, "Slow Response IT")


def test_an_adopted_entry_is_rated_for_the_school_and_follows_its_rules(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    entry_id, _ = publish_from_submission(
        client, make, answers={"breach_notice_hours": 12}, supplier="Adopted Cloud Ltd"
    )
    school = make.org("Oakfield Primary School")
    admin = make.user(school, role="admin")
    client = app.test_client()
    login(client, admin)
    assert client.post(f"/directory/{entry_id}/adopt").status_code == 302
    dbs.rollback()
    adoption = dbs.scalar(select(Adoption).where(Adoption.organisation_id == school.id))
    assert adoption is not None and adoption.rated_at is not None
    before = adoption.rating
    assert before in {"green", "amber"}
    strict = RuleInput("max", "6", "critical", False, "We must hear of a breach within hours.")
    set_rule(app, school, admin, "cloud_supplier", "breach_notice_hours", strict)
    dbs.rollback()
    assert dbs.get(Adoption, adoption.id).rating == "red"
    assert "Red" in register_row(client, "Adopted Cloud Ltd")
    set_rule(app, school, admin, "cloud_supplier", "breach_notice_hours", None)
    dbs.rollback()
    assert dbs.get(Adoption, adoption.id).rating == before


def test_upgrading_the_database_rates_rows_from_before_ratings_were_kept(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    entry_id, _ = publish_from_submission(client, make, supplier="Legacy Cloud Ltd")
    school = make.org("Legacy School")
    client = app.test_client()
    login(client, make.user(school, role="admin"))
    assert client.post(f"/directory/{entry_id}/adopt").status_code == 302
    dbs.execute(update(Adoption).values(rating=None, rated_at=None))
    dbs.commit()
    result = app.test_cli_runner().invoke(db_upgrade, [])
    assert result.exit_code == 0, result.output
    assert "Rated 1 trust requests and adoptions" in result.output
    dbs.rollback()
    adoption = dbs.scalar(select(Adoption).where(Adoption.organisation_id == school.id))
    assert adoption is not None and adoption.rated_at is not None and adoption.rating is not None
