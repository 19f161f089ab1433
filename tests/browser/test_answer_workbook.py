"""A supplier answers in a spreadsheet, in Chromium (issue 25): downloads the
workbook from the task list, fills it in elsewhere, uploads it, reads what
was saved, refused and still needed. Every page is checked with axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Answer

from ..conftest import SHIPPED_QUESTIONNAIRES
from ..factories import Factory
from ..test_answer_workbooks import fill, ids_of
from .test_supplier_journey import no_axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES)),
]


def test_a_supplier_answers_in_a_spreadsheet_in_a_browser(
    app: Any, browser: Any, server: str, make: Factory, dbs: Session, tmp_path: Path
) -> None:
    row, link = make.request(make.user(make.org("Oakfield Primary School")), "cloud_supplier")
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(server + link)
    page.goto(f"{server}/respond/{row.reference}/tasks")
    no_axe_violations(page)
    with page.expect_download() as waiting:
        page.click("text=Download the questions as a spreadsheet")
    saved = tmp_path / "answers.xlsx"
    waiting.value.save_as(saved)

    book = load_workbook(saved)
    fill(book, app, row)
    where = {r[2]: (r[0], r[1]) for r in ids_of(book) if len(r) >= 5 and r[4] == "question"}
    sheet, line = where["breach_notice_hours"]
    book[sheet].cell(line, 2, "soon")
    book.save(saved)

    page.set_input_files("#workbook", str(saved))
    page.click("button:has-text('Upload and save the answers')")
    page.wait_for_load_state("load")
    assert "answers saved" in page.inner_text("h1")
    refused = page.inner_text("#refused + p + ul")
    assert f"{sheet} row {line}" in refused and "Enter a number" in refused
    assert "Files to upload on the pages" in page.content()
    no_axe_violations(page)
    dbs.rollback()
    stored = dbs.scalars(select(Answer.question_id).where(Answer.request_id == row.id)).all()
    assert len(stored) > 40 and "breach_notice_hours" not in stored

    page.goto(f"{server}/respond/{row.reference}/tasks")
    assert "answers.xlsx" in page.inner_text("#spreadsheet ~ ul")
