"""From answers to a decision: findings against the school's profile, overrides,
clarification, the decision, a screening's follow-up, side by side, the dashboard."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer, AuditEvent, FindingReview, Request, RequirementRule, utcnow
from portal.services.review.decisions import default_review_date

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import DECLARATION, Factory, link_path, login

pytestmark = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))

GAPS = {"breach_notice_hours": 72, "ai_training": "yes", "deletion_days": 45}


def finding_row(page: str, question_id: str) -> str:
    """The text of one row of the findings table."""
    match = re.search(
        rf'<tr class="govuk-table__row" id="finding-{question_id}">(.*?)</tr>', page, re.S
    )
    assert match, f"no finding row for {question_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def events(dbs: Session, action: str) -> list[AuditEvent]:
    dbs.rollback()
    return list(
        dbs.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_a_reviewer_sees_each_requirement_met_or_not_with_the_rating(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    row, _ = make.submitted(reviewer, answers=GAPS)
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Against your requirements" in page
    assert finding_row(page, "breach_notice_hours").startswith(
        "How soon will you tell the school about a personal data breach"
    )
    assert "At most 24 hours Critical" in finding_row(page, "breach_notice_hours")
    assert "72 hours Not met" in finding_row(page, "breach_notice_hours")
    assert "Met" in finding_row(page, "hosting_location")
    assert "2 critical requirements not fully met" in page
    assert "1 major requirement not fully met" in page
    summary = re.search(r'<p [^>]*id="rating-summary">([^<]*)</p>', page)
    assert summary and summary.group(1).startswith("Red because")  # in words, first
    # Issue 21: information is shown to read, never judged or counted.
    assert 'id="finding-data_subjects"' not in page
    information = page[page.index('id="information-list"') :]
    assert "Whose information does the product handle?" in information
    dbs.rollback()
    stored = dbs.get(Request, row.id)
    assert stored is not None
    assert stored.rating == "red"
    assert stored.score is not None and 0 < stored.score < 100
    assert f"Red ({stored.score})" in page

    only_gaps = client.get(f"/requests/{row.id}?only=gaps").get_data(as_text=True)
    assert "3 of " in only_gaps
    assert 'id="finding-hosting_location"' not in only_gaps
    assert 'id="finding-deletion_days"' in only_gaps
    critical_gaps = client.get(f"/requests/{row.id}?only=gaps&only=critical").get_data(as_text=True)
    assert "2 of " in critical_gaps
    assert 'id="finding-deletion_days"' not in critical_gaps


def test_a_supplier_that_meets_everything_is_green(client: FlaskClient, make: Factory) -> None:
    reviewer = make.user()
    row, _ = make.submitted(reviewer)
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Green (100)" in page
    assert "Score 100 out of 100" in page
    assert "not fully met" not in page
    assert 'govuk-tag--red">Not met' not in page


def test_a_profile_rule_changes_open_findings_not_answers(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    row, _ = make.submitted(admin, answers={"breach_notice_hours": 24})
    dbs.rollback()
    answers_before = {a.question_id: a.value for a in dbs.scalars(select(Answer))}
    login(client, admin)
    assert "Met" in finding_row(
        client.get(f"/requests/{row.id}").get_data(as_text=True), "breach_notice_hours"
    )

    saved = client.post(
        "/requirements/cloud_supplier/breach_notice_hours",
        data={
            "operator": "max",
            "value": "12",
            "severity": "critical",
            "note": "Our DPO needs a day to report to the ICO",
        },
    )
    assert saved.status_code == 302
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "At most 12 hours" in finding_row(page, "breach_notice_hours")
    assert "Not met" in finding_row(page, "breach_notice_hours")
    assert "Our DPO needs a day to report to the ICO" in finding_row(page, "breach_notice_hours")
    dbs.rollback()
    assert dbs.get(Request, row.id).rating == "red"  # re-rated at once
    assert {a.question_id: a.value for a in dbs.scalars(select(Answer))} == answers_before
    [event] = events(dbs, "requirement_changed")
    assert event.detail["before"] is None
    assert event.detail["after"]["value"] == 12

    profile = client.get("/requirements/cloud_supplier?changed=1").get_data(as_text=True)
    assert "At most 24 hours" in profile  # the baseline beside ...
    assert "At most 12 hours" in profile  # ... our own rule
    history = " ".join(re.sub(r"<[^>]+>", " ", profile.split('id="profile-history"')[1]).split())
    assert f"{admin.name} breach_notice_hours: is at most 12, critical." in history

    removed = client.post(
        "/requirements/cloud_supplier/breach_notice_hours", data={"action": "remove"}
    )
    assert removed.status_code == 302
    dbs.rollback()
    assert dbs.scalar(select(RequirementRule)) is None
    assert dbs.get(Request, row.id).rating == "green"
    assert len(events(dbs, "requirement_removed")) == 1
    history = client.get("/requirements/cloud_supplier").get_data(as_text=True)
    assert "back to the baseline rule (was is at most 12)" in history


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"operator": "max", "value": "12", "severity": "critical", "note": " "},
            "Say why your rule differs from the baseline",
        ),
        (
            {"operator": "max", "value": "soon", "severity": "critical", "note": "x"},
            "Enter a number, like 30 (not &#39;soon&#39;)",
        ),
        (
            {"operator": "max", "value": "1.5", "severity": "critical", "note": "x"},
            "Enter a whole number",
        ),
        (
            {"operator": "includes_all", "value": "1", "severity": "critical", "note": "x"},
            "Choose a rule this question can have",
        ),
    ],
)
def test_a_bad_rule_says_what_is_wrong_and_keeps_what_was_typed(
    client: FlaskClient, make: Factory, dbs: Session, data: dict[str, str], message: str
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    response = client.post("/requirements/cloud_supplier/breach_notice_hours", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert f'value="{data["value"]}"' in page
    dbs.rollback()
    assert dbs.scalar(select(RequirementRule)) is None


def test_only_admins_change_requirements(client: FlaskClient, make: Factory) -> None:
    reviewer = make.user(role="reviewer")
    login(client, reviewer)
    assert client.get("/requirements/cloud_supplier").status_code == 200
    assert client.get("/requirements/cloud_supplier/breach_notice_hours").status_code == 403
    assert client.post("/requirements/cloud_supplier/import").status_code == 403
    assert client.get("/requirements/nonexistent").status_code == 404


def test_a_trust_rule_applies_to_its_schools_which_may_tighten_but_not_loosen_it(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    school = make.org("Riverside Academy", trust=trust)
    trust_admin = make.user(trust, role="admin")
    school_admin = make.user(school, role="admin")
    row, _ = make.submitted(school_admin, answers={"hosting_location": "adequacy"})

    login(client, trust_admin)
    assert (
        client.post(
            "/requirements/cloud_supplier/hosting_location",
            data={
                "operator": "in",
                "values": ["uk", "eea"],
                "severity": "critical",
                "note": "Trust policy",
            },
        ).status_code
        == 302
    )

    school_client = client.application.test_client()
    login(school_client, school_admin)
    page = school_client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Not met" in finding_row(page, "hosting_location")
    assert "Your trust rule: Trust policy" in finding_row(page, "hosting_location")
    dbs.rollback()
    assert (
        dbs.get(Request, row.id).rating == "red"
    )  # the trust's edit re-rated the school's request

    looser = school_client.post(
        "/requirements/cloud_supplier/hosting_location",
        data={
            "operator": "in",
            "values": ["uk", "eea", "adequacy"],
            "severity": "critical",
            "note": "We disagree",
        },
    )
    assert "This would be less strict than your trust&#39;s rule" in looser.get_data(as_text=True)
    off = school_client.post(
        "/requirements/cloud_supplier/hosting_location",
        data={
            "operator": "in",
            "values": ["uk", "eea"],
            "severity": "critical",
            "off": "y",
            "note": "No",
        },
    )
    assert "cannot switch it off" in off.get_data(as_text=True)
    stricter = school_client.post(
        "/requirements/cloud_supplier/hosting_location",
        data={"operator": "in", "values": ["uk"], "severity": "critical", "note": "UK only for us"},
    )
    assert stricter.status_code == 302
    profile = school_client.get("/requirements/cloud_supplier?changed=1").get_data(as_text=True)
    assert "Trust policy" in profile and "UK only for us" in profile
    # Another school of the trust is not affected by this school's rule.
    dbs.rollback()
    rules = {(r.organisation_id, r.note) for r in dbs.scalars(select(RequirementRule))}
    assert rules == {(trust.id, "Trust policy"), (school.id, "UK only for us")}


def test_a_reviewer_override_is_shown_audited_and_counted(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    row, _ = make.submitted(reviewer, answers={"deletion_days": 45})
    login(client, reviewer)
    dbs.rollback()
    assert dbs.get(Request, row.id).rating == "amber"
    url = f"/requests/{row.id}/findings/deletion_days"
    form = client.get(url).get_data(as_text=True)
    assert "Within how many days of the contract ending" in form
    refused = client.post(url, data={"outcome": "met", "reason": ""})
    assert "Say why you judge it differently" in refused.get_data(as_text=True)
    assert (
        client.post(
            url,
            data={"outcome": "met", "reason": "Backups age out at 45 days; live data goes at once"},
        ).status_code
        == 302
    )
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    row_text = finding_row(page, "deletion_days")
    assert row_text.count("Met") == 1 and "Reviewer's judgement" in row_text
    assert "Backups age out at 45 days" in row_text
    assert "Computed: Not met" in row_text
    assert "Finding judged met (computed not met) for deletion_days" in page
    dbs.rollback()
    assert dbs.get(Request, row.id).rating == "green"
    [event] = events(dbs, "finding_overridden")
    assert (event.detail["computed"], event.detail["outcome"]) == ("not_met", "met")

    assert client.post(url, data={"action": "remove"}).status_code == 302
    dbs.rollback()
    assert dbs.scalar(select(FindingReview)) is None
    assert dbs.get(Request, row.id).rating == "amber"
    viewer = make.user(make_org := dbs.get(Request, row.id).organisation, role="viewer")
    assert make_org is not None
    viewer_client = client.application.test_client()
    login(viewer_client, viewer)
    assert viewer_client.post(url, data={"outcome": "met", "reason": "x"}).status_code == 403


def test_the_review_flow_clarification_decision_and_a_frozen_record(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    admin = make.user(role="admin")
    row, _ = make.submitted(admin, answers={"breach_notice_hours": 72})
    login(client, admin)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    ask = f'href="/requests/{row.id}/clarify#note-breach_notice_hours"'
    assert ask in page.split('id="finding-breach_notice_hours"')[1].split("</tr>")[0]
    assert (
        client.post(
            f"/requests/{row.id}/clarify",
            data={"note-breach_notice_hours": "Can you commit to 24 hours in our contract?"},
        ).status_code
        == 302
    )
    refused = client.post(
        f"/requests/{row.id}/decision", data={"outcome": "accepted", "reason": "x"}
    )
    assert "decide once they resubmit" in refused.get_data(as_text=True)

    supplier = client.application.test_client()
    assert supplier.get(link_path(sent_mail[-1]["body"])).status_code == 303
    base = f"/respond/{row.reference}"
    saved = supplier.post(
        f"{base}/sections/breaches_retention/autosave",
        json={"answers": {"breach_notice_hours": 24}},
    )
    assert saved.json["saved"] == ["breach_notice_hours"]
    assert supplier.post(f"{base}/check", data=DECLARATION).status_code == 302
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Met" in finding_row(page, "breach_notice_hours")
    assert "Green (100)" in page

    form = client.get(f"/requests/{row.id}/decision").get_data(as_text=True)
    next_year = default_review_date(utcnow().date())
    assert f'value="{next_year.isoformat()}"' in form  # 12 months by default
    no_conditions = client.post(
        f"/requests/{row.id}/decision",
        data={
            "outcome": "accepted_with_conditions",
            "reason": "Good answers",
            "conditions": " \n ",
            "next_review": next_year.isoformat(),
        },
    )
    assert "List the conditions, one per line" in no_conditions.get_data(as_text=True)
    assert "Good answers" in no_conditions.get_data(as_text=True)  # kept
    past = client.post(
        f"/requests/{row.id}/decision",
        data={"outcome": "accepted", "reason": "Good", "next_review": "2020-01-01"},
    )
    assert "The next review date must be in the future" in past.get_data(as_text=True)
    decided = client.post(
        f"/requests/{row.id}/decision",
        data={
            "outcome": "accepted_with_conditions",
            "reason": "Strong answers after clarification",
            "conditions": "Sign our DPA by 31/01/2027\nShare the next pen test summary",
            "next_review": next_year.isoformat(),
        },
    )
    assert decided.status_code == 302
    dbs.rollback()
    stored = dbs.get(Request, row.id)
    assert stored is not None
    assert stored.status == "accepted_with_conditions"
    assert stored.decision_conditions == [
        "Sign our DPA by 31/01/2027",
        "Share the next pen test summary",
    ]
    assert stored.next_review_date == next_year
    assert stored.decided_by_id == admin.id
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Accepted with conditions" in page
    assert "Share the next pen test summary" in page
    assert f"Decided by {admin.name}" in page

    # A later profile edit does not rewrite a decided record ...
    client.post(
        "/requirements/cloud_supplier/breach_notice_hours",
        data={"operator": "max", "value": "12", "severity": "critical", "note": "Stricter now"},
    )
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Met" in finding_row(page, "breach_notice_hours")
    assert "as they were when the decision was made" in page
    # ... until the decision is reopened, when today's profile applies again.
    assert client.post(f"/requests/{row.id}/reopen").status_code == 302
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Not met" in finding_row(page, "breach_notice_hours")
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "resubmitted"
    assert [e.detail["decision"] for e in events(dbs, "decision_recorded")] == [
        "accepted_with_conditions"
    ]


def test_a_high_risk_screening_is_followed_up_in_one_click(
    client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    reviewer = make.user()
    screening, _ = make.submitted(
        reviewer,
        "dpia_screening",
        answers={"safeguarding_records": "yes"},
        supplier_name="Cloudy Classroom Ltd",
    )
    login(client, reviewer)
    page = client.get(f"/requests/{screening.id}").get_data(as_text=True)
    assert "High risk" in page
    assert "Send extended due diligence" in page
    form = client.get(f"/requests/{screening.id}/follow-up").get_data(as_text=True)
    assert 'value="cloud_supplier" checked' in form
    sent = client.post(
        f"/requests/{screening.id}/follow-up", data={"questionnaire": "cloud_supplier"}
    )
    assert sent.status_code == 302
    dbs.rollback()
    follow_up = dbs.scalar(select(Request).where(Request.follows_request_id == screening.id))
    assert follow_up is not None
    assert (follow_up.contact_email, follow_up.supplier.name) == (
        "sam@acme.example",
        "Cloudy Classroom Ltd",
    )
    assert follow_up.questionnaire_version.key == "cloud_supplier"
    assert follow_up.due_date == utcnow().date() + timedelta(days=30)
    assert sent_mail[-1]["to"] == "sam@acme.example"
    assert "high risk" in sent_mail[-1]["body"]
    assert f"/requests/{follow_up.id}" == sent.location
    new_page = client.get(sent.location).get_data(as_text=True)
    assert f">{screening.reference}</a>" in new_page
    screening_page = client.get(f"/requests/{screening.id}").get_data(as_text=True)
    assert f">{follow_up.reference}</a>" in screening_page
    assert "Send extended due diligence" not in screening_page


def test_a_low_risk_screening_needs_no_follow_up(client: FlaskClient, make: Factory) -> None:
    from .test_compare import LOW_RISK_STAFF_TOOL

    reviewer = make.user()
    row, _ = make.submitted(reviewer, "dpia_screening", answers=LOW_RISK_STAFF_TOOL)
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert "Low risk" in page
    assert "Send extended due diligence" not in page
    refused = client.post(f"/requests/{row.id}/follow-up", data={"questionnaire": "cloud_supplier"})
    assert "A low-risk screening needs no extended due diligence" in refused.get_data(as_text=True)


def test_suppliers_side_by_side(client: FlaskClient, make: Factory) -> None:
    reviewer = make.user()
    good, _ = make.submitted(reviewer, supplier_name="StarMaths Online")
    weak, _ = make.submitted(reviewer, answers=GAPS, supplier_name="Cloudy Classroom Ltd")
    other, _ = make.submitted(reviewer, "it_support", supplier_name="Northern IT")
    login(client, reviewer)
    page = client.get(f"/compare?request={good.id}&request={weak.id}").get_data(as_text=True)
    assert "StarMaths Online" in page and "Cloudy Classroom Ltd" in page
    assert "Green (100)" in page
    matrix = re.search(r'<table class="govuk-table" id="compare-matrix">.*?</table>', page, re.S)
    assert matrix
    assert "Where is the school" in matrix.group(0)  # the same finding for both is shown ...
    differences = client.get(
        f"/compare?request={good.id}&request={weak.id}&differences=1"
    ).get_data(as_text=True)
    assert "3 questions where the findings differ" in differences
    assert (
        "Where is the school" not in differences.split('id="compare-matrix"')[1]
    )  # ... unless filtered
    mixed = client.get(f"/compare?request={good.id}&request={other.id}").get_data(as_text=True)
    assert "Choose requests that used the same questionnaire" in mixed
    stranger = make.user(make.org("Elm Tree Academy"))
    elsewhere = client.application.test_client()
    login(elsewhere, stranger)
    assert elsewhere.get(f"/compare?request={good.id}&request={weak.id}").status_code == 404


def test_the_dashboard_counts_what_needs_attention(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    make.submitted(admin, supplier_name="StarMaths Online")
    weak, _ = make.submitted(admin, answers=GAPS, supplier_name="Cloudy Classroom Ltd")
    late, _ = make.request(admin, supplier_name="Slow Supplier Ltd")
    dbs.rollback()
    stored = dbs.get(Request, late.id)
    assert stored is not None
    stored.due_date = utcnow().date() - timedelta(days=2)
    decided = dbs.get(Request, weak.id)
    assert decided is not None
    decided.status = "accepted"
    decided.next_review_date = utcnow().date() + timedelta(days=10)
    dbs.commit()
    login(client, admin)
    page = client.get("/").get_data(as_text=True)
    figures = " ".join(
        re.sub(
            r"<[^>]+>", " ", page.split('id="dashboard-figures"')[1].split("</div>\n</div>")[0]
        ).split()
    )
    assert "1 waiting for your decision" in figures
    assert "1 overdue from suppliers" in figures
    assert "1 due for annual review" in figures
    assert "Slow Supplier Ltd" in page.split('id="overdue"')[1].split("</ul>")[0]
    ratings = " ".join(
        re.sub(r"<[^>]+>", " ", page.split('id="rating-counts"')[1].split("</table>")[0]).split()
    )
    assert "Green 1 Amber 0 Red 1 Not rated 0" in ratings


def edited_workbook(
    data: bytes, changes: dict[str, dict[str, str]]
) -> tuple[bytes, dict[str, int]]:
    """The exported workbook with some rule cells typed in, as a school would in
    Excel; also each question's Excel row number."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["Requirements"]
    headings = [cell.value for cell in sheet[1]]
    rows: dict[str, int] = {}
    for line in range(2, sheet.max_row + 1):
        question_id = sheet.cell(line, headings.index("Question id") + 1).value
        rows[question_id] = line
        for heading, value in changes.get(question_id, {}).items():
            sheet.cell(line, headings.index(heading) + 1).value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), rows


