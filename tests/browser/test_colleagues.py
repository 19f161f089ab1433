"""The supplier's contact hands a section to a colleague in Chromium (issue
25): the colleague opens their own link, answers their section, and cannot
reach another; the contact sees who answered. Every page is checked with axe."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ..factories import Factory
from .test_supplier_journey import no_axe_violations

pytestmark = pytest.mark.browser
COLLEAGUE_LINK = re.compile(r"https?://[^/\s]+(/respond/colleague/[A-Za-z0-9_\-]+)")


def test_a_contact_hands_a_section_to_a_colleague_in_a_browser(
    browser: Any, server: str, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    row, link = make.request(make.user(make.org("Oakfield Primary School")))
    contact = browser.new_context().new_page()
    contact.goto(server + link)
    contact.goto(f"{server}/respond/{row.reference}/tasks")
    contact.click("text=Hand sections to colleagues")
    contact.wait_for_url(f"**/respond/{row.reference}/colleagues")
    no_axe_violations(contact)
    contact.fill("#name", "Priya Shah")
    contact.fill("#email", "priya@acme.example")
    contact.get_by_label("DfE standards and service levels").check()
    contact.click("button:has-text('Send them a link')")
    contact.wait_for_load_state("load")
    assert "Sent Priya Shah a link" in contact.content()
    no_axe_violations(contact)

    found = COLLEAGUE_LINK.search(sent_mail[-1]["body"])
    assert found is not None
    colleague = browser.new_context().new_page()
    colleague.goto(server + found.group(1))
    assert colleague.url.endswith(f"/respond/{row.reference}/tasks")
    assert "About your organisation" not in colleague.content()
    no_axe_violations(colleague)
    colleague.click("text=DfE standards and service levels")
    no_axe_violations(colleague)
    other = colleague.goto(f"{server}/respond/{row.reference}/sections/about")
    assert other is not None and other.status == 404

    contact.goto(f"{server}/respond/{row.reference}/colleagues")
    listed = contact.inner_text("#colleagues + table")
    assert "Priya Shah" in listed and "DfE standards and service levels" in listed
    contact.click("button:has-text('Take the link back')")
    contact.wait_for_load_state("load")
    assert "link no longer works" in contact.content()
    ended = colleague.goto(f"{server}/respond/{row.reference}/tasks")
    assert ended is not None and ended.status == 404
