"""Stored XSS: script polyglots typed into every free-text field people fill,
then every page that shows them, as each role, in Chromium with our CSP. No
dialog opens, the browser reports no CSP violation, no element gains an event
handler, and the text is shown as text."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models import Organisation, Request
from portal.questionnaire.definition import Question
from portal.services.accounts import api_keys
from portal.services.directory import curation as directory
from portal.services.platform.questionnaire_registry import find_current
from portal.services.requests import answering as responses
from portal.services.requests import clarifications, evidence
from portal.services.requirements import changes as profile_changes
from portal.services.requirements import ratings
from portal.services.requirements.profiles import RuleInput
from portal.services.review import decisions as review

from ..factories import PASSWORD, TEST_MFA_SECRET, Factory

pytestmark = pytest.mark.browser

# The classic polyglot (runs in most HTML contexts if unescaped), an <img>
# with an error handler, a plain script tag, and template syntax.
POLYGLOT = (
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert(1) )//%0D%0A%0d%0a//</stYle/"
    "</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert(2)//>\\x3e"
)
IMG = '"><img src=x onerror=alert(3)>'
SCRIPT = "<script>alert(4)</script>{{7*7}}"
MARK = "onerror=alert(3)"  # must appear on the page as text
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
HANDLERS = "document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover]').length"
INLINE = "document.querySelectorAll('script:not([src]):not([nonce])').length"


def hostile(label: str, limit: int = 200) -> str:
    """Cut to the field's size (names are 200 characters; PostgreSQL enforces it)."""
    return f"{label} {IMG} {SCRIPT} {POLYGLOT}"[:limit]


def seed(app: Flask, make: Factory) -> dict[str, Any]:
    """Hostile text in every field a supplier, a school or a curator can fill."""
    school = make.org("Oakfield Primary")
    admin = make.user(school, role="admin")
    viewer = make.user(school, role="viewer")
    curators = make.org("Northgate", kind="curator")
    curator = make.user(curators, role="curator")
    with app.test_request_context():
        for person, name in ((admin, "Admin"), (viewer, "Viewer")):
            db.session.merge(person).name = hostile(name)
        db.session.commit()
    clarified, _ = make.submitted(
        admin,
        "features",
        answers={"certificate": "none", "why_not": hostile("Why", 5000)},
        comments={"certificate": hostile("Comment")},
        supplier_name=hostile("Supplier"),
        message=hostile("Message"),
        consent=True,
    )
    decided, _ = make.submitted(admin, "features", supplier_name=hostile("Decided"), consent=True)
    answering, link = make.request(admin, "features", supplier_name=hostile("Answering"))
    with app.test_request_context():
        session = db.session
        actor = session.merge(admin)
        row = session.get(Request, clarified.id)
        open_row = session.get(Request, answering.id)
        question: Question = find_current(session, "features").question("policy")
        upload = FileStorage(io.BytesIO(b"%PDF-1.7\n"), filename=f"{IMG}.pdf")
        ids = evidence.store_uploads(session, open_row, question, [upload], [])
        responses.save_answers(session, open_row, {"policy": ids}, {"certificate": hostile("C")})
        clarifications.ask_clarification(session, row, actor, {"cover": hostile("Clarify")})
        other = session.get(Request, decided.id)
        if ratings.comparison_for(session, other).finding("expiry"):
            review.set_review(session, other, actor, "expiry", "not_met", hostile("Judged"))
        review.decide(
            session,
            other,
            actor,
            review.Decision(
                "accepted_with_conditions", hostile("Reason"), [hostile("Condition")], None
            ),
        )
        profile_changes.save_rule(
            session,
            session.get(Organisation, school.id),
            actor,
            find_current(session, "features"),
            "response_minutes",
            RuleInput("max", "60", "major", False, hostile("Note")),
        )
        api_keys.create_api_key(
            session, session.get(Organisation, school.id), actor, hostile("Key")[:90], "read"
        )
        entry = directory.draft_from_submission(
            session,
            session.merge(curator),
            session.get(Request, decided.id),
            directory.EntryDetails(
                product=hostile("Product")[:190],
                category="it_support",
                summary=hostile("Summary"),
                rating="amber",
                conditions=hostile("Conditions"),
                review_due=date(2099, 1, 1),
            ),
        )
        directory.publish(session, session.merge(curator), entry)
        session.commit()
        entry_id = entry.id
    return {
        "admin": admin,
        "viewer": viewer,
        "curator": curator,
        "link": link,
        "requests": [clarified.id, decided.id, answering.id],
        "entry": entry_id,
        "reference": answering.reference,
    }


def visit(page: Page, url: str, seen: dict[str, list[str]], dialogs: list[str], who: str) -> None:
    page.goto(url)
    problems = [f"dialog: {d}" for d in dialogs]
    problems += [f"CSP: {v}" for v in page.evaluate("window.__violations")]
    if page.evaluate(HANDLERS):
        problems.append("an element gained an event handler")
    if page.evaluate(INLINE):
        problems.append("an inline script without our nonce")
    seen[f"{who} {url}"] = problems
    dialogs.clear()


def staff_page(browser: Any, server: str, email: str, mfa: bool = False) -> tuple[Page, list[str]]:
    import pyotp

    page = browser.new_context().new_page()
    page.add_init_script(WATCH)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    if mfa:
        page.fill("#code", pyotp.TOTP(TEST_MFA_SECRET).now())
        page.click("button:has-text('Continue')")
    return page, dialogs


def test_stored_script_never_runs_anywhere(
    app: Flask, browser: Any, server: str, make: Factory
) -> None:
    world = seed(app, make)
    seen: dict[str, list[str]] = {}
    first, second, third = world["requests"]
    admin_pages = [
        "/", "/register", "/compare", "/directory/", f"/directory/{world['entry']}", "/users",
        "/api-keys", "/audit", "/requirements/features", "/requirements/features/response_minutes",
        *(f"/requests/{n}" for n in world["requests"]),
        f"/requests/{second}?only=gaps", f"/requests/{first}/clarify", f"/requests/{second}/decision",
    ]  # fmt: skip
    admin, dialogs = staff_page(browser, server, world["admin"].email)
    for path in admin_pages:
        visit(admin, server + path, seen, dialogs, "admin")
    admin.goto(f"{server}/requests/{first}")
    assert MARK in admin.inner_text("body")  # shown, as text

    viewer, dialogs = staff_page(browser, server, world["viewer"].email)
    for path in ("/", f"/requests/{first}", f"/requests/{second}", "/directory/"):
        visit(viewer, server + path, seen, dialogs, "viewer")

    curator, dialogs = staff_page(browser, server, world["curator"].email, mfa=True)
    for path in ("/curate/", "/curate/?list=drafts", "/curate/?list=published",
                 f"/curate/entries/{world['entry']}"):  # fmt: skip
        visit(curator, server + path, seen, dialogs, "curator")

    supplier = browser.new_context().new_page()
    supplier.add_init_script(WATCH)
    dialogs = []
    supplier.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    supplier.goto(server + world["link"])
    reference = world["reference"]
    for path in ("/", "/tasks", "/sections/main", "/sections/more", "/check"):
        visit(supplier, f"{server}/respond/{reference}{path}", seen, dialogs, "supplier")

    assert {url: problems for url, problems in seen.items() if problems} == {}
    assert len(seen) >= 25
