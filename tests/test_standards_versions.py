"""A school that began its self-assessment on an older version moves to the
newest one when it chooses, keeping every answer both versions ask for."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Assessment, AssessmentAnswer, AuditEvent, QuestionnaireVersion
from portal.questionnaire import load_file

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

SHIPPED = (SHIPPED_QUESTIONNAIRES / "school_it_standards.toml").read_text()
NEWEST = load_file(SHIPPED_QUESTIONNAIRES / "school_it_standards.toml")
TWO_VERSIONS = Path(tempfile.mkdtemp(prefix="standards-versions-"))
(TWO_VERSIONS / "school_it_standards.toml").write_text(SHIPPED)
# An older version without the MFA item, as a school might have begun on.
OLDER = re.sub(r"version = \d+", "version = 1", SHIPPED, count=1)
OLDER = re.sub(
    r'\[\[sections\.questions\]\]\nid = "mfa_enabled".*?(?=\n\[\[sections)', "", OLDER, flags=re.S
)
(TWO_VERSIONS / "school_it_standards_v1.toml").write_text(OLDER)

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(TWO_VERSIONS))


def test_a_school_moves_to_the_newest_self_assessment_keeping_its_answers(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    assert NEWEST.version > 1 and "mfa_enabled" not in OLDER
    organisation = make.org("Hillside Primary")
    admin = make.user(organisation, role="admin")
    older = load_file(TWO_VERSIONS / "school_it_standards_v1.toml")
    version = QuestionnaireVersion(
        key=older.key, version=1, title=older.title,
        snapshot=dict(older.snapshot), sha256=older.sha256,
    )  # fmt: skip
    dbs.add(version)
    dbs.flush()
    assessment = Assessment(
        organisation_id=organisation.id, kind="standards", questionnaire_version_id=version.id
    )
    dbs.add(assessment)
    dbs.flush()
    dbs.add(
        AssessmentAnswer(assessment_id=assessment.id, question_id="digital_lead_named", value="yes")
    )
    dbs.commit()

    viewer = make.user(organisation, role="viewer")
    login(client, viewer)
    page = client.get("/standards").get_data(as_text=True)
    assert f"A newer version of the self-assessment is available (version {NEWEST.version}" in page
    assert "Move to version" not in page
    assert client.post("/standards/move-to-newest").status_code == 403

    staff = client.application.test_client()
    login(staff, admin)
    moved = staff.post("/standards/move-to-newest")
    assert moved.status_code == 302
    page = staff.get("/standards").get_data(as_text=True)
    assert (
        f"Your self-assessment now uses version {NEWEST.version}: 1 answer kept, 1 new question"
        in page
    )
    assert "A newer version" not in page
    dbs.rollback()
    stored = dbs.get(Assessment, assessment.id)
    assert stored is not None and stored.questionnaire_version.version == NEWEST.version
    assert (
        dbs.scalar(
            select(AssessmentAnswer.value).where(
                AssessmentAnswer.question_id == "digital_lead_named"
            )
        )
        == "yes"
    )
    [event] = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "self_assessment_moved"))
    assert event.detail["from_version"] == 1 and event.detail["new_questions"] == 1
    # Moving again has nothing to do, and says so.
    again = staff.post("/standards/move-to-newest", follow_redirects=True)
    assert "already uses the newest version" in again.get_data(as_text=True)
