"""The DPIA and DPO-service API (issue 29): a school's script starts a DPIA
from a request, answers it, asks for advice and shares it; the DPO service's
script reads its caseload and gives advice; the school's person signs off.
Every rule of the pages holds: another organisation's is 404, a read key
cannot write, a key never signs a DPIA off, a withdrawn share is gone."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Dpia, Organisation, OutgoingEmail, Request, User
from portal.questionnaire.examples import example_answers

from .factories import Factory, login
from .test_api import bearer, make_key
from .test_dpia import DPIA, LOW_RISK, screened_high, shipped, sign_off

pytestmark = shipped


def started(
    client: FlaskClient, make: Factory, dbs: Session, key: dict[str, str], user: Any
) -> dict[str, Any]:
    _, cloud = screened_high(make, user, dbs)
    made = client.post(f"/api/v1/requests/{cloud.reference}/dpia", headers=key)
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"] == f"/api/v1/dpias/{made.get_json()['id']}"
    again = client.post(f"/api/v1/requests/{cloud.reference}/dpia", headers=key)
    assert again.status_code == 200 and again.get_json()["id"] == made.get_json()["id"]
    return made.get_json()


def finish(client: FlaskClient, key: dict[str, str], dpia: dict[str, Any]) -> dict[str, Any]:
    """Answer what is still unanswered, the register with a low risk left."""
    kept = {qid: a["value"] for qid, a in dpia["answers"].items() if qid != "risk_register"}
    values = example_answers(DPIA, fixed={**kept, "risk_register": LOW_RISK})
    changed = client.patch(
        f"/api/v1/dpias/{dpia['id']}/answers", json={"answers": values}, headers=key
    )
    assert changed.status_code == 200, changed.get_json()
    return changed.get_json()


def test_a_schools_script_writes_a_dpia_and_the_dpo_services_script_advises(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    service = make.org("Shire DPO Service", kind="curator")
    make.user(service, role="curator", email="jo@shire-dpo.example")
    dpo = bearer(make_key(app, service))
    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin", email="head@hillside.example")
    key = bearer(make_key(app, school))

    dpia = started(client, make, dbs, key, admin)
    assert dpia["status"] == "draft" and dpia["unanswered"]
    sourced = [a for a in dpia["answers"].values() if a["source"]]
    assert sourced  # prefilled from the supplier's answers, each saying where from

    # A wrong answer is refused by question id; the right one beside it is saved.
    bad = client.patch(
        f"/api/v1/dpias/{dpia['id']}/answers",
        json={"answers": {"retention": "Until the contract ends", "lawful_basis": "because"}},
        headers=key,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"lawful_basis"}
    detail = client.get(f"/api/v1/dpias/{dpia['id']}", headers=key).get_json()
    assert detail["answers"]["retention"]["value"] == "Until the contract ends"
    assert detail["answers"]["retention"]["source"] is None  # the school's own now
    unknown = client.patch(
        f"/api/v1/dpias/{dpia['id']}/answers", json={"answers": {"nope": 1}}, headers=key
    )
    assert unknown.status_code == 422 and "nope" in unknown.get_json()["errors"]

    early = client.post(f"/api/v1/dpias/{dpia['id']}/ask-for-advice", headers=key)
    assert early.status_code == 409 and "Answer every question" in early.get_json()["detail"]
    done = finish(client, key, detail)
    assert done["unanswered"] == [] and done["residual_level"] == "low"
    asked = client.post(f"/api/v1/dpias/{dpia['id']}/ask-for-advice", headers=key)
    assert asked.status_code == 200 and asked.get_json()["status"] == "awaiting_advice"
    locked = client.patch(
        f"/api/v1/dpias/{dpia['id']}/answers", json={"answers": {"retention": "x"}}, headers=key
    )
    assert locked.status_code == 409

    shared = client.post(
        f"/api/v1/dpias/{dpia['id']}/dpo-share", json={"message": "Enough?"}, headers=key
    )
    assert shared.status_code == 201 and shared.get_json()["dpo_service"] == "Shire DPO Service"
    dbs.rollback()
    told = dbs.scalars(
        select(OutgoingEmail).where(OutgoingEmail.to_address == "jo@shire-dpo.example")
    ).all()
    assert [m.subject for m in told] == ["Hillside Primary asks for your advice"]

    # The DPO service's script.
    cases = client.get("/api/v1/dpo/cases", headers=dpo).get_json()
    assert cases["total"] == 1 and cases["items"][0]["kind"] == "dpia"
    case = client.get(cases["items"][0]["link"], headers=dpo).get_json()
    assert case["school"] == "Hillside Primary" and case["message"] == "Enough?"
    assert case["dpia"]["risks"][0]["residual_level"] == "low"
    advice = {"dpo_name": "Jo Patel, Shire DPO Service", "advice": "Go ahead.",
              "advised_on": "2026-12-01"}  # fmt: skip
    no_ico = client.post(f"{cases['items'][0]['link']}/advice", json=advice, headers=dpo)
    assert no_ico.status_code == 422 and "ico" in no_ico.get_json()["errors"]
    given = client.post(
        f"{cases['items'][0]['link']}/advice", json={**advice, "ico": "no"}, headers=dpo
    )
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["dpia"]["status"] == "awaiting_approval"
    answered = client.get("/api/v1/dpo/cases?show=answered", headers=dpo).get_json()
    assert answered["total"] == 1
    assert client.get("/api/v1/dpo/cases", headers=dpo).get_json()["total"] == 0

    # The school reads the advice; a key cannot sign off; its headteacher can.
    mine = client.get(f"/api/v1/dpias/{dpia['id']}", headers=key).get_json()
    assert mine["advice"]["advice"] == "Go ahead." and mine["advice"]["advises_ico"] is False
    assert mine["dpo_share"]["answered_at"] is not None
    refused = client.post(f"/api/v1/dpias/{dpia['id']}/decision", json=sign_off(), headers=key)
    assert refused.status_code == 403
    person = app.test_client()
    login(person, admin)
    signed = person.post(f"/api/v1/dpias/{dpia['id']}/decision", json=sign_off())
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["sign_off"]["approved"] is True
    listed = client.get("/api/v1/dpias", headers=key).get_json()
    assert [i["status"] for i in listed["items"]] == ["approved"]


def test_nothing_of_a_dpia_reaches_another_organisation_or_a_read_key(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    service = make.org("Shire DPO Service", kind="curator")
    dpo = bearer(make_key(app, service))
    trust = make.org("Riverside Learning Trust", kind="trust")
    school = make.org("Hillside Primary", trust=trust)
    admin = make.user(school, role="admin")
    key = bearer(make_key(app, school))
    dpia = started(client, make, dbs, key, admin)
    path = f"/api/v1/dpias/{dpia['id']}"

    other = bearer(make_key(app, make.org("Elm Tree Academy")))
    assert client.get(path, headers=other).status_code == 404
    assert client.patch(f"{path}/answers", json={"answers": {}}, headers=other).status_code == 404
    assert client.post(f"{path}/dpo-share", json={}, headers=other).status_code == 404
    reader = bearer(make_key(app, school, scope="read"))
    assert client.get(path, headers=reader).status_code == 200
    assert client.patch(f"{path}/answers", json={"answers": {}}, headers=reader).status_code == 403
    assert client.post(f"{path}/dpo-share", json={}, headers=reader).status_code == 403
    # The trust reads it in its school, and changes nothing.
    trusts = bearer(make_key(app, trust))
    assert client.get(f"{path}?school={school.id}", headers=trusts).status_code == 200
    assert client.get(path, headers=trusts).status_code == 404
    assert (
        client.patch(f"{path}/answers?school={school.id}", json={"answers": {}}, headers=trusts)
        .status_code == 403
    )  # fmt: skip
    # The DPO service: a school's key is not one; nothing unshared is a case.
    assert client.get("/api/v1/dpo/cases", headers=key).status_code == 403
    assert client.get("/api/v1/dpo/cases", headers=dpo).get_json()["total"] == 0
    assert client.get(path, headers=dpo).status_code == 404


def test_a_request_shared_by_api_gets_the_dpo_services_comment_until_withdrawn(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    service = make.org("Shire DPO Service", kind="curator")
    dpo = bearer(make_key(app, service))
    school = make.org("Hillside Primary")
    key = bearer(make_key(app, school))
    row, _ = make.submitted(make.user(school), supplier_name="Cloudy Ltd")
    ref = row.reference
    assert client.get(f"/api/v1/requests/{ref}/feedback", headers=key).status_code == 404
    assert client.post(f"/api/v1/requests/{ref}/feedback", json={"message": "72h?"},
                       headers=key).status_code == 201  # fmt: skip
    twice = client.post(f"/api/v1/requests/{ref}/feedback", json={}, headers=key)
    assert twice.status_code == 409
    case = client.get("/api/v1/dpo/cases", headers=dpo).get_json()["items"][0]
    detail = client.get(case["link"], headers=dpo).get_json()
    assert detail["kind"] == "request" and detail["answers"]
    empty = client.post(f"{case['link']}/comments", json={"body": " "}, headers=dpo)
    assert empty.status_code == 422
    said = client.post(f"{case['link']}/comments", json={"body": "Ask for 24 hours."}, headers=dpo)
    assert said.status_code == 201
    share = client.get(f"/api/v1/requests/{ref}/feedback", headers=key).get_json()
    assert [c["body"] for c in share["comments"]] == ["Ask for 24 hours."]
    no_advice = client.post(f"{case['link']}/advice", json={"ico": "no"}, headers=dpo)
    assert no_advice.status_code == 409
    assert client.post(f"/api/v1/requests/{ref}/feedback/withdraw", headers=key).status_code == 200
    assert client.get(case["link"], headers=dpo).status_code == 404
    late = client.post(f"{case['link']}/comments", json={"body": "late"}, headers=dpo)
    assert late.status_code == 404
    dbs.rollback()
    assert dbs.scalars(select(Dpia)).all() == []


def test_the_dpia_list_costs_the_same_statements_for_one_or_many(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, statements: list[str]
) -> None:
    from portal.extensions import db
    from portal.services.school import dpia as dpias

    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin")
    key = bearer(make_key(app, school))

    def listed() -> tuple[int, int]:
        statements.clear()
        page = client.get("/api/v1/dpias?limit=2", headers=key).get_json()
        return len(statements), len(page["items"])

    def start_one(name: str) -> None:
        row, _ = make.submitted(admin, "cloud_supplier", supplier_name=name)
        with app.test_request_context():
            dpias.start_dpia(db.session, db.session.get(Organisation, school.id),
                             db.session.get(User, admin.id), db.session.get(Request, row.id))  # fmt: skip
            db.session.commit()

    start_one("First Ltd")
    listed()  # warm: the key's first use
    one, shown = listed()
    assert shown == 1
    for n in range(4):
        start_one(f"More {n} Ltd")
    many, shown = listed()
    assert shown == 2 and many == one
