"""Downloads: one request, the supplier register, suppliers side by side."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from typing import IO

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from ..exports.register import register_csv, register_workbook
from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..input_hygiene import safe_ids
from ..models import AssessmentFile, Evidence, Organisation, Request, User
from ..permissions import Action, get_for_org, requires
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.requests import evidence
from ..services.review import side_by_side

bp = Blueprint("exports", __name__)


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


@bp.get("/requests/<int:request_id>/export.<any(xlsx, csv, json):file_format>")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def export_request(request_id: int, file_format: str) -> ResponseReturnValue:
    """The request with its answers and findings as a workbook, CSV or JSON."""
    row = get_for_org(Request, request_id, current_organisation())
    exports.record_download(
        db.session, current_actor(), row.organisation, "request", file_format, row
    )
    name = exports.download_name(row.reference, row.supplier.name, extension=file_format)
    if file_format == "json":
        data = json.dumps(exports.request_json(db.session, row), indent=2).encode()
        mimetype = "application/json"
    elif file_format == "csv":
        # A byte-order mark so Excel opens UTF-8 (names with accents) correctly.
        data = ("\ufeff" + exports.request_csv(db.session, row)).encode()
        mimetype = "text/csv"
    else:
        data, mimetype = exports.request_xlsx(db.session, row), exports.XLSX
    return send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0
    )


@bp.get("/register")
@requires(Action.VIEW_REQUESTS)
def register() -> ResponseReturnValue:
    organisation = current_organisation()
    return render_template(
        "exports/register.html",
        organisation=organisation,
        count=exports.register_count(db.session, organisation),
        choices=exports.key_question_choices(db.session),
        chosen=request.args.getlist("answer"),
    )


@bp.get("/register.<any(xlsx, csv):file_format>")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def download_register(file_format: str) -> ResponseReturnValue:
    return register_download(
        current_organisation(), current_actor(), file_format, request.args.getlist("answer")
    )


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


@bp.get("/compare.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def download_comparison() -> ResponseReturnValue:
    organisation = current_organisation()
    chosen = [
        get_for_org(Request, request_id, organisation)
        for request_id in safe_ids(request.args.getlist("request", type=int))
    ]
    try:
        matrix = side_by_side.build_matrix(
            db.session, chosen, differences_only=request.args.get("differences") == "1"
        )
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(f"{url_for('review.compare_suppliers')}?{request.query_string.decode()}")
    exports.record_download(db.session, current_actor(), organisation, "comparison", "xlsx")
    return send_temporary(
        lambda handle: exports.comparison_xlsx(handle, matrix),
        exports.download_name("Side by side", matrix.title, extension="xlsx"),
        exports.XLSX,
    )
