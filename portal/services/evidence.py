"""Evidence files uploaded by suppliers: checked, stored by content, recorded.

Files live under UPLOAD_FOLDER with random names; the name the supplier gave
is kept only as data. The type is judged by extension against the question's
list, never by what the browser claims.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from ..models import Evidence, Request
from ..questionnaire import Question
from .errors import ServiceError

CHUNK = 1024 * 1024


class UploadError(ServiceError):
    pass


@dataclass(frozen=True)
class StoredFile:
    id: int
    filename: str
    size: int


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def describe_types(question: Question) -> str:
    names = [ext.upper() for ext in question.accept]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def store_uploads(
    session: Session,
    request: Request,
    question: Question,
    files: list[FileStorage],
    kept: list[int],
) -> list[int]:
    """Check and store new files for a file question; return the question's evidence ids."""
    files = [f for f in files if f and f.filename]
    if len(kept) + len(files) > question.max_files:
        raise UploadError(
            f"You can upload up to {question.max_files} file{'s' if question.max_files != 1 else ''} "
            "here: remove one before adding another"
        )
    limit = question.max_size_mb * 1024 * 1024
    stored: list[int] = []
    for upload in files:
        name = secure_filename(upload.filename or "") or "upload"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in question.accept:
            raise UploadError(f"{upload.filename} must be a {describe_types(question)} file")
        key = secrets.token_hex(16)
        path = _folder() / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            while chunk := upload.stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    path.unlink()
                    raise UploadError(
                        f"{upload.filename} must be smaller than {question.max_size_mb} MB"
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            path.unlink()
            raise UploadError(f"{upload.filename} is empty")
        evidence = Evidence(
            request_id=request.id,
            question_id=question.id,
            filename=name,
            storage_key=key,
            sha256=digest.hexdigest(),
            size=size,
            content_type=mimetypes.types_map.get(f".{extension}", "application/octet-stream"),
        )
        session.add(evidence)
        session.flush()
        stored.append(evidence.id)
    return [*kept, *stored]


def files_for(session: Session, request: Request) -> dict[int, Evidence]:
    """Every evidence file of a request, by id."""
    return {
        e.id: e for e in session.scalars(select(Evidence).where(Evidence.request_id == request.id))
    }


def valid_kept_ids(
    session: Session, request: Request, question: Question, ids: list[int]
) -> list[int]:
    """Only ids that are this request's files for this question (a form can be forged)."""
    owned = files_for(session, request)
    return [i for i in ids if i in owned and owned[i].question_id == question.id]
