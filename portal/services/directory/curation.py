"""The curated directory: from consented submissions (or the curator's own
research) to published entries that schools search, compare and adopt.

An entry copies the questionnaire version and the answers: a later change to
the source request never changes what was published. A listing's versions
share ``listing_id``; publishing a new version supersedes the last one and
records what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session, defer, joinedload

from ...models import (
    ANSWERED_STATUSES,
    CATEGORIES,
    Adoption,
    DirectoryEntry,
    EntryStatus,
    Evidence,
    QuestionnaireVersion,
    Request,
    Role,
    Supplier,
    User,
    utcnow,
)
from ...questionnaire import answerset, logic
from ...questionnaire.forms import SectionForm
from ...vocabulary import DIRECTORY_ENTRY_STATUS_LABELS
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.paging import PAGE_SIZE, Page, count, page_of
from ..platform.questionnaire_registry import (
    current_definitions,
    definition_for,
    find_current,
    publish_version,
)
from ..requests.lifecycle import find_or_create_supplier
from ..requirements import ratings
from ..review.decisions import default_review_date
from . import adoption as adoption_service
from . import entry_evidence

CATEGORY_LABELS = dict(CATEGORIES)
RATINGS = ("green", "amber", "red")
ENTRY_STATUS_LABELS = DIRECTORY_ENTRY_STATUS_LABELS  # the words live in portal/vocabulary.py


@dataclass(frozen=True)
class EntryDetails:
    """What the curator types about an entry."""

    product: str
    category: str
    summary: str
    rating: str
    conditions: str
    review_due: date | None
    sources: str = ""


def review_overdue(entry: DirectoryEntry, today: date | None = None) -> bool:
    return entry.status == EntryStatus.PUBLISHED and entry.review_due < (today or utcnow().date())


def _check(details: EntryDetails, authored: bool) -> None:
    if not details.product.strip():
        raise ServiceError("Enter the product or service name", "product")
    if details.category not in CATEGORY_LABELS:
        raise ServiceError("Choose a category", "category")
    if details.rating and details.rating not in RATINGS:
        raise ServiceError("Choose green, amber or red", "rating")
    if details.review_due is not None and details.review_due <= utcnow().date():
        raise ServiceError("The review date must be in the future", "review_due")
    if authored and not details.sources.strip():
        raise ServiceError(
            "List the public documents you used, so schools can see where the answers come from",
            "sources",
        )


def _apply(entry: DirectoryEntry, details: EntryDetails) -> None:
    entry.product = details.product.strip()
    entry.category = details.category
    entry.summary = details.summary.strip()
    entry.rating = details.rating or None
    entry.conditions = details.conditions.strip()
    entry.review_due = details.review_due or default_review_date()
    entry.sources = details.sources.strip()
    entry.updated_at = utcnow()


def _audit(
    session: Session, action: str, actor: User, entry: DirectoryEntry, **detail: Any
) -> None:
    # Filed under the curator organisation, whatever else the user belongs to.
    curator_org = next((m.organisation for m in actor.memberships if m.role == Role.CURATOR), None)
    record_event(
        session,
        action,
        organisation=curator_org,
        actor=actor,
        entry=entry.id,
        listing=entry.listing_id,
        version=entry.version,
        supplier=entry.supplier.name,
        **detail,
    )


# --- the curator's queue --------------------------------------------------------


def curatable(row: Request) -> bool:
    """A submission may reach the directory: the supplier consented, it is
    answered, and it assesses the supplier (a screening or a self-assessment
    describes one school, not the supplier)."""
    if not row.directory_consent or row.status not in ANSWERED_STATUSES:
        return False
    questionnaire = definition_for(row.questionnaire_version)
    return questionnaire.triage is None and not questionnaire.answered_by_staff


# The workspace's lists: what each shows, and the words for its tab.
WORKSPACE_LISTS = {
    "queue": "Submissions shared with the directory",
    "overdue": "Review overdue",
    "refresh": "Evidence to refresh",
    "drafts": "Drafts",
    "published": "Published",
    "withdrawn": "Withdrawn",
}


def _shared_submissions(session: Session) -> list[ColumnElement[bool]]:
    """Consented, answered submissions about a supplier: what the curator may
    turn into entries, used by one already or not. Whether a questionnaire
    assesses the supplier (``curatable``) is a property of its key, so it is
    asked of the keys here and the database does the rest."""
    keys = [
        q.key for q in current_definitions(session) if q.triage is None and not q.answered_by_staff
    ]
    return [
        Request.directory_consent == true(),  # the partial indexes' own term
        # Consent is given on submitting, so this holds for every shared row;
        # said, it starts the queue's index range past unsubmitted rows.
        Request.submitted_at.is_not(None),
        Request.status.in_(ANSWERED_STATUSES),
        Request.questionnaire_version_id.in_(
            select(QuestionnaireVersion.id).where(QuestionnaireVersion.key.in_(keys))
        ),
    ]


def _used() -> Select[Any]:
    return select(DirectoryEntry.source_request_id).where(
        DirectoryEntry.source_request_id.is_not(None)
    )


def _queue_query(session: Session) -> Select[*tuple[Any, ...]]:
    """The shared submissions not yet used by any entry, oldest first, as the
    queue shows them: plain rows of five columns. Whole requests, their
    suppliers and versions cost 5 ms a page to build and were read for these
    five (id, submitted_at, supplier, questionnaire, version)."""
    return (
        select(
            Request.id,
            Request.submitted_at,
            Supplier.name.label("supplier"),
            QuestionnaireVersion.title.label("questionnaire"),
            QuestionnaireVersion.version,
        )
        .join(Request.supplier)
        .join(Request.questionnaire_version)
        .where(*_shared_submissions(session), Request.id.not_in(_used()))
        .order_by(Request.submitted_at, Request.id)
    )


def _queue_count(session: Session) -> int:
    """How many submissions the queue holds: every shared submission less
    those used, in one statement. Counted as the queue is written, "not used"
    is a look-up for each of tens of thousands of shared rows (10 ms at
    100,000 requests); this way the first count is read from an index alone
    and the second walks only the entries made from submissions."""
    shared = _shared_submissions(session)
    every = select(func.count()).select_from(Request).where(*shared).scalar_subquery()
    used = (
        select(func.count())
        .select_from(Request)
        .where(*shared, Request.id.in_(_used()))
        .scalar_subquery()
    )
    return int(session.scalar(select(every - used)) or 0)


def _entries_query(name: str, today: date) -> Select[Any]:
    query = select(DirectoryEntry).options(
        joinedload(DirectoryEntry.supplier),
        joinedload(DirectoryEntry.questionnaire_version),
        # A list never shows the answers: left unread (and raising if a list
        # ever reads them, rather than loading once per row), as search does.
        defer(DirectoryEntry.answers, raiseload=True),
        defer(DirectoryEntry.changes, raiseload=True),
    )
    if name == "overdue":
        query = query.where(
            DirectoryEntry.status == EntryStatus.PUBLISHED, DirectoryEntry.review_due < today
        )
        return query.order_by(DirectoryEntry.review_due, DirectoryEntry.id)
    status = {"drafts": EntryStatus.DRAFT, "published": EntryStatus.PUBLISHED}.get(
        name, EntryStatus.WITHDRAWN
    )
    return query.where(DirectoryEntry.status == status).order_by(
        DirectoryEntry.updated_at.desc(), DirectoryEntry.id.desc()
    )


@dataclass(frozen=True)
class Workspace:
    shown: str  # a WORKSPACE_LISTS key
    # Of _queue_query's rows for the queue, ToRefresh for "refresh", else of entries.
    page: Page[Any]
    counts: dict[str, int]  # every list's total, for its tab


def workspace(
    session: Session,
    shown: str,
    number: int,
    today: date | None = None,
    size: int = PAGE_SIZE,
) -> Workspace:
    """One of the curator's lists, a page at a time, with every list's count:
    the same few statements for ten entries or ten thousand."""
    today = today or utcnow().date()
    shown = shown if shown in WORKSPACE_LISTS else "queue"
    by_status = dict(
        session.execute(
            select(DirectoryEntry.status, func.count()).group_by(DirectoryEntry.status)
        ).all()
    )
    counts = {
        "queue": _queue_count(session),
        "overdue": count(session, _entries_query("overdue", today)),
        "refresh": entry_evidence.refresh_count(session, today),
        "drafts": by_status.get(EntryStatus.DRAFT, 0),
        "published": by_status.get(EntryStatus.PUBLISHED, 0),
        "withdrawn": by_status.get(EntryStatus.WITHDRAWN, 0),
    }
    if shown == "queue":
        page = page_of(
            session, _queue_query(session), number, size, total=counts[shown], scalars=False
        )
    elif shown == "refresh":
        rows = page_of(
            session,
            entry_evidence.refresh_query(session, today),
            number,
            size,
            total=counts[shown],
            scalars=False,
        )
        page = rows.map([entry_evidence.to_refresh(row, today) for row in rows.items])
    else:
        page = page_of(session, _entries_query(shown, today), number, size, total=counts[shown])
    return Workspace(shown, page, counts)


def listings_for(session: Session, supplier_id: int, key: str) -> list[DirectoryEntry]:
    """The current version of each listing of this supplier and questionnaire key:
    where a new version of an assessment can go."""
    rows = session.scalars(
        select(DirectoryEntry)
        .join(QuestionnaireVersion)
        .where(
            DirectoryEntry.supplier_id == supplier_id,
            QuestionnaireVersion.key == key,
            DirectoryEntry.status.in_({EntryStatus.PUBLISHED, EntryStatus.WITHDRAWN}),
        )
        .order_by(DirectoryEntry.id)
    )
    return list(rows)


def _new_entry(
    session: Session,
    actor: User,
    details: EntryDetails,
    *,
    supplier_id: int,
    version: QuestionnaireVersion,
    answers: dict[str, Any],
    evidence_questions: list[str],
    evidence_expiry: dict[str, str],
    source: Request | None,
    authored: bool,
    listing: DirectoryEntry | None,
) -> DirectoryEntry:
    _check(details, authored)
    if listing is not None and (
        listing.supplier_id != supplier_id or listing.questionnaire_version.key != version.key
    ):
        raise ServiceError(
            "A new version must be for the same supplier and questionnaire", "listing"
        )
    if listing is not None and session.scalar(
        select(DirectoryEntry.id).where(
            DirectoryEntry.listing_id == listing.listing_id,
            DirectoryEntry.status == EntryStatus.DRAFT,
        )
    ):
        raise ServiceError(
            "This listing already has a draft: finish or delete that first", "listing"
        )
    number = 1
    if listing is not None:
        number += (
            session.scalar(
                select(func.max(DirectoryEntry.version)).where(
                    DirectoryEntry.listing_id == listing.listing_id
                )
            )
            or 0
        )
    entry = DirectoryEntry(
        listing_id=listing.listing_id if listing is not None else None,
        supplier_id=supplier_id,
        questionnaire_version=version,
        answers=answers,
        evidence_questions=evidence_questions,
        evidence_expiry=evidence_expiry,
        source_request=source,
        curator_authored=authored,
        status=EntryStatus.DRAFT,
        created_by_id=actor.id,
        version=number,
    )
    _apply(entry, details)
    session.add(entry)
    session.flush()
    if listing is None:
        # A listing is named by its first version's id.
        entry.listing_id = entry.id
        session.flush()
    _audit(session, "entry_drafted", actor, entry, source=source.reference if source else None)
    return entry


def draft_from_submission(
    session: Session,
    actor: User,
    submission: Request,
    details: EntryDetails,
    listing: DirectoryEntry | None = None,
) -> DirectoryEntry:
    """A draft copying a consented submission's questionnaire and answers."""
    files = session.scalars(
        select(Evidence.question_id).where(Evidence.request_id == submission.id).distinct()
    )
    # The questionnaire alone: the school's own questions never reach the directory.
    questionnaire = definition_for(submission.questionnaire_version)
    asked = {q.id for q in questionnaire.questions()}
    return _new_entry(
        session,
        actor,
        details,
        supplier_id=submission.supplier_id,
        version=submission.questionnaire_version,
        # Only what the supplier was asked: a stale answer to a question its
        # later answers hid is not theirs to publish.
        answers=logic.drop_hidden(
            questionnaire, {a.question_id: a.value for a in submission.answers}
        ),
        evidence_questions=sorted(set(files) & asked),
        # When that evidence runs out, as the school that asked tracks it.
        evidence_expiry=entry_evidence.from_submission(session, submission, asked),
        source=submission,
        authored=False,
        listing=listing,
    )


