"""The curator's questionnaires: every version and where it came from, a
workbook to download and edit, an upload checked row by row, the change list,
publishing and retiring (issue 24)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from ..extensions import db, reads_first, start_writing
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import Organisation, QuestionnaireUpload, User
from ..permissions import Action, get_for_org, requires
from ..questionnaire import Questionnaire, tryout
from ..services.errors import ServiceError
from ..services.platform import questionnaire_publishing as publishing
from ..services.platform.questionnaire_registry import find_version
from ..services.platform.questionnaire_workbooks import workbook_of
from ..services.requests import foreign_assessments
from ..vocabulary import AUDIENCE_LABELS
from .downloads import send_temporary
from .forms import QuestionnaireWorkbookForm

bp = Blueprint("curator_questionnaires", __name__, url_prefix="/curate/questionnaires")

KeyChange = Callable[[Session, str, User | None, Organisation | None], None]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/")
@requires(Action.CURATE)
def catalogue() -> ResponseReturnValue:
    return render_template(
        "curator/questionnaires.html",
        found=publishing.catalogue(db.session),
        uploads=publishing.recent_uploads(db.session, current_organisation()),
        form=QuestionnaireWorkbookForm(),
        audience_labels=AUDIENCE_LABELS,
        coverage=foreign_assessments.coverage(db.session),
    )


@bp.get("/<key>/<int:version>/workbook")
@requires(Action.CURATE)
def workbook(key: str, version: int) -> ResponseReturnValue:
    data = workbook_of(_version(key, version))
    return send_temporary(lambda handle: handle.write(data), f"{key}-version-{version}.xlsx", XLSX)


@bp.post("/uploads")
@reads_first
@requires(Action.CURATE)
def upload() -> ResponseReturnValue:
    form = QuestionnaireWorkbookForm()
    if not form.validate_on_submit():
        abort(400)
    sent = request.files.get("workbook")
    data = sent.read() if sent else b""
    # Read and checked before the write lock is taken: that is the slow part.
    checked = publishing.check_workbook(data)
    start_writing(db.session)
    found = publishing.upload(
        db.session,
        current_organisation(),
        current_actor(),
        sent.filename or "" if sent else "",
        data,
        checked,
    )
    return redirect(url_for("curator_questionnaires.uploaded", upload_id=found.id))


@bp.get("/uploads/<int:upload_id>")
@requires(Action.CURATE)
def uploaded(upload_id: int) -> ResponseReturnValue:
    found = get_for_org(QuestionnaireUpload, upload_id, current_organisation())
    questionnaire = publishing.uploaded(found)
    return render_template(
        "curator/questionnaire_upload.html",
        upload=found,
        questionnaire=questionnaire,
        replaces=publishing.replaces(db.session, questionnaire) if questionnaire else None,
        changes=publishing.changes_in(db.session, questionnaire) if questionnaire else [],
        form=QuestionnaireWorkbookForm(),
    ), (422 if found.problems else 200)


@bp.route("/uploads/<int:upload_id>/try", methods=["GET", "POST"])
@reads_first
@requires(Action.CURATE)
def try_out(upload_id: int) -> ResponseReturnValue:
    """An upload as a supplier would see it, before it is published."""
    found = get_for_org(QuestionnaireUpload, upload_id, current_organisation())
    questionnaire = publishing.uploaded(found)
    if questionnaire is None:
        abort(404)
    return _try_page(
        questionnaire,
        caption=f"{found.filename}: not published",
        back=(url_for(".uploaded", upload_id=found.id), f"Back to {found.filename}"),
        shown_url=url_for(".shown", upload_id=found.id),
    )


@bp.route("/<key>/<int:version>/try", methods=["GET", "POST"])
@reads_first
@requires(Action.CURATE)
def try_version(key: str, version: int) -> ResponseReturnValue:
    """A version already offered (or once offered), tried the same way."""
    questionnaire = _version(key, version)
    return _try_page(
        questionnaire,
        caption=f"Version {version}",
        back=(url_for(".catalogue"), "Back to questionnaires"),
        shown_url=url_for(".shown_version", key=key, version=version),
    )


def _try_page(
    questionnaire: Questionnaire, *, caption: str, back: tuple[str, str], shown_url: str
) -> ResponseReturnValue:
    """Every section on one page as a supplier sees it; sample answers posted
    are judged against the questionnaire's baseline. Nothing is stored."""
    posted = request.method == "POST"
    if posted and not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    return render_template(
        "curator/questionnaire_try.html",
        questionnaire=questionnaire,
        tried=tryout.try_out(questionnaire, request.form if posted else None),
        posted=posted,
        caption=caption,
        back=back,
        shown_url=shown_url,
    )


@bp.post("/uploads/<int:upload_id>/shown")
@reads_first
@requires(Action.CURATE)
def shown(upload_id: int) -> ResponseReturnValue:
    """Which questions the answers typed so far ask (the try-out page's
    follow-ups appear as answers change). JSON; nothing is stored."""
    found = get_for_org(QuestionnaireUpload, upload_id, current_organisation())
    questionnaire = publishing.uploaded(found)
    if questionnaire is None:
        abort(404)
    return jsonify(shown=tryout.try_out(questionnaire, request.form).shown)


@bp.post("/<key>/<int:version>/shown")
@reads_first
@requires(Action.CURATE)
def shown_version(key: str, version: int) -> ResponseReturnValue:
    return jsonify(shown=tryout.try_out(_version(key, version), request.form).shown)


def _version(key: str, version: int) -> Questionnaire:
    try:
        return find_version(db.session, key, version)
    except ServiceError:
        abort(404)


@bp.post("/uploads/<int:upload_id>/publish")
@requires(Action.CURATE)
def publish(upload_id: int) -> ResponseReturnValue:
    found = get_for_org(QuestionnaireUpload, upload_id, current_organisation())
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        row = publishing.publish_upload(db.session, found, current_actor(), current_organisation())
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("curator_questionnaires.uploaded", upload_id=found.id))
    flash(f"Published {row.title} version {row.version}: new requests use it from now on",
          "success")  # fmt: skip
    return redirect(url_for("curator_questionnaires.catalogue"))


@bp.post("/<key>/retire")
@requires(Action.CURATE)
def retire(key: str) -> ResponseReturnValue:
    return _retire_or_restore(key, publishing.retire, "retired: no new request can use it")


@bp.post("/<key>/restore")
@requires(Action.CURATE)
def restore(key: str) -> ResponseReturnValue:
    return _retire_or_restore(key, publishing.restore, "offered for new requests again")


def _retire_or_restore(key: str, change: KeyChange, done: str) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        change(db.session, key, current_actor(), current_organisation())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{key} {done}", "success")
    return redirect(url_for("curator_questionnaires.catalogue"))
