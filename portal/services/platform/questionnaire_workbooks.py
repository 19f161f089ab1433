"""Questionnaires as workbooks (issue 24): the one a curator downloads to
edit, and reading one back, checked as strictly as a TOML file.

The layout is the engine's (questionnaire/workbook.py); the .xlsx itself is
written and read by exports/questionnaire_workbook.py.
"""

from __future__ import annotations

from ...exports.questionnaire_workbook import read_sheets, write_sheets
from ...questionnaire import Questionnaire, questionnaire_from_snapshot
from ...questionnaire.workbook import Problem, ReadRow, WorkbookProblems, from_sheets, to_sheets
from .filetypes import upload_archive_problem


def workbook_of(questionnaire: Questionnaire) -> bytes:
    """The questionnaire as its workbook: reading it back gives the same definition."""
    return write_sheets(to_sheets(questionnaire.snapshot))


def read_workbook(data: bytes) -> Questionnaire:
    """The questionnaire a workbook describes. Raises WorkbookProblems with
    every problem, each at its sheet, row and column; returns only when the
    whole workbook is sound."""
    return questionnaire_from_snapshot(from_sheets(sheets_of(data)))


def sheets_of(data: bytes) -> dict[str, list[ReadRow]]:
    """An uploaded workbook's sheets, or WorkbookProblems saying why it
    cannot be read."""
    problem = upload_archive_problem(data)
    if problem:
        raise WorkbookProblems([Problem("workbook", None, None, problem)])
    return read_sheets(data)