def draft_authored(
    session: Session, actor: User, supplier_name: str, questionnaire_key: str, details: EntryDetails
) -> DirectoryEntry:
    """A draft the curator fills in from public documents."""
    if not supplier_name.strip():
        raise ServiceError("Enter the supplier's name", "supplier_name")
    version = publish_version(session, find_current(session, questionnaire_key))
    supplier = find_or_create_supplier(session, supplier_name)
    return _new_entry(
        session,
        actor,
        details,
        supplier_id=supplier.id,
        version=version,
        answers={},
        evidence_questions=[],
        evidence_expiry={},  # the curator's answers give them (save_section)
        source=None,
        authored=True,
        listing=None,
    )


def new_version(session: Session, actor: User, current: DirectoryEntry) -> DirectoryEntry:
    """A draft copy of a listing's current version, to refresh and republish."""
    if current.status not in (EntryStatus.PUBLISHED, EntryStatus.WITHDRAWN):
        raise ServiceError("Start a new version from the published or withdrawn one")
    return _new_entry(
        session,
        actor,
        EntryDetails(
            product=current.product,
            category=current.category,
            summary=current.summary,
            rating=current.rating or "",
            conditions=current.conditions,
            review_due=default_review_date(),
            sources=current.sources,
        ),
        supplier_id=current.supplier_id,
        version=current.questionnaire_version,
        answers=dict(current.answers),
        evidence_questions=list(current.evidence_questions),
        # The dates as they stand, for the curator to renew on the draft.
        evidence_expiry=dict(current.evidence_expiry or {}),
        source=None,
        authored=current.curator_authored,
        listing=current,
    )


