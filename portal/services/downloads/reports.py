"""Printable reports (issue 28): the data each one shows, from what the
pages and workbooks already read, handed to the PDF builders in exports/."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ...exports.request_report import EvidenceLine, RequestReport
from ...models import Request, RequestStatus, utcnow
from ..requests import evidence
from ..requests.lifecycle import STATUS_LABELS
from ..review.decisions import DECISIONS
from .contents import request_export


def request_report(session: Session, request: Request, today: date | None = None) -> RequestReport:
    """Everything a request's PDF shows."""
    today = today or utcnow().date()
    status = RequestStatus(request.status)
    lines = {
        question_id: [
            EvidenceLine(
                name=item.filename,
                issued_on=item.issued_on,
                expires_on=item.expires_on,
                expired=item.expires_on is not None and item.expires_on < today,
            )
            for item in items
        ]
        for question_id, items in evidence.attached(session, request).items()
    }
    version = request.questionnaire_version
    return RequestReport(
        reference=request.reference,
        school=request.organisation.name,
        supplier=request.supplier.name,
        questionnaire=version.title,
        version=version.version,
        status=STATUS_LABELS[status],
        sent_on=request.created_at,
        due_on=request.due_date,
        submitted_on=request.submitted_at,
        decision=DECISIONS.get(status),
        decision_reason=request.decision_reason or "",
        conditions=list(request.decision_conditions or []),
        decided_by=request.decided_by.name if request.decided_by else "",
        decided_on=request.decided_at,
        next_review=request.next_review_date,
        produced_at=utcnow(),
        data=request_export(session, request),
        evidence=lines,
    )
