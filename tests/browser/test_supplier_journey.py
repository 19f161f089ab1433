"""The supplier's journey in Chromium: autosave and follow-up questions with
JavaScript, and a whole questionnaire done with the keyboard alone, with and
without JavaScript, every page checked with axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer, Request

from ..factories import Factory

pytestmark = pytest.mark.browser
axe = Axe()


def no_axe_violations(page: Page) -> None:
    # A click that follows a link returns once the navigation has started; axe
    # must read the new page, not the blank document in between.
    page.wait_for_load_state("load")
    page.locator("main").first.wait_for(state="attached")
    result = axe.run(page)
    assert result.response["violations"] == [], [
        (v["id"], [n["target"] for n in v["nodes"]], page.url)
        for v in result.response["violations"]
    ]


def open_link(page: Page, server: str, link: str) -> None:
    page.goto(server + link)


def test_autosave_and_follow_up_questions_with_javascript(
    browser: Any, server: str, make: Factory, dbs: Session
) -> None:
    row, link = make.request(make.user(), questionnaire="features")
    page = browser.new_context().new_page()
    open_link(page, server, link)
    page.goto(f"{server}/respond/{row.reference}/sections/main")
    expiry = page.locator('[data-question="expiry"]')
    expect(expiry).to_be_hidden()
    page.get_by_label("Basic").check()
    expect(expiry).to_be_visible()  # at once, without a page load
    expect(page.locator("#autosave-status")).to_have_text("Saved")
    dbs.rollback()
    saved = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == "certificate")
    )
    assert saved is not None
    assert saved.value == "basic"

    page.fill("#response_minutes", "a lot")
    page.locator("#response_minutes").blur()
    expect(page.locator("#autosave-status")).to_contain_text(
        "Not saved: Response target: Enter a number of minutes"
    )
    page.fill("#response_minutes", "30")
    page.locator("#response_minutes").blur()
    expect(page.locator("#autosave-status")).to_have_text("Saved")
    no_axe_violations(page)


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element is focused: proves it is reachable by keyboard."""
    for _ in range(limit):
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_whole_questionnaire_with_the_keyboard_only(
    browser: Any, server: str, make: Factory, dbs: Session, javascript: bool
) -> None:
    row, link = make.request(make.user(), questionnaire="gated")
    page = browser.new_context(java_script_enabled=javascript).new_page()
    page.set_default_timeout(10_000)
    # axe-core runs inside the page and hangs without JavaScript; the run without
    # it visits the same pages the run with it has checked.
    check = no_axe_violations if javascript else (lambda _page: None)
    open_link(page, server, link)
    check(page)
    tab_to(page, "a.govuk-button--start")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Gated sections test questionnaire")
    check(page)
    tab_to(page, "a.govuk-task-list__link")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("First")
    tab_to(page, "#uses_cloud")
    page.keyboard.press("Space")
    tab_to(page, "button[value='continue']")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Cloud hosting")
    check(page)
    tab_to(page, "#region")
    page.keyboard.type("UK South")
    tab_to(page, "#provider")
    page.keyboard.type("Example Cloud")
    tab_to(page, "button[value='continue']")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Check your answers before submitting")
    check(page)
    tab_to(page, "#declared_name")
    page.keyboard.type("Sam Carter")
    tab_to(page, "#declared_role")
    page.keyboard.type("Director")
    tab_to(page, "#accurate")
    page.keyboard.press("Space")
    tab_to(page, "button.govuk-button:not(.govuk-button--secondary)")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Answers submitted")
    check(page)
    dbs.rollback()
    submitted = dbs.get(Request, row.id)
    assert submitted is not None
    assert submitted.status == "submitted"
    assert submitted.declared_name == "Sam Carter"


def test_other_supplier_pages_have_no_axe_violations(
    browser: Any, server: str, make: Factory, app: Any
) -> None:
    """The unusable-link page, a clarification round and the confirmation."""
    import io

    from ..factories import DECLARATION, link_path, login

    page = browser.new_context().new_page()
    page.goto(f"{server}/respond/link/not-a-token")
    expect(page.locator("h1")).to_have_text("This link does not work")
    no_axe_violations(page)

    reviewer = make.user()
    row, link = make.request(reviewer, questionnaire="features")
    supplier = app.test_client()
    supplier.get(link)
    base = f"/respond/{row.reference}"
    supplier.post(
        f"{base}/sections/main",
        data={
            "certificate": "none",
            "why_not": "Applying",
            "response_minutes": "30",
            "resolution_minutes": "60",
            "cover": "1000",
        },
    )
    supplier.post(
        f"{base}/sections/more",
        data={"uses_subprocessors": "no", "policy": (io.BytesIO(b"%PDF-1.7 x"), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert supplier.post(f"{base}/check", data=DECLARATION).status_code == 302
    staff = app.test_client()
    login(staff, reviewer)
    staff.post(f"/requests/{row.id}/clarify", data={"note-cover": "Per claim or in total?"})
    new_link = link_path(app.extensions["portal_mail_memory"][-1]["body"])

    page.goto(server + new_link)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Per claim or in total?")
    no_axe_violations(page)
    page.goto(f"{server}{base}/sections/main")
    no_axe_violations(page)  # questions outside the round are read-only
    page.goto(f"{server}{base}/check")
    page.fill("#declared_name", "Sam Carter")
    page.fill("#declared_role", "Director")
    page.check("#accurate")
    page.click("button:has-text('Accept and submit')")
    expect(page.locator("h1")).to_have_text("Answers submitted")
    no_axe_violations(page)


def test_autosave_of_a_text_answer_beside_an_evidence_upload(
    browser: Any, server: str, make: Factory, dbs: Session
) -> None:
    """The evidence inputs share the question's name prefix: they must not be
    mistaken for table cells (that once saved a blank over the answer)."""
    row, link = make.request(make.user(), questionnaire="evidenced")
    page = browser.new_context().new_page()
    open_link(page, server, link)
    page.goto(f"{server}/respond/{row.reference}/sections/only")
    page.fill("#policy_owner", "Head of IT")
    page.locator("#policy_owner").blur()
    expect(page.locator("#autosave-status")).to_have_text("Saved")
    dbs.rollback()
    saved = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == "policy_owner")
    )
    assert saved is not None
    assert saved.value == "Head of IT"


def test_two_quick_changes_to_one_answer_are_no_conflict(
    browser: Any, server: str, make: Factory, dbs: Session
) -> None:
    """Issue 22, A2: the second change waits for the first save and is sent
    with the revision it returned, so it is not taken for another tab's."""
    row, link = make.request(make.user(), questionnaire="features")
    page = browser.new_context().new_page()
    open_link(page, server, link)
    page.goto(f"{server}/respond/{row.reference}/sections/main")
    # Both changes in one go: the second fires while the first save is on its way.
    page.evaluate(
        """() => {
          document.querySelector('input[name="certificate"][value="basic"]').click()
          document.querySelector('input[name="certificate"][value="plus"]').click()
        }"""
    )
    expect(page.locator("#autosave-status")).to_have_text("Saved")
    dbs.rollback()
    saved = dbs.scalar(
        select(Answer).where(Answer.request_id == row.id, Answer.question_id == "certificate")
    )
    assert saved is not None
    assert (saved.value, saved.revision) == ("plus", 2)
