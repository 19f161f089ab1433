"""A trust's central team across its schools (issue 29): each school's
records read only, every school's requests in one list, the same through the
API with the trust's key, and nothing of a school outside the trust, or of
one that has left it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Membership, Organisation, Request, RequestOnBehalf, User

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login
from .test_api import bearer, make_key

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))


@pytest.fixture
def trust(make: Factory) -> dict[str, Any]:
    """Riverside Learning Trust with two schools, each with a request;
    Oakfield (no trust) with one of its own."""
    trust = make.org("Riverside Learning Trust", kind="trust")
    academy = make.org("Riverside Academy", trust=trust)
    primary = make.org("Riverside Primary", trust=trust)
    oakfield = make.org("Oakfield Primary School")
    central = make.user(trust, role="admin", email="cfo@riverside.example")
    academy_head = make.user(academy, role="admin", email="head@academy.example")
    primary_head = make.user(primary, role="admin", email="head@primary.example")
    oak_head = make.user(oakfield, role="admin", email="head@oakfield.example")
    academy_request, _ = make.submitted(academy_head, supplier_name="Cloudy Classroom Ltd")
    primary_request, _ = make.request(primary_head, "it_support", supplier_name="Northern IT Ltd")
    oak_request, _ = make.submitted(oak_head, supplier_name="Oakfield Secret Supplier Ltd")
    return {
        "trust": trust, "academy": academy, "primary": primary, "oakfield": oakfield,
        "central": central, "academy_head": academy_head, "oak_head": oak_head,
        "academy_request": academy_request, "primary_request": primary_request,
        "oak_request": oak_request,
    }  # fmt: skip


def switch(client: FlaskClient, organisation: Organisation) -> None:
    response = client.post("/organisation", data={"organisation_id": organisation.id})
    assert response.status_code == 302


# --- The pages ------------------------------------------------------------------


def test_the_central_team_opens_a_schools_records_read_only(
    client: FlaskClient, trust: dict[str, Any]
) -> None:
    login(client, trust["central"])
    overview = client.get("/standards/schools").get_data(as_text=True)
    assert "Riverside Academy" in overview and "Open" in overview
    switch(client, trust["academy"])
    home = client.get("/").get_data(as_text=True)
    assert "View only" in home
    assert "as part of Riverside Learning Trust" in home
    assert "Riverside Academy (view only, through Riverside Learning Trust)" in home
    row = trust["academy_request"]
    page = client.get(f"/requests/{row.id}")
    assert page.status_code == 200 and "Cloudy Classroom Ltd" in page.get_data(as_text=True)
    for path in (
        "/standards",
        "/standards/raci",
        "/suppliers",
        "/dpias",
        f"/requests/{row.id}/report.pdf",
    ):
        assert client.get(path).status_code == 200, path
    # Reading only: deciding, sending and changing the standards are refused.
    assert (
        client.post(f"/requests/{row.id}/decision", data={"outcome": "accepted"}).status_code == 403
    )
    assert client.get("/requests/new").status_code == 403
    assert "New request" not in home


def test_the_trust_reads_nothing_of_a_school_outside_it(
    client: FlaskClient, trust: dict[str, Any]
) -> None:
    login(client, trust["central"])
    assert (
        client.post("/organisation", data={"organisation_id": trust["oakfield"].id}).status_code
        == 404
    )
    assert client.get(f"/trust/requests/{trust['oak_request'].id}").status_code == 404
    assert client.get(f"/requests/{trust['oak_request'].id}").status_code == 404
    listed = client.get("/trust/requests").get_data(as_text=True)
    assert "Oakfield" not in listed
    # And a school's own people see no trust pages and nothing of their sister school.
    other = client.application.test_client()
    login(other, trust["academy_head"])
    assert other.get("/trust/requests").status_code == 404
    assert (
        other.post("/organisation", data={"organisation_id": trust["primary"].id}).status_code
        == 404
    )
    assert other.get(f"/requests/{trust['primary_request'].id}").status_code == 404


def test_the_trust_wide_list_filters_by_school_status_rating_supplier_and_overdue(
    app: Flask, client: FlaskClient, trust: dict[str, Any], dbs: Session
) -> None:
    dbs.execute(
        update(Request).where(Request.id == trust["primary_request"].id)
        .values(due_date=date.today() - timedelta(days=3))
    )  # fmt: skip
    dbs.commit()
    login(client, trust["central"])

    def listed(**filters: str) -> set[str]:
        page = client.get("/trust/requests", query_string=filters)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        return {name for name in ("Cloudy Classroom Ltd", "Northern IT Ltd") if name in text}

    assert listed() == {"Cloudy Classroom Ltd", "Northern IT Ltd"}
    assert listed(school=str(trust["primary"].id)) == {"Northern IT Ltd"}
    assert listed(status="submitted") == {"Cloudy Classroom Ltd"}
    rating = dbs.get(Request, trust["academy_request"].id).rating
    assert rating
    assert listed(rating=rating) == {"Cloudy Classroom Ltd"}
    assert listed(supplier="northern") == {"Northern IT Ltd"}
    assert listed(overdue="yes") == {"Northern IT Ltd"}
    # A school outside the trust, typed into the address, filters nothing.
    assert listed(school=str(trust["oakfield"].id)) == {"Cloudy Classroom Ltd", "Northern IT Ltd"}
    page = client.get("/trust/requests").get_data(as_text=True)
    assert "Riverside Primary" in page and "Overdue" in page


def test_a_request_from_the_list_opens_in_its_school(
    client: FlaskClient, trust: dict[str, Any]
) -> None:
    login(client, trust["central"])
    row = trust["academy_request"]
    opened = client.get(f"/trust/requests/{row.id}")
    assert opened.status_code == 302 and opened.location == f"/requests/{row.id}"
    page = client.get(opened.location).get_data(as_text=True)
    assert "Cloudy Classroom Ltd" in page and "View only" in page
    back = client.post(
        "/organisation",
        data={"organisation_id": trust["trust"].id, "next": "/standards/schools"},
    )
    assert back.location == "/standards/schools"
    # A crafted next never leaves the site.
    away = client.post(
        "/organisation", data={"organisation_id": trust["trust"].id, "next": "//evil.example/"}
    )
    assert away.location == "/"


def test_a_school_that_leaves_the_trust_is_closed_to_it_at_once(
    app: Flask, client: FlaskClient, trust: dict[str, Any], dbs: Session
) -> None:
    login(client, trust["central"])
    switch(client, trust["academy"])
    row = trust["academy_request"]
    assert client.get(f"/requests/{row.id}").status_code == 200
    key = bearer(make_key(app, trust["trust"], scope="read"))
    school = trust["academy"].id
    assert (
        client.get(f"/api/v1/requests/{row.reference}?school={school}", headers=key).status_code
        == 200
    )

    done = app.test_cli_runner().invoke(args=["set-trust", "--org", "Riverside Academy", "--none"])
    assert done.exit_code == 0 and "in no trust now" in done.output

    # The same session, mid-visit: the school is gone from it.
    assert client.get(f"/requests/{row.id}").status_code == 404
    home = client.get("/").get_data(as_text=True)
    assert "Riverside Academy" not in home
    assert client.get(f"/trust/requests/{row.id}").status_code == 404
    assert (
        client.get(f"/api/v1/requests/{row.reference}?school={school}", headers=key).status_code
        == 404
    )
    listed = client.get("/api/v1/trust/requests", headers=key).get_json()
    assert [item["reference"] for item in listed["items"]] == [trust["primary_request"].reference]
    dbs.rollback()
    left = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "trust_changed")).all()
    assert {e.organisation_id for e in left} == {school, trust["trust"].id}


def test_a_schools_admin_may_give_a_trust_person_a_real_role(
    app: Flask, client: FlaskClient, trust: dict[str, Any], dbs: Session
) -> None:
    """The school's own membership stands instead of the view-only one."""
    dbs.add(Membership(user_id=trust["central"].id, organisation_id=trust["academy"].id,
                       role="reviewer"))  # fmt: skip
    dbs.commit()
    login(client, trust["central"])
    switch(client, trust["academy"])
    home = client.get("/").get_data(as_text=True)
    assert "View only" not in home and "Riverside Academy (reviewer)" in home
    assert client.get("/requests/new").status_code == 200


