"""Every JSON shape the API answers with, written once as a pydantic model.

Each model serialises its response (``model_dump(mode="json")``) and gives its
schema to the OpenAPI document (openapi.py), so the two cannot drift. The
request's JSON download is made of the same models (request_download), in
their field order. Datetimes stay strings made by ``isoformat()``: pydantic
would write UTC as ``Z``, which would change the bytes clients already read.
Request bodies the API checks with a form are not here: the document reads
them off those WTForms classes (form_schemas.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal, Self

from flask import g, url_for
from pydantic import BaseModel, ConfigDict, Field

from ... import models
from ...models import RequestStatus
from ...questionnaire.compare import Comparison as ComparisonResult
from ...questionnaire.definition import SECTION_ID, SEVERITIES
from ...questionnaire.expiry import EXPIRING_DAYS, KINDS
from ...questionnaire.expiry import STATUS_LABELS as STATUS_LABELS_EVIDENCE
from ...services.directory import curation as directory
from ...services.directory import entry_evidence
from ...services.requests.answering import SectionProgress as Progress
from ...services.requests.answering import StoredAnswers
from ...services.requests.evidence_life import Tracked
from ...services.requests.lifecycle import STATUS_LABELS
from ...services.review.decisions import DECISIONS
from ...services.school.expiring_evidence import ExpiringLine


def one_of(*values: str | None, **field: Any) -> Any:
    """A text field the document lists the values of (typed str, so callers
    pass their plain strings)."""
    return Field(json_schema_extra={"enum": list(values)}, **field)


EVIDENCE_STATUSES = ("expired", "expiring", "current", "unknown")


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Problem(BaseModel):
    """RFC 9457 problem details (written by portal/errors.py; here for the document)."""

    type: str = Field(description="about:blank, or /api/v1/problems/<kind>")
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages by field name or question id"
    )
    revision: int | None = Field(default=None, description="stale-revision: the current one")


class QuestionnaireRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read off a QuestionnaireVersion

    key: str
    version: int
    title: str


# --- requests -------------------------------------------------------------------


class Decision(BaseModel):
    outcome: str
    reason: str | None
    conditions: list[str]
    next_review_date: date | None
    decided_at: str | None
    decided_by: str | None


class RequestSummary(BaseModel):
    """One request, as the API and the JSON download describe it."""

    reference: str = Field(examples=["DD-7K2M9Q"])
    school: str
    supplier: str
    contact_name: str
    contact_email: str
    questionnaire: QuestionnaireRef
    status: RequestStatus
    status_label: str
    due_date: date | None
    link_expires_at: str | None
    created_at: str | None
    submitted_at: str | None
    rating: str | None = one_of("green", "amber", "red", None)
    score: int | None
    decision: Decision | None

    @classmethod
    def of(cls, row: models.Request, **more: Any) -> Self:
        decided = row.status in DECISIONS
        return cls(
            reference=row.reference,
            school=row.organisation.name,
            supplier=row.supplier.name,
            contact_name=row.contact_name,
            contact_email=row.contact_email,
            questionnaire=QuestionnaireRef.model_validate(row.questionnaire_version),
            status=RequestStatus(row.status),
            status_label=STATUS_LABELS[RequestStatus(row.status)],
            due_date=row.due_date,
            link_expires_at=iso(row.token_expires_at),
            created_at=iso(row.created_at),
            submitted_at=iso(row.submitted_at),
            rating=row.rating,
            score=row.score,
            decision=Decision(
                outcome=row.status,
                reason=row.decision_reason,
                conditions=row.decision_conditions or [],
                next_review_date=row.next_review_date,
                decided_at=iso(row.decided_at),
                decided_by=row.decided_by.name if row.decided_by else None,
            )
            if decided
            else None,
            **more,
        )


class ExpiringLinks(BaseModel):
    request: str = Field(description="The request, with all its evidence")


class RequestLinks(BaseModel):
    self: str
    answers: str
    findings: str
    export: str


class Request(RequestSummary):
    links: RequestLinks

    @classmethod
    def of(cls, row: models.Request, **more: Any) -> Self:
        """``in_school`` (or a call made with ``school=``): a trust reads its
        school's request, so its links say which school."""
        ref = row.reference
        school = more.pop("in_school", None) or g.get("api_school")
        where: dict[str, Any] = {"school": school} if school is not None else {}
        links = RequestLinks(
            self=url_for("api.get_request", reference=ref, **where),
            answers=url_for("api.request_answers", reference=ref, **where),
            findings=url_for("api.request_findings", reference=ref, **where),
            export=url_for("api.request_export", reference=ref, **where),
        )
        return super().of(row, links=links, **more)


