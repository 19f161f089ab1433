"""The questionnaires, as their definitions (what each question asks and accepts)."""

from __future__ import annotations

from typing import Any

from flask import abort, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ...extensions import db
from ...models import QuestionnaireVersion
from ...permissions import api_reader
from ...services.platform import questionnaire_registry as questionnaires
from . import bp
from . import schemas as s
from .common import reply


@bp.get("/questionnaires")
def list_questionnaires() -> ResponseReturnValue:
    """The questionnaires a new request can use (the newest version of each)."""
    api_reader()
    items = [
        s.QuestionnaireSummary(
            key=q.key,
            version=q.version,
            title=q.title,
            audience=q.audience,
            question_count=q.question_count,
            definition=url_for("api.get_questionnaire", key=q.key, version=q.version),
        )
        # Not those the school's own staff answer: a request cannot use them.
        for q in questionnaires.for_suppliers(db.session)
    ]
    return reply(s.QuestionnaireList(items=items))


@bp.get("/questionnaires/<key>/<int:version>")
def get_questionnaire(key: str, version: int) -> ResponseReturnValue:
    """One version's whole definition, as stored: also versions no longer current,
    which requests already sent still use."""
    api_reader()
    current = {q.key: q.version for q in questionnaires.current_definitions(db.session)}
    loaded = next(
        (
            q
            for q in questionnaires.all_definitions(db.session)
            if q.key == key and q.version == version
        ),
        None,
    )
    definition: dict[str, Any]
    if loaded is not None:
        title, sha256, definition = loaded.title, loaded.sha256, dict(loaded.snapshot)
    else:
        row = db.session.scalar(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.key == key, QuestionnaireVersion.version == version
            )
        )
        if row is None:
            abort(404, description=f"There is no questionnaire {key} version {version}")
        title, sha256, definition = row.title, row.sha256, row.snapshot
    return reply(
        s.QuestionnaireDefinition(
            key=key,
            version=version,
            title=title,
            sha256=sha256,
            current=current.get(key) == version,
            definition=definition,
        )
    )
