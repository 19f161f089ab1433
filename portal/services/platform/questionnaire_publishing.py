"""Curators publish questionnaire versions and retire questionnaires (issue 24).

A published version is immutable: stored with its SHA-256, offered for new
requests at once (questionnaire_registry reads published versions from the
database on every call), and never changed; a change is a new version.
Retiring a questionnaire stops new requests using it; requests already sent
keep their version. Both are audited under the curator's organisation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...models import (
    Assessment,
    DirectoryEntry,
    Dpia,
    Organisation,
    QuestionnaireUpload,
    QuestionnaireVersion,
    Request,
    RetiredQuestionnaire,
    User,
    VersionOrigin,
    utcnow,
)
from ...questionnaire import Questionnaire
from ...questionnaire.changes import Change, changes
from ...questionnaire.definition import STAFF_AUDIENCES
from ...questionnaire.workbook import WorkbookProblems
from ..errors import ServiceError
from .audit import record_event
from .questionnaire_registry import (
    all_definitions,
    current_definitions,
    forget_catalogue,
    retired_keys,
)
from .questionnaire_workbooks import read_workbook
from .runtime import runtime

# A questionnaire's workbook is tens of kilobytes (the largest shipped is 25 KB).
MAX_WORKBOOK_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class VersionListing:
    questionnaire: Questionnaire
    origin: str  # VersionOrigin
    file_name: str | None
    published_at: datetime | None
    published_by: str | None
    # Requests, directory entries, self-assessments and DPIAs made with it.
    uses: int
    current: bool


@dataclass(frozen=True)
class QuestionnaireListing:
    key: str
    title: str
    audience: str
    versions: tuple[VersionListing, ...]  # newest first
    retired: bool

    @property
    def newest(self) -> VersionListing:
        return self.versions[0]


def catalogue(session: Session) -> list[QuestionnaireListing]:
    """Every questionnaire with each of its versions: where it came from, who
    published it and when, and how much it has been used."""
    files = {
        (f.questionnaire.key, f.questionnaire.version): f.path.name
        for f in runtime(session).questionnaires.files
    }
    stored = {
        (row.key, row.version): row
        for row in session.execute(
            select(
                QuestionnaireVersion.id,
                QuestionnaireVersion.key,
                QuestionnaireVersion.version,
                QuestionnaireVersion.origin,
                QuestionnaireVersion.published_at,
                User.name.label("published_by"),
            ).outerjoin(User, User.id == QuestionnaireVersion.published_by_id)
        )
    }
    uses: dict[int, int] = defaultdict(int)
    for model in (Request, DirectoryEntry, Assessment, Dpia):
        column = model.questionnaire_version_id
        for version_id, count in session.execute(select(column, func.count()).group_by(column)):
            uses[version_id] += count
    current = {(q.key, q.version) for q in current_definitions(session)}
    retired = retired_keys(session)
    by_key: dict[str, list[VersionListing]] = defaultdict(list)
    for questionnaire in all_definitions(session):
        ident = (questionnaire.key, questionnaire.version)
        row = stored.get(ident)
        by_key[questionnaire.key].append(
            VersionListing(
                questionnaire=questionnaire,
                origin=row.origin if row is not None else VersionOrigin.FILE,
                file_name=files.get(ident),
                published_at=row.published_at if row is not None else None,
                published_by=row.published_by if row is not None else None,
                uses=uses[row.id] if row is not None else 0,
                current=ident in current,
            )
        )
    found = []
    for key, versions in by_key.items():
        versions.sort(key=lambda v: v.questionnaire.version, reverse=True)
        newest = versions[0].questionnaire
        found.append(
            QuestionnaireListing(
                key, newest.title, newest.audience, tuple(versions), key in retired
            )
        )
    return sorted(found, key=lambda listing: listing.title.lower())


def publish(
    session: Session,
    questionnaire: Questionnaire,
    actor: User | None,
    organisation: Organisation | None,
) -> QuestionnaireVersion:
    """Store a checked questionnaire as a new version, offered for new requests
    at once. Its version must be above every version of its key, and a key
    keeps its audience (a cloud questionnaire cannot become a DPIA)."""
    versions = [q for q in all_definitions(session) if q.key == questionnaire.key]
    stored_newest = session.scalar(
        select(func.max(QuestionnaireVersion.version)).where(
            QuestionnaireVersion.key == questionnaire.key
        )
    )
    newest = max([q.version for q in versions] + [stored_newest or 0])
    same = next((q for q in versions if q.version == questionnaire.version), None)
    if same is not None and same.sha256 == questionnaire.sha256:
        raise ServiceError(
            f"{questionnaire.key} version {questionnaire.version} is already published "
            "with exactly this content",
            "workbook",
        )
    if questionnaire.version <= newest:
        raise ServiceError(
            f"The newest version of {questionnaire.key} is {newest}: give this one a higher "
            f"version number (form_id {questionnaire.key}, version {newest + 1} on the settings "
            "sheet)",
            "workbook",
        )
    if questionnaire.key in retired_keys(session):
        raise ServiceError(
            f"{questionnaire.key} is retired: offer it again on the questionnaires page first, "
            "then publish the new version",
            "workbook",
        )
    if versions:
        previous = max(versions, key=lambda q: q.version)
        if previous.audience != questionnaire.audience:
            raise ServiceError(
                f"{questionnaire.key} is a {previous.audience} questionnaire: a new version keeps "
                f"its audience (this workbook says {questionnaire.audience}). Give a new "
                "questionnaire a new form_id",
                "workbook",
            )
    row = QuestionnaireVersion(
        key=questionnaire.key,
        version=questionnaire.version,
        title=questionnaire.title,
        snapshot=dict(questionnaire.snapshot),
        sha256=questionnaire.sha256,
        origin=VersionOrigin.WORKBOOK,
        published_by_id=actor.id if actor else None,
        published_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # another curator published this version a moment ago
        raise ServiceError(
            f"{questionnaire.key} version {questionnaire.version} was published a moment ago: "
            "give this one a higher version number",
            "workbook",
        ) from exc
    forget_catalogue(session)
    record_event(
        session, "questionnaire_published", organisation=organisation, actor=actor,
        actor_label=None if actor else "Command line", key=questionnaire.key,
        version=questionnaire.version, title=questionnaire.title, sha256=questionnaire.sha256,
    )  # fmt: skip
    return row


def retire(
    session: Session, key: str, actor: User | None, organisation: Organisation | None
) -> None:
    """No new request may use this questionnaire; those sent keep their version."""
    listing = next((q for q in all_definitions(session) if q.key == key), None)
    if listing is None:
        raise ServiceError(f"There is no questionnaire {key}", "key")
    if listing.audience in STAFF_AUDIENCES:
        raise ServiceError(
            "Schools answer this questionnaire themselves (their standards or a DPIA): "
            "publish a new version instead of retiring it",
            "key",
        )
    if session.get(RetiredQuestionnaire, key) is not None:
        raise ServiceError(f"{key} is already retired", "key")
    session.add(RetiredQuestionnaire(key=key, retired_by_id=actor.id if actor else None))
    session.flush()
    forget_catalogue(session)
    record_event(session, "questionnaire_retired", organisation=organisation, actor=actor,
                 actor_label=None if actor else "Command line", key=key)  # fmt: skip


def restore(
    session: Session, key: str, actor: User | None, organisation: Organisation | None
) -> None:
    """Offer a retired questionnaire for new requests again."""
    row = session.get(RetiredQuestionnaire, key)
    if row is None:
        raise ServiceError(f"{key} is not retired", "key")
    session.delete(row)
    session.flush()
    forget_catalogue(session)
    record_event(session, "questionnaire_restored", organisation=organisation, actor=actor,
                 actor_label=None if actor else "Command line", key=key)  # fmt: skip


@dataclass(frozen=True)
class Checked:
    """What reading an uploaded workbook found: its questionnaire, or its problems."""

    questionnaire: Questionnaire | None
    problems: list[str] | None


def check_workbook(data: bytes) -> Checked:
    """Read an uploaded workbook, every problem at once. No database: a view
    reads the file before it takes any write lock (a big workbook takes a
    while)."""
    if not data:
        return Checked(None, ["Choose a workbook (.xlsx) to upload"])
    if len(data) > MAX_WORKBOOK_BYTES:
        return Checked(None, [f"The file is larger than {MAX_WORKBOOK_BYTES // (1024 * 1024)} "
                              "MB: a questionnaire's workbook is far smaller"])  # fmt: skip
    try:
        return Checked(read_workbook(data), None)
    except WorkbookProblems as exc:
        return Checked(None, [str(problem) for problem in exc.problems])


def upload(
    session: Session,
    organisation: Organisation,
    actor: User,
    filename: str,
    data: bytes,
    checked: Checked | None = None,
) -> QuestionnaireUpload:
    """Keep an uploaded workbook with what reading it found (``checked``, or
    read now): its problems, or the questionnaire it describes, not yet published."""
    checked = checked or check_workbook(data)
    problems, questionnaire = checked.problems, checked.questionnaire
    row = QuestionnaireUpload(
        organisation_id=organisation.id,
        uploaded_by_id=actor.id,
        filename=(filename.replace("\\", "/").rsplit("/", 1)[-1] or "workbook.xlsx")[:200],
        data=data if len(data) <= MAX_WORKBOOK_BYTES else b"",
        problems=problems,
        key=questionnaire.key if questionnaire else None,
        version=questionnaire.version if questionnaire else None,
        title=questionnaire.title[:200] if questionnaire else None,
    )
    session.add(row)
    session.flush()
    _forget_old_uploads(session, organisation)
    return row


# Uploads that were never published are drafts: the newest are kept for the
# curator to come back to, the rest (up to 5 MB each) need not stay for ever.
KEPT_UPLOADS = 20


def _forget_old_uploads(session: Session, organisation: Organisation) -> None:
    kept = (
        select(QuestionnaireUpload.id)
        .where(QuestionnaireUpload.organisation_id == organisation.id)
        .order_by(QuestionnaireUpload.id.desc())
        .limit(KEPT_UPLOADS)
    )
    session.execute(
        delete(QuestionnaireUpload).where(
            QuestionnaireUpload.organisation_id == organisation.id,
            QuestionnaireUpload.published_version_id.is_(None),
            QuestionnaireUpload.id.not_in(kept.scalar_subquery()),
        )
    )


def uploaded(found: QuestionnaireUpload) -> Questionnaire | None:
    """The questionnaire a sound upload describes (None when it has problems)."""
    return None if found.problems else _read_kept(found.data)


# The try-out page asks which questions are shown on every answer it
# changes: reading the kept workbook each time would cost 26 ms (a small
# questionnaire) to 99 ms (cloud_supplier) a change, measured.
@lru_cache(maxsize=32)
def _read_kept(data: bytes) -> Questionnaire:
    return read_workbook(data)


def recent_uploads(session: Session, organisation: Organisation) -> list[QuestionnaireUpload]:
    return list(
        session.scalars(
            select(QuestionnaireUpload)
            .where(QuestionnaireUpload.organisation_id == organisation.id)
            .order_by(QuestionnaireUpload.id.desc())
            .limit(10)
        )
    )


def replaces(session: Session, questionnaire: Questionnaire) -> Questionnaire | None:
    """The version a new one would follow: the newest of its key, if any."""
    versions = [q for q in all_definitions(session) if q.key == questionnaire.key]
    return max(versions, key=lambda q: q.version) if versions else None


def changes_in(session: Session, questionnaire: Questionnaire) -> list[Change]:
    """What a curator checks before publishing: the change from the version it follows."""
    return changes(replaces(session, questionnaire), questionnaire)


def publish_upload(
    session: Session, found: QuestionnaireUpload, actor: User, organisation: Organisation
) -> QuestionnaireVersion:
    questionnaire = uploaded(found)
    if questionnaire is None:
        raise ServiceError("Fix the problems in this workbook and upload it again", "workbook")
    if found.published_version_id is not None:
        raise ServiceError("This workbook is already published", "workbook")
    row = publish(session, questionnaire, actor, organisation)
    found.published_version_id = row.id
    session.flush()
    return row
