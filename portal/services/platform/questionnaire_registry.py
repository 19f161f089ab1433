"""Questionnaire definitions on disk, the versions curators published from
workbooks, and the versions the database has kept.

Files are loaded once at start-up; a version a curator publishes lives in the
database, read on every call, so every worker and every app host offers it for
new requests at once, without a restart. A request stores the version it was
sent with; rendering and validation always use that stored snapshot, so a new
version never changes a questionnaire already in a supplier's hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from ...models import OrgKind, QuestionnaireVersion, Request, RetiredQuestionnaire, VersionOrigin
from ...questionnaire import Questionnaire, questionnaire_from_snapshot
from ...questionnaire.definition import LoadedFile, load_files
from ...questionnaire.supplement import with_supplement
from ..errors import ServiceError
from .runtime import runtime


class VersionConflictError(ServiceError):
    """A published (key, version) whose content has changed."""


class PublishedVersionChanged(RuntimeError):
    """Refuses start-up: a published questionnaire's file changed without a new version."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "Questionnaire files changed after they were published:\n  " + "\n  ".join(problems)
        )
        self.problems = problems


@dataclass(frozen=True)
class QuestionnaireFiles:
    """The definition files of a folder, loaded once at start-up."""

    folder: Path
    files: tuple[LoadedFile, ...]

    @classmethod
    def load(cls, folder: Path) -> QuestionnaireFiles:
        # DefinitionError propagates: the app must not start with a broken definition.
        return cls(folder, tuple(load_files(folder)))


def all_definitions(session: Session) -> list[Questionnaire]:
    """Every definition file loaded and every version published from a
    workbook, sorted by title then version."""
    files = [f.questionnaire for f in runtime(session).questionnaires.files]
    on_disk = {(q.key, q.version) for q in files}
    published = [q for q in published_definitions(session) if (q.key, q.version) not in on_disk]
    return sorted([*files, *published], key=lambda q: (q.title, q.version))


def published_definitions(session: Session) -> list[Questionnaire]:
    """The versions curators published from workbooks. Each snapshot is read
    once per process (parsed versions are kept by SHA-256, and never change)."""
    return _catalogue(session).published


def retired_keys(session: Session) -> set[str]:
    return _catalogue(session).retired


@dataclass(frozen=True)
class _Catalogue:
    published: list[Questionnaire]
    retired: set[str]


# What the database adds to the files, read once per transaction: a page
# that finds the current version for each of its rows (a trust's schools
# each resolve their standards questionnaire) would otherwise send two
# statements per row (test_page_queries counts them). Dropped when the
# transaction ends, and by publish and retire themselves.
_CATALOGUE = "portal_questionnaire_catalogue"


def _catalogue(session: Session) -> _Catalogue:
    found = session.info.get(_CATALOGUE)
    if found is None:
        found = session.info[_CATALOGUE] = _Catalogue(_published(session), _retired(session))
    return cast(_Catalogue, found)


def forget_catalogue(session: Session) -> None:
    """After publishing or retiring: the next look reads the database again."""
    session.info.pop(_CATALOGUE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_catalogue(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CATALOGUE, None)


def _retired(session: Session) -> set[str]:
    return set(session.scalars(select(RetiredQuestionnaire.key)))


def _published(session: Session) -> list[Questionnaire]:
    rows = session.execute(
        select(QuestionnaireVersion.id, QuestionnaireVersion.sha256).where(
            QuestionnaireVersion.origin == VersionOrigin.WORKBOOK
        )
    ).all()
    unread = [row.id for row in rows if row.sha256 not in _parsed]
    if unread:
        for sha256, snapshot in session.execute(
            select(QuestionnaireVersion.sha256, QuestionnaireVersion.snapshot).where(
                QuestionnaireVersion.id.in_(unread)
            )
        ):
            _parsed[sha256] = questionnaire_from_snapshot(snapshot)
    return [_parsed[row.sha256] for row in rows]


def current_definitions(session: Session) -> list[Questionnaire]:
    """The newest version of each questionnaire, retired or not: what a
    school's rules, the curator's queue and the register's columns are about
    (requests sent before a questionnaire was retired still use it)."""
    newest: dict[str, Questionnaire] = {}
    for questionnaire in all_definitions(session):
        if (
            questionnaire.key not in newest
            or questionnaire.version > newest[questionnaire.key].version
        ):
            newest[questionnaire.key] = questionnaire
    return sorted(newest.values(), key=lambda q: q.title)


def offered_definitions(session: Session) -> list[Questionnaire]:
    """The newest version of each questionnaire not retired: what a new
    request (or a curator's new assessment) can use."""
    retired = retired_keys(session)
    return [q for q in current_definitions(session) if q.key not in retired]


def for_suppliers(session: Session) -> list[Questionnaire]:
    """The questionnaires a supplier can be sent now: offered, and not those
    the school's own staff answer (its standards self-assessment, a DPIA)."""
    return [q for q in offered_definitions(session) if not q.answered_by_staff]


def find_current(session: Session, key: str) -> Questionnaire:
    """The version a new request, self-assessment or DPIA of ``key`` uses."""
    for questionnaire in offered_definitions(session):
        if questionnaire.key == key:
            return questionnaire
    raise ServiceError("Choose a questionnaire from the list", "questionnaire")


def publish_version(session: Session, questionnaire: Questionnaire) -> QuestionnaireVersion:
    """The stored row for this definition, storing it the first time it is used."""
    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.key == questionnaire.key,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if row is None:
        row = QuestionnaireVersion(
            key=questionnaire.key,
            version=questionnaire.version,
            title=questionnaire.title,
            snapshot=dict(questionnaire.snapshot),
            sha256=questionnaire.sha256,
        )
        session.add(row)
        session.flush()
    elif row.sha256 != questionnaire.sha256:
        raise VersionConflictError(
            f"Questionnaire {questionnaire.key} version {questionnaire.version} has changed since it "
            "was published: give the file a new version number"
        )
    return row


# Parsed snapshots by SHA-256: a version's content never changes, so the cache
# can never be stale, and it is bounded by the number of versions ever published.
_parsed: dict[str, Questionnaire] = {}


def published_conflicts(session: Session, files: list[LoadedFile]) -> list[str]:
    """One line per file whose published (key, version) now has different content."""
    if not inspect(session.connection()).has_table(QuestionnaireVersion.__tablename__):
        return []  # a database not yet migrated has published nothing
    stored = {
        (row.key, row.version): (row.sha256, row.origin)
        for row in session.execute(
            select(
                QuestionnaireVersion.key,
                QuestionnaireVersion.version,
                QuestionnaireVersion.sha256,
                QuestionnaireVersion.origin,
            )
        )
    }
    problems = []
    for loaded in files:
        q = loaded.questionnaire
        sha256, origin = stored.get((q.key, q.version), (q.sha256, None))
        if sha256 == q.sha256:
            continue
        if origin == VersionOrigin.WORKBOOK:
            problems.append(
                f"{loaded.path.name}: a curator published {q.key} version {q.version} from a "
                "workbook with other content; give the file a new version number"
            )
        else:
            problems.append(
                f"{loaded.path.name}: {q.key} version {q.version} has changed since it was "
                "published; give it a new version number"
            )
    return problems


def definition_for(row: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire exactly as it was stored for this version."""
    questionnaire = _parsed.get(row.sha256)
    if questionnaire is None:
        questionnaire = _parsed[row.sha256] = questionnaire_from_snapshot(row.snapshot)
    return questionnaire


def definition_for_request(request: Request) -> Questionnaire:
    """What a request asks: its questionnaire version and, when its
    organisation added its own questions, those as the last section, exactly
    as they were when the request was sent. Only the organisation that sent
    it sees this; what may leave it (the directory, the curator) is
    ``definition_for(request.questionnaire_version)``."""
    base = definition_for(request.questionnaire_version)
    own = request.supplement
    if own is None:
        return base
    source = "trust" if request.organisation.kind == OrgKind.TRUST else "school"
    cache_key = (base.sha256, own.sha256, source)
    joined = _joined.get(cache_key)
    if joined is None:
        joined = _joined[cache_key] = with_supplement(
            base, own.title, own.intro, own.questions, source
        )
    return joined


# A request's questionnaire with its organisation's own questions, by the two
# parts' SHA-256: both are immutable, so a join is made once per process.
_joined: dict[tuple[str, str, str], Questionnaire] = {}


def find_version(session: Session, key: str, version: int | None = None) -> Questionnaire:
    """A questionnaire's ``version`` (the newest when None): as stored, once a
    request has used it, else its file."""
    if version is None:
        return find_current(session, key)
    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.key == key, QuestionnaireVersion.version == version
        )
    )
    if row is not None:
        return definition_for(row)
    for questionnaire in all_definitions(session):
        if questionnaire.key == key and questionnaire.version == version:
            return questionnaire
    raise ServiceError(f"There is no questionnaire {key} version {version}", "questionnaire")
