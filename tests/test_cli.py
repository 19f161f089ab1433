"""The flask commands."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    AssessmentAnswer,
    Organisation,
    QuestionnaireVersion,
    Request,
    SupplierUse,
    User,
)
from portal.questionnaire import load_directory

from .conftest import ROOT, SHIPPED_QUESTIONNAIRES


def counts(dbs: Session) -> tuple[int, int, int]:
    dbs.rollback()
    return (
        dbs.scalar(select(func.count(Organisation.id))) or 0,
        dbs.scalar(select(func.count(User.id))) or 0,
        dbs.scalar(select(func.count(Request.id))) or 0,
    )


def org_id(dbs: Session, name: str) -> int:
    dbs.rollback()  # a new transaction sees what the command committed
    found = dbs.scalar(select(Organisation.id).where(Organisation.name == name))
    assert found is not None, f"{name} was not created"
    return found


def test_seed_demo_is_idempotent_and_prints_a_working_link(app: Flask, dbs: Session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@oakfield.example" in first.output
    assert "curator@northgate.example" in first.output
    after_first = counts(dbs)
    assert after_first == (5, 7, 4)
    statuses = sorted(dbs.scalars(select(Request.status)))
    assert statuses == ["in_progress", "sent", "sent", "submitted"]
    trust = dbs.scalar(select(Organisation).where(Organisation.kind == "trust"))
    assert trust is not None
    assert (
        len(dbs.scalars(select(Organisation).where(Organisation.trust_id == trust.id)).all()) == 2
    )

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert counts(dbs) == after_first
    link = next(line.strip() for line in second.output.splitlines() if "/respond/link/" in line)
    assert link == next(
        line.strip() for line in first.output.splitlines() if "/respond/link/" in line
    )

    client = app.test_client()
    opened = client.get(link.split("portal.test", 1)[1])
    assert opened.status_code == 303
    assert "Acme IT Services Ltd" in client.get(opened.location).get_data(as_text=True)
    demo_login = client.post(
        "/login",
        data={"email": "admin@oakfield.example", "password": "correct-horse-battery-staple-42"},
    )
    assert demo_login.status_code == 302


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_the_demo_uses_the_newest_shipped_questionnaires(app: Flask, dbs: Session) -> None:
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    dbs.rollback()
    # The demo shows the questionnaires as they ship now, newest version of each.
    newest = {q.key: q.version for q in load_directory(SHIPPED_QUESTIONNAIRES)}
    used = dbs.execute(
        select(QuestionnaireVersion.key, QuestionnaireVersion.version).join(
            Request, Request.questionnaire_version_id == QuestionnaireVersion.id
        )
    ).all()
    assert {key for key, _ in used} >= {"it_support", "cloud_supplier"}
    assert all(version == newest[key] for key, version in used), used


def test_seed_demo_refuses_in_production(app: Flask, dbs: Session) -> None:
    app.config["PORTAL_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run when PORTAL_ENV=production" in result.output
    assert counts(dbs) == (0, 0, 0)


def test_create_org_and_user(app: Flask, dbs: Session) -> None:
    runner = app.test_cli_runner()
    trust = runner.invoke(args=["create-org", "--name", "Hill Trust", "--kind", "trust"])
    assert trust.exit_code == 0, trust.output
    trust_id = org_id(dbs, "Hill Trust")
    school = runner.invoke(
        args=[
            "create-org",
            "--name",
            "Hill School",
            "--kind",
            "school",
            "--trust-id",
            str(trust_id),
        ]
    )
    assert school.exit_code == 0, school.output
    school_id = org_id(dbs, "Hill School")

    weak = runner.invoke(
        args=[
            "create-user",
            "--email",
            "a@hill.example",
            "--name",
            "A",
            "--org-id",
            str(school_id),
            "--role",
            "admin",
            "--password",
            "password",
        ]
    )
    assert weak.exit_code != 0
    assert "Password must be 12 characters or more" in weak.output

    made = runner.invoke(
        args=[
            "create-user",
            "--email",
            "A@Hill.example",
            "--name",
            "Ada",
            "--org-id",
            str(school_id),
            "--role",
            "admin",
            "--password",
            "orchid-lantern-pebble-frost-8",
        ]
    )
    assert made.exit_code == 0, made.output
    assert "Created a@hill.example as admin of Hill School" in made.output
    missing = runner.invoke(
        args=[
            "create-user",
            "--email",
            "b@hill.example",
            "--name",
            "B",
            "--org-id",
            "999",
            "--role",
            "admin",
            "--password",
            "orchid-lantern-pebble-frost-8",
        ]
    )
    assert "No organisation with id 999" in missing.output


def test_questionnaires_list_and_check(app: Flask) -> None:
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["questionnaires", "list"])
    assert listed.exit_code == 0
    assert "it_support\t1\tIT support provider due diligence\t16 questions\t" in listed.output
    checked = runner.invoke(args=["questionnaires", "check"])
    assert checked.exit_code == 0, checked.output


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_seed_demo_works_with_the_shipped_questionnaires(app: Flask, dbs: Session) -> None:
    """What `make run` does on a fresh machine."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    statuses = sorted(dbs.scalars(select(Request.status)))
    assert statuses == ["in_progress", "sent", "sent"] + ["submitted"] * 5
    ratings = {
        ref: rating for ref, rating in dbs.execute(select(Request.reference, Request.rating))
    }
    # Oakfield's own rule (P1 response within 30 minutes) fails the example answer of 60.
    assert ratings["DD-DEMO03"] == "red"
    assert (ratings["DD-DEMO05"], ratings["DD-DEMO07"]) == ("red", "green")
    assert ratings["DD-DEMO06"] is None  # a screening is triaged, not rated
    # One Cyber Essentials certificate runs out next month, one ran out last month.
    from portal.models import TrackedEvidence
    from portal.questionnaire.expiry import add_months, status_of

    today = date.today()
    expiries = {
        ref: day
        for ref, day in dbs.execute(
            select(Request.reference, TrackedEvidence.expires_on)
            .join(TrackedEvidence, TrackedEvidence.request_id == Request.id)
            .where(
                TrackedEvidence.question_id.in_(
                    ["cyber_essentials_certificate", "certificate_files"]
                )
            )
        )
    }
    assert expiries["DD-DEMO03"] == add_months(today, 1)
    assert status_of(expiries["DD-DEMO03"], today) == "expiring"
    assert expiries["DD-DEMO05"] == add_months(today, -1)
    assert status_of(expiries["DD-DEMO05"], today) == "expired"
    # Oakfield's own side: a digital lead, part of its self-assessment, its IT support.
    oakfield = dbs.scalar(
        select(Organisation).where(Organisation.name == "Oakfield Primary School")
    )
    assert oakfield is not None and oakfield.digital_lead is not None
    assert len(list(dbs.scalars(select(AssessmentAnswer)))) == 5
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0  # again: no change
    dbs.rollback()
    assert len(list(dbs.scalars(select(AssessmentAnswer)))) == 5
    assert [u.category for u in dbs.scalars(select(SupplierUse))] == ["it_support"]