def test_the_set_trust_command_refuses_what_is_not_a_school_or_a_trust(
    app: Flask, trust: dict[str, Any]
) -> None:
    runner = app.test_cli_runner()
    not_trust = runner.invoke(
        args=["set-trust", "--org", "Riverside Academy", "--trust", "Oakfield Primary School"]
    )
    assert not_trust.exit_code == 2 and "Oakfield Primary School is not a trust" in not_trust.output
    joined = runner.invoke(
        args=[
            "set-trust",
            "--org",
            "Oakfield Primary School",
            "--trust",
            "Riverside Learning Trust",
        ]
    )
    assert joined.exit_code == 0 and "now in Riverside Learning Trust" in joined.output
    assert runner.invoke(args=["set-trust", "--org", "Oakfield Primary School"]).exit_code == 2


# --- The API --------------------------------------------------------------------


def test_a_trust_key_lists_its_schools_and_their_requests(
    app: Flask, client: FlaskClient, trust: dict[str, Any]
) -> None:
    key = bearer(make_key(app, trust["trust"], scope="read"))
    schools = client.get("/api/v1/trust/schools", headers=key).get_json()["items"]
    assert [s["name"] for s in schools] == ["Riverside Academy", "Riverside Primary"]
    page = client.get("/api/v1/trust/requests", headers=key).get_json()
    assert page["total"] == 2
    by_school = {item["organisation"]["name"]: item for item in page["items"]}
    assert set(by_school) == {"Riverside Academy", "Riverside Primary"}
    academy = by_school["Riverside Academy"]
    # Its links read it in its school.
    answers = client.get(academy["links"]["answers"], headers=key)
    assert (
        answers.status_code == 200
        and f"school={trust['academy'].id}" in academy["links"]["answers"]
    )
    only = client.get(
        "/api/v1/trust/requests", query_string={"school": trust["primary"].id}, headers=key
    ).get_json()
    assert [i["supplier"] for i in only["items"]] == ["Northern IT Ltd"]
    assert (
        client.get(
            "/api/v1/trust/requests", query_string={"school": trust["oakfield"].id}, headers=key
        ).status_code
        == 404
    )
    assert client.get("/api/v1/trust/requests?rating=purple", headers=key).status_code == 400