def update_details(
    session: Session, actor: User, entry: DirectoryEntry, details: EntryDetails
) -> None:
    if entry.status == EntryStatus.SUPERSEDED:
        raise ServiceError("This version has been replaced: change the current one")
    _check(details, entry.curator_authored)
    _apply(entry, details)
    _audit(session, "entry_updated", actor, entry)
    session.flush()


def save_section(
    session: Session, actor: User, entry: DirectoryEntry, form: SectionForm
) -> answerset.SectionPlan:
    """The curator's answers to one section of a draft: what is valid is
    saved, what is not stays on the form with its message."""
    if entry.status != EntryStatus.DRAFT:
        raise ServiceError("Only a draft's answers can change: start a new version")
    plan = answerset.plan_section(
        form, {qid: answerset.Stored(value) for qid, value in entry.answers.items()}
    )
    entry.answers = plan.answers
    entry_evidence.follow_answers(definition_for(entry.questionnaire_version), entry, plan.saved)
    entry.updated_at = utcnow()
    _audit(session, "entry_answers_saved", actor, entry, questions=sorted(plan.saved))
    session.flush()
    return plan


def date_evidence(
    session: Session,
    actor: User,
    entry: DirectoryEntry,
    question_id: str,
    day: date | None,
    today: date | None = None,
) -> None:
    """The curator sets (with no date, clears) when one question's evidence
    runs out, on a draft: a published entry's dates change by a new version,
    which is what tells the schools that adopted it."""
    if entry.status != EntryStatus.DRAFT:
        raise ServiceError("Only a draft's dates can change: start a new version")
    questionnaire = definition_for(entry.questionnaire_version)
    entry_evidence.check_expiry(questionnaire, question_id, day, today or utcnow().date())
    dates = dict(entry.evidence_expiry or {})
    if day is None:
        dates.pop(question_id, None)
    else:
        dates[question_id] = day.isoformat()
    entry.evidence_expiry = dates
    entry.updated_at = utcnow()
    _audit(
        session, "entry_evidence_dated", actor, entry,
        question=question_id, expires_on=day.isoformat() if day else None,
    )  # fmt: skip
    session.flush()


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "changed": sorted(q for q in set(before) & set(after) if before[q] != after[q]),
        "removed": sorted(set(before) - set(after)),
    }


