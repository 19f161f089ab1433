"""Evidence that runs out, in Chromium (issue 26): the supplier gives the
dates beside an upload (a wrong one refused in words), the school sees its
evidence and an expired certificate beside its finding, asks for the renewed
one, and the supplier renews it through the renewal link. Every page is
checked with axe."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from portal.models import utcnow

from ..factories import PASSWORD, Factory
from .test_supplier_journey import no_axe_violations

pytestmark = pytest.mark.browser
RENEW_LINK = re.compile(r"https?://[^/\s]+(/renew/link/[A-Za-z0-9_\-]+)")


def test_evidence_runs_out_and_is_renewed_in_a_browser(
    browser: Any, server: str, make: Factory, sent_mail: list[dict[str, str]], tmp_path: Path
) -> None:
    today = utcnow().date()
    pdf = tmp_path / "insurance.pdf"
    pdf.write_bytes(b"%PDF-1.7 insurance")

    # The supplier gives an expiry in the past without saying it is being renewed.
    row, link = make.request(make.user(make.org("Meadow Lane Primary")), "expiring")
    supplier = browser.new_context().new_page()
    supplier.goto(server + link)
    supplier.goto(f"{server}/respond/{row.reference}/sections/certs")
    supplier.get_by_label("Yes").first.check()
    supplier.set_input_files("#insured-evidence", str(pdf))
    supplier.fill("#insured-expires", (today - timedelta(days=3)).isoformat())
    supplier.click("button:has-text('Save and come back later')")
    supplier.wait_for_load_state("load")
    assert "This document has expired" in supplier.inner_text(".govuk-error-summary")
    assert supplier.input_value("#insured-expires") == (today - timedelta(days=3)).isoformat()
    no_axe_violations(supplier)

    # A school whose supplier's Cyber Essentials ran out ten days ago.
    author = make.user(make.org("Oakfield Primary School"), role="admin")
    stale, _ = make.submitted(
        author,
        "expiring",
        answers={"ce_expiry": (today - timedelta(days=10)).isoformat(), "insured": "no"},
        supplier_name="Stale Certs Ltd",
    )
    staff = browser.new_context().new_page()
    staff.goto(f"{server}/login")
    staff.fill("#email", author.email)
    staff.fill("#password", PASSWORD)
    staff.click("button:has-text('Sign in')")
    assert "1 piece of evidence expired" in staff.inner_text("main")
    staff.click("text=1 piece of evidence expired")
    staff.wait_for_load_state("load")
    assert "Stale Certs Ltd" in staff.inner_text("#evidence")
    no_axe_violations(staff)
    staff.click(f"text={stale.reference}")
    staff.wait_for_load_state("load")
    assert "Evidence expired on" in staff.inner_text("#finding-ce_certificate")
    no_axe_violations(staff)
    staff.click("button:has-text('Ask for renewed evidence')")
    staff.wait_for_load_state("load")
    assert "Asked sam@acme.example for the renewed evidence" in staff.content()

    found = RENEW_LINK.search(sent_mail[-1]["body"])
    assert found is not None, sent_mail[-1]["body"]
    renewer = browser.new_context().new_page()
    renewer.goto(server + found.group(1))
    assert renewer.url.endswith(f"/renew/{stale.reference}")
    no_axe_violations(renewer)
    renewer.click("button:has-text('Send the renewed evidence')")
    renewer.wait_for_load_state("load")
    assert "Choose the renewed file" in renewer.inner_text(".govuk-error-summary")
    no_axe_violations(renewer)
    renewer.fill("#ce_expiry", (today + timedelta(days=360)).isoformat())
    renewer.set_input_files("#ce_certificate", str(pdf))
    renewer.click("button:has-text('Send the renewed evidence')")
    renewer.wait_for_load_state("load")
    assert "Renewed evidence sent" in renewer.inner_text("h1")
    no_axe_violations(renewer)

    staff.goto(f"{server}/requests/{stale.id}")
    assert "Evidence expired on" not in staff.inner_text("#finding-ce_certificate")
