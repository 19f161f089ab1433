"""A school's own extra questions (issue 24): added on the page or in a
workbook, asked as the last section of the requests it sends from then on,
judged by the school's own rule, versioned, and never seen outside the school."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (
    Answer,
    DirectoryEntry,
    Organisation,
    QuestionnaireSupplement,
    Request,
    User,
)
from portal.questionnaire import DefinitionError, questionnaire_from_snapshot
from portal.questionnaire.definition import load_files
from portal.questionnaire.supplement import with_supplement
from portal.services.requests import answering, reuse
from portal.services.requirements import ratings

from .conftest import SHIPPED_QUESTIONNAIRES, TEST_QUESTIONNAIRES
from .factories import Factory, login

PAGE = "/requirements/it_support/local-questions"
MIS = {
    "label": "Does your product sync with our MIS without copying pupil data elsewhere?",
    "hint": "We use Arbor.",
    "type": "yes_no",
    "required": "yes",
    "expected": "yes",
    "severity": "critical",
    "why": "Our data protection policy keeps pupil data in the MIS.",
}
MIS_ID = "local_does_your_product_sync_with_our"


@pytest.fixture
def school(make: Factory) -> Organisation:
    return make.org("Oakfield Primary School")


@pytest.fixture
def admin(make: Factory, school: Organisation) -> User:
    return make.user(school, role="admin")


def add(client: FlaskClient, **typed: str) -> Any:
    sent = client.post(f"{PAGE}/add", data={**MIS, **typed})
    if sent.status_code == 302:
        client.get(sent.location)  # the page that shows the message
    return sent


def versions(dbs: Session, organisation_id: int) -> list[QuestionnaireSupplement]:
    dbs.rollback()
    return list(
        dbs.scalars(
            select(QuestionnaireSupplement)
            .where(QuestionnaireSupplement.organisation_id == organisation_id)
            .order_by(QuestionnaireSupplement.version)
        )
    )


def test_a_question_added_on_the_page_is_asked_in_requests_sent_from_then_on(
    client: FlaskClient, make: Factory, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    before, _ = make.request(admin)
    added = add(client)
    assert added.status_code == 302
    page = client.get(PAGE + "/").get_data(as_text=True)
    assert MIS["label"] in page and "Questions from Oakfield Primary School" in page
    assert "Version 1: 1 question" in page
    [saved] = versions(dbs, school.id)
    assert saved.questions[0]["id"] == MIS_ID
    assert saved.questions[0]["requirement"] == {
        "operator": "equals",
        "value": "yes",
        "severity": "critical",
        "rationale": MIS["why"],
        "maps_to": ["Oakfield Primary School's own requirement"],
    }

    after, path = make.request(admin)
    dbs.rollback()
    assert dbs.get(Request, before.id).supplement_id is None  # sent before: unchanged
    assert dbs.get(Request, after.id).supplement_id == saved.id

    supplier = client.application.test_client()
    supplier.get(path)
    base = f"/respond/{after.reference}"
    tasks = supplier.get(f"{base}/tasks").get_data(as_text=True)
    assert "Questions from Oakfield Primary School" in tasks
    assert "You have completed 0 of 5 sections" in tasks  # four of its own, and ours
    section = supplier.get(f"{base}/sections/local_questions").get_data(as_text=True)
    assert MIS["label"] in section and "We use Arbor." in section
    refused = supplier.post(f"{base}/sections/local_questions", data={MIS_ID: "perhaps"})
    assert "There is a problem" in refused.get_data(as_text=True)
    assert supplier.post(f"{base}/sections/local_questions", data={MIS_ID: "no"}).status_code == 302
    dbs.rollback()
    answer = dbs.scalar(select(Answer).filter_by(request_id=after.id, question_id=MIS_ID))
    assert answer is not None and answer.value == "no"

    # The earlier request's supplier is never asked it.
    old = client.application.test_client()
    assert old.get(f"/respond/{before.reference}/sections/local_questions").status_code in (
        302,
        404,
    )


def test_the_schools_rule_judges_the_answer_and_says_it_is_the_schools(
    app: Flask, make: Factory, admin: User, client: FlaskClient, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    met, _ = make.submitted(admin, "it_support", answers={MIS_ID: "yes"})
    gap, _ = make.submitted(admin, "it_support", answers={MIS_ID: "no"})
    with app.test_request_context():
        for row, outcome in ((met, "met"), (gap, "not_met")):
            request = db.session.get(Request, row.id)
            assert request is not None
            finding = next(
                f
                for f in ratings.comparison_for(db.session, request).findings
                if f.question.id == MIS_ID
            )
            assert finding.outcome.value == outcome
            assert finding.requirement is not None
            assert finding.requirement.source == "school"
            assert finding.requirement.severity == "critical"
    dbs.rollback()
    # A critical gap makes the stored rating red, whatever the other answers.
    assert dbs.get(Request, gap.id).rating == "red"
    assert dbs.get(Request, met.id).rating != "red"
    review = client.get(f"/requests/{gap.id}").get_data(as_text=True)
    assert MIS["label"] in review and "Your rule" in review


def test_versions_and_removal_leave_sent_requests_as_they_were(
    client: FlaskClient, make: Factory, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    add(client, label="Which MIS fields do you read?", type="long_text", expected="")
    first, _ = make.request(admin)
    page = client.get(PAGE + "/").get_data(as_text=True)
    assert "Version 2: 2 questions" in page
    removed = client.post(f"{PAGE}/{MIS_ID}/remove")
    assert removed.status_code == 302
    assert "Removed" in client.get(removed.location).get_data(as_text=True)
    removed_all = client.post(f"{PAGE}/local_which_mis_fields_do_you_read/remove")
    assert removed_all.status_code == 302
    none_now, _ = make.request(admin)
    stored = versions(dbs, school.id)
    assert [len(v.questions) for v in stored] == [1, 2, 1, 0]
    assert dbs.get(Request, none_now.id).supplement_id is None
    kept = dbs.get(Request, first.id)
    assert kept.supplement_id == stored[1].id
    with client.application.test_request_context():
        asked = answering.questionnaire_of(db.session.get(Request, first.id))
        assert [q.id for q in asked.section("local_questions").questions] == [
            MIS_ID,
            "local_which_mis_fields_do_you_read",
        ]
    # Removing one that is not there says so and changes nothing.
    gone = client.post(f"{PAGE}/{MIS_ID}/remove", follow_redirects=True)
    assert "not one of your own questions now" in gone.get_data(as_text=True)
    assert len(versions(dbs, school.id)) == 4


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"label": ""}, "label", "Enter the question"),
        ({"label": "x" * 501}, "label", "500 characters or fewer"),
        ({"type": "", "expected": ""}, "type", "Choose what kind of answer"),
        ({"type": "geopoint", "expected": ""}, "type", "Choose what kind of answer"),
        ({"type": "single_choice", "expected": "", "choices": "Arbor"}, "choices", "at least two"),
        (
            {"type": "single_choice", "expected": "", "choices": "Arbor\narbor"},
            "choices",
            "must be different",
        ),
        ({"type": "text"}, "expected", "only for a yes or no question"),
        ({"expected": "maybe"}, "expected", "Choose the answer that meets"),
        ({"severity": "terrible"}, "severity", "Choose how serious"),
    ],
)
def test_a_question_the_form_cannot_take_gets_its_message_and_keeps_what_was_typed(
    client: FlaskClient,
    admin: User,
    school: Organisation,
    dbs: Session,
    typed: dict[str, str],
    field: str,
    message: str,
) -> None:
    login(client, admin)
    sent = add(client, hint="Kept hint text", **typed)
    assert sent.status_code == 400
    page = sent.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    assert "Kept hint text" in page
    assert versions(dbs, school.id) == []


def test_at_most_twenty_questions(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    for number in range(20):
        assert add(client, label=f"Question number {number}").status_code == 302
    page = client.get(PAGE + "/").get_data(as_text=True)
    assert "the most there can be" in page and "Add the question" not in page
    refused = add(client, label="One more")
    assert refused.status_code == 400
    assert "already ask 20 questions" in refused.get_data(as_text=True)
    assert len(versions(dbs, school.id)) == 20


def test_viewers_see_them_and_cannot_change_them(
    client: FlaskClient, make: Factory, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    viewer = make.user(school, role="viewer")
    client = client.application.test_client()
    login(client, viewer)
    page = client.get(PAGE + "/").get_data(as_text=True)
    assert MIS["label"] in page and "Add the question" not in page and "Remove" not in page
    assert add(client, label="Sneaky").status_code == 403
    assert client.post(f"{PAGE}/{MIS_ID}/remove").status_code == 403
    assert len(versions(dbs, school.id)) == 1


def test_only_supplier_questionnaires_compared_with_requirements_take_them(
    client: FlaskClient, admin: User
) -> None:
    login(client, admin)
    assert client.get("/requirements/nonsense/local-questions/").status_code == 404
    assert client.get("/requirements/school_it_standards/local-questions/").status_code == 404


# --- the workbook ------------------------------------------------------------


def edited(
    data: bytes, change: dict[str, Any] | None = None, add: list[Any] | None = None
) -> bytes:
    """The workbook with the first question's cells changed, and rows added."""
    book = load_workbook(io.BytesIO(data))
    survey = book["survey"]
    headings = [cell.value for cell in survey[1]]
    first = next(row for row in survey.iter_rows(min_row=2) if row[0].value != "begin group")
    for column, value in (change or {}).items():
        first[headings.index(column)].value = value
    for extra in add or []:
        end = survey.max_row
        survey.insert_rows(end)  # before the closing "end group"
        for column, value in extra.items():
            survey.cell(end, headings.index(column) + 1, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client: FlaskClient, data: bytes) -> Any:
    return client.post(
        f"{PAGE}/workbook",
        data={"workbook": (io.BytesIO(data), "mine.xlsx")},
        content_type="multipart/form-data",
    )


def test_the_workbook_round_trips_and_takes_conditions_between_own_questions(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    data = client.get(f"{PAGE}/workbook.xlsx").data
    assert load_workbook(io.BytesIO(data)).sheetnames[:3] == ["settings", "survey", "choices"]
    same = upload(client, data)
    assert same.status_code == 302
    assert len(versions(dbs, school.id)) == 1  # nothing changed, no new version

    follow_up = {
        "type": "text",
        "name": "local_mis_gap",
        "label": "What is copied, and where to?",
        "relevant": f"${{{MIS_ID}}} = 'no'",
    }
    changed = upload(client, edited(data, add=[follow_up]))
    assert changed.status_code == 302, changed.get_data(as_text=True)
    newest = versions(dbs, school.id)[-1]
    assert newest.version == 2
    assert newest.questions[1]["show_if"] == f"{MIS_ID} == 'no'"


@pytest.mark.parametrize(
    ("change", "extra", "expected"),
    [
        ({"name": "mis_sync"}, None, "mis_sync: its id must start local_"),
        (
            None,
            [{"type": "text", "name": "local_x", "label": "X", "relevant": "${admin_mfa} = 'yes'"}],
            "admin_mfa",
        ),
        (
            None,
            [{"type": "text", "name": "local_x", "label": "X", "prefill": "it_support.legal_name"}],
            "prefill is for questionnaires staff answer",
        ),
        ({"relevant": "${local_nothing} = 'yes'"}, None, "local_nothing"),
    ],
)
def test_a_workbook_that_cannot_be_our_questions_says_where_and_changes_nothing(
    client: FlaskClient,
    admin: User,
    school: Organisation,
    dbs: Session,
    change: dict[str, Any] | None,
    extra: list[Any] | None,
    expected: str,
) -> None:
    login(client, admin)
    add(client)
    data = client.get(f"{PAGE}/workbook.xlsx").data
    refused = upload(client, edited(data, change, extra))
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "The workbook has 1 problem: nothing was changed" in page and expected in page
    assert "survey row" in page
    assert len(versions(dbs, school.id)) == 1


def test_twenty_one_questions_in_a_workbook_are_refused(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    data = client.get(f"{PAGE}/workbook.xlsx").data
    rows = [{"type": "text", "name": f"local_q{n}", "label": f"Q{n}"} for n in range(20)]
    refused = upload(client, edited(data, add=rows))
    assert refused.status_code == 400
    assert "there are 21 questions" in refused.get_data(as_text=True)
    assert len(versions(dbs, school.id)) == 1


def test_a_file_that_is_not_a_workbook_is_refused(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    refused = upload(client, b"%PDF-1.4 not a workbook")
    assert refused.status_code == 400
    assert "nothing was changed" in refused.get_data(as_text=True)
    missing = client.post(f"{PAGE}/workbook", data={}, content_type="multipart/form-data")
    assert "Choose the workbook to upload" in missing.get_data(as_text=True)
    assert versions(dbs, school.id) == []


def test_the_try_out_shows_our_section_and_stores_nothing(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    page = client.get(f"{PAGE}/try").get_data(as_text=True)
    assert "Questions from Oakfield Primary School" in page and MIS["label"] in page
    answers = dbs.scalar(select(func.count()).select_from(Answer))
    tried = client.post(f"{PAGE}/try", data={MIS_ID: "no"})
    assert tried.status_code == 200
    assert 'id="tried-' + MIS_ID + '"' in tried.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalar(select(func.count()).select_from(Answer)) == answers
    assert len(versions(dbs, school.id)) == 1


# --- never outside the school -------------------------------------------------


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_the_curator_and_the_directory_never_see_a_schools_own_questions(
    client: FlaskClient, make: Factory, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    secret = "Is the Oakfield Year 6 residential trip data held in the EEA?"
    added = client.post(
        "/requirements/cloud_supplier/local-questions/add",
        data={**MIS, "label": secret, "type": "long_text", "expected": ""},
    )
    assert added.status_code == 302
    own_id = versions(dbs, school.id)[0].questions[0]["id"]
    row, _ = make.submitted(
        admin, answers={own_id: "Yes: the Oakfield trip list is in Frankfurt"}, consent=True
    )
    curator = make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")
    client = client.application.test_client()
    login(client, curator)
    seen = client.get(f"/curate/submissions/{row.id}").get_data(as_text=True)
    assert "Northgate Data Protection" in seen  # the curator's own page
    assert "<title>Shared sub" in seen  # the submission itself, its answers shown
    assert "Frankfurt" not in seen and secret not in seen
    created = client.post(
        f"/curate/submissions/{row.id}",
        data={"product": "Cloudy", "category": "learning_platform", "summary": "Fine",
              "rating": "green", "conditions": ""},
    )  # fmt: skip
    assert created.status_code == 302
    dbs.rollback()
    entry = dbs.scalar(select(DirectoryEntry).where(DirectoryEntry.source_request_id == row.id))
    assert entry is not None
    assert own_id not in entry.answers and own_id not in entry.evidence_questions
    assert not any(str(v).count("Frankfurt") for v in entry.answers.values())


def test_reused_answers_never_carry_own_questions(
    app: Flask, client: FlaskClient, make: Factory, admin: User
) -> None:
    login(client, admin)
    add(client)
    earlier, _ = make.submitted(admin, "it_support", answers={MIS_ID: "yes"})
    later, _ = make.request(admin)
    with app.test_request_context():
        target = db.session.get(Request, later.id)
        source = db.session.get(Request, earlier.id)
        assert target is not None and source is not None
        copied = reuse.prefill_from(db.session, target, source)
        assert copied > 0
        assert MIS_ID not in {a.question_id for a in target.answers}


def test_another_school_is_not_asked_them(
    client: FlaskClient, make: Factory, admin: User, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    other = make.user(make.org("Riverside Academy"), role="admin")
    client = client.application.test_client()
    login(client, other)
    page = client.get(PAGE + "/").get_data(as_text=True)
    assert MIS["label"] not in page and "No questions of your own yet" in page
    row, _ = make.request(other)
    dbs.rollback()
    assert dbs.get(Request, row.id).supplement_id is None


# --- the engine --------------------------------------------------------------


def test_a_questionnaire_may_not_use_the_ids_kept_for_schools(tmp_path: Any) -> None:
    text = (TEST_QUESTIONNAIRES / "it_support.toml").read_text(encoding="utf-8")
    (tmp_path / "it.toml").write_text(
        text.replace('id = "legal_name"', 'id = "local_name"'), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as raised:
        load_files(tmp_path)
    assert "it.toml: question local_name: a question's id may not start local_" in str(raised.value)


def test_a_supplement_joins_any_version_and_marks_its_rules_as_the_schools() -> None:
    [loaded] = [f for f in load_files(TEST_QUESTIONNAIRES) if f.questionnaire.key == "it_support"]
    base = loaded.questionnaire
    question = {
        "id": "local_mis",
        "label": "MIS?",
        "type": "yes_no",
        "requirement": {"operator": "equals", "value": "yes", "severity": "major"},
    }
    joined = with_supplement(base, "Ours", "", [question], source="trust")
    assert [s.id for s in joined.sections][-1] == "local_questions"
    requirement = joined.question("local_mis").requirement
    assert requirement is not None and requirement.source == "trust"
    assert base.question("legal_name") == joined.question("legal_name")
    newer = questionnaire_from_snapshot({**base.snapshot, "version": base.version + 1})
    assert with_supplement(newer, "Ours", "", [question]).version == base.version + 1


def test_a_curators_workbook_may_not_use_the_ids_kept_for_schools() -> None:
    import tomllib

    from portal.questionnaire.workbook import WorkbookProblems
    from portal.services.platform.questionnaire_workbooks import read_workbook, workbook_of

    text = (TEST_QUESTIONNAIRES / "it_support.toml").read_text(encoding="utf-8")
    snapshot = tomllib.loads(text.replace('id = "legal_name"', 'id = "local_name"'))
    with pytest.raises(WorkbookProblems) as raised:
        read_workbook(workbook_of(questionnaire_from_snapshot(snapshot)))
    [problem] = raised.value.problems
    assert problem.sheet == "survey" and problem.line is not None
    assert "local_name: a question's id may not start local_" in problem.message


def test_the_supplier_api_gets_and_answers_them(
    client: FlaskClient, make: Factory, admin: User, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    row, path = make.request(admin)
    token = {"Authorization": f"Bearer {path.rsplit('/', 1)[1]}"}
    supplier = client.application.test_client()
    mine = supplier.get("/api/v1/supplier/request", headers=token)
    assert mine.status_code == 200
    local = mine.json["local_questions"]
    assert local["section_id"] == "local_questions" and local["version"] == 1
    assert [q["id"] for q in local["questions"]] == [MIS_ID]
    assert "local_questions" in [p["section_id"] for p in mine.json["progress"]]
    saved = supplier.put(
        f"/api/v1/supplier/answers/{MIS_ID}", json={"value": "yes", "revision": 0}, headers=token
    )
    assert saved.status_code == 200, saved.json
    wrong = supplier.put(
        f"/api/v1/supplier/answers/{MIS_ID}",
        json={"value": "perhaps", "revision": 1},
        headers=token,
    )
    assert wrong.status_code == 422
    dbs.rollback()
    answer = dbs.scalar(select(Answer).filter_by(request_id=row.id, question_id=MIS_ID))
    assert answer is not None and answer.value == "yes"


def test_the_schools_export_has_them(client: FlaskClient, make: Factory, admin: User) -> None:
    login(client, admin)
    add(client)
    row, _ = make.submitted(admin, "it_support", answers={MIS_ID: "no"})
    exported = client.get(f"/requests/{row.id}/export.xlsx")
    assert exported.status_code == 200
    cells = [
        str(cell)
        for sheet in load_workbook(io.BytesIO(exported.data)).worksheets
        for line in sheet.iter_rows(values_only=True)
        for cell in line
        if cell is not None
    ]
    assert MIS["label"] in cells


def test_a_feedback_share_shows_the_curator_the_questionnaire_alone(
    client: FlaskClient, make: Factory, admin: User, dbs: Session
) -> None:
    from portal.models import FeedbackShare

    curator = client.application.test_client()
    login(curator, make.user(make.org("Data Protection Partners", kind="curator"), role="curator"))
    login(client, admin)
    add(client, label="Is the Oakfield trip list kept in the EEA?", type="text", expected="")
    row, _ = make.submitted(admin, "it_support")
    assert client.post(f"/requests/{row.id}/feedback", data={"message": "Fine?"}).status_code == 302
    dbs.rollback()
    share = dbs.scalar(select(FeedbackShare))
    assert share is not None
    page = curator.get(f"/curator/feedback/{share.id}").get_data(as_text=True)
    assert "Fine?" in page and "Acme IT Services Ltd" in page
    assert "Oakfield trip list" not in page and "local_" not in page


def test_an_id_is_never_given_to_a_different_question(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    client.post(f"{PAGE}/{MIS_ID}/remove")
    add(client, label=MIS["label"] + " Which one?", type="text", expected="")
    newest = versions(dbs, school.id)[-1]
    assert [q["id"] for q in newest.questions] == [MIS_ID + "_2"]
    assert newest.title == "Questions from Oakfield Primary School"


def test_a_workbook_is_held_to_the_forms_sizes(
    client: FlaskClient, admin: User, school: Organisation, dbs: Session
) -> None:
    login(client, admin)
    add(client)
    data = client.get(f"{PAGE}/workbook.xlsx").data
    refused = upload(client, edited(data, {"label": "x" * 600}))
    assert refused.status_code == 400
    assert "label is 600 characters: keep it to 500 or fewer" in refused.get_data(as_text=True)
    assert len(versions(dbs, school.id)) == 1