def publish(
    session: Session, actor: User, entry: DirectoryEntry, today: date | None = None
) -> None:
    """Publish a draft; the listing's previous version steps aside, what
    changed since it is kept on the new one, and each school that adopted
    the listing is told (with any evidence renewed)."""
    today = today or utcnow().date()
    if entry.status != EntryStatus.DRAFT:
        raise ServiceError("Only a draft can be published")
    if not entry.answers:
        raise ServiceError("Answer the questionnaire before publishing")
    if not entry.summary or not entry.rating:
        raise ServiceError("Write a summary and choose a rating before publishing")
    previous = session.scalar(
        select(DirectoryEntry)
        .where(
            DirectoryEntry.listing_id == entry.listing_id,
            DirectoryEntry.id != entry.id,
            DirectoryEntry.status.in_({EntryStatus.PUBLISHED, EntryStatus.WITHDRAWN}),
        )
        .order_by(DirectoryEntry.version.desc())
    )
    if previous is not None:
        entry.changes = changes_between(previous.answers, entry.answers)
        previous.status = EntryStatus.SUPERSEDED
        # Schools that adopted the listing now hold its newest version.
        for adoption in session.scalars(
            select(Adoption).where(Adoption.listing_id == entry.listing_id)
        ):
            adoption.entry = entry
            ratings.rate_adoption(session, adoption, today)
            adoption_service.tell_of_new_version(session, adoption, previous, entry, today)
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = utcnow()
    entry.reviewed_on = utcnow().date()
    entry.withdrawn_at = None
    _audit(session, "entry_published", actor, entry, changes=entry.changes)
    session.flush()