def test_a_trust_key_reads_but_never_writes_in_a_school(
    app: Flask, client: FlaskClient, trust: dict[str, Any]
) -> None:
    key = bearer(make_key(app, trust["trust"]))  # read and write: the trust's own
    row = trust["academy_request"]
    school = {"school": trust["academy"].id}
    for path in (f"/api/v1/requests/{row.reference}", f"/api/v1/requests/{row.reference}/findings",
                 f"/api/v1/requests/{row.reference}/export.xlsx", "/api/v1/requests",
                 "/api/v1/evidence/expiring", "/api/v1/register.xlsx"):  # fmt: skip
        assert client.get(path, query_string=school, headers=key).status_code == 200, path
    listed = client.get("/api/v1/requests", query_string=school, headers=key).get_json()
    assert [i["reference"] for i in listed["items"]] == [row.reference]
    decided = client.post(
        f"/api/v1/requests/{row.reference}/decision", query_string=school, headers=key,
        json={"outcome": "accepted", "reason": "From the trust"},
    )  # fmt: skip
    assert decided.status_code == 403
    # Without school=, the school's request is not the trust's: 404.
    assert client.get(f"/api/v1/requests/{row.reference}", headers=key).status_code == 404
    # Another school, or a school's key pretending to be a trust.
    oak = {"school": trust["oakfield"].id}
    assert client.get(f"/api/v1/requests/{trust['oak_request'].reference}", query_string=oak,
                      headers=key).status_code == 404  # fmt: skip
    school_key = bearer(make_key(app, trust["academy"]))
    primary = {"school": trust["primary"].id}
    assert (
        client.get("/api/v1/requests", query_string=primary, headers=school_key).status_code == 404
    )
    assert client.get("/api/v1/trust/schools", headers=school_key).status_code == 404
    assert client.get("/api/v1/requests?school=abc", headers=key).status_code == 404


def test_a_trust_sends_one_request_for_several_schools_by_api(
    app: Flask, client: FlaskClient, trust: dict[str, Any], dbs: Session
) -> None:
    key = bearer(make_key(app, trust["trust"]))
    body = {
        "supplier_name": "Shared Maths Ltd", "contact_name": "Ada", "contact_email": "ada@maths.example",
        "questionnaire": "cloud_supplier", "email_supplier": False,
        "on_behalf_of": [trust["academy"].id, trust["primary"].id],
    }  # fmt: skip
    made = client.post("/api/v1/requests", json=body, headers=key)
    assert made.status_code == 201, made.get_json()
    dbs.rollback()
    row = dbs.scalars(
        select(Request).where(Request.reference == made.get_json()["reference"])
    ).one()
    schools = dbs.scalars(
        select(RequestOnBehalf.organisation_id).where(RequestOnBehalf.request_id == row.id)
    ).all()
    assert set(schools) == {trust["academy"].id, trust["primary"].id}
    foreign = client.post(
        "/api/v1/requests", json={**body, "on_behalf_of": [trust["oakfield"].id]}, headers=key
    )
    assert foreign.status_code == 422 and "on_behalf_of" in foreign.get_json()["errors"]
    wrong = client.post("/api/v1/requests", json={**body, "on_behalf_of": ["x"]}, headers=key)
    assert wrong.status_code == 422 and "on_behalf_of" in wrong.get_json()["errors"]
    school_key = bearer(make_key(app, trust["academy"]))
    not_trust = client.post(
        "/api/v1/requests", json={**body, "on_behalf_of": [trust["primary"].id]}, headers=school_key
    )
    assert not_trust.status_code == 422
    assert "Only a trust" in not_trust.get_json()["errors"]["on_behalf_of"][0]


