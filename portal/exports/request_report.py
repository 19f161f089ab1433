"""A request's report as a PDF: for governors, a DPIA's annex, an auditor.

From the same data as the request's workbook (services/downloads/contents.py
gathers it), laid out to be read: the cover with the decision and the
rating's sentence, the findings with gaps first, the answers by section, the
clarification rounds and the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..questionnaire.compare import OUTCOME_LABELS, Finding, Review
from ..questionnaire.display import display_value
from .pdf import RestrictedFetcher, render_pdf
from .request import RequestWorkbook


@dataclass(frozen=True)
class EvidenceLine:
    name: str
    issued_on: date | None = None
    expires_on: date | None = None
    expired: bool = False


@dataclass(frozen=True)
class RequestReport:
    """What the report shows beyond the workbook's data."""

    reference: str
    school: str
    supplier: str
    questionnaire: str
    version: int
    status: str
    sent_on: datetime | None
    due_on: date | None
    submitted_on: datetime | None
    decision: str | None
    decision_reason: str
    conditions: Sequence[str]
    decided_by: str
    decided_on: datetime | None
    next_review: date | None
    produced_at: datetime
    data: RequestWorkbook
    evidence: Mapping[str, Sequence[EvidenceLine]] = field(default_factory=dict)


@dataclass(frozen=True)
class FindingLine:
    number: int
    section: str
    question: str
    severity: str
    outcome: str
    expected: str
    answer: str
    reason: str
    evidence: Sequence[EvidenceLine]
    review: str


def _review_words(review: Review | None) -> str:
    """The reviewer's judgement, who made it and when, in one line."""
    if review is None:
        return ""
    who = ", ".join(
        filter(None, [review.by, f"{review.on.day} {review.on:%B %Y}" if review.on else ""])
    )
    return f"{OUTCOME_LABELS[review.outcome]}: {review.reason}" + (f" ({who})" if who else "")


def _finding_lines(
    report: RequestReport, findings: Sequence[Finding], start: int
) -> list[FindingLine]:
    questionnaire = report.data.questionnaire
    sections = {q.id: s.title for s in questionnaire.sections for q in s.questions}
    lines = []
    for number, finding in enumerate(findings, start):
        review = finding.review
        lines.append(
            FindingLine(
                number=number,
                section=sections.get(finding.question.id, ""),
                question=str(finding.question.label),
                severity=finding.requirement.severity.capitalize(),
                outcome=OUTCOME_LABELS[finding.outcome],
                expected=finding.expected,
                answer=finding.actual or "No answer",
                reason=finding.reason,
                evidence=report.evidence.get(finding.question.id, ()),
                review=_review_words(review),
            )
        )
    return lines


def report_context(report: RequestReport) -> dict[str, Any]:
    data = report.data
    comparison = data.comparison
    groups = []
    number = 1
    if comparison is not None:
        for group in comparison.reading_order():
            lines = _finding_lines(report, group.findings, number)
            number += len(lines)
            groups.append((group.key, group.title, lines))
    sections = []
    for section in data.questionnaire.sections:
        rows = [
            (
                str(q.label),
                display_value(q, data.answers.get(q.id)) if q.id in data.answers else "",
                data.comments.get(q.id) or "",
                report.evidence.get(q.id, ()),
                data.answered_by.get(q.id, ""),
            )
            for q in section.questions
            if data.shown.get(q.id, True) and q.type != "note"
        ]
        if rows:
            sections.append((section.title, rows))
    return {
        "r": report,
        "comparison": comparison,
        "groups": groups,
        "sections": sections,
        "clarifications": data.clarifications,
        "timeline": data.timeline,
    }


def request_pdf(report: RequestReport, fetcher: RestrictedFetcher | None = None) -> bytes:
    return render_pdf("request.html", fetcher, **report_context(report))
