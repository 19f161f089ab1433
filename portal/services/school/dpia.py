"""Full DPIAs: the third step of due diligence, for tools that stay high risk.

A DPIA is the school's own document. Staff answer the ``dpia_full``
questionnaire signed in, with the same engine and section forms a supplier's
questionnaire uses. Starting one from a request copies in what the supplier
already told us (each answer marked with where it came from), the screening's
result and the findings that did not meet the school's requirements; the
unmet critical findings are proposed as risks. Then: draft -> awaiting the
DPO's advice -> awaiting approval -> approved or rejected, every step audited.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.datastructures import MultiDict

from ...exports.dpia import DpiaAnswerRow, DpiaSummary
from ...exports.request import TimelineLine
from ...models import (
    ANSWERED_STATUSES,
    AuditEvent,
    Dpia,
    DpiaAnswer,
    DpiaStatus,
    Organisation,
    QuestionnaireVersion,
    Request,
    SigningRole,
    User,
    utcnow,
)
from ...questionnaire import Question, Questionnaire, Section, answerset, logic
from ...questionnaire.compare import Finding, Outcome
from ...questionnaire.display import display_value
from ...questionnaire.forms import (
    SectionForm,
    build_section_form,
    laid_over,
    posted_section,
    sections_holding,
)
from ...questionnaire.risk import RISK_TABLE, residual_level, risks_of
from ...vocabulary import DPIA_STATUS_COLOURS, DPIA_STATUS_LABELS
from ..errors import ServiceError
from ..platform.answer_rows import write_changes
from ..platform.audit import record_event
from ..platform.paging import Page, page_of
from ..platform.questionnaire_registry import definition_for, find_current, publish_version
from ..requests import lifecycle as requests
from ..requirements import ratings
from ..review.timeline import describe
from . import risk_matrix

KEY = "dpia_full"
ADVICE_LIMIT = 10_000
APPROVER_ROLES = tuple(SigningRole)
TEXT_LIMITS = {"text": 500, "long_text": 10_000}
TEXT_TYPES_WITH_LIMITS = frozenset(TEXT_LIMITS)

STATUS_LABELS, STATUS_COLOURS = DPIA_STATUS_LABELS, DPIA_STATUS_COLOURS
# Where a school can still change the answers.
EDITABLE = frozenset({DpiaStatus.DRAFT})


class NotInstalled(ServiceError):
    """The server has no full DPIA questionnaire (QUESTIONNAIRE_FOLDER)."""


def current_questionnaire(session: Session) -> Questionnaire:
    try:
        return find_current(session, KEY)
    except ServiceError as exc:
        raise NotInstalled(
            f"The {KEY} questionnaire is not installed on this server: ask its administrator"
        ) from exc


def questionnaire_of(dpia: Dpia) -> Questionnaire:
    return definition_for(dpia.questionnaire_version)


def lock(session: Session, dpia: Dpia) -> None:
    """Hold the DPIA's row until commit and read it afresh: two people
    deciding at once, or a save racing the request for advice, meet one at a
    time on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    session.execute(
        select(Dpia)
        .where(Dpia.id == dpia.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def stored_answers(session: Session, dpia: Dpia) -> dict[str, DpiaAnswer]:
    rows = session.scalars(select(DpiaAnswer).where(DpiaAnswer.dpia_id == dpia.id))
    return {row.question_id: row for row in rows}


def for_workbook(
    dpia: Dpia, stored: Mapping[str, DpiaAnswer]
) -> tuple[DpiaSummary, dict[str, DpiaAnswerRow]]:
    """The DPIA and its answers in words, as its workbook lays them out."""
    signed = dpia.status in (DpiaStatus.APPROVED, DpiaStatus.REJECTED)
    summary = DpiaSummary(
        title=dpia.title,
        supplier=dpia.supplier.name if dpia.supplier else "",
        request_reference=dpia.request.reference if dpia.request else "",
        status=str(dpia.status),
        status_label=DPIA_STATUS_LABELS[dpia.status],
        ico_consultation=bool(dpia.ico_consultation),
        dpo_name=dpia.dpo_name or "",
        dpo_advice=dpia.dpo_advice or "",
        dpo_advised_on=dpia.dpo_advised_on,
        advice_followed=dpia.advice_followed,
        advice_not_followed_reason=dpia.advice_not_followed_reason or "",
        signed_off_by=f"{dpia.decided_by.name}, {dpia.approver_role}"
        if signed and dpia.decided_by
        else "",
        decided_on=dpia.decided_on,
        decision_note=dpia.decision_note or "",
        next_review_date=dpia.next_review_date,
    )
    answers = {
        qid: DpiaAnswerRow(row.value, row.comment, row.source) for qid, row in stored.items()
    }
    return summary, answers


# --- Prefill ----------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What the portal knows of a request, as a prefill source."""

    question: Question
    value: Any
    reference: str


@dataclass(frozen=True)
class Prefilled:
    value: Any
    source: str


def chain_of(session: Session, request: Request) -> list[Request]:
    """The request, the screening it follows and the requests that follow it
    (extended due diligence): together, what the supplier has told us about
    this tool. Only answered ones, oldest first."""
    found = {request.id: request}
    if request.follows is not None and request.follows.organisation_id == request.organisation_id:
        found[request.follows.id] = request.follows
    for row in session.scalars(
        select(Request).where(
            Request.follows_request_id.in_(list(found)),
            Request.organisation_id == request.organisation_id,
        )
    ):
        found[row.id] = row
    return sorted((r for r in found.values() if r.status in ANSWERED_STATUSES), key=lambda r: r.id)


def known_facts(
    session: Session, chain: Iterable[Request]
) -> tuple[dict[str, Known], dict[str, Prefilled]]:
    """Answers by ``questionnaire_key.question_id`` (the newest request wins),
    and what the comparisons say, with where each came from: the screening's
    result, the findings that did not meet our requirements, and the unmet
    critical ones as proposed risks."""
    answers: dict[str, Known] = {}
    screening: list[str] = []
    screened: list[str] = []
    unmet: list[str] = []
    compared: list[str] = []
    critical: list[dict[str, Any]] = []
    for row in chain:
        questionnaire = definition_for(row.questionnaire_version)
        for answer in row.answers:
            if answer.prefilled:
                continue  # copied in, not yet given by the supplier (services/requests/reuse.py)
            try:
                question = questionnaire.question(answer.question_id)
            except KeyError:
                continue
            if not logic.is_blank(answer.value):
                answers[f"{questionnaire.key}.{question.id}"] = Known(
                    question, answer.value, row.reference
                )
        comparison = ratings.comparison_for(session, row)
        if comparison.triage is not None:
            triage = comparison.triage
            lines = [f"{triage.risk.capitalize()} risk (screening {row.reference})."]
            if triage.next_step:
                lines.append(f"Next step: {triage.next_step}")
            lines += [f"- {reason}" for reason in triage.reasons]
            lines += [f"- Until answered: {reason}" for reason in triage.uncertain]
            screening.append("\n".join(lines))
            screened.append(row.reference)
        gaps = [
            f for f in comparison.findings if f.outcome in (Outcome.NOT_MET, Outcome.PARTLY_MET)
        ]
        if gaps:
            compared.append(row.reference)
        for finding in gaps:
            severity = finding.requirement.severity
            words = (
                f"{finding.question.label} Expected: {finding.expected}; given: {finding.actual}"
            )
            unmet.append(f"- [{severity}] {words} ({row.reference})")
            if severity == "critical" and finding.outcome == Outcome.NOT_MET:
                critical.append({"risk": _proposed_risk(finding)})
    facts: dict[str, Prefilled] = {}
    if screening:
        facts["request.screening"] = Prefilled(
            "\n\n".join(screening), f"The result of screening {', '.join(screened)}"
        )
    if unmet:
        facts["request.unmet_findings"] = Prefilled(
            "\n".join(unmet), f"The comparison of {', '.join(compared)} with our requirements"
        )
    if critical:
        facts["request.critical_findings"] = Prefilled(
            critical, f"Proposed from the unmet critical findings of {', '.join(compared)}"
        )
    return answers, facts


def _proposed_risk(finding: Finding) -> str:
    """An unmet critical finding, as a risk for the school to judge."""
    return (
        f"Not met: {finding.question.label} We expect {finding.expected.lower()}; the supplier "
        f"answered {finding.actual}. {finding.requirement.rationale}"
    ).strip()


def prefill(
    questionnaire: Questionnaire,
    answers: Mapping[str, Known],
    portal_facts: Mapping[str, Prefilled],
    supplier_name: str,
    reference: str,
) -> dict[str, Prefilled]:
    """What each question of the DPIA can start with, and where it came from.

    A question takes a source's value as it is when the types agree (a yes/no
    from a yes/no, a table's matching columns); a text question gathers every
    source it names, each under its own question, so the school reads the
    supplier's words and changes what it must."""
    facts = dict(portal_facts)
    if supplier_name:
        facts["request.supplier"] = Prefilled(
            supplier_name, f"The supplier named on request {reference}"
        )
    found: dict[str, Prefilled] = {}
    for question in questionnaire.questions():
        if question.prefill:
            filled = _prefilled(question, answers, facts)
            if filled is not None:
                found[question.id] = filled
    return found


def _prefilled(
    question: Question, answers: Mapping[str, Known], facts: Mapping[str, Prefilled]
) -> Prefilled | None:
    known = [facts[name] for name in question.prefill if name in facts]
    if known:
        value = known[0].value
        if question.type == "table":
            rows = _rows(question, value)
            return Prefilled(rows, known[0].source) if rows else None
        return Prefilled(_text(question, str(value)), known[0].source)
    given = [
        answers[name]
        for name in question.prefill
        if name in answers and _fits(answers[name].question, answers[name].value)
    ]
    for source in given:
        copied = _same_kind(question, source)
        if copied is not None:
            return Prefilled(copied, _source([source]))
    if not given or question.type not in TEXT_TYPES_WITH_LIMITS:
        return None
    if len(given) == 1:
        text = display_value(given[0].question, given[0].value)
    else:
        text = "\n".join(f"{k.question.label} {display_value(k.question, k.value)}" for k in given)
    return Prefilled(_text(question, text), _source(given))


def _fits(question: Question, value: Any) -> bool:
    """Whether a stored answer has the shape its question gives (an answer of
    an older version, or written by hand, may not): the rest is not copied."""
    match question.type:
        case "multi_choice":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        case "table":
            return isinstance(value, list) and all(isinstance(row, dict) for row in value)
        case "integer" | "decimal" | "money_gbp" | "percent":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "file":
            return False
        case _:
            return isinstance(value, str)


def _same_kind(question: Question, known: Known) -> Any:
    """The source's value as this question's answer, if it can be one as it is."""
    source, value = known.question, known.value
    if question.type == "table" and source.type == "table" and isinstance(value, list):
        return _rows(question, value)
    if question.type in ("yes_no", "yes_no_na", "single_choice") and source.type in (
        "yes_no",
        "yes_no_na",
        "single_choice",
    ):
        return value if value in {c.value for c in question.choices} else None
    if question.type == source.type and question.type not in ("multi_choice", "file"):
        return value
    return None


def _rows(question: Question, value: Any) -> list[dict[str, Any]] | None:
    ids = {column.id for column in question.columns}
    rows = [
        {key: cell for key, cell in row.items() if key in ids and not logic.is_blank(cell)}
        for row in value
        if isinstance(row, dict)
    ]
    rows = [row for row in rows if row][: question.max_rows]
    return rows or None


def _text(question: Question, text: str) -> str:
    limit = TEXT_LIMITS.get(question.type, 10_000)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _source(given: list[Known]) -> str:
    references = sorted({known.reference for known in given})
    labels = "; ".join(f"“{known.question.label}”" for known in given)
    return f"From the supplier's answers ({', '.join(references)}): {labels}"


# --- Starting and answering --------------------------------------------------


def for_request(session: Session, request: Request) -> list[Dpia]:
    """The DPIAs started from this request, newest first."""
    return list(
        session.scalars(
            select(Dpia)
            .where(Dpia.request_id == request.id, Dpia.organisation_id == request.organisation_id)
            .order_by(Dpia.id.desc())
        )
    )


def screened_high(session: Session, request: Request) -> bool:
    """Whether this request, or the screening it follows, found a high risk:
    the case for a full DPIA."""
    for row in (request, request.follows):
        if row is None or row.status not in ANSWERED_STATUSES:
            continue
        if definition_for(row.questionnaire_version).triage is None:
            continue
        triage = ratings.comparison_for(session, row).triage
        if triage is not None and triage.risk == "high":
            return True
    return False


def dpias_page(session: Session, organisation: Organisation, number: int) -> Page[Dpia]:
    """The organisation's DPIAs, newest first, a page at a time, each with its request."""
    return page_of(
        session,
        select(Dpia)
        .where(Dpia.organisation_id == organisation.id)
        .options(joinedload(Dpia.request).load_only(Request.reference))
        .order_by(Dpia.id.desc()),
        number,
    )


def list_dpias(session: Session, organisation: Organisation) -> list[Dpia]:
    return list(
        session.scalars(
            select(Dpia)
            .where(Dpia.organisation_id == organisation.id)
            .options(joinedload(Dpia.supplier))  # the governors' pack names each one's
            .order_by(Dpia.id.desc())
        )
    )


def dpias_after(
    session: Session, organisation: Organisation, before_id: int | None, limit: int
) -> list[Dpia]:
    """A page of the organisation's DPIAs, newest first, for cursor paging,
    with what the API shows of each loaded in the one statement (the version's
    key and number, not its definition)."""
    query = (
        select(Dpia)
        .where(Dpia.organisation_id == organisation.id)
        .options(
            joinedload(Dpia.supplier),
            joinedload(Dpia.request),
            joinedload(Dpia.questionnaire_version).load_only(
                QuestionnaireVersion.key, QuestionnaireVersion.version
            ),
            joinedload(Dpia.advice_recorded_by),
            joinedload(Dpia.decided_by),
        )
        .order_by(Dpia.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Dpia.id < before_id)
    return list(session.scalars(query))


def start_dpia(session: Session, organisation: Organisation, actor: User, request: Request) -> Dpia:
    """A DPIA of the tool a request assessed, prefilled from everything the
    supplier answered about it. A request that already has one still open (or
    approved) gets that one back rather than a second."""
    if request.organisation_id != organisation.id:
        raise ServiceError("That request is not this organisation's")
    if request.status not in ANSWERED_STATUSES:
        raise ServiceError("Wait for the supplier to submit their answers before starting a DPIA")
    requests.lock(session, request)  # two clicks on Start make one DPIA
    chain = chain_of(session, request)
    # One DPIA per tool: the screening and its follow-up assess the same one.
    for row in chain:
        for existing in for_request(session, row):
            if existing.status != DpiaStatus.REJECTED:
                return existing
    questionnaire = current_questionnaire(session)
    version = publish_version(session, questionnaire)
    dpia = Dpia(
        organisation_id=organisation.id,
        questionnaire_version_id=version.id,
        request_id=request.id,
        supplier_id=request.supplier_id,
        title=request.supplier.name[:200],
        status=DpiaStatus.DRAFT,
        created_by_id=actor.id,
    )
    session.add(dpia)
    session.flush()
    answers, facts = known_facts(session, chain)
    now = utcnow()
    for question_id, found in prefill(
        questionnaire, answers, facts, request.supplier.name, request.reference
    ).items():
        session.add(
            DpiaAnswer(
                dpia_id=dpia.id, question_id=question_id, value=found.value,
                source=found.source, updated_at=now, updated_by_id=actor.id,
            )
        )  # fmt: skip
    record_event(
        session, "dpia_started", organisation=organisation, actor=actor, request=request,
        dpia=dpia.id, title=dpia.title,
    )  # fmt: skip
    session.flush()
    return dpia


def start_review(session: Session, dpia: Dpia, actor: User) -> Dpia:
    """The review of an approved DPIA (its next review date, or a change in
    the processing): a new draft that starts from the approved answers, each
    keeping where it came from. The approved one stands until the review is
    signed off. A review already under way is returned, not doubled."""
    lock(session, dpia)
    _must_be(dpia, {DpiaStatus.APPROVED}, "Only an approved DPIA is reviewed")
    for newer in session.scalars(
        select(Dpia).where(Dpia.review_of_id == dpia.id, Dpia.status != DpiaStatus.REJECTED)
    ):
        return newer
    questionnaire = current_questionnaire(session)
    version = publish_version(session, questionnaire)
    review = Dpia(
        organisation_id=dpia.organisation_id, questionnaire_version_id=version.id,
        request_id=dpia.request_id, supplier_id=dpia.supplier_id, title=dpia.title,
        status=DpiaStatus.DRAFT, created_by_id=actor.id, review_of_id=dpia.id,
    )  # fmt: skip
    session.add(review)
    session.flush()
    now = utcnow()
    asked = {q.id for q in questionnaire.questions() if q.answerable}
    for question_id, row in stored_answers(session, dpia).items():
        if question_id in asked:  # a newer version may have dropped a question
            session.add(
                DpiaAnswer(
                    dpia_id=review.id, question_id=question_id, value=row.value,
                    comment=row.comment, source=row.source, updated_at=now,
                    updated_by_id=actor.id,
                )
            )  # fmt: skip
    record_event(
        session, "dpia_review_started", organisation=dpia.organisation, actor=actor,
        request=dpia.request, dpia=review.id, reviews=dpia.id, title=dpia.title,
    )  # fmt: skip
    session.flush()
    return review


def reviews_of(session: Session, dpia: Dpia) -> list[Dpia]:
    return list(
        session.scalars(select(Dpia).where(Dpia.review_of_id == dpia.id).order_by(Dpia.id.desc()))
    )


@dataclass(frozen=True)
class SectionSaved:
    saved: int
    errors: dict[str, str]


def save_section(
    session: Session, dpia: Dpia, actor: User, section: Section, form: SectionForm
) -> SectionSaved:
    """Store what is valid of one section; what is not stays on the form with
    its message. A DPIA is written over days: nothing has to be answered at
    once, but everything must be before the DPO is asked."""
    lock(session, dpia)
    _must_be(dpia, EDITABLE, "This DPIA is no longer a draft: return it to draft to change it")
    stored = stored_answers(session, dpia)
    plan = answerset.plan_section(
        form,
        {qid: answerset.Stored(row.value, row.comment) for qid, row in stored.items()},
        notes_keep_rows=True,  # a comment alone is the school's own note: it stays
        normalise=_normalised,
    )
    now = utcnow()

    def new(change: answerset.Change) -> DpiaAnswer:
        return DpiaAnswer(
            dpia_id=dpia.id, question_id=change.question_id, value=change.value,
            comment=change.note, updated_at=now, updated_by_id=actor.id,
        )  # fmt: skip

    def update(row: DpiaAnswer, change: answerset.Change) -> None:
        # The school's own answer now, not the supplier's.
        row.value, row.comment, row.source = change.value, change.note, None
        row.updated_at, row.updated_by_id = now, actor.id

    changed = write_changes(session, stored, plan.changes, new=new, update=update)
    errors = plan.errors
    if changed:
        dpia.updated_at = now
        record_event(
            session, "dpia_answered", organisation=dpia.organisation, actor=actor,
            request=dpia.request, dpia=dpia.id, section=section.title, changed=changed,
        )  # fmt: skip
    session.flush()
    return SectionSaved(saved=changed, errors=errors)


def save_answers(
    session: Session,
    dpia: Dpia,
    actor: User,
    answers: Mapping[str, Any],
    comments: Mapping[str, str | None],
) -> dict[str, str]:
    """Some answers changed (None clears one), the rest kept: each section
    touched is checked and saved by its own form, as its page posts it. The
    refused answers by question id (the valid ones are saved beside them);
    ids no question has are the caller's to refuse first (sections_holding)."""
    questionnaire = questionnaire_of(dpia)
    errors: dict[str, str] = {}
    for section in sections_holding(questionnaire, [*answers, *comments])[0]:
        stored = stored_answers(session, dpia)
        values = laid_over(section, {k: a.value for k, a in stored.items()}, answers)
        notes = {k: a.comment for k, a in stored.items()} | dict(comments)
        form = build_section_form(questionnaire, section)(
            formdata=MultiDict(posted_section(section, values, notes))
        )
        errors |= save_section(session, dpia, actor, section, form).errors
    return errors


def _normalised(value: Any) -> Any:
    """An answer as stored: line breaks as LF (browsers post CRLF) and table
    rows without their blank cells, so an unchanged answer compares equal."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return [
            {k: _normalised(v) for k, v in row.items() if not logic.is_blank(v)} for row in value
        ]
    return value


# --- The risk register: portal/questionnaire/risk.py (pure, used by the workbook too)


# --- What is missing ---------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    section: Section
    question: Question
    message: str


def missing(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[Missing]:
    """Every question still to answer (or to put right) before the DPO is asked."""
    found = logic.problems(questionnaire, answers, enforce_required=True)
    shown = logic.visibility(questionnaire, answers)
    gaps: list[Missing] = []
    for section in questionnaire.sections:
        for question in section.answerable:
            if question.id in found:
                gaps.append(Missing(section, question, found[question.id]))
            elif question.type == "table" and shown.get(question.id, False):
                gaps += [
                    Missing(section, question, message)
                    for message in _row_gaps(question, answers.get(question.id))
                ]
    return gaps


def _row_gaps(question: Question, rows: Any) -> list[str]:
    """A table's rows with a required cell still empty (a proposed risk not yet
    rated, say): saved as a start, but not finished."""
    if not isinstance(rows, list):
        return []
    gaps = [
        f"Row {number}: {logic.missing_message(column).lower()} for {column.label.lower()}"
        for number, row in enumerate(rows, start=1)
        if isinstance(row, dict)
        for column in question.columns
        if column.required and logic.is_blank(row.get(column.id))
    ]
    if question.id == RISK_TABLE:
        # An assessor's own level stands only with its reason.
        gaps += [
            f"Row {number}: say why you set the risk left to {str(row['judged_level']).lower()}"
            for number, row in enumerate(rows, start=1)
            if isinstance(row, dict)
            and not logic.is_blank(row.get("judged_level"))
            and logic.is_blank(str(row.get("judged_reason") or "").strip())
        ]
    return gaps


def answer_values(stored: Mapping[str, DpiaAnswer]) -> dict[str, Any]:
    return {qid: row.value for qid, row in stored.items() if not logic.is_blank(row.value)}


# --- The steps ---------------------------------------------------------------


def _must_be(dpia: Dpia, statuses: Iterable[str], message: str) -> None:
    if dpia.status not in set(statuses):
        raise ServiceError(message)


def _move(session: Session, dpia: Dpia, actor: User, to: DpiaStatus, **detail: Any) -> None:
    before = dpia.status
    dpia.status = to
    record_event(
        session, f"dpia_{to}", organisation=dpia.organisation, actor=actor, request=dpia.request,
        dpia=dpia.id, title=dpia.title, **{"from": before, **detail},
    )  # fmt: skip
    session.flush()


def ask_for_advice(session: Session, dpia: Dpia, actor: User) -> None:
    """Send the finished draft to the DPO: every question answered first."""
    lock(session, dpia)
    _must_be(dpia, {DpiaStatus.DRAFT}, "Only a draft can be sent for the DPO's advice")
    answers = answer_values(stored_answers(session, dpia))
    gaps = missing(questionnaire_of(dpia), answers)
    if gaps:
        count = len(gaps)
        raise ServiceError(
            f"Answer every question before asking for the DPO's advice: "
            f"{count} {'is' if count == 1 else 'are'} not answered yet"
        )
    _move(session, dpia, actor, DpiaStatus.AWAITING_ADVICE)


@dataclass(frozen=True)
class Advice:
    dpo_name: str
    advice: str
    advised_on: date | None


def record_advice(session: Session, dpia: Dpia, actor: User, advice: Advice) -> None:
    """The DPO's advice, as the DPO gave it (often an outside service, so staff
    record it): then the accountable person can decide."""
    lock(session, dpia)
    _must_be(
        dpia, {DpiaStatus.AWAITING_ADVICE}, "Send the DPIA for the DPO's advice before recording it"
    )
    text, name = advice.advice.strip(), advice.dpo_name.strip()
    if not name:
        raise ServiceError(
            "Enter the name of the DPO (or DPO service) who gave the advice", "dpo_name"
        )
    if not text:
        raise ServiceError("Enter the DPO's advice", "advice")
    if len(text) > ADVICE_LIMIT:
        raise ServiceError(f"The advice must be {ADVICE_LIMIT:,} characters or fewer", "advice")
    if advice.advised_on is None:
        raise ServiceError("Enter the date the DPO gave the advice", "advised_on")
    if advice.advised_on > utcnow().date():
        raise ServiceError("The date of the advice cannot be in the future", "advised_on")
    dpia.dpo_name, dpia.dpo_advice, dpia.dpo_advised_on = name[:200], text, advice.advised_on
    dpia.advice_recorded_by_id = actor.id
    _move(session, dpia, actor, DpiaStatus.AWAITING_APPROVAL, dpo=dpia.dpo_name)


@dataclass(frozen=True)
class SignOff:
    approve: bool
    approver_role: str
    advice_followed: bool | None
    not_followed_reason: str
    note: str
    decided_on: date | None
    next_review_date: date | None
    ico_acknowledged: bool


def _role_message(allowed: list[SigningRole]) -> str:
    if allowed == [SigningRole.DIGITAL_LEAD]:
        return "Sign as the SLT digital lead: only an admin signs as the headteacher"
    if allowed == [SigningRole.HEADTEACHER]:
        return "Sign as the headteacher: you are not the school's SLT digital lead"
    return "Choose whether you sign as the SLT digital lead or the headteacher"


def decide(
    session: Session, dpia: Dpia, actor: User, sign_off: SignOff, roles: Iterable[str]
) -> None:
    """Approve or reject, by the accountable person signing in one of
    ``roles`` (permissions.dpia_signing_roles decides which). No decision
    without the DPO's advice; approving a DPIA whose residual risk stays high
    records that the ICO must be consulted before processing."""
    lock(session, dpia)
    if dpia.status == DpiaStatus.AWAITING_ADVICE or not dpia.dpo_advice:
        raise ServiceError("Record the DPO's advice before approving or rejecting the DPIA")
    _must_be(dpia, {DpiaStatus.AWAITING_APPROVAL}, "This DPIA is not waiting for a decision")
    allowed = [role for role in APPROVER_ROLES if role in set(roles)]
    if sign_off.approver_role not in allowed:
        raise ServiceError(_role_message(allowed), "approver_role")
    if sign_off.advice_followed is None:
        raise ServiceError("Say whether the DPO's advice was followed", "advice_followed")
    reason = sign_off.not_followed_reason.strip()
    if not sign_off.advice_followed and not reason:
        raise ServiceError("Explain why the DPO's advice was not followed", "not_followed_reason")
    today = utcnow().date()
    if sign_off.decided_on is None:
        raise ServiceError("Enter the date of the decision", "decided_on")
    if sign_off.decided_on > today:
        raise ServiceError("The date of the decision cannot be in the future", "decided_on")
    note = sign_off.note.strip()
    values = answer_values(stored_answers(session, dpia))
    matrix = risk_matrix.matrix_for(dpia.organisation)
    high = residual_level(risks_of(values, matrix)) == "high"
    if sign_off.approve:
        if sign_off.next_review_date is None:
            raise ServiceError("Enter the date of the next review", "next_review_date")
        if sign_off.next_review_date <= sign_off.decided_on:
            raise ServiceError("The next review must be after the decision", "next_review_date")
        if high and not sign_off.ico_acknowledged:
            raise ServiceError(
                "A high risk remains: confirm that the ICO will be consulted before the "
                "processing starts",
                "ico_acknowledged",
            )
    elif not note:
        raise ServiceError("Say why the DPIA is rejected", "note")
    dpia.approver_role = sign_off.approver_role
    dpia.advice_followed = sign_off.advice_followed
    dpia.advice_not_followed_reason = None if sign_off.advice_followed else reason
    dpia.decision_note = note or None
    dpia.decided_on = sign_off.decided_on
    dpia.decided_by_id = actor.id
    dpia.next_review_date = sign_off.next_review_date if sign_off.approve else None
    dpia.ico_consultation = sign_off.approve and high
    _move(
        session, dpia, actor, DpiaStatus.APPROVED if sign_off.approve else DpiaStatus.REJECTED,
        role=sign_off.approver_role, advice_followed=sign_off.advice_followed,
        ico_consultation=dpia.ico_consultation, note=note,
    )  # fmt: skip


def return_to_draft(session: Session, dpia: Dpia, actor: User, reason: str) -> None:
    """Back to the school for changes. Advice already given was about the old
    answers, so it goes (the history keeps it) and is asked for again."""
    lock(session, dpia)
    _must_be(
        dpia,
        {DpiaStatus.AWAITING_ADVICE, DpiaStatus.AWAITING_APPROVAL},
        "Only a DPIA waiting for advice or approval can go back to draft",
    )
    reason = reason.strip()
    if not reason:
        raise ServiceError("Say what needs changing", "reason")
    earlier = dpia.dpo_advice
    dpia.dpo_name = dpia.dpo_advice = dpia.dpo_advised_on = None
    dpia.advice_recorded_by_id = None
    _move(session, dpia, actor, DpiaStatus.DRAFT, reason=reason[:2000], earlier_advice=earlier)


def trail(session: Session, dpia: Dpia) -> list[TimelineLine]:
    """The DPIA's signature trail in words, for its PDF."""
    return [TimelineLine(e.created_at, e.actor_label, describe(e)) for e in history(session, dpia)]


def history(session: Session, dpia: Dpia) -> list[AuditEvent]:
    """The DPIA's own events, oldest first."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.organisation_id == dpia.organisation_id,
            AuditEvent.action.like("dpia\\_%", escape="\\"),
        )
        .order_by(AuditEvent.id)
    )
    return [e for e in events if (e.detail or {}).get("dpia") == dpia.id]


def dpias_by_organisation(
    session: Session, organisation_ids: Collection[int]
) -> dict[int, list[Dpia]]:
    """Each organisation's DPIAs, newest first (one statement for a trust's schools)."""
    found: dict[int, list[Dpia]] = {i: [] for i in organisation_ids}
    for row in session.scalars(
        select(Dpia).where(Dpia.organisation_id.in_(organisation_ids)).order_by(Dpia.id.desc())
    ):
        found[row.organisation_id].append(row)
    return found


def latest_by_supplier(dpias: Iterable[Dpia]) -> dict[int, Dpia]:
    """Each supplier's newest DPIA of ``dpias`` (newest first), for the register."""
    found: dict[int, Dpia] = {}
    for dpia in dpias:
        if dpia.supplier_id is not None:
            found.setdefault(dpia.supplier_id, dpia)
    return found


def due_reviews(dpias: Iterable[Dpia]) -> list[Dpia]:
    """The newest approved DPIA of each tool that has a review date: what the
    school must look at again (it stays due while a review is under way)."""
    found: dict[object, Dpia] = {}
    for dpia in dpias:  # newest first
        if dpia.status == DpiaStatus.APPROVED and dpia.next_review_date is not None:
            found.setdefault(dpia.supplier_id or f"dpia:{dpia.id}", dpia)
    return sorted(found.values(), key=lambda d: (d.next_review_date or date.max, d.id))
