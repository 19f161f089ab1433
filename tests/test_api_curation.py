"""The curator's work through the API (issue 29): the queue, a draft from a
consented submission, publish, withdraw (with a reason), a new version to
refresh. A school's key reaches none of it; a draft is the curator's alone."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from .factories import Factory
from .test_api import bearer, make_key

ENTRY = {
    "product": "Cloudy Classroom",
    "category": "learning_platform",
    "summary": "Hosted in the UK; 24-hour breach notice.",
    "rating": "green",
}


def test_a_curators_script_drafts_publishes_withdraws_and_refreshes_an_entry(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    curator = bearer(make_key(app, make.org("Northgate Data Protection", kind="curator")))
    school = make.org("Hillside Primary")
    consented, _ = make.submitted(make.user(school), "features", consent=True)
    private, _ = make.submitted(make.user(school), "features", supplier_name="Private Ltd")
    school_key = bearer(make_key(app, school))

    queue = client.get("/api/v1/curator/workspace", headers=curator).get_json()
    assert queue["shown"] == "queue" and queue["counts"]["queue"] == 1
    waiting = queue["submissions"][0]
    assert waiting["request_id"] == consented.id
    bad = client.post(waiting["draft"], json={**ENTRY, "category": "toys"}, headers=curator)
    assert bad.status_code == 422 and "category" in bad.get_json()["errors"]
    drafted = client.post(waiting["draft"], json=ENTRY, headers=curator)
    assert drafted.status_code == 201, drafted.get_json()
    entry = drafted.get_json()
    assert entry["status"] == "draft" and entry["answers"]
    # A draft is the curator's: schools do not see it.
    assert client.get(f"/api/v1/directory/{entry['id']}", headers=school_key).status_code == 404
    assert client.get(f"/api/v1/curator/entries/{entry['id']}", headers=curator).status_code == 200

    published = client.post(f"/api/v1/curator/entries/{entry['id']}/publish", headers=curator)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert client.get(f"/api/v1/directory/{entry['id']}", headers=school_key).status_code == 200
    again = client.post(f"/api/v1/curator/entries/{entry['id']}/publish", headers=curator)
    assert again.status_code == 409 and "Only a draft" in again.get_json()["detail"]

    no_reason = client.post(
        f"/api/v1/curator/entries/{entry['id']}/withdraw", json={"reason": ""}, headers=curator
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    withdrawn = client.post(
        f"/api/v1/curator/entries/{entry['id']}/withdraw",
        json={"reason": "The supplier changed hosting."}, headers=curator,
    )  # fmt: skip
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    fresh = client.post(f"/api/v1/curator/entries/{entry['id']}/refresh", headers=curator)
    assert fresh.status_code == 201
    assert fresh.get_json()["version"] == 2 and fresh.get_json()["status"] == "draft"
    drafts = client.get("/api/v1/curator/workspace?list=drafts", headers=curator).get_json()
    assert [e["id"] for e in drafts["entries"]] == [fresh.get_json()["id"]]

    # Nothing here is a school's to do, and an unshared submission is nobody's.
    assert client.get("/api/v1/curator/workspace", headers=school_key).status_code == 403
    assert client.post(waiting["draft"], json=ENTRY, headers=school_key).status_code == 403
    not_shared = client.post(
        f"/api/v1/curator/submissions/{private.id}/draft", json=ENTRY, headers=curator
    )
    assert not_shared.status_code == 404
    assert client.get("/api/v1/curator/workspace?list=nope", headers=curator).status_code == 400