def test_a_profile_round_trips_through_excel_and_a_bad_file_changes_nothing(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    row, _ = make.submitted(admin)
    login(client, admin)
    exported = client.get("/requirements/cloud_supplier.xlsx")
    assert exported.status_code == 200
    assert exported.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    good = {
        "Rule": "max",
        "Value": "12",
        "Severity": "critical",
        "Note": "Faster than the baseline",
    }
    bad, lines = edited_workbook(
        exported.data,
        {
            "breach_notice_hours": good,
            "hosting_location": {
                "Rule": "in",
                "Value": "uk, mars",
                "Severity": "major",
                "Note": "x",
            },
            "deletion_days": {"Rule": "max", "Value": "14", "Severity": "major", "Note": ""},
        },
    )
    refused = client.post(
        "/requirements/cloud_supplier/import",
        data={"workbook": (io.BytesIO(bad), "rules.xlsx")},
        content_type="multipart/form-data",
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "Nothing was changed: fix the 2 problems below" in page
    assert f"Row {lines['hosting_location']} (hosting_location)" in page
    assert "mars: not an answer to this question" in page
    assert f"Row {lines['deletion_days']} (deletion_days)" in page
    assert "Say why your rule differs from the baseline" in page
    dbs.rollback()
    assert dbs.scalar(select(RequirementRule)) is None

    not_excel = client.post(
        "/requirements/cloud_supplier/import",
        data={"workbook": (io.BytesIO(b"name,rule\n"), "rules.xlsx")},
        content_type="multipart/form-data",
    )
    assert "The file is not an Excel workbook (.xlsx)" in not_excel.get_data(as_text=True)

    fixed, _ = edited_workbook(exported.data, {"breach_notice_hours": good})
    imported = client.post(
        "/requirements/cloud_supplier/import",
        data={"workbook": (io.BytesIO(fixed), "rules.xlsx")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    dbs.rollback()
    [rule] = dbs.scalars(select(RequirementRule))
    assert (rule.question_id, rule.operator, rule.value, rule.note) == (
        "breach_notice_hours",
        "max",
        12,
        "Faster than the baseline",
    )
    assert dbs.get(Request, row.id).rating == "red"  # 24 hours no longer meets 12
    [event] = events(dbs, "requirement_changed")
    assert event.detail["via"] == "import"

    # The export carries our rule back out, so the next round trip starts from it.
    again = openpyxl.load_workbook(io.BytesIO(client.get("/requirements/cloud_supplier.xlsx").data))
    sheet = again["Requirements"]
    headings = [cell.value for cell in sheet[1]]
    line = next(
        r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "breach_notice_hours"
    )
    assert line[headings.index("Note")] == "Faster than the baseline"


@pytest.mark.parametrize(
    ("key", "shows"),
    [
        ("it_support", "How quickly do you respond to a critical fault?"),
        ("cloud_supplier", "How soon will you tell the school about a personal data breach"),
        ("dpia_screening", "Screening result"),
    ],
)
def test_every_shipped_supplier_questionnaire_can_be_reviewed_and_decided(
    client: FlaskClient, make: Factory, dbs: Session, key: str, shows: str
) -> None:
    reviewer = make.user()
    row, _ = make.submitted(reviewer, key)
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert shows in page
    if key != "dpia_screening":
        assert "Against your requirements" in page
        assert 'id="findings-table"' in page
    decided = client.post(
        f"/requests/{row.id}/decision", data={"outcome": "accepted", "reason": "Meets our needs"}
    )
    assert decided.status_code == 302
    dbs.rollback()
    stored = dbs.get(Request, row.id)
    assert stored is not None
    assert stored.status == "accepted"
    assert stored.next_review_date == default_review_date(utcnow().date())


@pytest.mark.parametrize(
    ("today", "review"),
    [
        (date(2026, 11, 28), date(2027, 11, 28)),
        (date(2028, 2, 29), date(2029, 2, 28)),  # no 29 February next year
        (date(2027, 2, 28), date(2028, 2, 28)),
    ],
)
def test_the_next_review_defaults_to_twelve_months(today: date, review: date) -> None:
    assert default_review_date(today) == review


def test_the_request_page_leads_with_gaps_and_na_waits_for_a_reviewer(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    """Issue 21: critical and major gaps first, answers to read next, what is
    met folded away; a supplier's 'Not applicable' to a critical requirement
    keeps the rating red until a reviewer accepts it with a reason."""
    reviewer = make.user()
    row, _ = make.submitted(reviewer, "it_support", answers={"backups_offline": "na"})
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    severe = page[page.index('id="group-severe"') : page.index('id="group-settled"')]
    assert "Not applicable: needs review" in finding_row(severe, "backups_offline")
    assert "a reviewer must accept that" in finding_row(severe, "backups_offline")
    # What is met comes last, folded in a details element the reviewer opens.
    settled = page[page.index('id="group-settled"') :]
    assert page.index('id="group-severe"') < page.index('id="group-settled"')
    assert '<details class="govuk-details" id="group-settled">' in page
    assert "Met or not applicable" in settled
    dbs.rollback()
    assert dbs.get(Request, row.id).rating == "red"
    assert "1 critical requirement is not fully met" in page

    url = f"/requests/{row.id}/findings/backups_offline"
    refused = client.post(url, data={"outcome": "not_applicable", "reason": " "})
    assert "Say why you judge it differently" in refused.get_data(as_text=True)
    accepted = client.post(
        url,
        data={"outcome": "not_applicable", "reason": "The trust's own team keeps the backups"},
    )
    assert accepted.status_code == 302
    # The reviewer lands on what they judged, unfolded among the met ones.
    landed = client.get(accepted.location).get_data(as_text=True)
    assert 'id="group-settled" open>' in landed
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert 'id="group-settled" open>' not in page
    settled = page[page.index('id="group-settled"') :]
    assert "The trust&#39;s own team keeps the backups" in finding_row(settled, "backups_offline")
    assert (
        "backups_offline"
        not in page[: page.index('id="group-settled"')].split('id="findings-shown"')[-1]
    )
    dbs.rollback()
    assert dbs.get(Request, row.id).rating != "red"
