"""The school's own standards self-assessment: its answers, notes and evidence,
each DfE standard's status from them, the plan for each standard, and what
falls due when.

Staff answer the ``school_it_standards`` questionnaire signed in, with the same
engine and section forms a supplier's questionnaire uses; a standard is any
reference a question's requirement maps to ("DfE IT support standard 4"), so
the questionnaire decides which standards there are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.datastructures import FileStorage, MultiDict

from ...exports.standards import DueRow, StandardRow
from ...models import (
    Assessment,
    AssessmentAnswer,
    AssessmentFile,
    Dpia,
    Organisation,
    StandardPlan,
    User,
    utcnow,
)
from ...questionnaire import Question, Questionnaire, Section, answerset, logic
from ...questionnaire.compare import Outcome, check_answer
from ...questionnaire.forms import (
    SectionForm,
    build_section_form,
    laid_over,
    posted_section,
    sections_holding,
)
from ...vocabulary import STANDARD_STATUS_COLOURS, STANDARD_STATUS_LABELS
from ..errors import ServiceError
from ..platform.answer_rows import write_changes
from ..platform.audit import record_event
from ..platform.questionnaire_registry import definition_for, find_current, publish_version
from ..platform.storage import delete_after_commit
from ..requests import evidence
from . import dpia
from . import register as supplier_register

KEY = "school_it_standards"
KIND = "standards"
NOTE_LIMIT = 2000
# Evidence a school keeps beside its own self-assessment, in all.
FILES_LIMIT_MB = 100


class StandardStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    NOT_MET = "not_met"
    PARTLY_MET = "partly_met"
    MET = "met"


# The words and colours live in portal/vocabulary.py.
STATUS_LABELS, STATUS_COLOURS = STANDARD_STATUS_LABELS, STANDARD_STATUS_COLOURS


@dataclass(frozen=True)
class Item:
    """One question of the self-assessment as the school has answered it."""

    question: Question
    value: Any
    note: str | None
    updated_at: datetime | None
    outcome: Outcome
    reason: str
    files: tuple[AssessmentFile, ...] = ()

    @property
    def answered(self) -> bool:
        return not logic.is_blank(self.value)


@dataclass(frozen=True)
class Standard:
    name: str
    slug: str
    items: tuple[Item, ...]
    status: StandardStatus
    target_date: date | None = None
    next_review_date: date | None = None

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.answered)


@dataclass(frozen=True)
class Progress:
    questionnaire: Questionnaire
    assessment: Assessment | None
    standards: tuple[Standard, ...]
    items: Mapping[str, Item] = field(default_factory=dict)

    def standard(self, slug: str) -> Standard:
        for standard in self.standards:
            if standard.slug == slug:
                return standard
        raise KeyError(slug)

    def answered_in(self, section: Section) -> int:
        return sum(
            1 for q in section.answerable if q.id in self.items and self.items[q.id].answered
        )

    def count(self, status: StandardStatus) -> int:
        return sum(1 for s in self.standards if s.status == status)


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def find_assessment(session: Session, organisation: Organisation) -> Assessment | None:
    return session.scalar(
        select(Assessment).where(
            Assessment.organisation_id == organisation.id, Assessment.kind == KIND
        )
    )


def start_assessment(session: Session, organisation: Organisation) -> Assessment:
    """The organisation's self-assessment, begun on the current questionnaire
    the first time anyone saves an answer."""
    found = find_assessment(session, organisation)
    if found is not None:
        return found
    version = publish_version(session, questionnaire_for(session, None))
    assessment = Assessment(
        organisation_id=organisation.id, kind=KIND, questionnaire_version_id=version.id
    )
    session.add(assessment)
    session.flush()
    return assessment


@dataclass(frozen=True)
class Moved:
    """What moving to a newer self-assessment kept and added."""

    version: int
    carried: int
    new_questions: int


def newer_version(session: Session, organisation: Organisation) -> Questionnaire | None:
    """The current self-assessment, if it is newer than the one this school
    started on (a started assessment stays on its version until moved)."""
    assessment = find_assessment(session, organisation)
    if assessment is None:
        return None
    current = questionnaire_for(session, None)
    return current if current.version > assessment.questionnaire_version.version else None


def move_to_newest(session: Session, organisation: Organisation, actor: User) -> Moved:
    """Answer the newest version from now on. Answers, notes and evidence are
    kept by question id, so every question both versions ask keeps its answer;
    an answer to a question the new version dropped stays stored but is no
    longer shown or counted."""
    assessment = find_assessment(session, organisation)
    newer = newer_version(session, organisation)
    if assessment is None or newer is None:
        raise ServiceError("Your self-assessment already uses the newest version")
    older = questionnaire_for(session, assessment)
    asked_now = {q.id for q in newer.questions() if q.answerable}
    asked_before = {q.id for q in older.questions() if q.answerable}
    carried = sum(1 for qid in stored_answers(session, assessment) if qid in asked_now)
    assessment.questionnaire_version = publish_version(session, newer)
    assessment.updated_at = utcnow()
    moved = Moved(newer.version, carried, len(asked_now - asked_before))
    record_event(
        session, "self_assessment_moved", organisation=organisation, actor=actor,
        from_version=older.version, to_version=newer.version,
        answers_kept=moved.carried, new_questions=moved.new_questions,
    )  # fmt: skip
    session.flush()
    return moved


class NotInstalled(ServiceError):
    """The server has no self-assessment questionnaire (QUESTIONNAIRE_FOLDER)."""


def questionnaire_for(session: Session, assessment: Assessment | None) -> Questionnaire:
    """The version the school answers (the current one until it starts)."""
    if assessment is None:
        try:
            return find_current(session, KEY)
        except ServiceError as exc:
            raise NotInstalled(
                f"The {KEY} questionnaire is not installed on this server: ask its administrator"
            ) from exc
    return definition_for(assessment.questionnaire_version)


def questionnaire_of(session: Session, organisation: Organisation) -> Questionnaire:
    """The self-assessment version this organisation answers, for pages that
    need its tasks but not the status of every standard."""
    return questionnaire_for(session, find_assessment(session, organisation))


def stored_answers(session: Session, assessment: Assessment | None) -> dict[str, AssessmentAnswer]:
    if assessment is None:
        return {}
    rows = session.scalars(
        select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment.id)
    )
    return {row.question_id: row for row in rows}


def stored_files(
    session: Session, assessment: Assessment | None
) -> dict[str, list[AssessmentFile]]:
    if assessment is None:
        return {}
    found: dict[str, list[AssessmentFile]] = {}
    rows = session.scalars(
        select(AssessmentFile)
        .where(AssessmentFile.assessment_id == assessment.id)
        .order_by(AssessmentFile.id)
    )
    for row in rows:
        found.setdefault(row.question_id, []).append(row)
    return found


def progress(session: Session, organisation: Organisation, today: date | None = None) -> Progress:
    """Every standard's status from the answers, with its plan."""
    return progress_for(session, [organisation], today)[organisation.id]


