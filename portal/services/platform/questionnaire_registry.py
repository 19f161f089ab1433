"""Questionnaire definitions on disk, and the versions the database has kept.

Files are loaded once at start-up. A request stores the version it was sent
with; rendering and validation always use that stored snapshot, so changing a
file never changes a questionnaire already in a supplier's hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ...models import QuestionnaireVersion
from ...questionnaire import Questionnaire, questionnaire_from_snapshot
from ...questionnaire.definition import LoadedFile, load_files
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
    """Every definition file loaded, sorted by title then version."""
    files = runtime(session).questionnaires.files
    return sorted((f.questionnaire for f in files), key=lambda q: (q.title, q.version))


def current_definitions(session: Session) -> list[Questionnaire]:
    """The newest version of each questionnaire: what a new request can use."""
    newest: dict[str, Questionnaire] = {}
    for questionnaire in all_definitions(session):
        if (
            questionnaire.key not in newest
            or questionnaire.version > newest[questionnaire.key].version
        ):
            newest[questionnaire.key] = questionnaire
    return sorted(newest.values(), key=lambda q: q.title)


def for_suppliers(session: Session) -> list[Questionnaire]:
    """The current questionnaires a supplier can be sent: not those the
    school's own staff answer (its standards self-assessment, a DPIA)."""
    return [q for q in current_definitions(session) if not q.answered_by_staff]


def find_current(session: Session, key: str) -> Questionnaire:
    for questionnaire in current_definitions(session):
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
        (row.key, row.version): row.sha256
        for row in session.execute(
            select(
                QuestionnaireVersion.key, QuestionnaireVersion.version, QuestionnaireVersion.sha256
            )
        )
    }
    return [
        f"{f.path.name}: {q.key} version {q.version} has changed since it was published; "
        "give it a new version number"
        for f in files
        if stored.get(((q := f.questionnaire).key, q.version), q.sha256) != q.sha256
    ]


def definition_for(row: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire exactly as it was stored for this version."""
    questionnaire = _parsed.get(row.sha256)
    if questionnaire is None:
        questionnaire = _parsed[row.sha256] = questionnaire_from_snapshot(row.snapshot)
    return questionnaire


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
