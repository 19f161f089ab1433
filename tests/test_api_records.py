"""A school's own records through the API (issue 29): its DfE standards
(read, plan, answer), its RACI chart (read, set a task) and its supplier
register (read, add, change, record a review); the pages' checks and
messages, 404 for another school, 403 for a read key or a trust's key."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from .factories import Factory
from .test_api import bearer, make_key
from .test_dpia import shipped

pytestmark = shipped


def test_the_standards_are_read_planned_and_answered_by_api(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    school = make.org("Hillside Primary")
    make.user(school, role="admin")
    key = bearer(make_key(app, school))
    listed = client.get("/api/v1/standards", headers=key).get_json()
    assert listed["questionnaire"] == "school_it_standards"
    first = listed["items"][0]
    assert first["status"] == "not_started" and first["answered"] == 0

    plan = {"target_date": "2027-03-31", "next_review_date": "2027-09-01"}
    planned = client.put(f"/api/v1/standards/{first['slug']}/plan", json=plan, headers=key)
    assert planned.status_code == 200
    assert planned.get_json()["target_date"] == "2027-03-31"
    bad_date = client.put(
        f"/api/v1/standards/{first['slug']}/plan", json={"target_date": "31st of never"},
        headers=key,
    )  # fmt: skip
    assert bad_date.status_code == 422 and "target_date" in bad_date.get_json()["errors"]
    assert client.put("/api/v1/standards/no-such-standard/plan", json=plan,
                      headers=key).status_code == 404  # fmt: skip

    answered = client.patch(
        "/api/v1/standards/answers",
        json={"answers": {"digital_lead_named": "yes", "registers_up_to_date": "banana"},
              "notes": {"digital_lead_named": "Amira Khan since September"}},
        headers=key,
    )  # fmt: skip
    assert answered.status_code == 422
    assert set(answered.get_json()["errors"]) == {"registers_up_to_date"}
    detail = client.get(f"/api/v1/standards/{first['slug']}", headers=key).get_json()
    item = next(q for q in detail["questions"] if q["question_id"] == "digital_lead_named")
    assert item["value"] == "yes" and item["note"] == "Amira Khan since September"
    unknown = client.patch("/api/v1/standards/answers", json={"answers": {"x": 1}}, headers=key)
    assert unknown.status_code == 422 and "x" in unknown.get_json()["errors"]
    reader = bearer(make_key(app, school, scope="read"))
    assert client.get("/api/v1/standards", headers=reader).status_code == 200
    assert client.patch("/api/v1/standards/answers", json={"answers": {}},
                        headers=reader).status_code == 403  # fmt: skip
    # Another school's standards are its own, untouched.
    other = bearer(make_key(app, make.org("Elm Tree Academy")))
    theirs = client.get(f"/api/v1/standards/{first['slug']}", headers=other).get_json()
    assert theirs["target_date"] is None
    assert all(q["value"] is None for q in theirs["questions"])


def test_a_raci_task_is_set_with_one_accountable_and_someone_responsible(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    school = make.org("Hillside Primary")
    key = bearer(make_key(app, school))
    chart = client.get("/api/v1/raci", headers=key).get_json()
    task = chart["tasks"][0]["question_id"]
    parties = [p["value"] for p in chart["parties"]]
    chosen = {"responsible": [parties[1]], "accountable": parties[0], "informed": [parties[2]]}
    done = client.put(f"/api/v1/raci/{task}", json=chosen, headers=key)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["customised"] is True and body["gaps"] == []
    assert len(body["accountable"]) == 1
    nobody = client.put(f"/api/v1/raci/{task}", json={**chosen, "accountable": ""}, headers=key)
    assert nobody.status_code == 422 and "accountable" in nobody.get_json()["errors"]
    stranger = client.put(
        f"/api/v1/raci/{task}", json={**chosen, "responsible": ["user:999999"]}, headers=key
    )
    assert stranger.status_code == 422
    assert client.put("/api/v1/raci/no_such_task", json=chosen, headers=key).status_code == 404


def test_the_register_is_read_added_to_changed_and_reviewed_by_api(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    school = make.org("Hillside Primary", trust=trust)
    key = bearer(make_key(app, school))
    added = client.post(
        "/api/v1/register",
        json={"supplier_name": "Shared Maths Ltd", "category": "", "data_held": "Names, classes"},
        headers=key,
    )
    assert added.status_code == 201, added.get_json()
    entry = added.get_json()
    assert entry["supplier"] == "Shared Maths Ltd" and entry["data_held"] == "Names, classes"
    sid = entry["supplier_id"]
    backwards = client.put(
        f"/api/v1/register/{sid}",
        json={"contract_start": "2027-01-01", "contract_end": "2026-01-01"}, headers=key,
    )  # fmt: skip
    assert backwards.status_code == 422
    assert (
        "The contract cannot end before it starts" in backwards.get_json()["errors"]["contract_end"]
    )
    reviewed = client.post(f"/api/v1/register/{sid}/review", headers=key)
    assert reviewed.status_code == 200
    today = date.today()
    assert reviewed.get_json()["last_reviewed_on"] == today.isoformat()
    assert reviewed.get_json()["next_review_date"].startswith(str(today.year + 1))
    page = client.get("/api/v1/register", headers=key).get_json()
    assert [e["supplier"] for e in page["items"]] == ["Shared Maths Ltd"] and page["total"] == 1

    # Another school: the supplier exists, but not in its register.
    other = bearer(make_key(app, make.org("Elm Tree Academy")))
    assert client.get("/api/v1/register", headers=other).get_json()["total"] == 0
    assert client.put(f"/api/v1/register/{sid}", json={}, headers=other).status_code == 404
    assert client.post(f"/api/v1/register/{sid}/review", headers=other).status_code == 404
    # The trust reads the school's register, and changes nothing in it.
    trusts = bearer(make_key(app, trust))
    read = client.get(f"/api/v1/register?school={school.id}", headers=trusts).get_json()
    assert read["total"] == 1
    assert client.post(f"/api/v1/register/{sid}/review?school={school.id}",
                       headers=trusts).status_code == 403  # fmt: skip


def test_standards_evidence_is_uploaded_read_and_removed_by_api(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    import io

    from .test_api import PDF

    school = make.org("Hillside Primary")
    key = bearer(make_key(app, school))
    up = client.post(
        "/api/v1/standards/evidence/digital_lead_named",
        data={"file": (io.BytesIO(PDF), "appointment.pdf")},
        content_type="multipart/form-data",
        headers=key,
    )
    assert up.status_code == 201, up.get_json()
    files = up.get_json()["files"]
    assert [f["filename"] for f in files] == ["appointment.pdf"]
    file_id = files[0]["id"]
    got = client.get(f"/api/v1/standards/evidence/files/{file_id}", headers=key)
    assert got.status_code == 200 and got.data == PDF
    assert "attachment" in got.headers["Content-Disposition"]
    listed = client.get("/api/v1/standards", headers=key).get_json()["items"]
    slug = next(s["slug"] for s in listed if s["name"].startswith("DfE digital leadership"))
    item = next(
        q
        for q in client.get(f"/api/v1/standards/{slug}", headers=key).get_json()["questions"]
        if q["question_id"] == "digital_lead_named"
    )
    assert [e["filename"] for e in item["evidence"]] == ["appointment.pdf"]
    # A program is refused by name; nothing is stored.
    bad = client.post(
        "/api/v1/standards/evidence/digital_lead_named",
        data={"file": (io.BytesIO(b"MZ..."), "setup.exe")},
        content_type="multipart/form-data",
        headers=key,
    )
    assert bad.status_code == 422 and "file" in bad.get_json()["errors"]
    assert client.post("/api/v1/standards/evidence/no_such_item", data={},
                       headers=key).status_code == 404  # fmt: skip
    # Another school neither reads nor removes it.
    other = bearer(make_key(app, make.org("Elm Tree Academy")))
    assert (
        client.get(f"/api/v1/standards/evidence/files/{file_id}", headers=other).status_code == 404
    )
    assert client.delete(f"/api/v1/standards/evidence/files/{file_id}",
                         headers=other).status_code == 404  # fmt: skip
    gone = client.delete(f"/api/v1/standards/evidence/files/{file_id}", headers=key)
    assert gone.status_code == 204
    assert client.get(f"/api/v1/standards/evidence/files/{file_id}", headers=key).status_code == 404