BROKEN_FILE = """
key = "broken"
version = 1
title = "Broken"
audience = "cloud"

[[sections]]
id = "s"
title = "S"

[[sections.questions]]
id = "about_note"
label = "About"
type = "note"

[[sections.questions]]
id = "a"
label = "A"
type = "text"
evidence = "mandatory"
show_if = "about_note == 'x'"
"""


@pytest.mark.parametrize(
    "command",
    [["-m", "flask", "--app", "app", "questionnaires", "check"], ["-c", "import app"]],
    ids=["questionnaires check", "start-up (gunicorn imports app)"],
)
def test_a_broken_questionnaire_stops_start_up_with_one_line_per_problem(
    tmp_path: Path, command: list[str]
) -> None:
    """Issue 21: whoever starts the portal reads what to fix, not a traceback."""
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    (folder / "broken.toml").write_text(BROKEN_FILE)
    environment = {
        **os.environ,
        "QUESTIONNAIRE_FOLDER": str(folder),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-0123",
    }
    done = subprocess.run(  # noqa: S603 (our own arguments)
        [sys.executable, *command], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    lines = (done.stderr + done.stdout).strip().splitlines()
    assert lines == [
        "broken.toml: question a: show_if: about_note is a note and has no answer",
        "broken.toml: question a: evidence: 'mandatory' is not none, optional or required, "
        "nor a condition on other answers",
    ]
