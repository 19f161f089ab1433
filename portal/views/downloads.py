"""Sending files: stored evidence, the temporary-file stream every download
uses, and the register download the page and the API share."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from typing import IO

from flask import send_file
from flask.typing import ResponseReturnValue

from ..exports.register import register_csv, register_workbook
from ..exports.request_report import request_pdf
from ..extensions import db
from ..models import AssessmentFile, Evidence, Organisation, Request, User
from ..request_audit import record_now
from ..services.downloads import contents as exports
from ..services.downloads import reports
from ..services.platform.audit import SUPPLIER_ACTOR
from ..services.requests import evidence


def send_evidence(found: Evidence | AssessmentFile) -> ResponseReturnValue:
    """A stored evidence file as a download: an uploaded HTML or SVG must
    never render in our origin."""
    response = send_file(
        evidence.file_path(db.session, found),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_temporary(
    write: Callable[[IO[bytes]], object], name: str, mimetype: str
) -> ResponseReturnValue:
    """Write to a temporary file and stream it: the file is unlinked at once
    (the open handle keeps it readable), so nothing is left behind even if the
    download is cut off."""
    handle = tempfile.NamedTemporaryFile(prefix="portal-export-", delete=False)  # noqa: SIM115
    try:
        write(handle)
        handle.flush()
        handle.seek(0)
    finally:
        os.unlink(handle.name)
    return send_file(handle, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


def register_download(
    organisation: Organisation, actor: User, file_format: str, answer_ids: list[str]
) -> ResponseReturnValue:
    """The register as a download (the page's and the API's), audited."""
    known = {qid for qid, _, _ in exports.key_question_choices(db.session)}
    keys = [qid for qid in answer_ids if qid in known]
    exports.record_download(db.session, actor, organisation, "register", file_format)
    rows = exports.register_rows(db.session, organisation, keys)
    columns = exports.register_columns(db.session, keys)
    name = exports.download_name(organisation.name, "supplier register", extension=file_format)
    if file_format == "csv":

        def write_csv(handle: IO[bytes]) -> None:
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            register_csv(text, rows, columns)
            text.flush()
            text.detach()

        return send_temporary(write_csv, name, "text/csv")
    return send_temporary(
        lambda handle: register_workbook(
            handle, rows, columns, f"Supplier register: {organisation.name}"
        ),
        name,
        exports.XLSX,
    )


def send_request_report(row: Request, actor: User) -> ResponseReturnValue:
    """A request's PDF (the page's and the API's). Drawn as a reader and then
    recorded in a short transaction of its own: drawing takes a second or
    more, and must not hold the write lock."""
    pdf = request_pdf(reports.request_report(db.session, row))
    record_now(
        "export_downloaded",
        organisation=row.organisation,
        actor=actor,
        request=row,
        what="request",
        format="pdf",
    )
    name = exports.download_name(row.reference, row.supplier.name, extension="pdf")
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name,
        max_age=0,
    )  # fmt: skip


def record_supplier_download(row: Request, what: str) -> None:
    """A supplier's download on the request's timeline, in a short transaction
    of its own: the download itself is built as a reader, so making the
    workbook never holds the write lock."""
    record_now(
        "export_downloaded",
        organisation=row.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=row,
        what=what,
        format="xlsx",
    )
