"""Single sign-on in Chromium: a teacher signs in through the test provider
(a real OpenID Connect server on loopback), and an admin links the school's
tenant and turns passwords off; every portal page checked with axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.models import SsoLink

from ..conftest import register_portal
from ..factories import PASSWORD, Factory
from .test_supplier_journey import no_axe_violations

pytestmark = pytest.mark.browser
TENANT = "0a0a0a0a-1111-4222-8333-444444444444"


@pytest.fixture
def app(sso_app: Flask) -> Flask:
    return sso_app


def test_a_teacher_signs_in_with_microsoft(
    browser: Any, server: str, make: Factory, idps: dict[str, Any]
) -> None:
    ms = idps["microsoft"]
    register_portal(idps, server)
    school = make.org("Oakfield Primary School")
    from portal.extensions import db

    with make.app.app_context():
        db.session.add(SsoLink(organisation_id=school.id, provider="microsoft", tenant=TENANT))
        db.session.commit()
    make.user(school, email="sam@oakfield.example")
    ms.add_user("sam@oakfield.example", name="Sam Staff", claims={"tid": TENANT, "amr": ["mfa"]})

    page = browser.new_context().new_page()
    page.goto(server + "/login")
    no_axe_violations(page)
    page.click("text=Sign in with Microsoft")
    page.wait_for_url(ms.base + "/**")
    page.fill("#email", "sam@oakfield.example")
    page.click("button:has-text('Continue')")
    page.wait_for_url(server + "/")
    expect(page.locator("body")).to_contain_text("Oakfield Primary School")
    no_axe_violations(page)


def test_an_admin_links_the_tenant_and_requires_it(
    browser: Any, server: str, make: Factory, idps: dict[str, Any]
) -> None:
    ms = idps["microsoft"]
    register_portal(idps, server)
    school = make.org("Ash Grove School")
    make.user(school, role="admin", email="head@ashgrove.example")
    ms.add_user("head@ashgrove.example", name="Head Teacher", claims={"tid": TENANT})

    page = browser.new_context().new_page()
    page.goto(server + "/login")
    page.fill("#email", "head@ashgrove.example")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(server + "/")
    page.goto(server + "/users")
    page.click("text=Single sign-on with Microsoft 365 or Google Workspace")
    page.wait_for_url("**/organisation/sign-in")
    no_axe_violations(page)
    page.click("text=Link your Microsoft 365 tenant")
    page.wait_for_url(ms.base + "/**")
    page.fill("#email", "head@ashgrove.example")
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/organisation/sign-in")
    expect(page.locator("body")).to_contain_text("Ash Grove School is linked to the Microsoft 365")
    expect(page.locator("body")).to_contain_text(TENANT)
    no_axe_violations(page)

    # Signed in with a password alone, the admin may not turn passwords off.
    page.check("#passwords-no")
    page.click("button:has-text('Save rules')")
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Set up your authenticator app first"
    )
    no_axe_violations(page)
