"""A curator answers a draft directory entry in a spreadsheet (issue 25):
the same workbook a supplier gets, filled in from the supplier's public
documents, read back through each section's form (curation.save_section)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...exports.answer_workbook import About, ReadBack, write
from ...models import DirectoryEntry, User, utcnow
from ...questionnaire import answer_workbook as layout
from ...questionnaire import logic
from ...questionnaire.forms import build_section_form, form_data, from_json
from ..errors import ServiceError
from ..platform.questionnaire_registry import definition_for
from ..requests.answer_workbooks import Report, matched, read_upload
from .curation import save_section


def marker(entry: DirectoryEntry) -> str:
    """What the workbook says it is for, in place of a request's reference."""
    return f"ENTRY-{entry.id}"


def workbook(entry: DirectoryEntry) -> bytes:
    questionnaire = definition_for(entry.questionnaire_version)
    answers = dict(entry.answers)
    about = About(
        reference=marker(entry),
        school="The due-diligence directory",
        supplier=entry.supplier.name,
        questionnaire=questionnaire.title,
        key=questionnaire.key,
        version=questionnaire.version,
        local_version=0,
        made_at=utcnow(),
    )
    shown = logic.visibility(questionnaire, answers)
    return write(about, layout.plan(questionnaire, answers, {}, {}, shown))


def read(data: bytes) -> ReadBack:
    """The upload's cells (ServiceError if it is no answers workbook): read
    before the write lock, as opening a workbook takes a while."""
    return read_upload(data)


def apply(session: Session, actor: User, entry: DirectoryEntry, found: ReadBack) -> Report:
    """Save a draft's answers from a workbook: each section through its form;
    what is refused is listed at its sheet and row, the rest saved."""
    version = entry.questionnaire_version
    if found.about.get("reference") != marker(entry):
        raise ServiceError(
            "This workbook is not this entry's: download the entry's own workbook and copy "
            "your answers into it",
            "workbook",
        )
    if (found.about.get("questionnaire"), found.about.get("version")) != (
        version.key,
        version.version,
    ):
        raise ServiceError(
            "This workbook was made for another version of the questionnaire", "workbook"
        )
    questionnaire = definition_for(version)
    parsed = matched(questionnaire, found)
    report = Report(refused=list(parsed.refused))
    before = dict(entry.answers)
    for section in questionnaire.sections:
        answers, _comments, _revisions = parsed.by_section.get(section.id, ({}, {}, {}))
        if not answers:
            continue
        form = from_json(
            build_section_form(questionnaire, section),
            {**form_data(section, entry.answers), **answers},
        )
        plan = save_section(session, actor, entry, form)
        for qid, message in plan.errors.items():
            question = questionnaire.question(qid)
            report.refused.append(
                f"{parsed.where.get(qid, section.title)}: {question.label}: {message}"
            )
    report.saved = sum(1 for qid, value in entry.answers.items() if before.get(qid) != value)
    problems = logic.problems(questionnaire, entry.answers)
    report.still_needed = [
        f"{section.title}: {question.label}"
        for section in questionnaire.sections
        for question in section.answerable
        if question.id in problems and question.type != "file"
    ]
    return report
