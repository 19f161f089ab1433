"""The school revokes, extends and reissues a supplier's link."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Request, utcnow

from .factories import Factory, link_path, login


def state(dbs: Session, row: Request) -> Request:
    dbs.rollback()
    found = dbs.get(Request, row.id)
    assert found is not None
    return found


def manage(client: FlaskClient, row: Request, **data: str) -> str:
    response = client.post(f"/requests/{row.id}/link", data=data)
    assert response.status_code == 302
    return client.get(response.location).get_data(as_text=True)


def test_revoke_then_reissue(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    reviewer = make.user()
    row, link = make.request(reviewer)
    login(client, reviewer)
    supplier = client.application.test_client()
    assert supplier.get(link).status_code == 303

    page = manage(client, row, action="revoke")
    assert "no longer works" in page
    assert "Revoked on" in page
    assert state(dbs, row).status == "revoked"
    assert supplier.get(f"/respond/{row.reference}/tasks").status_code == 404
    assert supplier.get(link).status_code == 404

    page = manage(client, row, action="reissue")
    assert "A new link has been emailed to sam@acme.example" in page
    new_link = link_path(sent_mail[-1]["body"])
    assert new_link != link
    assert new_link in page  # shown once to copy
    assert "Any earlier link no longer works" in sent_mail[-1]["body"]
    assert state(dbs, row).status == "sent"
    assert supplier.get(link).status_code == 404
    assert supplier.get(new_link).status_code == 303
    actions = [
        e.action
        for e in dbs.scalars(
            select(AuditEvent)
            .where(AuditEvent.request_id == row.id, AuditEvent.action != "link_opened")
            .order_by(AuditEvent.id)
        )
    ]
    assert actions[-3:] == ["status_changed", "status_changed", "link_reissued"]
    assert "New link sent" in page


def test_extend_an_expired_link(client: FlaskClient, make: Factory, dbs: Session) -> None:
    reviewer = make.user()
    row, link = make.request(reviewer)
    stored = state(dbs, row)
    stored.token_expires_at = utcnow() - timedelta(days=2)
    dbs.commit()
    assert client.get(link).status_code == 404
    login(client, reviewer)
    assert "Expired on" in client.get(f"/requests/{row.id}").get_data(as_text=True)

    page = manage(client, row, action="extend", days="14")
    expires = state(dbs, row).token_expires_at
    assert expires is not None
    assert timedelta(days=13, hours=23) < expires - utcnow() <= timedelta(days=14)
    assert "The link now works until" in page
    assert "Link extended to" in page
    assert client.application.test_client().get(link).status_code == 303

    refused = manage(client, row, action="extend", days="365")
    assert "Enter a number of days between 1 and 90" in refused


def test_viewers_cannot_manage_links(client: FlaskClient, make: Factory) -> None:
    school = make.org()
    row, _ = make.request(make.user(school))
    login(client, make.user(school, role="viewer"))
    assert client.post(f"/requests/{row.id}/link", data={"action": "revoke"}).status_code == 403
    assert "Manage the supplier" not in client.get(f"/requests/{row.id}").get_data(as_text=True)


def test_a_submitted_request_link_cannot_be_revoked(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    row, _ = make.request(reviewer)
    stored = state(dbs, row)
    stored.status = "submitted"
    dbs.commit()
    login(client, reviewer)
    page = manage(client, row, action="revoke")
    assert "Only a link of a request waiting for answers can be revoked" in page
    assert state(dbs, row).status == "submitted"


def test_link_lifetime_is_set_per_request(client: FlaskClient, make: Factory, dbs: Session) -> None:
    login(client, make.user())
    data = {
        "questionnaire": "it_support",
        "supplier_name": "Acme",
        "contact_name": "Sam",
        "contact_email": "sam@acme.example",
    }
    too_long = client.post("/requests/new", data={**data, "link_days": "365"})
    assert "Enter a number of days between 1 and 90" in too_long.get_data(as_text=True)
    assert client.post("/requests/new", data={**data, "link_days": "7"}).status_code == 302
    dbs.rollback()
    row = dbs.scalar(select(Request))
    assert row is not None
    assert row.token_expires_at is not None
    assert timedelta(days=6, hours=23) < row.token_expires_at - utcnow() <= timedelta(days=7)