class School(BaseModel):
    """One of a trust's schools (or the trust itself, as a request's owner)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Pass as school to read this school's data with the trust's key")
    name: str
    urn: str | None = Field(description="The DfE unique reference number, if known")


class SchoolList(BaseModel):
    items: list[School]


class TrustRequest(Request):
    organisation: School = Field(description="Whose request: the trust's own, or a school's")


class TrustRequestPage(BaseModel):
    items: list[TrustRequest]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")
    total: int = Field(description="Requests matching the filters, on every page")


class EvidenceFile(BaseModel):
    """A file the supplier uploaded, with the dates given beside it."""

    model_config = ConfigDict(from_attributes=True)  # read off an evidence file

    id: int
    question_id: str
    filename: str
    size: int = Field(description="Bytes")
    issued_on: date | None = Field(description="The date the document was issued, if given")
    expires_on: date | None = Field(description="The date it expires, if given")
    renewing: bool = Field(description="The supplier said it has run out and is being renewed")


class EvidenceExpiry(BaseModel):
    """A piece of the request's evidence whose expiry the school follows:
    one per question whose evidence runs out (a certificate, an insurance
    schedule...), dated by the earliest expiry of its files."""

    question_id: str
    question: str = Field(description="The question's label")
    kind: str = one_of(*KINDS, description="What the evidence is")
    kind_label: str
    expires_on: date | None = Field(description="null: no expiry date was given")
    status: str = one_of(
        *EVIDENCE_STATUSES,
        description=f"Today: expired (on or before today), expiring (within {EXPIRING_DAYS} "
        "days), current, or unknown (no expiry date)",
    )
    status_label: str
    accepted_without_dates: str | None = Field(
        description="Why the school accepted this evidence without an expiry date (null: it "
        "did not)"
    )

    @classmethod
    def of(cls, item: Tracked) -> Self:
        return cls(
            question_id=item.question.id,
            question=item.question.label,
            kind=item.row.kind,
            kind_label=KINDS.get(item.row.kind, item.row.kind),
            expires_on=item.expires_on,
            status=item.status,
            status_label=STATUS_LABELS_EVIDENCE[item.status],
            accepted_without_dates=item.row.accepted_reason,
        )


class RequestEvidence(BaseModel):
    tracked: list[EvidenceExpiry] = Field(
        description="Evidence whose expiry the school follows, in the questionnaire's order "
        "(worked out when the answers are submitted: empty before)"
    )
    files: list[EvidenceFile] = Field(description="Every file the supplier uploaded")


class RequestDetail(Request):
    """One request, with its evidence and when it runs out."""

    evidence: RequestEvidence

    @classmethod
    def of(
        cls,
        row: models.Request,
        *,
        tracked: Iterable[Tracked] = (),
        files: Iterable[models.Evidence] = (),
        **more: Any,
    ) -> Self:
        evidence = RequestEvidence(
            tracked=[EvidenceExpiry.of(item) for item in tracked],
            files=[EvidenceFile.model_validate(f) for f in sorted(files, key=lambda f: f.id)],
        )
        return super().of(row, evidence=evidence, **more)


class ExpiringEvidence(BaseModel):
    """A piece of evidence that has run out or runs out soon."""

    reference: str = Field(description="The request's reference", examples=["DD-7K2M9Q"])
    supplier: str
    question_id: str
    question: str = Field(description="The question's label")
    kind: str = one_of(*KINDS, description="What the evidence is")
    kind_label: str
    expires_on: date
    status: str = one_of(
        "expired",
        "expiring",
        "current",
        description=f"Today: expired (on or before today), expiring (within {EXPIRING_DAYS} "
        "days), or current (further off, when within asks for more)",
    )
    status_label: str
    links: ExpiringLinks

    @classmethod
    def of(cls, line: ExpiringLine) -> Self:
        return cls(
            reference=line.reference,
            supplier=line.supplier,
            question_id=line.question_id,
            question=line.question,
            kind=line.kind,
            kind_label=line.kind_label,
            expires_on=line.expires_on,
            status=line.status,
            status_label=line.status_label,
            links=ExpiringLinks(request=url_for("api.get_request", reference=line.reference)),
        )


class ExpiringEvidencePage(BaseModel):
    items: list[ExpiringEvidence]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")
    total: int = Field(description="Pieces of evidence in the whole listing, on every page")
    within: int = Field(description="Days ahead the listing reaches (0: expired only)")


class IssuedRequest(Request):
    supplier_link: str = Field(
        description="The supplier's link. Only in this response: we keep a hash"
    )


class RequestPage(BaseModel):
    items: list[Request]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")
    total: int = Field(description="Requests matching the filters, on every page")


class Reminded(BaseModel):
    reference: str
    sent_to: str
    kind: str = one_of("due_soon", "overdue", "nudge")


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read off an Answer row

    question_id: str
    value: Any
    comment: str | None
    revision: int


class Answers(BaseModel):
    reference: str
    answers: list[Answer]

    @classmethod
    def of(cls, row: models.Request) -> Self:
        return cls(reference=row.reference, answers=school_answers(row))


def school_answers(row: models.Request) -> list[Answer]:
    """For the school: answers copied in and not yet saved by the supplier are left out."""
    return [Answer.model_validate(a) for a in row.answers if not a.prefilled]


class FindingReview(BaseModel):
    outcome: str
    reason: str
    by: str


class Finding(BaseModel):
    question_id: str
    question: str
    outcome: str
    computed: str
    expected: str
    actual: str
    reason: str
    severity: str = one_of(*SEVERITIES)
    rule_source: str = one_of("baseline", "trust", "school")
    points_lost: float
    review: FindingReview | None


class Triage(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read off the engine's TriageResult

    risk: str
    reasons: list[str]
    uncertain: list[str]
    next_step: str


class Comparison(BaseModel):
    """The comparison against the school's requirements: rating, triage, findings."""

    rating: str | None
    score: int | None
    rating_summary: str | None
    rating_reasons: list[str]
    triage: Triage | None
    findings: list[Finding]

    @classmethod
    def of(cls, comparison: ComparisonResult, **more: Any) -> Self:
        return cls(
            rating=comparison.rating,
            score=comparison.score,
            rating_summary=comparison.rating_summary or None,
            rating_reasons=list(comparison.rating_reasons),
            triage=Triage.model_validate(comparison.triage) if comparison.triage else None,
            findings=[
                Finding(
                    question_id=f.question.id,
                    question=f.question.label,
                    outcome=f.outcome.value,
                    computed=f.computed.value,
                    expected=f.expected,
                    actual=f.actual,
                    reason=f.reason,
                    severity=f.requirement.severity,
                    rule_source=f.requirement.source,
                    points_lost=f.points_lost,
                    review=FindingReview(
                        outcome=f.review.outcome.value, reason=f.review.reason, by=f.review.by
                    )
                    if f.review
                    else None,
                )
                for f in comparison.findings
            ],
            **more,
        )


