"""Gathering what an export shows, and naming and auditing downloads.

The workbooks themselves are pure functions in portal/exports/; this module
reads the database for them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ...exports.cells import csv_cell
from ...exports.comparison import ComparisonColumn, ComparisonLine, comparison_workbook
from ...exports.register import RegisterRow
from ...exports.request import ClarificationLine, RequestWorkbook, TimelineLine, request_workbook
from ...models import (
    OPEN_STATUSES,
    Adoption,
    Answer,
    EntryStatus,
    Organisation,
    Request,
    RequestStatus,
    User,
    utcnow,
)
from ...questionnaire import logic
from ...questionnaire.compare import OUTCOME_LABELS, Comparison
from ...questionnaire.display import display_value
from ..directory import adoption as directory_adoption
from ..directory import entry_evidence
from ..directory import search as directory_search
from ..platform import audit
from ..platform.questionnaire_registry import current_definitions, definition_for
from ..requests import clarifications, evidence
from ..requests.answering import answer_comments, answer_values, answered_by, questionnaire_of
from ..requests.lifecycle import STATUS_LABELS
from ..requirements import ratings
from ..review import timeline
from ..review.decisions import DECISIONS
from ..review.side_by_side import Matrix

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Windows and macOS refuse these in file names; the rest of Unicode is fine
# (the download header carries it RFC 6266-encoded).
UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download_name(*parts: str, extension: str, today: date | None = None) -> str:
    """'DD-7K2M9Q Acme IT Services Ltd 2026-11-28.xlsx'."""
    words = [UNSAFE_IN_FILE_NAMES.sub(" ", part).strip() for part in parts if part]
    stem = " ".join(" ".join(words).split())[:150]
    return f"{stem} {(today or utcnow().date()).isoformat()}.{extension}"


def record_download(
    session: Session,
    actor: User | None,
    organisation: Organisation,
    what: str,
    file_format: str,
    request: Request | None = None,
    actor_label: str | None = None,
) -> None:
    audit.record_event(
        session,
        "export_downloaded",
        organisation=organisation,
        actor=actor,
        actor_label=actor_label,
        request=request,
        what=what,
        format=file_format,
    )


def _summary(
    request: Request, comparison: Comparison | None, for_supplier: bool
) -> list[tuple[str, Any]]:
    version = request.questionnaire_version
    lines: list[tuple[str, Any]] = [
        ("Reference", request.reference),
        ("School", request.organisation.name),
        ("Supplier", request.supplier.name),
        ("Contact", f"{request.contact_name} <{request.contact_email}>"),
        ("Questionnaire", f"{version.title} (version {version.version})"),
        ("Sent", request.created_at),
        ("Due", request.due_date),
        ("Submitted", request.submitted_at),
        ("Declaration by", ", ".join(filter(None, [request.declared_name, request.declared_role]))),
        ("Status", STATUS_LABELS[RequestStatus(request.status)]),
    ]
    if for_supplier:
        return lines
    if request.status in DECISIONS:
        lines += [
            ("Decision", DECISIONS[RequestStatus(request.status)]),
            ("Decided by", request.decided_by.name if request.decided_by else ""),
            ("Decided on", request.decided_at),
            ("Reason", request.decision_reason or ""),
            ("Conditions", "\n".join(request.decision_conditions or [])),
            ("Next review", request.next_review_date),
        ]
    if comparison is not None and comparison.rating:
        lines += [
            ("Rating", comparison.rating),
            ("In words", comparison.rating_summary),
            ("Score (out of 100)", comparison.score),
            ("Why", "\n".join(comparison.rating_reasons)),
        ]
    if comparison is not None and comparison.triage is not None:
        lines += [
            ("Screening risk", comparison.triage.risk.capitalize()),
            ("Next step", comparison.triage.next_step),
            ("Because", "\n".join(comparison.triage.reasons + comparison.triage.uncertain)),
        ]
    return lines


def request_export(
    session: Session, request: Request, for_supplier: bool = False
) -> RequestWorkbook:
    questionnaire = questionnaire_of(request)
    # Answers copied in and not yet saved by the supplier are theirs alone.
    answers = answer_values(request, confirmed_only=not for_supplier)
    comparison = None if for_supplier else ratings.comparison_for(session, request)
    files: dict[str, list[str]] = {
        qid: [f.filename for f in items]
        for qid, items in evidence.attached(session, request).items()
    }
    rounds = [
        ClarificationLine(
            round=item.round,
            question=_label(questionnaire, item.question_id),
            note=item.text,
            asked_by=item.author.name if item.author else "a former user",
            asked_on=item.created_at,
            answered_on=item.resolved_at,
        )
        for r in clarifications.rounds(session, request)
        for item in r.items
    ]
    return RequestWorkbook(
        questionnaire=questionnaire,
        summary=_summary(request, comparison, for_supplier),
        answers=answers,
        comments=answer_comments(request, confirmed_only=not for_supplier),
        shown=logic.visibility(questionnaire, answers),
        files=files,
        comparison=comparison,
        clarifications=rounds,
        answered_by=answered_by(session, request),
        timeline=[]
        if for_supplier
        else [
            TimelineLine(e.created_at, e.actor_label, timeline.describe(e))
            for e in audit.request_history(session, request)
        ],
        for_supplier=for_supplier,
    )


def _label(questionnaire: Any, question_id: str | None) -> str:
    if question_id is None:
        return ""
    try:
        return str(questionnaire.question(question_id).label)
    except KeyError:
        return question_id


def request_xlsx(session: Session, request: Request, for_supplier: bool = False) -> bytes:
    return request_workbook(request_export(session, request, for_supplier))


ANSWER_COLUMNS = [
    "Section", "Question id", "Question", "Answer", "Supplier comment", "Evidence",
    "Requirement", "Finding", "Severity", "Reviewer's judgement", "Reviewer's reason",
]  # fmt: skip


def request_csv(session: Session, request: Request) -> str:
    """The Answers sheet as CSV, for tools that take no workbooks."""
    data = request_export(session, request)
    findings = {f.question.id: f for f in data.comparison.findings} if data.comparison else {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ANSWER_COLUMNS)
    for section in data.questionnaire.sections:
        for question in section.answerable:
            if not data.shown.get(question.id, False):
                continue
            finding = findings.get(question.id)
            value = data.answers.get(question.id)
            files = data.files.get(question.id, [])
            answer = (
                "; ".join(files)
                if question.type == "file" and files
                else display_value(question, value)
            )
            row = [
                section.title, question.id, question.label,
                "" if value in (None, "", []) else answer,
                data.comments.get(question.id) or "",
                "; ".join(files) if question.type != "file" else "",
                finding.expected if finding else "",
                OUTCOME_LABELS[finding.outcome] if finding else "",
                finding.requirement.severity if finding else "",
                OUTCOME_LABELS[finding.review.outcome] if finding and finding.review else "",
                finding.review.reason if finding and finding.review else "",
            ]  # fmt: skip
            writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()


# --- the register --------------------------------------------------------------

REGISTER_BATCH = 500


def key_question_choices(session: Session) -> list[tuple[str, str, str]]:
    """(question id, label, questionnaire title) a school may add as register columns."""
    seen: dict[str, tuple[str, str, str]] = {}
    for questionnaire in current_definitions(session):
        if questionnaire.answered_by_staff:
            continue
        for question in questionnaire.questions():
            if question.answerable and question.type not in ("file", "table"):
                seen.setdefault(question.id, (question.id, question.label, questionnaire.title))
    return list(seen.values())


def register_columns(session: Session, keys: list[str]) -> list[str]:
    labels = {qid: label for qid, label, _ in key_question_choices(session)}
    return [labels.get(qid, qid) for qid in keys]


def register_count(session: Session, organisation: Organisation) -> int:
    requests = session.scalar(
        select(func.count(Request.id)).where(Request.organisation_id == organisation.id)
    )
    adopted = session.scalar(
        select(func.count(Adoption.id)).where(Adoption.organisation_id == organisation.id)
    )
    return (requests or 0) + (adopted or 0)


def register_rows(
    session: Session, organisation: Organisation, keys: list[str], today: date | None = None
) -> Iterator[RegisterRow]:
    """The organisation's requests in batches (newest first), with the chosen
    answers, then the suppliers it adopted from the directory."""
    now = today or utcnow().date()
    query = (
        select(Request)
        .where(Request.organisation_id == organisation.id)
        .options(joinedload(Request.supplier), joinedload(Request.questionnaire_version))
        .order_by(Request.created_at.desc(), Request.id.desc())
        .execution_options(yield_per=REGISTER_BATCH)
    )
    for batch in session.scalars(query).partitions():
        answers: dict[tuple[int, str], Any] = {}
        if keys:
            for request_id, question_id, value in session.execute(
                select(Answer.request_id, Answer.question_id, Answer.value).where(
                    Answer.request_id.in_([r.id for r in batch]), Answer.question_id.in_(keys)
                )
            ):
                answers[(request_id, question_id)] = value
        for row in batch:
            yield _register_row(row, keys, answers, now)
    yield from adoption_rows(session, organisation, keys, now)


def _key_answers(questionnaire: Any, keys: list[str], values: dict[str, Any]) -> list[str]:
    """The chosen answers in words; blank where this questionnaire does not ask."""
    shown = []
    for qid in keys:
        value = values.get(qid)
        try:
            question = questionnaire.question(qid)
        except KeyError:
            shown.append("")
            continue
        shown.append("" if value in (None, "", []) else display_value(question, value))
    return shown


def adoption_rows(
    session: Session, organisation: Organisation, keys: list[str], today: date | None = None
) -> Iterator[RegisterRow]:
    """Suppliers the school took from the directory, rated against its own rules."""
    now = today or utcnow().date()
    for adoption in directory_adoption.adoptions(session, organisation):
        entry = adoption.entry
        comparison = directory_search.comparison_for_school(session, entry, organisation, now)
        version = entry.questionnaire_version
        withdrawn = entry.status == EntryStatus.WITHDRAWN
        yield RegisterRow(
            reference=f"Directory {entry.listing_id}",
            supplier=entry.supplier.name,
            questionnaire=f"{version.title} (v{version.version})",
            status="Withdrawn from the directory" if withdrawn else "Adopted from the directory",
            sent=adoption.adopted_at,
            due=None,
            submitted=entry.published_at,
            rating=comparison.rating,
            score=comparison.score,
            decision="Adopted",
            decision_reason=entry.summary,
            conditions=[c for c in entry.conditions.splitlines() if c.strip()],
            next_review=entry.review_due,
            overdue="; ".join(
                note
                for note in (
                    "Review overdue" if entry.review_due < now else "",
                    entry_evidence.expired_words(entry, now),
                )
                if note
            ),
            key_answers=_key_answers(definition_for(version), keys, entry.answers),
        )


def _register_row(
    row: Request, keys: list[str], answers: dict[tuple[int, str], Any], today: date
) -> RegisterRow:
    questionnaire = definition_for(row.questionnaire_version)
    shown_answers = _key_answers(questionnaire, keys, {q: answers.get((row.id, q)) for q in keys})
    status = RequestStatus(row.status)
    overdue = ""
    if status in OPEN_STATUSES and row.due_date is not None and row.due_date < today:
        overdue = "Answers overdue"
    elif status in DECISIONS and row.next_review_date is not None and row.next_review_date < today:
        overdue = "Review overdue"
    version = row.questionnaire_version
    return RegisterRow(
        reference=row.reference,
        supplier=row.supplier.name,
        questionnaire=f"{version.title} (v{version.version})",
        status=STATUS_LABELS[status],
        sent=row.created_at,
        due=row.due_date,
        submitted=row.submitted_at,
        rating=row.rating,
        score=row.score,
        decision=DECISIONS.get(status, ""),
        decision_reason=row.decision_reason or "",
        conditions=row.decision_conditions or [],
        next_review=row.next_review_date,
        overdue=overdue,
        key_answers=shown_answers,
    )


def comparison_xlsx(out: IO[bytes], matrix: Matrix) -> int:
    return comparison_workbook(
        out,
        matrix.title,
        [
            ComparisonColumn(r.supplier.name, r.reference, c.rating, c.score)
            for r, c in zip(matrix.columns, matrix.comparisons, strict=True)
        ],
        [ComparisonLine(line.question, line.section_title, line.cells) for line in matrix.rows],
    )