def test_the_trust_list_costs_the_same_statements_for_few_or_many_requests(
    app: Flask, client: FlaskClient, make: Factory, trust: dict[str, Any], statements: list[str]
) -> None:
    login(client, trust["central"])

    def cost() -> int:
        statements.clear()
        assert client.get("/trust/requests").status_code == 200
        return len(statements)

    cost()
    few = cost()
    for n in range(6):
        make.request(trust["academy_head"], supplier_name=f"Extra Supplier {n}")
    assert cost() == few


def test_every_page_of_a_trust_users_session_is_its_own(client: FlaskClient, make: Factory) -> None:
    """A person in two trusts sees each one's schools, and a school in both
    lists is never listed twice."""
    first = make.org("First Trust", kind="trust")
    second = make.org("Second Trust", kind="trust")
    make.org("First School", trust=first)
    make.org("Second School", trust=second)
    person = make.user(first, role="viewer", email="both@trusts.example")
    with client.application.app_context():
        from portal.extensions import db

        db.session.add(Membership(user_id=person.id, organisation_id=second.id, role="viewer"))
        db.session.commit()
    login(client, person)
    home = client.get("/").get_data(as_text=True)
    assert home.count("First School (view only, through First Trust)") == 1
    assert home.count("Second School (view only, through Second Trust)") == 1
    with client.application.app_context():
        from portal.extensions import db

        assert (
            db.session.scalar(select(User).where(User.email == "both@trusts.example")) is not None
        )
        # Nothing was stored for the view-only memberships.
        assert (
            len(db.session.scalars(select(Membership).where(Membership.user_id == person.id)).all())
            == 2
        )


def test_a_schools_admin_gives_a_trust_person_a_role_from_the_users_page(
    app: Flask, client: FlaskClient, trust: dict[str, Any], dbs: Session
) -> None:
    from portal.models import OutgoingEmail

    central = trust["central"]
    login(client, trust["academy_head"])
    page = client.get("/users").get_data(as_text=True)
    assert "Riverside Learning Trust's central team" in page
    assert "cfo@riverside.example" in page
    wrong = client.post(f"/users/trust/{central.id}/role", data={"role": "curator"},
                        follow_redirects=True)  # fmt: skip
    assert "Choose viewer, reviewer or admin" in wrong.get_data(as_text=True)
    given = client.post(f"/users/trust/{central.id}/role", data={"role": "reviewer"})
    assert given.status_code == 302
    dbs.rollback()
    roles = {
        m.organisation_id: m.role
        for m in dbs.scalars(select(Membership).where(Membership.user_id == central.id))
    }
    assert roles == {trust["trust"].id: "admin", trust["academy"].id: "reviewer"}
    told = dbs.scalars(select(OutgoingEmail).where(OutgoingEmail.to_address == central.email)).all()
    assert [m.subject for m in told] == ["You are now a reviewer in Riverside Academy"]
    assert (
        dbs.scalars(select(AuditEvent).where(AuditEvent.action == "trust_person_given_role"))
        .one()
        .organisation_id
        == trust["academy"].id
    )
    assert (
        "cfo@riverside.example"
        not in client.get("/users")
        .get_data(as_text=True)
        .split("central team", 1)[-1]
        .split("Signing in", 1)[0]
    )
    # The trust person now acts for the school as its reviewer.
    person = app.test_client()
    login(person, central)
    switch(person, trust["academy"])
    assert person.get("/requests/new").status_code == 200
    # Another school's admin cannot find them; nor anyone outside the trust.
    other = app.test_client()
    login(other, trust["oak_head"])
    assert other.post(f"/users/trust/{central.id}/role", data={"role": "admin"}).status_code == 404
    assert client.post(f"/users/trust/{trust['oak_head'].id}/role",
                       data={"role": "viewer"}).status_code == 404  # fmt: skip