class Findings(Comparison):
    reference: str


def request_download(row: models.Request, comparison: ComparisonResult) -> dict[str, Any]:
    """The JSON download (the page's export.json and ``flask export-request``):
    the request, its comparison (whose rating and score, fresh, replace the
    stored ones in place) and the answers, for integrations."""
    return {
        **RequestSummary.of(row).model_dump(mode="json"),
        **Comparison.of(comparison).model_dump(mode="json"),
        "answers": [a.model_dump(mode="json") for a in school_answers(row)],
    }


class ClarificationAsked(BaseModel):
    reference: str
    status: str
    round: int
    questions: list[str]


# --- the supplier's side ------------------------------------------------------------


class QuestionnaireLink(QuestionnaireRef):
    definition: str


class SupplierAnswer(Answer):
    confirmed: bool


class SectionProgress(BaseModel):
    section_id: str
    title: str
    status: str
    asked: int
    answered: int


class OpenClarification(BaseModel):
    question_id: str | None
    note: str


class LocalQuestions(BaseModel):
    """The school's own questions, asked after the questionnaire's sections:
    the section ``local_questions``, in the definition's own format."""

    section_id: str
    title: str
    intro: str
    version: int
    questions: list[dict[str, Any]]


class SupplierRequest(BaseModel):
    reference: str
    school: str
    supplier: str
    status: str
    message: str | None
    due_date: date | None
    link_expires_at: str | None
    questionnaire: QuestionnaireLink
    local_questions: LocalQuestions | None = Field(
        description="Questions of the school's own, asked as the last section (null: none)"
    )
    answers: list[SupplierAnswer]
    evidence: list[EvidenceFile]
    shown: dict[str, bool]
    progress: list[SectionProgress]
    clarifications: list[OpenClarification]

    @classmethod
    def of(
        cls,
        row: models.Request,
        stored: StoredAnswers,
        *,
        files: Iterable[models.Evidence],
        shown: dict[str, bool],
        progress: Iterable[Progress],
        open_items: Iterable[models.Clarification],
    ) -> Self:
        version = row.questionnaire_version
        return cls(
            reference=row.reference,
            school=row.organisation.name,
            supplier=row.supplier.name,
            status=row.status,
            message=row.message or None,
            due_date=row.due_date,
            link_expires_at=iso(row.token_expires_at),
            questionnaire=QuestionnaireLink(
                key=version.key,
                version=version.version,
                title=version.title,
                definition=url_for(
                    "api.get_questionnaire", key=version.key, version=version.version
                ),
            ),
            local_questions=LocalQuestions(
                section_id=SECTION_ID,
                title=row.supplement.title,
                intro=row.supplement.intro,
                version=row.supplement.version,
                questions=row.supplement.questions,
            )
            if row.supplement is not None
            else None,
            answers=[
                SupplierAnswer(
                    question_id=qid,
                    value=value,
                    comment=stored.comments.get(qid),
                    revision=stored.revisions[qid],
                    confirmed=qid not in stored.unconfirmed,
                )
                for qid, value in stored.values.items()
            ],
            evidence=[EvidenceFile.model_validate(e) for e in files],
            shown=shown,
            progress=[
                SectionProgress(
                    section_id=p.section.id,
                    title=p.section.title,
                    status=p.status,
                    asked=p.asked,
                    answered=p.answered,
                )
                for p in progress
            ],
            clarifications=[
                OpenClarification(question_id=item.question_id, note=item.text)
                for item in open_items
            ],
        )


