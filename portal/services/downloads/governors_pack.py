"""The governors' pack's data, from what the Standards, Suppliers, DPIAs and
Evidence pages read. Evidence lists one page each (the first to run out
first) with the totals: the pack's cost does not grow with evidence it does
not show."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ...exports.governors_pack import GovernorsPack, OpenDpia, WatchedEvidence
from ...models import DpiaStatus, Organisation, utcnow
from ...vocabulary import DPIA_STATUS_LABELS
from ..review.dashboard import REVIEW_WARNING_DAYS
from ..school import dpia as dpias
from ..school import evidence_watch, raci, standards
from ..school import register as supplier_register

OPEN = (DpiaStatus.DRAFT, DpiaStatus.AWAITING_ADVICE, DpiaStatus.AWAITING_APPROVAL)


def governors_pack(
    session: Session, organisation: Organisation, today: date | None = None
) -> GovernorsPack:
    today = today or utcnow().date()
    found = standards.progress(session, organisation, today)
    register = supplier_register.entries(session, organisation, today)
    every_dpia = dpias.list_dpias(session, organisation)
    due = standards.timeline(
        session, organisation, found, today, register=register, dpias=every_dpia
    )
    tasks = raci.tasks(session, organisation, found.questionnaire)
    watched = {
        show: evidence_watch.lines_page(session, organisation, today, show)
        for show in ("expired", "expiring")
    }
    return GovernorsPack(
        school=organisation.name,
        digital_lead=organisation.digital_lead.name if organisation.digital_lead else "",
        link_governor=organisation.link_governor or "",
        produced_at=utcnow(),
        standards=standards.standard_rows(found),
        due=standards.due_rows(due),
        without_target=[s.name for s in standards.without_target(found)],
        raci_gaps=[(str(t.question.label), "; ".join(t.gaps)) for t in tasks if t.gaps],
        suppliers=len(register),
        supplier_reviews_overdue=sum(1 for d in due if d.kind == "Supplier review" and d.overdue),
        # The home page's window: the reviews its "due soon" list shows.
        supplier_reviews_due_soon=sum(
            1
            for entry in supplier_register.due_for_review(register, today, REVIEW_WARNING_DAYS)
            if entry.next_review_date is not None and entry.next_review_date >= today
        ),
        warning_days=REVIEW_WARNING_DAYS,
        dpias=[
            OpenDpia(
                title=d.title,
                supplier=d.supplier.name if d.supplier else "",
                status=DPIA_STATUS_LABELS[d.status],
                updated_on=(d.updated_at or d.created_at).date(),
            )
            for d in every_dpia
            if d.status in OPEN
        ],
        expired=[_watched(line) for line in watched["expired"].items],
        expired_total=watched["expired"].total,
        expiring=[_watched(line) for line in watched["expiring"].items],
        expiring_total=watched["expiring"].total,
    )


def _watched(line: evidence_watch.EvidenceLine) -> WatchedEvidence:
    return WatchedEvidence(
        supplier=line.supplier,
        what=str(line.what),
        kind=line.kind,
        expires_on=line.expires_on,
        status=line.status_label,
    )