def withdraw(session: Session, actor: User, entry: DirectoryEntry, reason: str) -> None:
    if entry.status != EntryStatus.PUBLISHED:
        raise ServiceError("Only a published entry can be withdrawn")
    if not reason.strip():
        raise ServiceError(
            "Say why the entry is withdrawn: schools that adopted it will see this", "reason"
        )
    entry.status = EntryStatus.WITHDRAWN
    entry.withdrawn_at = utcnow()
    entry.withdrawn_reason = reason.strip()
    _audit(session, "entry_withdrawn", actor, entry, reason=reason.strip())
    session.flush()


def discard_draft(session: Session, actor: User, entry: DirectoryEntry) -> None:
    if entry.status != EntryStatus.DRAFT:
        raise ServiceError("Only a draft can be deleted")
    _audit(session, "entry_draft_deleted", actor, entry)
    session.delete(entry)
    session.flush()


def history(
    session: Session, entry: DirectoryEntry, include_drafts: bool = False
) -> list[DirectoryEntry]:
    """Every version of the entry's listing, newest first."""
    query = select(DirectoryEntry).where(DirectoryEntry.listing_id == entry.listing_id)
    if not include_drafts:
        query = query.where(DirectoryEntry.status != EntryStatus.DRAFT)
    return list(session.scalars(query.order_by(DirectoryEntry.version.desc())))
