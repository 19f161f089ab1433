"""Curators publish questionnaire versions from workbooks (issue 24): a
published version is offered for new requests at once, by every app already
running, without a restart; requests sent before keep theirs; files and the
database never claim the same version with different content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.models import AuditEvent, QuestionnaireVersion, Request, VersionOrigin
from portal.questionnaire import questionnaire_from_snapshot
from portal.services.platform.questionnaire_registry import PublishedVersionChanged
from portal.services.platform.questionnaire_workbooks import workbook_of

from .conftest import TEST_QUESTIONNAIRES, app_config
from .factories import Factory, login

FEATURES = TEST_QUESTIONNAIRES / "features.toml"


@pytest.fixture
def folder(tmp_path: Path, app: Flask) -> Path:
    """A copy of the test definitions. (Using ``app`` empties the database
    after the test, for the apps these tests make themselves.)"""
    target = tmp_path / "questionnaires"
    shutil.copytree(TEST_QUESTIONNAIRES, target)
    return target


def app_on(database_url: str, tmp_path: Path, folder: Path, **kwargs: object) -> Flask:
    return create_app(
        app_config(database_url, tmp_path, QUESTIONNAIRE_FOLDER=str(folder)), **kwargs
    )


def edited_workbook(tmp_path: Path, version: int, old: str, new: str, **settings: str) -> Path:
    """The features questionnaire as a curator would change it: a label
    reworded and the version raised, saved as a workbook."""
    import tomllib

    snapshot = tomllib.loads(FEATURES.read_text(encoding="utf-8"))
    text = FEATURES.read_text(encoding="utf-8").replace(old, new)
    snapshot = tomllib.loads(text)
    snapshot["version"] = version
    snapshot.update(settings)
    path = tmp_path / f"features-v{version}.xlsx"
    path.write_bytes(workbook_of(questionnaire_from_snapshot(snapshot)))
    return path


def cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["questionnaires", *args])


def supplier_page(app: Flask, row: Request, link: str) -> str:
    client = app.test_client()
    assert client.get(link).status_code == 303
    return client.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)


def test_a_published_version_reaches_a_running_app_and_old_requests_keep_theirs(
    database_url: str, tmp_path: Path, folder: Path, dbs: Session
) -> None:
    first = app_on(database_url, tmp_path, folder)
    other_worker = app_on(database_url, tmp_path, folder)  # started before the publish
    author = Factory(first).user()
    old_row, old_link = Factory(first).request(author, questionnaire="features")

    workbook = edited_workbook(tmp_path, 2, "Response target", "Target time to respond")
    published = cli(first, "import", str(workbook), "--publish")
    assert published.exit_code == 0, published.output
    assert "Published: new requests use it from now on" in published.output

    new_row, new_link = Factory(other_worker).request(author, questionnaire="features")
    dbs.rollback()
    stored = dbs.get(QuestionnaireVersion, dbs.get(Request, new_row.id).questionnaire_version_id)
    assert stored is not None
    assert (stored.version, stored.origin) == (2, VersionOrigin.WORKBOOK)
    assert stored.published_at is not None
    assert "Target time to respond" in supplier_page(other_worker, new_row, new_link)
    old_page = supplier_page(other_worker, old_row, old_link)
    assert "Response target" in old_page and "Target time to respond" not in old_page

    listed = cli(other_worker, "list").output
    line = next(x for x in listed.splitlines() if x.startswith("features\t2\t"))
    assert "published" in line and "by the command line" in line
    assert any(
        x.startswith("features\t1\t") and "file features.toml" in x for x in listed.splitlines()
    )
    events = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "questionnaire_published"))
    assert [(e.detail["key"], e.detail["version"]) for e in events] == [("features", 2)]


def test_a_version_must_rise_and_keep_its_audience(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    app = app_on(database_url, tmp_path, folder)
    same = edited_workbook(tmp_path, 1, "Response target", "Respond within")
    refused = cli(app, "import", str(same), "--publish")
    assert refused.exit_code == 1
    assert (
        "The newest version of features is 1: give this one a higher version number"
        in refused.output
    )

    unchanged = tmp_path / "unchanged.xlsx"
    import tomllib

    unchanged.write_bytes(
        workbook_of(questionnaire_from_snapshot(tomllib.loads(FEATURES.read_text())))
    )
    again = cli(app, "import", str(unchanged), "--publish")
    assert again.exit_code == 1 and "is already published with exactly this content" in again.output

    other_audience = edited_workbook(tmp_path, 2, "Response target", "Respond within",
                                     audience="it_support")  # fmt: skip
    moved = cli(app, "import", str(other_audience), "--publish")
    assert moved.exit_code == 1 and "a new version keeps its audience" in moved.output


def test_a_file_and_a_published_version_may_not_claim_the_same_version(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    app = app_on(database_url, tmp_path, folder)
    workbook = edited_workbook(tmp_path, 2, "Response target", "Target time to respond")
    assert cli(app, "import", str(workbook), "--publish").exit_code == 0
    # A developer then ships a file with the same version and other content.
    text = (folder / "features.toml").read_text().replace("version = 1", "version = 2", 1)
    (folder / "features.toml").write_text(text.replace("Response target", "Respond by"))
    with pytest.raises(PublishedVersionChanged) as refused:
        app_on(database_url, tmp_path, folder)
    assert refused.value.problems == [
        "features.toml: a curator published features version 2 from a workbook with other "
        "content; give the file a new version number"
    ]


def test_a_retired_questionnaire_takes_no_new_requests(
    database_url: str, tmp_path: Path, folder: Path, dbs: Session
) -> None:
    app = app_on(database_url, tmp_path, folder)
    make = Factory(app)
    author = make.user(role="admin")
    row, link = make.request(author, questionnaire="features")
    assert cli(app, "retire", "features").exit_code == 0
    client = app.test_client()
    login(client, author)
    form = client.get("/requests/new").get_data(as_text=True)
    assert 'value="features"' not in form
    refused = client.post("/requests/new", data={
        "supplier_name": "Acme", "contact_name": "Sam", "contact_email": "sam@acme.example",
        "questionnaire": "features", "link_days": "30",
    })  # fmt: skip
    assert "Choose a questionnaire from the list" in refused.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalars(select(Request)).all() == [dbs.get(Request, row.id)]  # none sent
    assert "Response target" in supplier_page(app, row, link)  # sent before: still answerable
    assert "(retired)" in cli(app, "list").output
    assert cli(app, "retire", "features", "--restore").exit_code == 0
    assert 'value="features"' in client.get("/requests/new").get_data(as_text=True)
    dbs.rollback()
    actions = [e.action for e in dbs.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "questionnaire_retired" in actions and "questionnaire_restored" in actions


def test_two_gunicorn_workers_started_before_a_publish_both_send_the_new_version(
    database_url: str, tmp_path: Path, folder: Path, make: Factory, dbs: Session
) -> None:
    """Separate processes on loopback, each with the files it loaded at start:
    neither is restarted, and both send the version published after they started."""
    import json
    import urllib.request

    from .test_api import NEW_REQUEST, make_key
    from .test_rate_limits import server

    app = app_on(database_url, tmp_path, folder)
    key = make_key(app, Factory(app).org("Riverside Learning Trust", kind="trust"))
    settings = {"QUESTIONNAIRE_FOLDER": str(folder), "API_RATE_LIMIT": "100 per minute"}
    with (
        server(database_url, tmp_path, "memory://", **settings) as first,
        server(database_url, tmp_path, "memory://", **settings) as second,
    ):

        def send(base: str, supplier: str) -> dict[str, object]:
            call = urllib.request.Request(  # noqa: S310 (loopback)
                f"{base}/api/v1/requests",
                data=json.dumps({**NEW_REQUEST, "supplier_name": supplier}).encode(),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(call, timeout=20) as response:  # noqa: S310 (loopback)
                assert response.status == 201
                return dict(json.load(response))

        before = [send(base, f"Before {n}") for n, base in enumerate((first, second))]
        workbook = edited_workbook(tmp_path, 2, "Response target", "Target time to respond")
        assert cli(app, "import", str(workbook), "--publish").exit_code == 0
        after = [send(base, f"After {n}") for n, base in enumerate((first, second))]
    assert [b["questionnaire"]["version"] for b in before] == [1, 1]  # type: ignore[index]
    assert [a["questionnaire"]["version"] for a in after] == [2, 2]  # type: ignore[index]


def test_retiring_keeps_what_sent_requests_rest_on_and_publishing_it_is_refused(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    app = app_on(database_url, tmp_path, folder)
    make = Factory(app)
    admin = make.user(role="admin")
    assert cli(app, "retire", "features").exit_code == 0
    school = app.test_client()
    login(school, admin)
    # The school's rules for it still apply to requests sent before: still shown.
    assert school.get("/requirements/features").status_code == 200
    workbook = edited_workbook(tmp_path, 2, "Response target", "Target time to respond")
    refused = cli(app, "import", str(workbook), "--publish")
    assert refused.exit_code == 1
    assert "features is retired: offer it again on the questionnaires page first" in refused.output
