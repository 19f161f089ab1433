"""Published questionnaire versions are immutable, and a request keeps the
version it was sent with; a new file works without a code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.services.platform.questionnaire_registry import PublishedVersionChanged

from .conftest import TEST_QUESTIONNAIRES, app_config
from .factories import DECLARATION, Factory, login


@pytest.fixture
def folder(tmp_path: Path, app: Flask) -> Path:
    """A copy of the test definitions to change. (Using ``app`` empties the
    database after the test, for the apps these tests make themselves.)"""
    target = tmp_path / "questionnaires"
    shutil.copytree(TEST_QUESTIONNAIRES, target)
    return target


def app_on(database_url: str, tmp_path: Path, folder: Path, **kwargs: object) -> Flask:
    return create_app(
        app_config(database_url, tmp_path, QUESTIONNAIRE_FOLDER=str(folder)), **kwargs
    )


def relabel(path: Path, old: str, new: str, version: int | None = None) -> None:
    text = path.read_text().replace(old, new)
    if version is not None:
        text = text.replace("version = 1", f"version = {version}", 1)
    path.write_text(text)


def test_a_request_keeps_its_version_after_the_file_changes(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    first = app_on(database_url, tmp_path, folder)
    make = Factory(first)
    author = make.user()
    old_row, old_link = make.request(author, questionnaire="features")

    relabel(folder / "features.toml", "Response target", "Target time to respond", version=2)
    second = app_on(database_url, tmp_path, folder)
    client = second.test_client()
    client.get(old_link)
    page = client.get(f"/respond/{old_row.reference}/sections/main").get_data(as_text=True)
    assert "Response target" in page
    assert "Target time to respond" not in page

    new_row, new_link = Factory(second).request(author, questionnaire="features")
    client.get(new_link)
    page = client.get(f"/respond/{new_row.reference}/sections/main").get_data(as_text=True)
    assert "Target time to respond" in page


def test_changed_content_with_the_same_version_refuses_to_start(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    first = app_on(database_url, tmp_path, folder)
    Factory(first).request(Factory(first).user(), questionnaire="features")  # publishes v1
    relabel(folder / "features.toml", "Response target", "Respond within")

    with pytest.raises(PublishedVersionChanged) as refused:
        app_on(database_url, tmp_path, folder)
    assert refused.value.problems == [
        "features.toml: features version 1 has changed since it was published; give it a new version number"
    ]

    reporting = app_on(database_url, tmp_path, folder, check_published=False)
    result = reporting.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert result.exit_code == 1
    assert result.output.strip() == refused.value.problems[0]

    relabel(folder / "features.toml", "version = 1", "version = 2")
    fixed = app_on(database_url, tmp_path, folder)
    result = fixed.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert result.exit_code == 0
    assert "5 questionnaire(s) OK" in result.output  # the tests folder holds five


def test_check_lists_every_problem_of_a_broken_file(
    database_url: str, tmp_path: Path, folder: Path, app: Flask
) -> None:
    (folder / "broken.toml").write_text(
        'key = "broken"\nversion = 1\ntitle = "Broken"\naudience = "cloud"\n'
        '[[sections]]\nid = "s"\ntitle = "S"\n'
        '[[sections.questions]]\nid = "a"\nlabel = "A"\ntype = "yes_no"\nshow_if = "nope == \'yes\'"\n'
        '[[sections.questions]]\nid = "a"\nlabel = "Again"\ntype = "text"\n'
        '[[sections.questions]]\nid = "c"\nlabel = "C"\ntype = "colour"\n'
    )
    app.config["QUESTIONNAIRE_FOLDER"] = str(folder)
    result = app.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "broken.toml: question a: duplicate id",
        "broken.toml: question c: unknown type 'colour'",
    ]
    (folder / "broken.toml").write_text(
        (folder / "broken.toml")
        .read_text()
        .replace('id = "a"\nlabel = "Again"', 'id = "b"\nlabel = "Again"')
        .replace('type = "colour"', 'type = "text"')
    )
    result = app.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert result.output.splitlines() == [
        "broken.toml: question a: show_if: unknown question id 'nope' (at character 1)"
    ]
    with pytest.raises(Exception, match="unknown question id 'nope'"):
        app_on(database_url, tmp_path, folder)


def test_a_new_file_works_without_a_code_change(
    database_url: str, tmp_path: Path, folder: Path
) -> None:
    (folder / "catering.toml").write_text(
        'key = "catering"\nversion = 1\ntitle = "Catering supplier checks"\naudience = "cloud"\n'
        'description = "For the kitchen contractor."\n'
        '[[sections]]\nid = "food"\ntitle = "Food safety"\n'
        '[[sections.questions]]\nid = "hygiene_rating"\nlabel = "Food hygiene rating"\n'
        'type = "integer"\nmin = 0\nmax = 5\n'
    )
    app = app_on(database_url, tmp_path, folder)
    make = Factory(app)
    reviewer = make.user()
    client: FlaskClient = app.test_client()
    login(client, reviewer)
    assert "Catering supplier checks (1 questions)" in client.get("/requests/new").get_data(
        as_text=True
    )
    row, link = make.request(reviewer, questionnaire="catering")
    supplier = app.test_client()
    supplier.get(link)
    bad = supplier.post(
        f"/respond/{row.reference}/sections/food",
        data={"hygiene_rating": "7", "shown": "hygiene_rating"},
    )
    assert "Food hygiene rating: Enter a whole number between 0 and 5" in bad.get_data(as_text=True)
    ok = supplier.post(
        f"/respond/{row.reference}/sections/food",
        data={"hygiene_rating": "5", "shown": "hygiene_rating"},
    )
    assert ok.status_code == 302
    assert supplier.post(f"/respond/{row.reference}/check", data=DECLARATION).status_code == 302
