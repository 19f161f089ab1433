"""Questionnaire definitions on disk, and the versions the database has kept.

Files are loaded once at start-up. A request stores the version it was sent
with; rendering and validation always use that stored snapshot, so changing a
file never changes a questionnaire already in a supplier's hands.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ROOT
from ..models import QuestionnaireVersion
from ..questionnaire import Questionnaire, load_directory, questionnaire_from_snapshot
from .errors import ServiceError


class VersionConflictError(ServiceError):
    """A published (key, version) whose content has changed."""


def init_app(app: Flask) -> None:
    folder = Path(app.config.get("QUESTIONNAIRE_FOLDER") or ROOT / "questionnaires")
    # DefinitionError propagates: the app must not start with a broken definition.
    definitions = load_directory(folder)
    app.extensions["portal_questionnaires"] = {(q.key, q.version): q for q in definitions}
    app.extensions["portal_questionnaire_folder"] = folder


def definition_folder() -> Path:
    folder: Path = current_app.extensions["portal_questionnaire_folder"]
    return folder


def all_definitions() -> list[Questionnaire]:
    """Every definition file loaded, sorted by title then version."""
    loaded: dict[tuple[str, int], Questionnaire] = current_app.extensions["portal_questionnaires"]
    return sorted(loaded.values(), key=lambda q: (q.title, q.version))


def current_definitions() -> list[Questionnaire]:
    """The newest version of each questionnaire: what a new request can use."""
    newest: dict[str, Questionnaire] = {}
    for questionnaire in all_definitions():
        if (
            questionnaire.key not in newest
            or questionnaire.version > newest[questionnaire.key].version
        ):
            newest[questionnaire.key] = questionnaire
    return sorted(newest.values(), key=lambda q: q.title)


def find_current(key: str) -> Questionnaire:
    for questionnaire in current_definitions():
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


def published_conflicts(session: Session, definitions: list[Questionnaire]) -> list[str]:
    """One line per file whose published (key, version) now has different content."""
    from sqlalchemy import inspect

    if not inspect(session.connection()).has_table(QuestionnaireVersion.__tablename__):
        return []
    stored = {
        (row.key, row.version): row.sha256 for row in session.scalars(select(QuestionnaireVersion))
    }
    return [
        f"{q.key} version {q.version}: content changed after publication; give it a new version number"
        for q in definitions
        if stored.get((q.key, q.version), q.sha256) != q.sha256
    ]


def definition_for(row: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire exactly as it was stored for this version."""
    questionnaire = _parsed.get(row.sha256)
    if questionnaire is None:
        questionnaire = _parsed[row.sha256] = questionnaire_from_snapshot(row.snapshot)
    return questionnaire