def progress_for(
    session: Session, organisations: Sequence[Organisation], today: date | None = None
) -> dict[int, Progress]:
    """Each organisation's progress (a trust's schools side by side): the same
    four statements for one school or fifty."""
    today = today or utcnow().date()
    ids = [o.id for o in organisations]
    assessments = {
        a.organisation_id: a
        for a in session.scalars(
            select(Assessment)
            .where(Assessment.organisation_id.in_(ids), Assessment.kind == KIND)
            .options(joinedload(Assessment.questionnaire_version))
        )
    }
    by_assessment = {a.id: a.organisation_id for a in assessments.values()}
    # Plain rows: a trust's fifty schools hold thousands of answers, and
    # progress reads only these columns of them.
    answers: dict[int, dict[str, Any]] = {i: {} for i in ids}
    files: dict[int, dict[str, list[AssessmentFile]]] = {i: {} for i in ids}
    plans: dict[int, dict[str, StandardPlan]] = {i: {} for i in ids}
    if by_assessment:
        for answer in session.execute(
            select(
                AssessmentAnswer.assessment_id,
                AssessmentAnswer.question_id,
                AssessmentAnswer.value,
                AssessmentAnswer.note,
                AssessmentAnswer.updated_at,
            ).where(AssessmentAnswer.assessment_id.in_(by_assessment))
        ):
            answers[by_assessment[answer.assessment_id]][answer.question_id] = answer
        for file in session.scalars(
            select(AssessmentFile)
            .where(AssessmentFile.assessment_id.in_(by_assessment))
            .order_by(AssessmentFile.id)
        ):
            owner = files[by_assessment[file.assessment_id]]
            owner.setdefault(file.question_id, []).append(file)
    for plan in session.scalars(select(StandardPlan).where(StandardPlan.organisation_id.in_(ids))):
        plans[plan.organisation_id][plan.standard] = plan
    return {
        i: _progress(
            questionnaire_for(session, assessments.get(i)),
            assessments.get(i),
            answers[i],
            files[i],
            plans[i],
            today,
        )
        for i in ids
    }


def _progress(
    questionnaire: Questionnaire,
    assessment: Assessment | None,
    answers: Mapping[str, Any],  # rows with value, note and updated_at
    files: Mapping[str, list[AssessmentFile]],
    plans: Mapping[str, StandardPlan],
    today: date,
) -> Progress:
    values = {qid: row.value for qid, row in answers.items()}
    shown = logic.visibility(questionnaire, values, today)
    items: dict[str, Item] = {}
    members: dict[str, list[Item]] = {}
    for question in questionnaire.questions():
        if not question.answerable:
            continue
        row = answers.get(question.id)
        outcome, reason = _judge(question, values.get(question.id), shown, today)
        item = Item(
            question=question,
            value=values.get(question.id),
            note=row.note if row else None,
            updated_at=row.updated_at if row else None,
            outcome=outcome,
            reason=reason,
            files=tuple(files.get(question.id, ())),
        )
        items[question.id] = item
        for name in question.requirement.maps_to if question.requirement else ():
            members.setdefault(name, []).append(item)
    standards = tuple(
        Standard(
            name=name,
            slug=slug_of(name),
            items=tuple(found),
            status=status_of(found),
            target_date=plans[name].target_date if name in plans else None,
            next_review_date=plans[name].next_review_date if name in plans else None,
        )
        for name, found in members.items()
    )
    return Progress(questionnaire, assessment, standards, items)


def _judge(
    question: Question, value: Any, shown: Mapping[str, bool], today: date
) -> tuple[Outcome, str]:
    if not shown.get(question.id, True):
        return Outcome.NOT_APPLICABLE, "Does not apply, given the other answers"
    if question.requirement is None:
        return (
            (Outcome.UNANSWERED, "Not answered")
            if logic.is_blank(value)
            else (
                Outcome.NEEDS_REVIEW,
                "",
            )
        )
    check = check_answer(question, question.requirement, value, today)
    # The self-assessment's own "partly in place" answer is progress, not a gap.
    if check.outcome == Outcome.NOT_MET and value == "partly":
        return Outcome.PARTLY_MET, "Partly in place"
    return check.outcome, check.reason


def status_of(items: list[Item]) -> StandardStatus:
    """Not started until something is answered; met when every item that
    applies is met; not met when nothing is; partly met in between."""
    judged = [i for i in items if i.outcome not in (Outcome.NOT_APPLICABLE, Outcome.NEEDS_REVIEW)]
    # Notes-only items (no requirement) do not start a standard on their own.
    if not any(i.answered for i in judged):
        return StandardStatus.NOT_STARTED
    if judged and all(i.outcome == Outcome.MET for i in judged):
        return StandardStatus.MET
    if not any(i.outcome in (Outcome.MET, Outcome.PARTLY_MET) for i in judged):
        return StandardStatus.NOT_MET
    return StandardStatus.PARTLY_MET


@dataclass(frozen=True)
class SectionSaved:
    saved: int
    errors: dict[str, str]


def save_section(
    session: Session,
    organisation: Organisation,
    actor: User,
    section: Section,
    form: SectionForm,
    notes: Mapping[str, str],
    uploads: Mapping[str, list[FileStorage]],
    keep: Mapping[str, list[int]],
) -> SectionSaved:
    """Store what is valid of one section (answers, notes, evidence); what is
    not stays on the form with its message. Partial answers are fine: the
    school works through the standards over time."""
    assessment = start_assessment(session, organisation)
    stored = stored_answers(session, assessment)
    note_errors = {
        f"{q.id}-note": f"Notes must be {NOTE_LIMIT:,} characters or fewer"
        for q in section.answerable
        if len(notes.get(q.id, "")) > NOTE_LIMIT
    }
    plan = answerset.plan_section(
        form,
        {qid: answerset.Stored(row.value, row.note) for qid, row in stored.items()},
        # A note too long keeps the stored one (and stays on the form with its message).
        notes={
            q.id: (notes.get(q.id) or "").strip() or None
            for q in section.answerable
            if f"{q.id}-note" not in note_errors
        },
        notes_keep_rows=True,  # the school's notes on an item stay without an answer
    )
    errors = {**plan.errors, **note_errors}
    now = utcnow()

    def new(change: answerset.Change) -> AssessmentAnswer:
        return AssessmentAnswer(
            assessment_id=assessment.id, question_id=change.question_id, value=change.value,
            note=change.note, updated_at=now, updated_by_id=actor.id,
        )  # fmt: skip

    def update(row: AssessmentAnswer, change: answerset.Change) -> None:
        row.value, row.note, row.updated_at, row.updated_by_id = (
            change.value, change.note, now, actor.id,
        )  # fmt: skip

    changed = write_changes(session, stored, plan.changes, new=new, update=update)
    for q in section.answerable:
        try:
            changed += _update_files(
                session, assessment, actor, q, keep.get(q.id, []), uploads.get(q.id, [])
            )
        except evidence.UploadError as exc:
            errors[f"{q.id}-evidence"] = exc.message
    if changed:
        assessment.updated_at = now
        record_event(
            session, "standards_answered", organisation=organisation, actor=actor,
            section=section.title, changed=changed,
        )  # fmt: skip
    session.flush()
    return SectionSaved(saved=changed, errors=errors)


def save_answers(
    session: Session,
    organisation: Organisation,
    actor: User,
    answers: Mapping[str, Any],
    notes: Mapping[str, str | None],
) -> dict[str, str]:
    """Some self-assessment answers and notes changed (None clears one), the
    rest and every evidence file kept: each section touched is checked and
    saved by its own form, as its page posts it. The refused ones by question
    id; ids no item has are the caller's to refuse first (sections_holding)."""
    found = progress(session, organisation)
    questionnaire = found.questionnaire
    errors: dict[str, str] = {}
    for section in sections_holding(questionnaire, [*answers, *notes])[0]:
        values = laid_over(section, {k: i.value for k, i in found.items.items()}, answers)
        kept_notes = {k: i.note or "" for k, i in found.items.items()}
        kept_notes |= {k: v or "" for k, v in notes.items()}
        form = build_section_form(questionnaire, section)(
            formdata=MultiDict(posted_section(section, values))
        )
        keep = {k: [f.id for f in i.files] for k, i in found.items.items()}
        saved = save_section(session, organisation, actor, section, form, kept_notes, {}, keep)
        errors |= {k.removesuffix("-note"): m for k, m in saved.errors.items()}
    return errors


def _update_files(
    session: Session,
    assessment: Assessment,
    actor: User,
    question: Question,
    keep: list[int],
    new: list[FileStorage],
) -> int:
    rules = evidence.evidence_question(question)
    current = [
        f
        for f in session.scalars(
            select(AssessmentFile).where(
                AssessmentFile.assessment_id == assessment.id,
                AssessmentFile.question_id == question.id,
            )
        )
    ]
    kept_ids = {f.id for f in current if f.id in set(keep)}
    files = evidence.check_count(rules, new, len(kept_ids))
    room = _room(session, assessment)
    added: list[AssessmentFile] = []
    try:
        for upload in files:
            checked = evidence.check_and_store(
                session, upload, rules, room, "our evidence files", FILES_LIMIT_MB
            )
            room -= checked.blob.size
            added.append(
                AssessmentFile(
                    assessment_id=assessment.id, question_id=question.id,
                    filename=checked.filename, storage_key=checked.blob.key,
                    sha256=checked.blob.sha256, size=checked.blob.size,
                    content_type=checked.content_type, uploaded_by_id=actor.id,
                )
            )  # fmt: skip
            session.add(added[-1])
    except evidence.UploadError:
        evidence.discard(session, added)
        raise
    changed = len(added)
    for old in current:
        if old.id not in kept_ids:
            session.delete(old)
            delete_after_commit(session, old.storage_key)
            changed += 1
    return changed


def add_evidence(
    session: Session,
    organisation: Organisation,
    actor: User,
    question: Question,
    uploads: list[FileStorage],
) -> list[AssessmentFile]:
    """Evidence files added beside an item's own (the API's way; the page
    sends the whole list it keeps). Checked as the page checks them: count,
    type, content and the organisation's room; nothing is stored if one fails."""
    assessment = start_assessment(session, organisation)
    before = {f.id for f in stored_files(session, assessment).get(question.id, ())}
    _update_files(session, assessment, actor, question, sorted(before), uploads)
    assessment.updated_at = utcnow()
    session.flush()
    added = [
        f for f in stored_files(session, assessment).get(question.id, ()) if f.id not in before
    ]
    record_event(
        session, "standards_evidence_added", organisation=organisation, actor=actor,
        item=question.id, files=[f.filename for f in added],
    )  # fmt: skip
    return added


def remove_evidence(
    session: Session, organisation: Organisation, actor: User, found: AssessmentFile
) -> None:
    """One evidence file taken away (permissions: find_file, another's is a 404)."""
    session.delete(found)
    delete_after_commit(session, found.storage_key)
    record_event(
        session, "standards_evidence_removed", organisation=organisation, actor=actor,
        item=found.question_id, file=found.filename,
    )  # fmt: skip
    session.flush()


def _room(session: Session, assessment: Assessment) -> int:
    used = session.scalar(
        select(func.sum(AssessmentFile.size)).where(AssessmentFile.assessment_id == assessment.id)
    )
    return max(0, FILES_LIMIT_MB * 1024 * 1024 - int(used or 0))


def find_file(session: Session, organisation: Organisation, file_id: int) -> AssessmentFile | None:
    """One of this organisation's evidence files (another's: None, a 404)."""
    return session.scalar(
        select(AssessmentFile)
        .join(Assessment, Assessment.id == AssessmentFile.assessment_id)
        .where(AssessmentFile.id == file_id, Assessment.organisation_id == organisation.id)
    )


def save_plan(
    session: Session,
    organisation: Organisation,
    actor: User,
    standard: str,
    target_date: date | None,
    next_review_date: date | None,
) -> None:
    plan = session.scalar(
        select(StandardPlan).where(
            StandardPlan.organisation_id == organisation.id, StandardPlan.standard == standard
        )
    )
    if plan is None:
        plan = StandardPlan(organisation_id=organisation.id, standard=standard)
        session.add(plan)
    plan.target_date, plan.next_review_date, plan.updated_at = (
        target_date,
        next_review_date,
        utcnow(),
    )
    record_event(
        session, "standard_planned", organisation=organisation, actor=actor, standard=standard,
        target_date=target_date.isoformat() if target_date else None,
        next_review_date=next_review_date.isoformat() if next_review_date else None,
    )  # fmt: skip
    session.flush()


def name_digital_lead(
    session: Session,
    organisation: Organisation,
    actor: User,
    lead: User | None,
    link_governor: str,
) -> None:
    """Record the SLT digital lead (one of the organisation's people) and the
    governor linked with them."""
    governor = link_governor.strip() or None
    if governor and len(governor) > 200:
        raise ServiceError("Enter the governor's name in 200 characters or fewer", "link_governor")
    organisation.digital_lead_id = lead.id if lead else None
    organisation.link_governor = governor
    record_event(
        session, "digital_lead_named", organisation=organisation, actor=actor,
        lead=lead.name if lead else None, link_governor=governor,
    )  # fmt: skip
    session.flush()


@dataclass(frozen=True)
class Due:
    """One dated thing on the school's timeline."""

    on: date
    what: str
    kind: str
    status: str
    overdue: bool
    standard_slug: str | None = None
    supplier_id: int | None = None
    dpia_id: int | None = None


def timeline(
    session: Session,
    organisation: Organisation,
    found: Progress,
    today: date | None = None,
    *,
    register: Sequence[supplier_register.RegisterEntry] | None = None,
    dpias: Sequence[Dpia] | None = None,
) -> list[Due]:
    """Targets and reviews of the standards, and the annual reviews of the
    suppliers in the register and of approved DPIAs: overdue first (oldest
    first), then what comes next. ``register`` and ``dpias`` when the caller
    has them already (a trust's overview gathers every school's at once)."""
    today = today or utcnow().date()
    if register is None:
        register = supplier_register.entries(session, organisation, today)
    if dpias is None:
        dpias = dpia.list_dpias(session, organisation)
    entries: list[Due] = []
    for standard in found.standards:
        label = STATUS_LABELS[standard.status]
        if standard.target_date and standard.status != StandardStatus.MET:
            entries.append(
                Due(
                    standard.target_date, f"Meet {standard.name}", "Target", label,
                    standard.target_date < today, standard_slug=standard.slug,
                )
            )  # fmt: skip
        if standard.next_review_date:
            entries.append(
                Due(
                    standard.next_review_date, f"Review {standard.name}", "Standard review",
                    label, standard.next_review_date < today, standard_slug=standard.slug,
                )
            )  # fmt: skip
    for entry in register:
        review = entry.next_review_date
        if review is not None:
            entries.append(
                Due(
                    review, f"Review {entry.supplier.name}", "Supplier review",
                    entry.latest.decision if entry.latest else "In the register",
                    review < today, supplier_id=entry.supplier.id,
                )
            )  # fmt: skip
    for approved in dpia.due_reviews(dpias):
        review = approved.next_review_date
        if review is not None:
            entries.append(
                Due(
                    review, f"Review the DPIA of {approved.title}", "DPIA review", "Approved",
                    review < today, dpia_id=approved.id,
                )
            )  # fmt: skip
    return sorted(entries, key=lambda due: (not due.overdue, due.on, due.what))


def standard_rows(found: Progress) -> list[StandardRow]:
    """Each standard's status and plan, for the progress workbook."""
    return [
        StandardRow(
            name=standard.name,
            status=str(standard.status),
            status_label=STATUS_LABELS[standard.status],
            answered=standard.answered,
            items=len(standard.items),
            target_date=standard.target_date,
            next_review_date=standard.next_review_date,
        )
        for standard in found.standards
    ]


def due_rows(entries: Iterable[Due]) -> list[DueRow]:
    """The timeline for its workbook (the page's links left behind)."""
    return [DueRow(due.on, due.what, due.kind, due.status, due.overdue) for due in entries]


def without_target(found: Progress) -> list[Standard]:
    """Standards not yet met that have no target date: gaps in the plan."""
    return [s for s in found.standards if s.status != StandardStatus.MET and s.target_date is None]
