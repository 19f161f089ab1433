"""Asking a supplier for renewed evidence, and taking it (issue 26).

A renewal ask has its own link, emailed to the supplier's contact, which
opens only the evidence named: its files (with their dates) and, where the
expiry is an answer (a Cyber Essentials expiry date), that answer. Nothing
else of the request can be changed through it, and its decision stands; the
request is judged again with the renewed evidence and the school is told.

The daily job asks 30 days before an expiry and again once it has passed
(services/jobs/evidence_renewals.py); a school may ask by hand. A request is
asked at most once a day, whoever asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from ...models import (
    ANSWERED_STATUSES,
    Evidence,
    EvidenceRenewal,
    Request,
    TrackedEvidence,
    User,
    utcnow,
)
from ...questionnaire import Question, Questionnaire, Section
from ...questionnaire.forms import DateAnswerField, SectionForm, build_section_form
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.mail import queue_email
from ..platform.questionnaire_registry import definition_for_request
from ..platform.runtime import runtime
from ..platform.storage import delete_after_commit
from ..platform.tokens import hash_token, new_token
from ..requirements import ratings
from . import answering, evidence, evidence_life

ASK_DAYS_BEFORE = 30


@dataclass(frozen=True)
class Item:
    """One piece of evidence a renewal asks for: the question taking its
    files and, where its expiry is an answer, that date question."""

    question: Question
    date_question: Question | None
    expires_on: date | None


def items_of(
    questionnaire: Questionnaire, renewal: EvidenceRenewal, rows: Sequence[TrackedEvidence]
) -> list[Item]:
    by_id = {row.question_id: row for row in rows}
    found = []
    for qid in renewal.questions:
        try:
            question = questionnaire.question(qid)
        except KeyError:
            continue
        life = question.life
        date_question = (
            questionnaire.question(life.answer_id)
            if life is not None and life.source == "answer"
            else None
        )
        row = by_id.get(qid)
        found.append(Item(question, date_question, row.expires_on if row else None))
    return found


def sent_today(session: Session, request: Request, today: date) -> bool:
    """Whether the request was asked for renewed evidence today, by anyone."""
    start = datetime.combine(today, time(), tzinfo=UTC)
    return bool(
        session.scalar(
            select(func.count())
            .select_from(EvidenceRenewal)
            .where(
                EvidenceRenewal.request_id == request.id,
                EvidenceRenewal.sent_at >= start,
                EvidenceRenewal.sent_at < start + timedelta(days=1),
            )
        )
    )


def ask(
    session: Session,
    request: Request,
    question_ids: Sequence[str],
    reason: str,
    today: date,
    actor: User | None = None,
) -> EvidenceRenewal:
    """Email the contact a link to renew this evidence, and put it on the
    timeline. An earlier renewal link of the request stops working: the new
    one names everything still to renew."""
    if request.status not in ANSWERED_STATUSES:
        raise ServiceError("Renewed evidence can be asked for once the supplier has submitted")
    if sent_today(session, request, today):
        raise ServiceError(
            "The supplier was asked for renewed evidence today already: ask again tomorrow"
        )
    rows = {
        row.question_id: row
        for row in session.scalars(
            select(TrackedEvidence).where(TrackedEvidence.request_id == request.id)
        )
    }
    chosen = [qid for qid in dict.fromkeys(question_ids) if qid in rows]
    if not chosen:
        raise ServiceError("Choose the evidence to ask for")
    now = utcnow()
    session.execute(
        update(EvidenceRenewal)
        .where(EvidenceRenewal.request_id == request.id, EvidenceRenewal.completed_at.is_(None))
        .values(link_expires_at=now),
        execution_options={"synchronize_session": "fetch"},
    )
    token, digest = new_token()
    renewal = EvidenceRenewal(
        request_id=request.id,
        token_hash=digest,
        questions=chosen,
        reason=reason,
        sent_by_id=actor.id if actor else None,
        sent_at=now,
        link_expires_at=now + timedelta(days=runtime(session).settings.link_lifetime_days),
    )
    session.add(renewal)
    for qid in chosen:
        # The ask counts for the expiry it was made for, whoever made it: the
        # daily job does not ask again for the same one.
        row = rows[qid]
        if row.expires_on is not None and row.expires_on <= today:
            row.asked_after_on = row.expires_on
        elif row.expires_on is not None:
            row.asked_before_on = row.expires_on
    session.flush()
    questionnaire = definition_for_request(request)
    items = items_of(questionnaire, renewal, list(rows.values()))
    queue_email(
        session,
        to=request.contact_email,
        subject=f"{request.organisation.name} asks for renewed evidence ({request.reference})",
        template="evidence_renewal",
        organisation=request.organisation,
        request=request,
        items=items,
        today=today,
        link=runtime(session).links.url("renewal.open_link", token=token),
    )
    record_event(
        session,
        "renewal_requested",
        organisation=request.organisation,
        actor=actor,
        actor_label=None if actor else "Portal",
        request=request,
        questions=chosen,
        reason=reason,
    )
    return renewal


def by_token(session: Session, token: str) -> EvidenceRenewal | None:
    """The open renewal a link belongs to, or None (a 404 to the caller)."""
    found = session.scalar(
        select(EvidenceRenewal).where(EvidenceRenewal.token_hash == hash_token(token))
    )
    return (
        found
        if found is not None and found.open and found.request.status in ANSWERED_STATUSES
        else None
    )


def form_class(renewal: EvidenceRenewal, items: Sequence[Item]) -> type[SectionForm]:
    """A form of just the renewal's items: each file with its dates, and each
    expiry date answer (a section of its own, named by what it holds)."""
    questions: list[Question] = []
    for item in items:
        questions.append(item.question)
        if item.date_question is not None:
            questions.append(item.date_question)
    ids = "-".join(q.id for q in questions)
    section = Section(f"renewal-{ids}", "Renewed evidence", "", tuple(questions))
    return build_section_form(definition_for_request(renewal.request), section)


def open_items(session: Session, renewal: EvidenceRenewal) -> list[Item]:
    request = renewal.request
    rows = list(
        session.scalars(select(TrackedEvidence).where(TrackedEvidence.request_id == request.id))
    )
    return items_of(definition_for_request(request), renewal, rows)


@dataclass
class Outcome:
    """What a renewal post came to: problems by field name, or done."""

    problems: dict[str, str] = field(default_factory=dict)
    done: bool = False


def renew(
    session: Session,
    renewal: EvidenceRenewal,
    form: SectionForm,
    files: Mapping[str, list[FileStorage]],
    today: date,
) -> Outcome:
    """Take the renewed evidence: every item needs its new file (with the
    dates its rule asks for) and, where the expiry is an answer, a new date
    after today. All or nothing: while anything is wrong the old evidence
    stays and nothing is stored. Then the request is judged again and the
    school is told."""
    request = renewal.request
    items = open_items(session, renewal)
    problems: dict[str, str] = {}
    plans: list[tuple[Item, list[FileStorage], evidence.Dates]] = []
    answers: dict[str, Any] = {}
    for item in items:
        question = item.question
        name = question.id if question.type == "file" else f"{question.id}-evidence"
        new = [f for f in files.get(name, []) if f.filename]
        (issued, expires, renewing), wrong = form.upload_dates(question, today)
        problems.update(wrong)
        if not new:
            problems[name] = f"Choose the renewed file for “{question.label}”"
        if item.date_question is not None:
            field_: Any = form[item.date_question.id]
            day: date | None = field_.data if isinstance(field_, DateAnswerField) else None
            if field_.process_errors:
                problems[item.date_question.id] = str(field_.process_errors[0])
            elif day is None:
                problems[item.date_question.id] = "Enter the renewed document's expiry date"
            elif day <= today:
                problems[item.date_question.id] = (
                    "The renewed document's expiry date must be after today"
                )
            else:
                answers[item.date_question.id] = day.isoformat()
        plans.append((item, new, evidence.Dates(issued, expires, renewing)))
    if problems:
        return Outcome(problems)
    stored: list[int] = []
    old: list[Evidence] = []
    attached = evidence.attached(session, request)
    for item, new, dates in plans:
        question = item.question
        rules = question if question.type == "file" else evidence.evidence_question(question)
        try:
            ids = evidence.store_uploads(session, request, rules, new, [], dates)
        except evidence.UploadError as exc:
            # Wrong type, too big: what this post stored goes, the old stays.
            mine = evidence.files_for(session, request)
            evidence.discard(session, [mine[i] for i in stored if i in mine])
            name = question.id if question.type == "file" else f"{question.id}-evidence"
            return Outcome({name: exc.message})
        stored.extend(ids)
        old.extend(attached.get(question.id, []))
        if question.type == "file":
            answers[question.id] = ids
    # The old files go only now that every new one is in.
    for gone in old:
        delete_after_commit(session, gone.storage_key)
        session.delete(gone)
    session.flush()
    answering.renew_answers(session, request, answers, by=request.contact_name)
    session.expire(request, ["answers"])
    evidence_life.track(session, request)
    result = ratings.refresh_rating(session, request)
    renewal.completed_at = utcnow()
    record_event(
        session,
        "evidence_renewed",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        questions=[item.question.id for item, _new, _dates in plans],
        rating=result.rating,
    )
    if request.created_by is not None:
        queue_email(
            session,
            to=request.created_by.email,
            subject=f"{request.supplier.name} sent renewed evidence ({request.reference})",
            template="evidence_renewed",
            organisation=request.organisation,
            request=request,
            items=[item for item, _new, _dates in plans],
            rating=result.rating,
            link=runtime(session).links.url("school.view_request", request_id=request.id),
        )
    session.flush()
    return Outcome(done=True)


def renewals_of(session: Session, request: Request) -> list[EvidenceRenewal]:
    return list(
        session.scalars(
            select(EvidenceRenewal)
            .where(EvidenceRenewal.request_id == request.id)
            .order_by(EvidenceRenewal.id.desc())
        )
    )
