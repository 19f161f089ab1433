"""A curator changes a question in a browser (issue 24): uploads a broken
workbook and reads its row-numbered problems, uploads the fixed one, tries it
out (a follow-up appears as an answer changes), publishes; a school then sends
it. Every page is checked with axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page

from ..factories import PASSWORD, TEST_MFA_SECRET, Factory
from ..test_curator_questionnaires import broken, changed_workbook
from .test_accessibility import check

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: str, email: str, seen: dict[str, list[str]]) -> None:
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    if "/login/code" in page.url:  # curators sign in with an authenticator app
        page.wait_for_selector("#code")
        page.fill("#code", pyotp.TOTP(TEST_MFA_SECRET).now())
        page.click("button:has-text('Continue')")
    page.wait_for_load_state("load")


def test_a_curator_fixes_tries_and_publishes_a_workbook_in_a_browser(
    browser: Any, server: str, make: Factory, tmp_path: Path
) -> None:
    curator = make.user(make.org("Northgate Data Protection", kind="curator"), role="curator")
    seen: dict[str, list[str]] = {}
    desk = browser.new_context().new_page()
    sign_in(desk, server, curator.email, seen)
    desk.goto(f"{server}/curate/")
    desk.click("text=Questionnaires: change one, publish a version")
    check(desk, seen)

    draft = tmp_path / "features-draft.xlsx"
    draft.write_bytes(broken(changed_workbook()))
    desk.set_input_files("#workbook", str(draft))
    desk.click("button:has-text('Upload and check')")
    problems = desk.inner_text("#workbook-problems")
    assert "survey row" in problems and "column relevant" in problems and "hostng" in problems
    check(desk, seen)

    fixed = tmp_path / "features-v2.xlsx"
    fixed.write_bytes(changed_workbook())
    desk.set_input_files("#workbook", str(fixed))
    desk.click("button:has-text('Upload and check')")
    assert "Target time to respond" in desk.inner_text("#changes")
    check(desk, seen)

    desk.click("text=Preview it as a supplier sees it")
    # The page's script must be listening before the answer changes: a module
    # script runs before "load" (CI's run on 5 December checked too early).
    desk.wait_for_url("**/try")
    desk.wait_for_load_state("load")
    expiry = desk.locator('[data-question="expiry"]')
    assert expiry.is_hidden()
    desk.check('input[name="certificate"][value="basic"]')
    expiry.wait_for(state="visible")  # the follow-up appears as the answer changes
    check(desk, seen)
    desk.fill("#expiry", "2020-01-31")
    desk.click("button:has-text('Show the findings')")
    assert "Not met" in desk.inner_text("#tried-expiry")
    check(desk, seen)

    desk.click("text=Back to features-v2.xlsx")
    desk.click("button:has-text('Publish version 2')")
    assert "new requests use it from now on" in desk.inner_text(".govuk-notification-banner")
    check(desk, seen)

    school_admin = make.user(make.org("Oakfield Primary School"), role="admin")
    school = browser.new_context().new_page()
    sign_in(school, server, school_admin.email, seen)
    school.goto(f"{server}/requests/new")
    school.select_option("#questionnaire", "features")
    school.fill("#supplier_name", "Acme IT Services Ltd")
    school.fill("#contact_name", "Sam Carter")
    school.fill("#contact_email", "sam@acme.example")
    school.click("button:has-text('Send request')")
    link = school.inner_text("#supplier-link")
    supplier = browser.new_context().new_page()
    supplier.goto(link)
    supplier.click("text=Start now")
    supplier.get_by_role("link", name="Main", exact=True).click()
    assert "Target time to respond" in supplier.inner_text("main")

    assert len(seen) >= 4  # pages by address: the list, both uploads, the try-out
    failures = {url: v for url, v in seen.items() if v}
    assert failures == {}, failures
