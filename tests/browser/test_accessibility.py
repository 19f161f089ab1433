"""Every page of the main loop, in Chromium, checked with axe-core: the whole
journey is clicked through as a person would, with JavaScript on."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from ..conftest import SHIPPED_QUESTIONNAIRES
from ..factories import PASSWORD, TEST_MFA_SECRET, Factory

pytestmark = pytest.mark.browser
axe = Axe()


def check(page: Page, seen: dict[str, list[str]]) -> None:
    # A click starts the next page loading; axe must see it loaded, not half built.
    page.wait_for_load_state("load")
    result = axe.run(page)
    seen[page.url] = [f"{v['id']}: {v['help']}" for v in result.response["violations"]]


def invite_from_elsewhere(make: Factory, email: str) -> None:
    """Another school's admin invites this address (shown on its account page)."""
    from portal.extensions import db
    from portal.services.accounts import users as accounts

    inviter = make.user(make.org("Elm Tree Academy"), role="admin")
    with make.app.test_request_context():
        inviter = db.session.merge(inviter)
        accounts.invite_user(
            db.session, inviter=inviter, organisation=inviter.memberships[0].organisation,
            email=email, name="Pat", role="viewer",
        )  # fmt: skip
        db.session.commit()


def test_main_loop_pages_have_no_axe_violations(browser: Any, server: str, make: Factory) -> None:
    reviewer = make.user(make.org("Oakfield Primary School"), role="admin")
    seen: dict[str, list[str]] = {}
    staff = browser.new_page()
    staff.goto(f"{server}/login")
    check(staff, seen)
    staff.fill("#email", reviewer.email)
    staff.fill("#password", "wrong password, deliberately")
    staff.click("button:has-text('Sign in')")
    assert "Enter a correct email address and password" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.fill("#password", PASSWORD)
    staff.click("button:has-text('Sign in')")
    assert staff.inner_text("h1") == "Oakfield Primary School"
    check(staff, seen)

    staff.click("text=Send a new request")
    staff.click("button:has-text('Send request')")
    assert "Enter the supplier's name" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.select_option("#questionnaire", "it_support")
    staff.fill("#supplier_name", "Acme IT Services Ltd")
    staff.fill("#contact_name", "Sam Carter")
    staff.fill("#contact_email", "sam@acme.example")
    staff.click("button:has-text('Send request')")
    assert "Request DD-" in staff.inner_text(".govuk-notification-banner")
    link = staff.inner_text("#supplier-link")
    check(staff, seen)
    staff.goto(f"{server}/users")
    staff.fill("#name", "New Person")
    staff.fill("#email", "new.person@oakfield.example")
    staff.click("button:has-text('Send invitation')")
    assert "Invitation sent to new.person@oakfield.example" in staff.inner_text("main")
    check(staff, seen)  # with an invitation waiting, and its Withdraw button
    invite_from_elsewhere(make, reviewer.email)
    staff.goto(f"{server}/account")
    assert "has invited you to join" in staff.inner_text("main")
    check(staff, seen)  # with Accept and Decline
    staff.goto(f"{server}/account/password")
    staff.click("button:has-text('Change password')")
    assert "Enter your current password" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.goto(f"{server}/account/authenticator")
    check(staff, seen)
    staff.goto(f"{server}/audit")
    check(staff, seen)
    staff.goto(f"{server}/api-keys")
    staff.click("button:has-text('Make key')")
    assert "Enter a name for the key" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.fill("#name", "Trust tracker")
    staff.check("#scope-2")
    staff.click("button:has-text('Make key')")
    assert staff.input_value("#new-key").startswith("ddp_")
    check(staff, seen)

    supplier = browser.new_context().new_page()
    assert link.startswith(server)  # on PORTAL_BASE_URL, this server's address
    supplier.goto(link)
    assert "IT support provider due diligence" in supplier.inner_text("h1")
    check(supplier, seen)
    supplier.click("text=Start now")
    check(supplier, seen)
    supplier.click("text=About your organisation")
    supplier.click("button:has-text('Save and continue')")
    assert "There is a problem" in supplier.inner_text(".govuk-error-summary")
    check(supplier, seen)
    supplier.fill("#legal_name", "Acme IT Services Ltd")
    supplier.check("#support_model")
    supplier.fill("#service_contact_email", "help@acme.example")
    supplier.click("button:has-text('Save and continue')")
    assert supplier.inner_text("h1") == "DfE standards and service levels"
    check(supplier, seen)
    supplier.click("text=Back to all sections")
    supplier.click("text=Check your answers and submit")
    check(supplier, seen)

    # Tables, files, comments and follow-up questions, with their errors.
    features, features_link = make.request(reviewer, questionnaire="features")
    supplier.goto(
        features_link.replace("http://portal.test", server)
        if features_link.startswith("http")
        else server + features_link
    )
    supplier.goto(f"{server}/respond/{features.reference}/sections/main")
    supplier.check("#certificate-2")
    supplier.fill("#resolution_minutes", "5")
    supplier.click("button:has-text('Save and continue')")
    assert "There is a problem" in supplier.inner_text(".govuk-error-summary")
    check(supplier, seen)
    supplier.goto(f"{server}/respond/{features.reference}/sections/more")
    supplier.check("#uses_subprocessors")
    supplier.click("button:has-text('Save and continue')")
    assert "Sub-processors" in supplier.inner_text("main")
    check(supplier, seen)

    supplier.goto(f"{server}/respond/{features.reference}/reuse/code")
    assert supplier.inner_text("h1") == "Copy in answers you gave another organisation"
    check(supplier, seen)
    supplier.goto(f"{server}/no-such-page")
    check(supplier, seen)
    supplier.goto(f"{server}/forgot-password")
    check(supplier, seen)

    assert len(seen) >= 11
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_review_pages_have_no_axe_violations(browser: Any, server: str, make: Factory) -> None:
    admin = make.user(make.org("Oakfield Primary School"), role="admin")
    weak, _ = make.submitted(
        admin, answers={"breach_notice_hours": 72, "deletion_days": 45}, supplier_name="Cloudy Ltd"
    )
    good, _ = make.submitted(admin, supplier_name="StarMaths Online")
    screening, _ = make.submitted(admin, "dpia_screening", supplier_name="Cloudy Ltd")
    seen: dict[str, list[str]] = {}
    staff = browser.new_page()
    staff.goto(f"{server}/login")
    staff.fill("#email", admin.email)
    staff.fill("#password", PASSWORD)
    staff.click("button:has-text('Sign in')")
    assert "waiting for your decision" in staff.inner_text("#dashboard-figures")
    check(staff, seen)

    staff.goto(f"{server}/requests/{weak.id}")
    assert "Not met" in staff.inner_text("#finding-breach_notice_hours")
    check(staff, seen)
    staff.check("#only-gaps")
    staff.click("button:has-text('Filter')")
    assert "2 of" in staff.inner_text("#findings-shown")
    check(staff, seen)
    staff.click("#finding-deletion_days >> text=Judge differently")
    staff.click("button:has-text('Save your judgement')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.check("#outcome")
    staff.fill("#reason", "Backups age out at 45 days")
    staff.click("button:has-text('Save your judgement')")
    assert "Backups age out" in staff.inner_text("#finding-deletion_days")

    staff.click("text=Record a decision")
    staff.click("button:has-text('Record the decision')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.check("#outcome-2")
    staff.fill("#conditions", "Commit to 24-hour breach notice in the contract")
    staff.fill("#reason", "Good apart from breach notice")
    staff.click("button:has-text('Record the decision')")
    assert "Accepted with conditions" in staff.inner_text("#decision")
    check(staff, seen)

    staff.goto(f"{server}/requests/{screening.id}")
    staff.click("text=Send extended due diligence")
    # The new page first: axe on a page still loading finds no landmarks.
    expect(staff.locator("h1")).to_have_text("Send extended due diligence")
    check(staff, seen)

    staff.goto(f"{server}/compare?request={weak.id}&request={good.id}")
    assert "StarMaths Online" in staff.inner_text("#compare-matrix")
    check(staff, seen)

    staff.goto(f"{server}/register")
    assert "Supplier register" in staff.inner_text("h1")
    check(staff, seen)
    staff.goto(f"{server}/requirements/")
    check(staff, seen)
    staff.click("text=Cloud and edtech supplier due diligence")
    check(staff, seen)
    staff.click("#rule-breach_notice_hours >> text=Set your own rule")
    staff.fill("#value", "twelve")
    staff.click("button:has-text('Save your rule')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.goto(f"{server}/requirements/cloud_supplier/import")
    staff.click("button:has-text('Import')")
    check(staff, seen)

    assert len(seen) >= 10
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_directory_pages_have_no_axe_violations(browser: Any, server: str, make: Factory) -> None:
    school_admin = make.user(make.org("Oakfield Primary School"), role="admin")
    row, _ = make.submitted(school_admin, consent=True, supplier_name="Cloudy Ltd")
    curator = make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")
    seen: dict[str, list[str]] = {}

    def sign_in(page: Page, email: str) -> None:
        page.goto(f"{server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")
        if "/login/code" in page.url:  # curators sign in with an authenticator app
            page.wait_for_selector("#code")  # the URL changes before the page has loaded
            check(page, seen)
            page.fill("#code", pyotp.TOTP(TEST_MFA_SECRET).now())
            page.click("button:has-text('Continue')")

    desk = browser.new_context().new_page()
    sign_in(desk, curator.email)
    desk.goto(f"{server}/curate/")
    check(desk, seen)
    desk.click("#queue >> text=Cloudy Ltd")
    desk.click("button:has-text('Create the draft')")
    assert "There is a problem" in desk.inner_text(".govuk-error-summary")
    check(desk, seen)
    desk.fill("#product", "Cloudy Classroom")
    desk.select_option("#category", "learning_platform")
    desk.fill("#summary", "Fine.")
    desk.check("#rating")
    desk.click("button:has-text('Create the draft')")
    assert "Draft" in desk.inner_text("#entry-state")
    check(desk, seen)
    desk.click("text=Change About you and your product")
    check(desk, seen)
    desk.goto(desk.url.rsplit("/sections", 1)[0])
    desk.click("button:has-text('Publish')")
    assert "Published" in desk.inner_text("#entry-state")
    check(desk, seen)
    desk.goto(f"{server}/curate/new")
    check(desk, seen)

    school = browser.new_context().new_page()
    sign_in(school, school_admin.email)
    school.goto(f"{server}/directory/")
    check(school, seen)
    school.click("#results >> text=Cloudy Classroom")
    check(school, seen)
    school.click("button:has-text('Adopt this assessment')")
    assert "adopted this entry" in school.inner_text("#adopted")
    check(school, seen)

    assert len(seen) >= 7
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_standards_pages_have_no_axe_violations(browser: Any, server: str, make: Factory) -> None:
    school = make.org("Oakfield Primary School")
    admin = make.user(school, role="admin")
    make.user(school, role="viewer")
    seen: dict[str, list[str]] = {}
    staff = browser.new_page()
    staff.goto(f"{server}/login")
    staff.fill("#email", admin.email)
    staff.fill("#password", PASSWORD)
    staff.click("button:has-text('Sign in')")
    assert "has not named its SLT digital lead" in staff.inner_text("main")
    check(staff, seen)

    staff.goto(f"{server}/standards")
    check(staff, seen)
    staff.click("text=Name the digital lead")
    staff.click("button:has-text('Save')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)

    staff.goto(f"{server}/standards/sections/leadership")
    staff.check("#digital_lead_named")
    staff.fill("#digital_lead_named-note", "x" * 2001)
    staff.click("button:has-text('Save and continue')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)

    staff.goto(f"{server}/standards/standard/dfe-digital-leadership-standard-1")
    check(staff, seen)
    staff.goto(f"{server}/standards/raci")
    check(staff, seen)
    staff.goto(f"{server}/standards/raci/digital_lead_named")
    check(staff, seen)
    staff.goto(f"{server}/standards/timeline")
    check(staff, seen)
    staff.goto(f"{server}/standards/report")
    check(staff, seen)

    staff.goto(f"{server}/suppliers/add")
    staff.fill("#supplier_name", "ReadWell Ltd")
    staff.fill("#contract_start", "2026-09-01")
    staff.fill("#contract_end", "2025-08-31")
    staff.click("button:has-text('Save')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.fill("#contract_end", "2029-08-31")
    staff.click("button:has-text('Save')")
    assert "ReadWell Ltd" in staff.inner_text("#supplier-register")
    check(staff, seen)
    staff.click("text=ReadWell Ltd")
    check(staff, seen)

    assert len(seen) >= 11
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_dpia_pages_have_no_axe_violations(browser: Any, server: str, make: Factory) -> None:
    from portal.extensions import db
    from portal.models import Dpia, DpiaAnswer
    from portal.questionnaire import load_directory
    from portal.questionnaire.examples import example_answers

    admin = make.user(make.org("Oakfield Primary School"), role="admin")
    row, _ = make.submitted(
        admin, "cloud_supplier", answers={"hosting_location": "other", "access_outside_uk": "yes",
                                          "transfer_mechanism": "none"},
    )  # fmt: skip
    seen: dict[str, list[str]] = {}
    staff = browser.new_page()
    staff.goto(f"{server}/login")
    staff.fill("#email", admin.email)
    staff.fill("#password", PASSWORD)
    staff.click("button:has-text('Sign in')")
    staff.goto(f"{server}/requests/{row.id}")
    staff.click("button:has-text('Start a DPIA')")
    assert "copied from what the supplier told us" in staff.inner_text("main")
    check(staff, seen)
    staff.click("text=The processing: nature, scope, context and purposes")
    check(staff, seen)
    staff.goto(staff.url.replace("/processing", "/risks"))
    staff.fill("#risk_register-0-risk", "Records reachable from abroad")
    staff.click("button:has-text('Save and continue')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)

    # The rest answered as the school would, then the sign-off pages.
    questionnaire = {q.key: q for q in load_directory(SHIPPED_QUESTIONNAIRES)}["dpia_full"]
    with make.app.app_context():
        dpia = db.session.query(Dpia).one()
        stored = {a.question_id: a for a in db.session.query(DpiaAnswer).filter_by(dpia_id=dpia.id)}
        fixed = {"risk_register": [{
            "risk": "Records reachable from abroad", "likelihood": "probable", "severity": "severe",
            "measure": "Transfer agreement", "residual_likelihood": "possible",
            "residual_severity": "severe", "approved": "no",
        }]}  # fmt: skip
        for qid, value in example_answers(questionnaire, fixed=fixed).items():
            if qid in stored:
                stored[qid].value = value if qid == "risk_register" else stored[qid].value
            else:
                db.session.add(DpiaAnswer(dpia_id=dpia.id, question_id=qid, value=value))
        db.session.commit()
        dpia_id = dpia.id
    staff.goto(f"{server}/dpias/{dpia_id}")
    staff.click("button:has-text('Ask for the DPO')")
    staff.click("text=Record the DPO's advice")
    staff.click("button:has-text('Record the advice')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.fill("#dpo_name", "Jo Patel")
    staff.fill("#advice", "Sign the transfer agreement first.")
    staff.click("button:has-text('Record the advice')")
    staff.click("text=Approve or reject")
    staff.check("#outcome")
    staff.click("button:has-text('Record the decision')")
    assert "There is a problem" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)
    staff.goto(f"{server}/dpias/{dpia_id}/return")
    check(staff, seen)
    staff.goto(f"{server}/dpias")
    check(staff, seen)
    staff.goto(f"{server}/dpias/risk-matrix")
    staff.select_option("#possible_severe", "low")
    staff.click("button:has-text('Save the matrix')")
    assert "cannot be a lower risk" in staff.inner_text(".govuk-error-summary")
    check(staff, seen)

    assert len(seen) >= 8
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures
