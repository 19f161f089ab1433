"""Evidence files uploaded by suppliers: checked, stored by content, recorded.

Files live under UPLOAD_FOLDER with random names; the name the supplier gave
is kept only as data. The type is judged by extension against the question's
list, never by what the browser claims.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from ...database import rows_connection
from ...models import AssessmentFile, Evidence, Request
from ...questionnaire import Question, Section
from ...questionnaire.definition import DEFAULT_ACCEPT
from ..errors import ServiceError
from ..platform import filetypes
from ..platform.runtime import runtime
from ..platform.storage import Blob, TooLarge, delete_after_commit, delete_after_rollback


class UploadError(ServiceError):
    pass


def describe_types(question: Question) -> str:
    names = [ext.upper() for ext in question.accept]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class Dates:
    """The dates given beside an upload (issue 26), checked by the section's form."""

    issued_on: date | None = None
    expires_on: date | None = None
    renewing: bool = False
    # The supplier says the document shows no date: stored undated, for the
    # school to accept with a reason or not (services/requests/evidence_life.py).
    undated: bool = False


UNDATED = Dates(undated=True)


def store_uploads(
    session: Session,
    request: Request,
    question: Question,
    files: list[FileStorage],
    kept: list[int],
    dates: Dates | None = None,
) -> list[int]:
    """Check and store new files for a file question; return the question's evidence ids.

    A file is refused for its extension, its content (the first bytes must match
    the type its name claims), its size, or the request's total; nothing of a
    refused file is kept. New files carry the dates given beside them.
    """
    dates = dates or Dates()
    files = check_count(question, files, len(kept))
    room = request_allowance(session, request)
    stored: list[Evidence] = []
    try:
        for upload in files:
            checked = check_and_store(
                session, upload, question, room, "this request's files",
                runtime(session).settings.evidence_request_limit_mb,
            )  # fmt: skip
            room -= checked.blob.size
            evidence = Evidence(
                request_id=request.id,
                question_id=question.id,
                filename=checked.filename,
                storage_key=checked.blob.key,
                sha256=checked.blob.sha256,
                size=checked.blob.size,
                content_type=checked.content_type,
                issued_on=dates.issued_on,
                expires_on=dates.expires_on,
                renewing=dates.renewing,
            )
            session.add(evidence)
            session.flush()
            stored.append(evidence)
    except UploadError:
        discard(session, stored)
        raise
    return [*kept, *(e.id for e in stored)]


def discard(session: Session, rows: list[Evidence] | list[AssessmentFile]) -> None:
    """Undo what a refused post stored before the refusal, rows and bytes: the
    rest of the post may still be saved, and a file it refused must leave
    nothing behind (neither a row nor a file the allowance cannot see)."""
    for row in rows:
        if row in session.new:
            session.expunge(row)
        else:
            session.delete(row)
        runtime(session).storage.delete(row.storage_key)
    session.flush()


def check_count(question: Question, files: list[FileStorage], kept: int) -> list[FileStorage]:
    """The files actually chosen, if there is room for them beside those kept."""
    files = [f for f in files if f and f.filename]
    if kept + len(files) > question.max_files:
        raise UploadError(
            f"You can upload up to {question.max_files} file{'s' if question.max_files != 1 else ''} "
            "here: remove one before adding another"
        )
    # What can be judged by name is judged for every file before any is stored.
    for upload in files:
        if _extension(upload) not in question.accept:
            raise UploadError(f"{upload.filename} must be a {describe_types(question)} file")
    return files


def _extension(upload: FileStorage) -> str:
    name = secure_filename(upload.filename or "") or "upload"
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    blob: Blob
    content_type: str