class WorkbookConflict(BaseModel):
    where: str = Field(description="The sheet and row, like 'Security row 4'")
    question: str
    yours: str = Field(description="The workbook's answer (not saved)")
    theirs: str = Field(description="The answer saved since the workbook was downloaded (kept)")


class WorkbookReport(BaseModel):
    saved: int = Field(description="How many answers the workbook changed")
    refused: list[str] = Field(description="Each answer not saved: sheet, row and why")
    conflicts: list[WorkbookConflict]
    still_needed: list[str] = Field(description="Questions still to answer before submitting")
    files_needed: list[str] = Field(
        description="Files to upload (they cannot travel in a workbook)"
    )
    removed: list[str] = Field(
        default_factory=list,
        description="Answers the upload removed (an emptied cell, or no longer asked), "
        "with the answer that was removed",
    )
    unconfirmed: list[str] = Field(
        default_factory=list,
        description="Copied answers left as they were: confirmed only by saving their section",
    )


class SavedAnswer(Answer):
    shown: dict[str, bool] = Field(description="Which questions of the section are now asked")


class UploadedFile(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read off an evidence file

    id: int
    filename: str
    size: int
    sha256: str
    issued_on: date | None = Field(description="The issue date given beside the file")
    expires_on: date | None = Field(description="The expiry date given beside the file")
    renewing: bool = Field(description="Said to have run out and to be being renewed")


class Uploaded(BaseModel):
    question_id: str
    files: list[UploadedFile]


class Submitted(BaseModel):
    reference: str
    status: str
    submitted_at: str | None


# --- the directory and the questionnaires ---------------------------------------------


class EntryLinks(BaseModel):
    self: str


class DirectoryEntry(BaseModel):
    id: int
    listing_id: int
    version: int
    supplier: str
    product: str
    category: str
    category_label: str
    questionnaire: QuestionnaireRef
    status: str
    rating: str | None
    summary: str
    conditions: str
    reviewed_on: date | None
    review_due: date
    review_overdue: bool
    # The day the entry's evidence first ran out, if any has (issue 26).
    evidence_expired_on: date | None = None
    curator_authored: bool
    links: EntryLinks

    @classmethod
    def of(cls, entry: models.DirectoryEntry, **more: Any) -> Self:
        return cls(
            id=entry.id,
            listing_id=entry.listing_id or entry.id,
            version=entry.version,
            supplier=entry.supplier.name,
            product=entry.product,
            category=entry.category,
            category_label=directory.CATEGORY_LABELS.get(entry.category, entry.category),
            questionnaire=QuestionnaireRef.model_validate(entry.questionnaire_version),
            status=entry.status,
            rating=entry.rating,
            summary=entry.summary,
            conditions=entry.conditions,
            reviewed_on=entry.reviewed_on,
            review_due=entry.review_due,
            review_overdue=directory.review_overdue(entry),
            evidence_expired_on=entry_evidence.expired_on(entry, models.utcnow().date()),
            curator_authored=entry.curator_authored,
            links=EntryLinks(self=url_for("api.get_directory_entry", entry_id=entry.id)),
            **more,
        )


class DirectoryPage(BaseModel):
    items: list[DirectoryEntry]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class DirectoryEntryDetail(DirectoryEntry):
    answers: dict[str, Any]
    # Only with ?compare=true: dumped with exclude_unset, so absent otherwise.
    comparison: Comparison | None = None


class QuestionnaireSummary(BaseModel):
    key: str
    version: int
    title: str
    audience: str
    question_count: int
    definition: str


class QuestionnaireList(BaseModel):
    items: list[QuestionnaireSummary]


class QuestionnaireDefinition(BaseModel):
    key: str
    version: int
    title: str
    sha256: str
    current: bool
    definition: dict[str, Any] = Field(description="The definition file, as JSON")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    rate_limit_store: str = one_of(
        "ok",
        "unreachable",
        "in-process",
        "off",
        description="The shared store the rate limits count in (Redis); in-process when each "
        "worker counts its own. While it is unreachable, every rate-limited route answers 503: "
        "limits fail closed.",
    )


# --- bodies read without a form: the view checks these by hand; described here -----------


class Extend(BaseModel):
    days: int = Field(ge=1, le=90)


class ClarificationAsk(BaseModel):
    notes: dict[str, str] = Field(description="What to ask, by question id")


class AnswerBody(BaseModel):
    value: Any = Field(
        description="As the questionnaire's definition types it; null removes the answer"
    )
    comment: str | None = None
    revision: int = Field(ge=0, description="The revision last read (0 for a new answer)")
