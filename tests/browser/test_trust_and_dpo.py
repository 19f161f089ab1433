"""Issue 29 in Chromium: a trust admin walks from the trust's list into a
school's request (read only) and back; a DPO service answers a school's DPIA
advice request. Every page is checked with axe-core."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Dpia, FeedbackShare

from ..factories import PASSWORD, TEST_MFA_SECRET, Factory, login
from ..test_dpia import shipped
from ..test_dpo_advice import waiting_dpia
from .test_supplier_journey import no_axe_violations

pytestmark = [pytest.mark.browser, shipped]


def sign_in(page: Page, server: str, email: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda url: not url.endswith("/login"))
    if "/login/code" in page.url:  # curators sign in with an authenticator app
        page.wait_for_selector("#code")
        page.fill("#code", pyotp.TOTP(TEST_MFA_SECRET).now())
        page.click("button:has-text('Continue')")
        page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("load")


def test_a_trust_admin_walks_from_the_trust_list_into_a_schools_request(
    browser: Any, server: str, make: Factory
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    academy = make.org("Riverside Academy", trust=trust)
    make.org("Meadow Lane Primary", trust=trust)
    head = make.user(academy, role="admin")
    row, _ = make.submitted(head, supplier_name="Cloudy Classroom Ltd")
    central = make.user(trust, role="admin", email="it@riverside.example")

    page = browser.new_context().new_page()
    sign_in(page, server, central.email)
    page.goto(f"{server}/standards/schools")
    no_axe_violations(page)
    page.click("text=every school's requests in one list")
    page.wait_for_url("**/trust/requests")
    no_axe_violations(page)
    page.select_option("#filter-school", label="Riverside Academy")
    page.click("button:has-text('Filter requests')")
    page.wait_for_url("**/trust/requests?*")
    assert "Cloudy Classroom Ltd" in page.inner_text("#trust-requests")
    no_axe_violations(page)
    page.click(f"text={row.reference}")
    page.wait_for_url(f"**/requests/{row.id}")
    no_axe_violations(page)
    content = page.content()
    assert "View only" in content and "Cloudy Classroom Ltd" in content
    assert "Record a decision" not in content
    page.click("button:has-text('Back to Riverside Learning Trust')")
    page.wait_for_url("**/standards/schools")
    assert "View only" not in page.content()
    no_axe_violations(page)


def test_a_dpo_service_answers_a_dpia_advice_request(
    app: Flask, browser: Any, server: str, make: Factory, dbs: Session
) -> None:
    service = make.org("Shire DPO Service", kind="curator")
    adviser = make.user(service, role="curator", email="jo@shire-dpo.example")
    admin = make.user(make.org("Hillside Primary"), role="admin")
    school = app.test_client()
    login(school, admin)
    dpia_id = waiting_dpia(school, make, dbs, admin)
    assert (
        school.post(f"/dpias/{dpia_id}/dpo-share", data={"message": "Enough?"}).status_code == 302
    )

    page = browser.new_context().new_page()
    sign_in(page, server, adviser.email)
    page.goto(f"{server}/curator/feedback")
    no_axe_violations(page)
    page.click("text=Advice on the DPIA of")
    page.wait_for_url("**/curator/feedback/*")
    no_axe_violations(page)
    # Sent without the ICO answer: the page says so and keeps the advice.
    page.fill("#advice", "Go ahead: the measures are enough.")
    page.click("button:has-text('Send the advice to the school')")
    page.wait_for_load_state("load")
    assert "Say whether the school should consult the ICO" in page.content()
    assert page.input_value("#advice") == "Go ahead: the measures are enough."
    no_axe_violations(page)
    page.check("input[name=ico][value=no]")
    page.click("button:has-text('Send the advice to the school')")
    page.wait_for_load_state("load")
    assert "Your advice is sent to Hillside Primary" in page.content(), page.inner_text("main")[
        :1500
    ]
    no_axe_violations(page)
    dbs.rollback()
    row = dbs.get(Dpia, dpia_id)
    assert row.status == "awaiting_approval" and row.dpo_advises_ico is False
    share = dbs.scalars(select(FeedbackShare).where(FeedbackShare.dpia_id == dpia_id)).one()
    assert share.answered_at is not None