def check_and_store(
    session: Session,
    upload: FileStorage,
    question: Question,
    room: int,
    whose: str,
    allowance_mb: int,
) -> CheckedFile:
    """Store one upload if its extension, size, content and (for Office files)
    its parts pass; otherwise keep nothing of it and say why. ``room`` is what
    is left of the allowance (``allowance_mb`` in all) ``whose`` names
    ("this request's files"). If the transaction that records it rolls back,
    the stored file goes too."""
    store = runtime(session).storage
    name = secure_filename(upload.filename or "") or "upload"
    extension = _extension(upload)
    if extension not in question.accept:
        raise UploadError(f"{upload.filename} must be a {describe_types(question)} file")
    limit = min(question.max_size_mb * 1024 * 1024, room)
    try:
        blob = store.put(upload.stream, limit)
    except TooLarge as exc:
        if limit == room:
            raise UploadError(
                f"{upload.filename} would take {whose} over {allowance_mb} MB: remove a file first"
            ) from exc
        raise UploadError(
            f"{upload.filename} must be smaller than {question.max_size_mb} MB"
        ) from exc
    delete_after_rollback(session, blob.key)
    if blob.size == 0:
        store.delete(blob.key)
        raise UploadError(f"{upload.filename} is empty")
    if not filetypes.content_matches(extension, blob.path):
        store.delete(blob.key)
        raise UploadError(
            f"{upload.filename} is not a real {extension.upper()} file: save it again as "
            f"{describe_types(question)} and upload that"
        )
    problem = filetypes.archive_problem(blob.path) if extension in filetypes.ARCHIVE_TYPES else None
    if problem:
        store.delete(blob.key)
        raise UploadError(f"{upload.filename} cannot be kept: it {problem}")
    return CheckedFile(
        name, blob, filetypes.CONTENT_TYPES.get(extension, "application/octet-stream")
    )


def request_allowance(session: Session, request: Request) -> int:
    """Bytes this request may still store."""
    used = session.scalar(
        select(func.coalesce(func.sum(Evidence.size), 0)).where(Evidence.request_id == request.id)
    )
    allowance = runtime(session).settings.evidence_request_limit_mb * 1024 * 1024
    return max(0, allowance - int(used or 0))


def file_path(session: Session, evidence: Evidence | AssessmentFile) -> Path:
    return runtime(session).storage.path(evidence.storage_key)


def find_file(session: Session, request: Request, evidence_id: int) -> Evidence | None:
    """One of this request's files (None for another request's: a 404)."""
    return session.scalar(
        select(Evidence).where(Evidence.id == evidence_id, Evidence.request_id == request.id)
    )


def files_for(session: Session, request: Request) -> dict[int, Evidence]:
    """Every evidence file of a request, by id."""
    return {
        e.id: e for e in session.scalars(select(Evidence).where(Evidence.request_id == request.id))
    }


_LISTED = select(
    Evidence.__table__.c.id,
    Evidence.__table__.c.question_id,
    Evidence.__table__.c.filename,
    Evidence.__table__.c.size,
    Evidence.__table__.c.issued_on,
    Evidence.__table__.c.expires_on,
).where(Evidence.__table__.c.request_id == bindparam("request_id"))


def files_listed(
    session: Session, request: Request, section: Section | None = None
) -> dict[int, Any]:
    """What a page lists of each file (id, question_id, filename, size), by id:
    plain rows, for pages that only name the files (objects cost four times as
    much on a section page). With a section, only its questions' files."""
    rows = rows_connection(session).execute(_LISTED, {"request_id": request.id})
    if section is None:
        return {row.id: row for row in rows}
    own = {question.id for question in section.questions}
    return {row.id: row for row in rows if row.question_id in own}


def valid_kept_ids(
    session: Session, request: Request, question: Question, ids: list[int]
) -> list[int]:
    """Only ids that are this request's files for this question (a form can be forged)."""
    owned = files_for(session, request)
    return [i for i in ids if i in owned and owned[i].question_id == question.id]


def evidence_question(question: Question) -> Question:
    """The upload rules for the evidence beside a question that is not itself a file."""
    return replace(question, type="file", accept=DEFAULT_ACCEPT, max_size_mb=10, max_files=5)


def attached(session: Session, request: Request) -> dict[str, list[Evidence]]:
    """Evidence files by question id."""
    found: dict[str, list[Evidence]] = {}
    for item in files_for(session, request).values():
        found.setdefault(item.question_id, []).append(item)
    return found


def update_attachments(
    session: Session,
    request: Request,
    question: Question,
    keep: list[int],
    new: list[FileStorage],
    dates: Dates | None = None,
) -> None:
    """Evidence beside a question: keep the ticked files, add new ones, drop the rest."""
    rules = evidence_question(question)
    kept = valid_kept_ids(session, request, rules, keep)
    now_attached = store_uploads(session, request, rules, new, kept, dates)
    for item in attached(session, request).get(question.id, []):
        if item.id not in now_attached:
            delete_after_commit(session, item.storage_key)
            session.delete(item)
    session.flush()
