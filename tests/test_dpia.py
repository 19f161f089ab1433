"""The third step: a full DPIA, started from a request, prefilled from what the
supplier told us, assessed risk by risk, advised on and signed off."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.exports.dpia import DpiaAnswerRow, DpiaSummary
from portal.models import AuditEvent, Dpia, DpiaAnswer, Organisation, Request, User
from portal.questionnaire import load_directory
from portal.questionnaire.examples import example_answers
from portal.questionnaire.risk import DEFAULT_MATRIX, LIKELIHOODS, SEVERITIES, highest, risk_level

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login
from .test_shipped_questionnaires import as_formdata

SHIPPED = {q.key: q for q in load_directory(SHIPPED_QUESTIONNAIRES)}
DPIA = SHIPPED["dpia_full"]
SUPPLIER = "Brightpath Learning Ltd"
shipped = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

# The ICO's matrix, written out as a school's DPO would read it.
EXPECTED_LEVELS = {
    ("remote", "minimal"): "low",
    ("remote", "significant"): "low",
    ("remote", "severe"): "low",
    ("possible", "minimal"): "low",
    ("possible", "significant"): "medium",
    ("possible", "severe"): "high",
    ("probable", "minimal"): "low",
    ("probable", "significant"): "high",
    ("probable", "severe"): "high",
}


@pytest.mark.parametrize(("likelihood", "severity"), sorted(EXPECTED_LEVELS))
def test_risk_level_for_every_likelihood_and_severity(likelihood: str, severity: str) -> None:
    assert risk_level(likelihood, severity) == EXPECTED_LEVELS[(likelihood, severity)]


def test_every_pair_is_rated_and_unjudged_risks_are_not() -> None:
    assert {(lk, sv) for lk in LIKELIHOODS for sv in SEVERITIES} == set(EXPECTED_LEVELS)
    assert risk_level("possible", None) is None
    assert risk_level(None, "severe") is None
    assert highest(["low", None, "medium"]) == "medium"
    assert highest([None]) is None


def test_the_register_uses_the_matrix_choices() -> None:
    table = DPIA.question("risk_register")
    for column, values in (
        ("likelihood", LIKELIHOODS),
        ("severity", SEVERITIES),
        ("residual_likelihood", LIKELIHOODS),
        ("residual_severity", SEVERITIES),
    ):
        assert tuple(c.value for c in table.column(column).choices) == values


def test_every_prefill_source_is_a_shipped_question() -> None:
    for question in DPIA.questions():
        for source in question.prefill:
            key, question_id = source.split(".")
            if key == "request":
                assert question_id in {
                    "supplier", "screening", "unmet_findings", "critical_findings"
                }  # fmt: skip
            else:
                SHIPPED[key].question(question_id)  # KeyError if it is not there


def test_a_measure_not_approved_leaves_the_risk_as_it_was() -> None:
    from portal.questionnaire.risk import residual_level, risks_of

    row = {**HIGH_RISK[0], "residual_likelihood": "remote", "residual_severity": "minimal"}
    approved, refused = risks_of({"risk_register": [{**row, "approved": "yes"}, row]})
    assert (approved.level, approved.residual_level) == ("high", "low")
    assert (refused.level, refused.residual_level) == ("high", "high")  # approved: "no"
    assert residual_level([approved, refused]) == "high"
    assert risks_of({"risk_register": "not a table"}) == []


def test_prefill_skips_answers_whose_shape_does_not_fit() -> None:
    from portal.services.school.dpia import Known, prefill

    cloud = SHIPPED["cloud_supplier"]
    odd = {
        "cloud_supplier.data_categories": Known(cloud.question("data_categories"), 7, "DD-1"),
        "cloud_supplier.used_by_children": Known(
            cloud.question("used_by_children"), ["yes"], "DD-1"
        ),
        "cloud_supplier.sub_processors": Known(cloud.question("sub_processors"), "Acme", "DD-1"),
        "cloud_supplier.deletion_days": Known(cloud.question("deletion_days"), 30, "DD-1"),
    }
    found = prefill(DPIA, odd, {}, "Acme", "DD-1")
    assert "data_categories" not in found
    assert "pupils_use_directly" not in found
    assert "sub_processors" not in found
    assert found["retention"].value == "30 days"
    assert found["supplier_name"].value == "Acme"


# --- Setting up: a tool screened as high risk, then asked about in depth ----------


def screened_high(make: Factory, user: User, dbs: Session) -> tuple[Request, Request]:
    """A screening that found a high risk, and the extended due diligence that
    followed it, both submitted; the supplier stores data in the US without a
    safeguard (a critical finding) and names a sub-processor."""
    screening, _ = make.submitted(
        user,
        "dpia_screening",
        answers={
            "tool_name": "Brightpath Reading",
            "tool_purpose": "Reading practice at home for Years 3 to 6.",
            "data_subjects": ["pupils"],
            "sensitive_data": ["send"],
            "safeguarding_records": "no",
        },
        supplier_name=SUPPLIER,
    )
    cloud, _ = make.submitted(
        user,
        "cloud_supplier",
        answers={
            "hosting_location": "other",
            "access_outside_uk": "yes",
            "transfer_mechanism": "none",
            "data_categories": ["identity", "send"],
            "used_by_children": "yes",
            "uses_subprocessors": "yes",
            "sub_processors": [{"name": "Cloudhost Inc", "country": "USA", "purpose": "Hosting"}],
        },
        supplier_name=SUPPLIER,
    )
    dbs.execute(
        update(Request).where(Request.id == cloud.id).values(follows_request_id=screening.id)
    )
    dbs.commit()
    return screening, cloud


def start(client: FlaskClient, row: Request) -> int:
    response = client.post(f"/requests/{row.id}/dpia")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.rstrip("/").rsplit("/", 1)[1])


def answers_of(dbs: Session, dpia_id: int) -> dict[str, DpiaAnswer]:
    dbs.rollback()  # a new snapshot: what the requests committed
    rows = dbs.scalars(select(DpiaAnswer).where(DpiaAnswer.dpia_id == dpia_id))
    return {row.question_id: row for row in rows}


def answer_every_section(
    client: FlaskClient, dbs: Session, dpia_id: int, fixed: dict[str, Any] | None = None
) -> None:
    # What was copied in stays (as a school that only fills the gaps would).
    kept = {
        qid: row.value for qid, row in answers_of(dbs, dpia_id).items() if qid != "risk_register"
    }
    values = example_answers(DPIA, fixed={**kept, **(fixed or {})})
    for section in DPIA.sections:
        own = {q.id: values[q.id] for q in section.answerable if q.id in values}
        response = client.post(
            f"/dpias/{dpia_id}/sections/{section.id}", data=as_formdata(DPIA, own)
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]


LOW_RISK = [
    {
        "risk": "A pupil's reading record is seen by another family",
        "likelihood": "possible", "severity": "significant",
        "measure": "Single sign-on with school accounts only",
        "residual_likelihood": "remote", "residual_severity": "significant", "approved": "yes",
    }
]  # fmt: skip
HIGH_RISK = [
    {
        "risk": "SEND records reachable from the United States without a safeguard",
        "likelihood": "probable", "severity": "severe",
        "measure": "Ask the supplier to sign the IDTA",
        "residual_likelihood": "possible", "residual_severity": "severe", "approved": "no",
    }
]  # fmt: skip


def ready_for_approval(
    client: FlaskClient, make: Factory, dbs: Session, admin: User, risks: list[dict[str, Any]]
) -> int:
    _, cloud = screened_high(make, admin, dbs)
    dpia_id = start(client, cloud)
    answer_every_section(client, dbs, dpia_id, {"risk_register": risks})
    assert client.post(f"/dpias/{dpia_id}/ask-for-advice").status_code == 302
    advice = client.post(
        f"/dpias/{dpia_id}/advice",
        data={
            "dpo_name": "Jo Patel, Shire DPO Service",
            "advice": "Go ahead once the transfer agreement is signed.",
            "advised_on": date.today().isoformat(),
        },
    )
    assert advice.status_code == 302, advice.get_data(as_text=True)
    return dpia_id


def sign_off(**changes: str) -> dict[str, str]:
    return {
        "outcome": "approve",
        "approver_role": "Headteacher",
        "advice_followed": "yes",
        "decided_on": date.today().isoformat(),
        "next_review_date": (date.today() + timedelta(days=365)).isoformat(),
        **changes,
    }


# --- Prefill ----------------------------------------------------------------------


@shipped
def test_a_dpia_started_from_a_submitted_request_is_prefilled_and_marked(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    screening, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    page = client.get(f"/requests/{screening.id}").get_data(as_text=True)
    assert "The screening found a high risk" in page
    dpia_id = start(client, cloud)

    found = answers_of(dbs, dpia_id)
    assert found["supplier_name"].value == SUPPLIER
    assert "Special educational needs" in found["data_categories"].value
    assert found["data_categories"].source.startswith("From the supplier's answers")
    assert cloud.reference in found["data_categories"].source
    assert found["pupils_use_directly"].value == "yes"  # a yes/no copied as it is
    assert found["sub_processors"].value == [
        {"name": "Cloudhost Inc", "country": "USA", "purpose": "Hosting"}
    ]
    assert "United States" in found["hosting_transfers"].value
    assert found["project_aims"].value == "Reading practice at home for Years 3 to 6."
    assert found["screening_result"].value.startswith("High risk")
    assert screening.reference in found["screening_result"].value
    assert found["screening_result"].source == f"The result of screening {screening.reference}"
    assert "No safeguard in place" in found["findings_not_met"].value
    # The unmet critical finding (no transfer safeguard) is proposed as a risk.
    proposed = found["risk_register"].value
    assert any("legal safeguard" in row["risk"] for row in proposed)
    assert found["risk_register"].source.startswith("Proposed from the unmet critical findings")
    # The school's own judgements are not guessed.
    assert "lawful_basis" not in found
    dpia = dbs.get(Dpia, dpia_id)
    assert (dpia.status, dpia.title, dpia.request_id) == ("draft", SUPPLIER, cloud.id)

    section = client.get(f"/dpias/{dpia_id}/sections/processing").get_data(as_text=True)
    assert "From the supplier&#39;s answers" in section
    assert "Cloudhost Inc" in section
    overview = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "copied from what the supplier told us" in overview


@shipped
def test_changing_a_copied_answer_makes_it_the_schools_own(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    before = answers_of(dbs, dpia_id)
    kept_source = before["supplier_name"].source
    response = client.post(
        f"/dpias/{dpia_id}/sections/need",
        data={
            "supplier_name": SUPPLIER,  # unchanged: still the supplier's
            "product": "Brightpath Reading, an online reading scheme",
            "project_aims": before["project_aims"].value,
            "screening_result": before["screening_result"].value,
        },
    )
    assert response.status_code == 302
    after = answers_of(dbs, dpia_id)
    assert after["product"].value == "Brightpath Reading, an online reading scheme"
    assert after["product"].source is None
    assert after["supplier_name"].source == kept_source


@shipped
def test_a_second_start_returns_the_dpia_already_begun(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    assert start(client, cloud) == start(client, cloud)
    assert len(list(dbs.scalars(select(Dpia)))) == 1


@shipped
def test_no_dpia_before_the_supplier_has_answered(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    row, _ = make.request(reviewer, "cloud_supplier")
    login(client, reviewer)
    response = client.post(f"/requests/{row.id}/dpia", follow_redirects=True)
    assert "Wait for the supplier to submit their answers" in response.get_data(as_text=True)
    assert dbs.scalars(select(Dpia)).first() is None


# --- Answering, and the risk register ----------------------------------------


@shipped
def test_the_risk_register_shows_each_level_the_ico_way(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    data = as_formdata(DPIA, {"risk_register": HIGH_RISK + LOW_RISK, "actions": "Bursar, by March"})
    assert client.post(f"/dpias/{dpia_id}/sections/risks", data=data).status_code == 302
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    register = page.split('id="risk-register"', 1)[1].split("</table>", 1)[0]
    assert register.count(">High<") == 2  # probable × severe, and possible × severe left
    assert register.count(">Medium<") == 1  # possible × significant
    assert register.count(">Low<") == 1  # remote × significant with the measure
    assert "The school must consult the ICO before the processing starts" in page


@shipped
def test_an_incomplete_risk_keeps_what_was_typed_and_says_what_is_missing(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    proposed = answers_of(dbs, dpia_id)["risk_register"].value
    half = {"risk": "Reading records shared with advertisers", "likelihood": "possible"}
    response = client.post(
        f"/dpias/{dpia_id}/sections/risks",
        data=as_formdata(DPIA, {"risk_register": [half], "actions": "The DPO reviews it"}),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Row 1" in text and "severity of harm" in text
    assert "Reading records shared with advertisers" in text  # nothing typed is lost
    after = answers_of(dbs, dpia_id)
    assert after["risk_register"].value == proposed  # the bad table was not stored
    assert after["actions"].value == "The DPO reviews it"  # the valid answer was


# --- Sign-off ------------------------------------------------------------------


@shipped
def test_advice_cannot_be_asked_for_until_every_question_is_answered(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    response = client.post(f"/dpias/{dpia_id}/ask-for-advice", follow_redirects=True)
    assert "Answer every question before asking for the DPO&#39;s advice" in response.get_data(
        as_text=True
    )
    dbs.rollback()  # a new snapshot: what the requests committed
    assert dbs.get(Dpia, dpia_id).status == "draft"


@shipped
def test_no_approval_without_the_dpos_advice(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    _, cloud = screened_high(make, admin, dbs)
    login(client, admin)
    dpia_id = start(client, cloud)
    answer_every_section(client, dbs, dpia_id, {"risk_register": LOW_RISK})
    assert client.post(f"/dpias/{dpia_id}/ask-for-advice").status_code == 302
    refused = client.post(f"/dpias/{dpia_id}/decision", data=sign_off(), follow_redirects=True)
    assert "Record the DPO&#39;s advice before approving" in refused.get_data(as_text=True)
    # The rule is the service's own, whatever the page offers.
    with client.application.test_request_context():
        from portal.extensions import db
        from portal.services.errors import ServiceError
        from portal.services.school import dpia as dpias

        row = db.session.get(Dpia, dpia_id)
        decision = dpias.SignOff(True, "Headteacher", True, "", "", date.today(), None, True)
        with pytest.raises(ServiceError, match="Record the DPO's advice before approving"):
            dpias.decide(db.session, row, db.session.get(User, admin.id), decision, ["Headteacher"])
    missing = client.post(f"/dpias/{dpia_id}/advice", data={"dpo_name": "Jo Patel", "advice": ""})
    assert missing.status_code == 422
    assert "Enter the DPO&#39;s advice" in missing.get_data(as_text=True)
    dbs.rollback()  # a new snapshot: what the requests committed
    assert dbs.get(Dpia, dpia_id).status == "awaiting_advice"


@shipped
def test_the_accountable_person_approves_and_the_ico_is_flagged_for_a_high_risk_left(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, HIGH_RISK)
    page = client.get(f"/dpias/{dpia_id}/decision").get_data(as_text=True)
    assert "we will consult the ICO" in page
    unreasoned = client.post(f"/dpias/{dpia_id}/decision", data=sign_off(advice_followed="no"))
    assert unreasoned.status_code == 422
    assert "Explain why the DPO&#39;s advice was not followed" in unreasoned.get_data(as_text=True)
    unacknowledged = client.post(f"/dpias/{dpia_id}/decision", data=sign_off())
    assert unacknowledged.status_code == 422
    assert "confirm that the ICO will be consulted" in unacknowledged.get_data(as_text=True)
    approved = client.post(f"/dpias/{dpia_id}/decision", data=sign_off(ico_acknowledged="y"))
    assert approved.status_code == 302
    dbs.rollback()  # a new snapshot: what the requests committed
    dpia = dbs.get(Dpia, dpia_id)
    assert (dpia.status, dpia.ico_consultation, dpia.approver_role) == (
        "approved",
        True,
        "Headteacher",
    )
    assert dpia.decided_by_id == admin.id and dpia.dpo_name == "Jo Patel, Shire DPO Service"
    shown = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "as recorded at sign-off" in shown and "Approved by" in shown
    # Approved answers are locked.
    locked = client.post(f"/dpias/{dpia_id}/sections/need", data={"supplier_name": "Changed"})
    assert locked.status_code == 409
    text = locked.get_data(as_text=True)
    assert "no longer a draft" in text and 'value="Changed"' in text  # shown, not lost
    assert answers_of(dbs, dpia_id)["supplier_name"].value == SUPPLIER
    actions = [e.action for e in dbs.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("dpia_started") == 1
    for step in ("dpia_awaiting_advice", "dpia_awaiting_approval", "dpia_approved"):
        assert step in actions


@shipped
def test_a_rejection_needs_a_reason_and_a_low_risk_approval_needs_no_ico(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    assert "consult the ICO" not in client.get(f"/dpias/{dpia_id}/decision").get_data(as_text=True)
    reject = client.post(f"/dpias/{dpia_id}/decision", data=sign_off(outcome="reject"))
    assert reject.status_code == 422
    assert "Say why the DPIA is rejected" in reject.get_data(as_text=True)
    assert client.post(f"/dpias/{dpia_id}/decision", data=sign_off()).status_code == 302
    dbs.rollback()  # a new snapshot: what the requests committed
    dpia = dbs.get(Dpia, dpia_id)
    assert (dpia.status, dpia.ico_consultation) == ("approved", False)


@shipped
def test_returning_to_draft_asks_for_the_advice_again(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    assert client.post(f"/dpias/{dpia_id}/return", data={"reason": ""}).status_code == 422
    back = client.post(f"/dpias/{dpia_id}/return", data={"reason": "Add the parents' views"})
    assert back.status_code == 302
    dbs.rollback()  # a new snapshot: what the requests committed
    dpia = dbs.get(Dpia, dpia_id)
    assert (dpia.status, dpia.dpo_advice) == ("draft", None)
    history = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "DPIA returned to draft: Add the parents&#39; views" in history


@shipped
def test_a_reviewer_approves_only_as_the_schools_digital_lead(
    client: FlaskClient, make: Factory, dbs: Session, app: Flask
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    reviewer = make.user(dbs.get(Organisation, dbs.get(Dpia, dpia_id).organisation_id))
    other = app.test_client()
    login(other, reviewer)
    assert other.get(f"/dpias/{dpia_id}/decision").status_code == 403
    assert "The SLT digital lead or the headteacher" in other.get(f"/dpias/{dpia_id}").get_data(
        as_text=True
    )
    organisation_id = dbs.get(Dpia, dpia_id).organisation_id
    dbs.rollback()  # a writer needs a fresh transaction on SQLite
    dbs.execute(
        update(Organisation)
        .where(Organisation.id == organisation_id)
        .values(digital_lead_id=reviewer.id)
    )
    dbs.commit()
    assert other.get(f"/dpias/{dpia_id}/decision").status_code == 200
    assert (
        other.post(
            f"/dpias/{dpia_id}/decision", data=sign_off(approver_role="SLT digital lead")
        ).status_code
        == 302
    )
    dbs.rollback()  # a new snapshot: what the requests committed
    assert dbs.get(Dpia, dpia_id).decided_by_id == reviewer.id


# --- Access ----------------------------------------------------------------------


@shipped
def test_only_the_schools_own_users_see_or_change_a_dpia(
    client: FlaskClient, make: Factory, dbs: Session, app: Flask
) -> None:
    owner = make.user(role="admin")
    _, cloud = screened_high(make, owner, dbs)
    login(client, owner)
    dpia_id = start(client, cloud)
    intruder = app.test_client()
    login(intruder, make.user(make.org("Elm Tree Academy"), role="admin"))
    for path in (
        f"/dpias/{dpia_id}", f"/dpias/{dpia_id}/sections/need", f"/dpias/{dpia_id}/export.xlsx",
        f"/dpias/{dpia_id}/advice", f"/dpias/{dpia_id}/decision",
    ):  # fmt: skip
        response = intruder.get(path)
        assert response.status_code == 404, path
        assert SUPPLIER not in response.get_data(as_text=True)
    assert intruder.post(f"/requests/{cloud.id}/dpia").status_code == 404
    assert intruder.post(f"/dpias/{dpia_id}/ask-for-advice").status_code == 404
    assert SUPPLIER not in intruder.get("/dpias").get_data(as_text=True)
    viewer = app.test_client()
    login(
        viewer,
        make.user(dbs.get(Organisation, dbs.get(Dpia, dpia_id).organisation_id), role="viewer"),
    )
    assert viewer.get(f"/dpias/{dpia_id}").status_code == 200
    assert viewer.post(f"/dpias/{dpia_id}/sections/need", data={}).status_code == 403
    assert viewer.post(f"/requests/{cloud.id}/dpia").status_code == 403


# --- Where the state shows, and the export -------------------------------------------


@shipped
def test_the_request_page_and_the_supplier_register_show_the_dpia_state(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    request_page = client.get(f"/requests/{cloud.id}").get_data(as_text=True)
    assert f'href="/dpias/{dpia_id}"' in request_page
    assert "Draft" in request_page.split('id="dpia"', 1)[1]
    register = client.get("/suppliers").get_data(as_text=True)
    row = register.split(SUPPLIER, 1)[1].split("</tr>", 1)[0]
    assert f"/dpias/{dpia_id}" in row and "Draft" in row
    listed = client.get("/dpias").get_data(as_text=True)
    assert SUPPLIER in listed and "Draft" in listed


@shipped
def test_the_dpia_exports_with_its_answers_sources_and_coloured_risks(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, HIGH_RISK + LOW_RISK)
    response = client.get(f"/dpias/{dpia_id}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["DPIA", "Answers", "Risk register", "Risk matrix"]
    matrix = list(book["Risk matrix"].iter_rows(values_only=True))
    assert matrix[0][0] == "The portal's default matrix"
    assert matrix[2] == ("Remote", "Low", "Low", "Low")
    summary = {row[0]: row[1] for row in book["DPIA"].iter_rows(values_only=True)}
    assert summary["Status"] == "Awaiting approval"
    assert summary["Highest risk left after the measures"] == "High"
    assert summary["ICO consultation"].startswith("Required before the processing starts")
    assert summary["DPO"] == "Jo Patel, Shire DPO Service"
    answers = {row[1]: row for row in book["Answers"].iter_rows(values_only=True)}
    supplier_row = answers[DPIA.question("supplier_name").label]
    assert supplier_row[2] == SUPPLIER and supplier_row[3].startswith(
        "The supplier named on request"
    )
    assert answers[DPIA.question("lawful_basis").label][3] == "The school"
    register = book["Risk register"]
    assert [c.value for c in register[1]][:5] == [
        "No.", "Risk to people", "Likelihood", "Severity", "Risk"
    ]  # fmt: skip
    assert (register["E2"].value, register["I2"].value) == ("High", "High")
    assert (register["E3"].value, register["I3"].value) == ("Medium", "Low")
    assert register["E2"].fill.fgColor.rgb.endswith("F4CDC6")  # red
    assert register["I3"].fill.fgColor.rgb.endswith("CCE2D8")  # green
    dbs.rollback()  # a new snapshot: what the requests committed
    assert dbs.scalars(
        select(AuditEvent).where(AuditEvent.action == "export_downloaded")
    ).first().detail == {"what": "dpia", "format": "xlsx"}


def hostile_dpia() -> tuple[DpiaSummary, Any, dict[str, DpiaAnswerRow]]:
    """A DPIA (not stored) whose every text is hostile, as the service hands
    it to the workbook: (summary, questionnaire, answers)."""
    from portal.services.school.dpia import for_workbook

    from .test_exports import HOSTILE

    text = HOSTILE[0]
    dpia = Dpia(
        title=text, status="approved", dpo_name=text, dpo_advice=text, advice_followed=False,
        advice_not_followed_reason=text, approver_role="Headteacher", decision_note=text,
        decided_on=date(2026, 12, 1), next_review_date=date(2027, 12, 1),
    )  # fmt: skip
    values = example_answers(DPIA, fixed={"risk_register": [{**HIGH_RISK[0], "risk": text}]})
    stored = {
        qid: DpiaAnswer(question_id=qid, value=value, source=text) for qid, value in values.items()
    }
    summary, answers = for_workbook(dpia, stored)
    return summary, DPIA, answers


def test_hostile_text_in_a_dpia_stays_text_in_its_workbook() -> None:
    from portal.exports.dpia import dpia_workbook

    from .test_exports import HOSTILE

    out = io.BytesIO()
    dpia_workbook(out, *hostile_dpia())
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    summary = {row[0]: row[1] for row in book["DPIA"].iter_rows(values_only=True)}
    assert summary["Tool"] == HOSTILE[0] and book["DPIA"]["B1"].data_type == "s"
    assert book["Risk register"]["B2"].value == HOSTILE[0]
    assert book["Risk register"]["B2"].data_type == "s"
    assert book["Answers"]["D2"].value == HOSTILE[0]


# --- What the first review of this feature found --------------------------------


@shipped
def test_proposed_risks_must_be_rated_before_the_dpo_is_asked(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    _, cloud = screened_high(make, admin, dbs)
    login(client, admin)
    dpia_id = start(client, cloud)
    proposed = answers_of(dbs, dpia_id)["risk_register"].value
    values = example_answers(DPIA, fixed={"risk_register": LOW_RISK})
    for section in DPIA.sections:
        own = {q.id: values[q.id] for q in section.answerable if q.id in values}
        if section.id == "risks":  # the proposed risks as they came, not yet rated
            own["risk_register"] = proposed
        client.post(f"/dpias/{dpia_id}/sections/{section.id}", data=as_formdata(DPIA, own))
    assert answers_of(dbs, dpia_id)["risk_register"].value == proposed
    # Everything else is answered; the proposed risk keeps its text only.
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "Row 1: select" in page and "likelihood of harm" in page
    asked = client.post(f"/dpias/{dpia_id}/ask-for-advice", follow_redirects=True)
    assert "Answer every question before asking" in asked.get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(Dpia, dpia_id).status == "draft"


@shipped
def test_a_comment_alone_survives_saving_another_section(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    need = {qid: row.value for qid, row in answers_of(dbs, dpia_id).items()}
    posted = {k: need[k] for k in ("supplier_name", "product", "project_aims", "screening_result")}
    comment = {"already_in_use-comment": "Trialled by Year 4 last spring"}
    assert (
        client.post(f"/dpias/{dpia_id}/sections/need", data={**posted, **comment}).status_code
        == 302
    )
    consultation = {"dpo_involved": "yes", "staff_consulted": "The SENCO and the DSL"}
    assert (
        client.post(f"/dpias/{dpia_id}/sections/consultation", data=consultation).status_code == 302
    )
    kept = answers_of(dbs, dpia_id)["already_in_use"]
    assert (kept.value, kept.comment) == (None, "Trialled by Year 4 last spring")


@shipped
def test_an_unchanged_answer_posted_with_crlf_keeps_its_source(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    _, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    dpia_id = start(client, cloud)
    before = answers_of(dbs, dpia_id)
    assert "\n" in before["screening_result"].value
    posted = {
        qid: before[qid].value.replace("\n", "\r\n")  # as a browser sends a textarea
        for qid in ("supplier_name", "product", "project_aims", "screening_result")
    }
    assert client.post(f"/dpias/{dpia_id}/sections/need", data=posted).status_code == 302
    after = answers_of(dbs, dpia_id)
    assert after["screening_result"].source == before["screening_result"].source
    assert after["screening_result"].value == before["screening_result"].value


@shipped
def test_the_screening_and_its_follow_up_share_one_dpia(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    screening, cloud = screened_high(make, reviewer, dbs)
    login(client, reviewer)
    assert start(client, cloud) == start(client, screening)


@shipped
def test_sign_off_pages_send_a_dpia_in_another_state_back_with_a_reason(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    _, cloud = screened_high(make, admin, dbs)
    login(client, admin)
    dpia_id = start(client, cloud)
    for path, words in (
        ("decision", "This DPIA is not waiting for a decision"),
        ("advice", "This DPIA is not waiting for the DPO&#39;s advice"),
        ("return", "Only a DPIA waiting for advice or approval can go back to draft"),
    ):
        response = client.get(f"/dpias/{dpia_id}/{path}")
        assert response.status_code == 302, path
        assert words in client.get(response.location).get_data(as_text=True), path


@shipped
def test_only_an_admin_names_the_digital_lead_who_signs_as_such(
    client: FlaskClient, make: Factory, dbs: Session, app: Flask
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    organisation = dbs.get(Organisation, dbs.get(Dpia, dpia_id).organisation_id)
    reviewer = make.user(organisation)
    other = app.test_client()
    login(other, reviewer)
    # A reviewer cannot make themselves the digital lead, and so an approver.
    named = other.post("/standards/digital-lead", data={"lead": str(reviewer.id)})
    assert named.status_code == 403
    assert other.get(f"/dpias/{dpia_id}/decision").status_code == 403
    assert (
        client.post("/standards/digital-lead", data={"lead": str(reviewer.id)}).status_code == 302
    )
    page = other.get(f"/dpias/{dpia_id}/decision").get_data(as_text=True)
    assert "SLT digital lead" in page and 'value="Headteacher"' not in page
    as_head = other.post(f"/dpias/{dpia_id}/decision", data=sign_off())
    assert as_head.status_code == 422
    refusal = "Sign as the SLT digital lead: only an admin signs as the headteacher"
    assert refusal in as_head.get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(Dpia, dpia_id).status == "awaiting_approval"


# --- Reviews ---------------------------------------------------------------------------


@shipped
def test_an_approved_dpia_is_reviewed_from_its_own_answers(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    assert client.post(f"/dpias/{dpia_id}/review").status_code == 302  # not approved yet
    dbs.rollback()
    assert dbs.scalars(select(Dpia).where(Dpia.review_of_id == dpia_id)).first() is None
    assert client.post(f"/dpias/{dpia_id}/decision", data=sign_off()).status_code == 302

    started = client.post(f"/dpias/{dpia_id}/review")
    review_id = int(started.location.rstrip("/").rsplit("/", 1)[1])
    assert review_id != dpia_id
    assert client.post(f"/dpias/{dpia_id}/review").location == started.location  # not doubled
    approved, review = answers_of(dbs, dpia_id), answers_of(dbs, review_id)
    assert {q: a.value for q, a in review.items()} == {q: a.value for q, a in approved.items()}
    assert review["supplier_name"].source == approved["supplier_name"].source
    dbs.rollback()
    assert (dbs.get(Dpia, review_id).status, dbs.get(Dpia, dpia_id).status) == ("draft", "approved")
    page = client.get(f"/dpias/{review_id}").get_data(as_text=True)
    assert "which stands until this one is signed off" in page
    assert "Review of the approved DPIA started" in page


@shipped
def test_a_dpia_review_date_is_on_the_timeline_and_reminded(
    client: FlaskClient, make: Factory, dbs: Session, app: Flask
) -> None:
    from portal.services.jobs.review_reminders import send_review_reminders

    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    review_on = date.today() + timedelta(days=10)
    decision = sign_off(next_review_date=review_on.isoformat())
    assert client.post(f"/dpias/{dpia_id}/decision", data=decision).status_code == 302
    timeline = client.get("/standards/timeline").get_data(as_text=True)
    assert f'href="/dpias/{dpia_id}">Review the DPIA of {SUPPLIER}</a>' in timeline
    with app.test_request_context():
        from portal.extensions import db

        sent = send_review_reminders(db.session, date.today())
        db.session.commit()
    items = [i.what for r in sent for i in r.items]
    assert f"Review the DPIA of {SUPPLIER}" in items


@shipped
def test_a_dpia_is_never_sent_to_a_supplier(client: FlaskClient, make: Factory, app: Flask) -> None:
    from portal.extensions import db
    from portal.services.errors import ServiceError
    from portal.services.requests import lifecycle as requests

    reviewer = make.user()
    login(client, reviewer)
    assert "dpia_full" not in client.get("/requests/new").get_data(as_text=True)
    with app.test_request_context():
        organisation = db.session.merge(reviewer).memberships[0].organisation
        details = requests.NewRequest(
            supplier_name="Acme", contact_name="Sam", contact_email="sam@acme.example",
            questionnaire_key="dpia_full", due_date=None, message="",
        )  # fmt: skip
        with pytest.raises(ServiceError, match="start a DPIA from a request's page"):
            requests.create_request(db.session, organisation, db.session.merge(reviewer), details)
    # Nor listed to API callers as a questionnaire a request can use.
    listed = client.get("/api/v1/questionnaires").json["items"]
    assert {q["key"] for q in listed} == {"it_support", "cloud_supplier", "dpia_screening"}


def matrix_cells(**changed: str) -> dict[str, str]:
    cells = {f"{lk}_{sv}": level for (lk, sv), level in DEFAULT_MATRIX.items()}
    return {**cells, **changed}


@shipped
def test_the_risk_matrix_is_the_schools_to_set_and_rates_every_undecided_dpia(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    """Issue 21: the matrix is the school's choice, shown where risks are
    rated, set by an administrator, audited; nonsense is refused with the
    choices kept."""
    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, LOW_RISK)
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert 'id="risk-matrix"' in page and "How each risk is rated" in page
    # possible x significant is medium by default; with the measure, remote: low.
    assert "Medium" in page

    form = client.get("/dpias/risk-matrix").get_data(as_text=True)
    assert "This is the portal's default matrix" in form
    refused = client.post(
        "/dpias/risk-matrix", data=matrix_cells(possible_severe="low", remote_severe="medium")
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert (
        "A severe harm cannot be a lower risk than a significant one (possible likelihood)" in text
    )
    # What was chosen stays chosen.
    assert re.search(
        r'id="remote_severe" name="remote_severe">.*?<option value="medium" selected>', text, re.S
    )
    dbs.rollback()
    dpia = dbs.get(Dpia, dpia_id)
    assert dpia is not None
    organisation = dpia.organisation
    assert organisation.risk_matrix is None

    saved = client.post(
        "/dpias/risk-matrix",
        data=matrix_cells(
            remote_severe="medium", possible_significant="high", remote_significant="medium"
        ),
    )
    assert saved.status_code == 302
    dbs.rollback()
    assert organisation.risk_matrix is not None
    assert organisation.risk_matrix["possible_significant"] == "high"
    [event] = dbs.scalars(
        select(AuditEvent).where(AuditEvent.action == "risk_matrix_changed")
    ).all()
    assert event.detail["changed"]["possible_significant"] == "medium to high"
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    register = page[page.index('id="risk-register"') : page.index("How each risk is rated")]
    # The same answers, rated with the school's matrix: possible x significant is
    # high now, and remote x significant (with the measure) medium.
    assert "High" in register and "Medium" in register and "Low" not in register
    assert "Your organisation set this matrix" in client.get("/dpias/risk-matrix").get_data(
        as_text=True
    )

    reviewer = make.user(organisation, role="reviewer")
    other = client.application.test_client()
    login(other, reviewer)
    shown = other.get("/dpias/risk-matrix").get_data(as_text=True)
    assert "Only an administrator can change it" in shown and "<select" not in shown
    assert other.post("/dpias/risk-matrix", data=matrix_cells()).status_code == 403
    # Another school's DPIAs keep the default.
    stranger = make.user(role="admin")
    third = client.application.test_client()
    login(third, stranger)
    assert "This is the portal's default matrix" in third.get("/dpias/risk-matrix").get_data(
        as_text=True
    )


def test_a_matrix_a_dpo_would_not_sign_is_refused() -> None:
    from portal.questionnaire.risk import matrix_problems

    assert matrix_problems(DEFAULT_MATRIX) == []
    backwards = {**DEFAULT_MATRIX, ("probable", "severe"): "low"}
    assert matrix_problems(backwards) == [
        "A severe harm cannot be a lower risk than a significant one (probable likelihood)",
        "A probable harm cannot be a lower risk than a possible one (severe severity)",
    ]
    assert matrix_problems({**DEFAULT_MATRIX, ("remote", "minimal"): ""}) == [
        "Choose a level for remote likelihood and minimal severity"
    ]


@shipped
def test_an_assessor_sets_a_risks_level_only_with_a_reason(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    """Issue 21: the matrix can be overruled for one risk, never silently."""
    admin = make.user(role="admin")
    login(client, admin)
    _, cloud = screened_high(make, admin, dbs)
    dpia_id = start(client, cloud)
    judged = [{**LOW_RISK[0], "judged_level": "high"}]
    answer_every_section(client, dbs, dpia_id, {"risk_register": judged})
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert "Row 1: say why you set the risk left to high" in page
    refused = client.post(f"/dpias/{dpia_id}/ask-for-advice", follow_redirects=True)
    assert "Answer every question before asking for the DPO" in refused.get_data(as_text=True)

    reason = "Pupils in care use it; any leak would be severe for them"
    answer_every_section(
        client, dbs, dpia_id, {"risk_register": [{**judged[0], "judged_reason": reason}]}
    )
    page = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    register = page[page.index('id="risk-register"') : page.index("How each risk is rated")]
    assert f"Set by the assessor: {reason} (the matrix gives low)" in register
    assert 'id="ico-consultation"' in page  # a high risk remains, by the assessor's judgement
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/dpias/{dpia_id}/export.xlsx").data))
    row = [c.value for c in book["Risk register"][2]]
    assert (row[8], row[10]) == ("High", reason)


def test_every_dpia_status_has_its_words_and_colour() -> None:
    from portal.models import DpiaStatus
    from portal.vocabulary import DPIA_STATUS_COLOURS, DPIA_STATUS_LABELS

    every = {status.value for status in DpiaStatus}
    assert set(DPIA_STATUS_LABELS) == every == set(DPIA_STATUS_COLOURS)


@shipped
def test_the_dpia_pdf_carries_the_advice_the_risks_and_the_signature_trail(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    from pypdf import PdfReader

    admin = make.user(role="admin")
    login(client, admin)
    dpia_id = ready_for_approval(client, make, dbs, admin, HIGH_RISK)
    client.post(f"/dpias/{dpia_id}/decision", data=sign_off(ico_acknowledged="y"))
    shown = client.get(f"/dpias/{dpia_id}").get_data(as_text=True)
    assert f'href="/dpias/{dpia_id}/report.pdf"' in shown
    response = client.get(f"/dpias/{dpia_id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = [
        p.extract_text().replace("\u200b", "") for p in PdfReader(io.BytesIO(response.data)).pages
    ]
    text = " ".join(" ".join(pages).split())
    cover = " ".join(pages[0].split())
    assert "Status: Approved" in cover
    assert f"Signed off by {admin.name}, Headteacher" in cover
    assert "ICO consultation: Required before the processing starts: a high risk remains" in cover
    assert "Go ahead once the transfer agreement is signed." in cover
    assert "Jo Patel, Shire DPO Service" in cover
    assert "Risk register" in text and HIGH_RISK[0]["risk"][:30] in text
    trail = text[text.rindex("Signature trail") :]
    for step in (
        "DPIA sent for the DPO's advice",
        "DPO's advice recorded (Jo Patel, Shire DPO Service)",
        "DPIA approved by the headteacher; the ICO is to be consulted before processing",
    ):
        assert step in trail, step
    assert trail.index("sent for the DPO's advice") < trail.index("approved by the headteacher")
    assert f"Page 1 of {len(pages)}" in pages[0]
    dbs.rollback()
    event = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded")).one()
    assert (event.detail["what"], event.detail["format"]) == ("dpia", "pdf")
    intruder = client.application.test_client()
    login(intruder, make.user(make.org("Elm Tree Academy"), role="admin"))
    assert intruder.get(f"/dpias/{dpia_id}/report.pdf").status_code == 404
