"""Downloads: one request, the supplier register, suppliers side by side."""

from __future__ import annotations

import io
import json

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..input_hygiene import safe_ids
from ..models import Request
from ..permissions import Action, get_for_org, requires
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.requirements import ratings
from ..services.review import side_by_side
from .api.schemas import request_download
from .downloads import register_download, send_request_report, send_temporary

bp = Blueprint("exports", __name__)


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
        comparison = ratings.comparison_for(db.session, row)
        data = json.dumps(request_download(row, comparison), indent=2).encode()
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


@bp.get("/requests/<int:request_id>/report.pdf")
@export_limit
@requires(Action.VIEW_REQUESTS)
def request_report(request_id: int) -> ResponseReturnValue:
    """The request's report to read, file or take to governors."""
    row = get_for_org(Request, request_id, current_organisation())
    return send_request_report(row, current_actor())


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
