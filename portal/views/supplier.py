"""Suppliers, through their tokenised link: no account, one request per grant."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from ..after_response import after_response
from ..errors import render_error
from ..extensions import db, keep_changes, limiter, reads_first, start_writing
from ..identity.supplier_grants import (
    SupplierAccessEnded,
    current_colleague,
    grant_supplier_access,
    supplier_request,
    supplier_view,
)
from ..models import Request
from ..permissions import colleague_may
from ..questionnaire import Questionnaire, Section, logic
from ..questionnaire.forms import SectionForm, SelectChoice, build_section_form, form_data
from ..request_audit import record_now
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform import audit
from ..services.requests import (
    answer_workbooks,
    clarifications,
    colleagues,
    evidence,
    foreign_assessments,
    reuse,
)
from ..services.requests import answering as responses
from ..services.requests import lifecycle as requests
from .downloads import record_supplier_download, send_evidence
from .forms import ColleagueForm, DeclarationForm, ReuseAddressForm, ReuseCodeForm

bp = Blueprint("supplier", __name__, url_prefix="/respond")


@bp.errorhandler(SupplierAccessEnded)
def access_ended(error: SupplierAccessEnded) -> ResponseReturnValue:
    """404, and if the supplier was posting answers, what they typed: a
    session that ended must not throw their work away."""
    try:
        typed = posted_answers()
    except HTTPException as unreadable:  # a form input_hygiene refuses: its 400
        return render_error(unreadable)
    if typed and not request.is_json:
        return render_template("supplier/session_ended.html", typed=typed), 404
    return render_error(error)


def posted_answers() -> list[tuple[str, str]]:
    """What a supplier typed in a posted form, without the form's own fields."""
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if value.strip()
        and name not in ("csrf_token", "shown", "action")
        and not name.startswith("rev-")
    ]


@bp.errorhandler(CSRFError)
def stale_form(error: CSRFError) -> ResponseReturnValue:
    """A page left open until its security token went stale: show the section
    again with everything typed, and ask to save again (nothing was saved)."""
    args = request.view_args or {}
    try:
        row = supplier_request(str(args.get("reference")))
    except SupplierAccessEnded as ended:
        # Without a grant (the session cookie lost or ended) the page of what
        # was typed is the news, not the stale token.
        return access_ended(ended)
    if request.endpoint != "supplier.answer_section" or request.is_json:
        return render_template("errors/400.html", error=error), 400
    colleague = current_colleague()
    if colleague is not None and not colleague_may(request.endpoint, args, colleague.sections):
        # CSRF is checked before the blueprint's scope: check it here too.
        return render_error(NotFound())
    questionnaire = responses.questionnaire_of(row)
    try:
        section = questionnaire.section(str(args.get("section_id")))
    except KeyError:
        abort(404)
    form = build_section_form(questionnaire, section)(request.form)
    return _section_page(row, questionnaire, section, form, stale=True), 400


@bp.before_request
def colleague_scope() -> None:
    """A colleague's link opens the sections handed to them and nothing else
    (permissions.colleague_may): every other page of the request is a 404."""
    reference = (request.view_args or {}).get("reference")
    if reference is None:
        return
    supplier_request(str(reference))  # the grant, checked once for the page
    colleague = current_colleague()
    if colleague is not None and not colleague_may(
        request.endpoint, request.view_args or {}, colleague.sections
    ):
        abort(404)


@bp.context_processor
def colleague_context() -> dict[str, Any]:
    """Whether the page is a colleague's: their pages lead home to their task
    list, since the request's start page is the contact's."""
    return {"supplier_colleague": current_colleague()}


def answerer(row: Request) -> str:
    """Who is answering: the colleague at this link, or the contact."""
    colleague = current_colleague()
    return colleague.name if colleague is not None else row.contact_name


@bp.after_request
def private_headers(response: Response) -> Response:
    """Supplier pages hold another organisation's answers: never cached,
    indexed or announced to another site."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/link/<token>")
@limiter.limit(lambda: str(current_app.config["TOKEN_RATE_LIMIT"]))
def open_link(token: str) -> ResponseReturnValue:
    """Trade the token for a session grant, then leave the token out of every URL.

    A GET changes nothing else: mail scanners open links before people do.
    """
    row = requests.find_request_by_token(db.session, token)
    if row is None or not requests.link_is_live(row):
        # One page for unknown, revoked and expired links; only a known link
        # that simply ran out of time names the school to ask.
        school = row.organisation if row is not None and requests.link_expired(row) else None
        return render_template("supplier/link_unusable.html", school=school), 404
    grant_supplier_access(row)
    record_now(
        "link_opened",
        organisation=row.organisation,
        actor_label=audit.SUPPLIER_ACTOR,
        request=row,
        address=request.remote_addr,
    )
    # 303 to a URL without the token, so it stays out of history and Referer.
    return redirect(url_for("supplier.start", reference=row.reference), 303)


@bp.get("/<reference>/")
@supplier_view
def start(row: Request) -> ResponseReturnValue:
    return render_template(
        "supplier/start.html",
        row=row,
        questionnaire=responses.questionnaire_of(row),
        clarifying=clarifications.open_items(db.session, row),
        earlier=reuse.earlier_submission(db.session, row),
        reuse_elsewhere=reuse.may_reuse_elsewhere(row),
    )


@bp.post("/<reference>/reuse")
@supplier_view
def reuse_answers(row: Request) -> ResponseReturnValue:
    """Start from the answers this supplier last submitted to the same organisation."""
    earlier = reuse.earlier_submission(db.session, row)
    if earlier is None:
        return redirect(url_for("supplier.task_list", reference=row.reference))
    try:
        copied = reuse.prefill_from(db.session, row, earlier)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        _copied(copied)
    return redirect(url_for("supplier.task_list", reference=row.reference))


@bp.route("/<reference>/reuse/code", methods=["GET", "POST"])
@supplier_view
def reuse_code(row: Request) -> ResponseReturnValue:
    """Answers given to another organisation: ask for a code for the address
    they were submitted from (POST), then type it in."""
    address_form = ReuseAddressForm(prefix="send")
    if request.method == "GET":
        # The address the school typed is only a guess to start from.
        address_form.email.data = row.contact_email
        return _code_page(row, ReuseCodeForm(), address_form)
    if address_form.validate_on_submit():
        try:
            asked = reuse.send_code(db.session, row, address_form.email.data or "")
        except ServiceError as exc:
            address_form.email.errors = [exc.message]
        else:
            # Whether it goes anywhere is settled after the reply, so the
            # reply takes the same time either way.
            after_response(lambda session: reuse.deliver_code(session, asked))
            return redirect(url_for("supplier.reuse_code", reference=row.reference))
    return _code_page(row, ReuseCodeForm(), address_form), 422


@bp.post("/<reference>/reuse/confirm")
@supplier_view
def reuse_confirm(row: Request) -> ResponseReturnValue:
    form = ReuseCodeForm()
    if form.validate_on_submit():
        try:
            copied = reuse.copy_with_code(db.session, row, form.code.data or "")
        except ServiceError as exc:
            form.code.errors = [exc.message]
            keep_changes()  # a wrong code counts against the code's tries
            return _code_page(row, form), 422
        _copied(copied)
        return redirect(url_for("supplier.task_list", reference=row.reference))
    return _code_page(row, form), 422


def _code_page(
    row: Request, form: ReuseCodeForm, address_form: ReuseAddressForm | None = None
) -> str:
    waiting = reuse.pending_code(db.session, row)
    return render_template(
        "supplier/reuse_code.html",
        row=row,
        form=form,
        address_form=address_form or ReuseAddressForm(prefix="send"),
        sent_to=waiting.sent_to if waiting else None,
        minutes=reuse.CODE_MINUTES,
        may_copy=reuse.may_reuse_elsewhere(row),
    )


def _copied(count: int) -> None:
    flash(
        f"{count} answers copied from your earlier questionnaire. Check each section and save "
        "it to confirm them.",
        "success",
    )


@bp.get("/<reference>/tasks")
@supplier_view
def task_list(row: Request) -> ResponseReturnValue:
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    colleague = current_colleague()
    progress = responses.progress(row)
    if colleague is not None:  # their sections only
        progress = [p for p in progress if p.section.id in colleague.sections]
    return render_template(
        "supplier/task_list.html",
        row=row,
        questionnaire=responses.questionnaire_of(row),
        progress=progress,
        clarifying=clarifications.open_items(db.session, row) if colleague is None else [],
        uploads=answer_workbooks.uploads(db.session, row)[:3] if colleague is None else [],
        colleague=colleague,
        formats=foreign_assessments.mappings_for(db.session, row) if colleague is None else [],
    )


@bp.route("/<reference>/sections/<section_id>", methods=["GET", "POST"])
@supplier_view
def answer_section(row: Request, section_id: str) -> ResponseReturnValue:
    questionnaire = responses.questionnaire_of(row)
    try:
        section = questionnaire.section(section_id)
    except KeyError:
        abort(404)
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    form_class = build_section_form(questionnaire, section)
    revealed: tuple[str, ...] = ()
    status = 200
    if request.method == "POST":
        form = form_class(request.form)
        action = request.form.get("action", "continue")
        outcome = responses.save_section(
            db.session,
            row,
            form,
            {name: request.files.getlist(name) for name in request.files},
            draft=action != "continue",
            shown=set(request.form.getlist("shown")),
            revisions=_posted_revisions(),
            evidence_keep={
                q.id: request.form.getlist(f"{q.id}-evidence-keep") for q in section.answerable
            },
            by=answerer(row),
        )
        if outcome.conflicts:
            keep_changes()  # the answers without a conflict did save
            status = 409
        if outcome.saved and action == "later":
            return redirect(url_for("supplier.task_list", reference=row.reference))
        if outcome.saved and action == "add_row":
            return redirect(request.path)
        if outcome.complete:
            return redirect(_next_step(row, section_id))
        revealed = outcome.revealed
    else:
        return _section_page_as_stored(row, questionnaire, section)
    return _section_page(row, questionnaire, section, form, revealed=revealed), status


def _section_page_as_stored(row: Request, questionnaire: Questionnaire, section: Section) -> str:
    """A GET: the questions as the stored answers make them."""
    stored = responses.stored_answers(db.session, row)
    form = build_section_form(questionnaire, section)(
        data=form_data(section, stored.values, stored.comments)
    )
    return _section_page(row, questionnaire, section, form, stored=stored)


def _section_page(
    row: Request,
    questionnaire: Questionnaire,
    section: Section,
    form: SectionForm,
    *,
    revealed: tuple[str, ...] = (),
    stale: bool = False,
    stored: responses.StoredAnswers | None = None,
    files: Mapping[int, Any] | None = None,
) -> str:
    """The section page, whatever brought the supplier to it (a GET, or what
    was posted)."""
    form.add_blank_rows()
    if stored is None:
        stored = responses.stored_answers(db.session, row)
    if files is None:
        # Most sections take no files: skip the query then. Only this
        # section's: a posted form names files by id, and a colleague must not
        # see the names of files in sections not handed to them.
        files = evidence.files_listed(db.session, row, section) if section.takes_files else {}
    typed = form.answers()
    copied = sum(1 for q in section.answerable if q.id in stored.unconfirmed)
    return render_template(
        "supplier/section_form.html",
        row=row,
        questionnaire=questionnaire,
        section=section,
        form=form,
        stored=stored.values,
        revisions=stored.revisions,
        editable=responses.editable_ids(db.session, row),
        prefilled=stored.unconfirmed,
        copied=copied,
        # Where each copied answer came from ("From your CSA CAIQ v4 (question
        # CEK-03.1)"): read only when the section has copied answers.
        sources=responses.answered_by(db.session, row) if copied else {},
        shown=logic.visibility(questionnaire, {**stored.values, **typed}),
        revealed=revealed,
        stale=stale,
        files=files,
    )


@bp.post("/<reference>/sections/<section_id>/autosave")
@reads_first
@supplier_view
def autosave(row: Request, section_id: str) -> ResponseReturnValue:
    """JSON: {"answers": {id: value}, "comments": {id: text}, "revisions": {id: n}}."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("answers", {}), dict):
        return jsonify(error="Send a JSON object with an answers object"), 400
    try:
        section = responses.questionnaire_of(row).section(section_id)
    except KeyError:
        abort(404)
    if not row.is_open:
        return jsonify(error="These answers have been submitted and can no longer be changed"), 409
    plan = responses.plan_autosave(
        db.session,
        row,
        section,
        payload.get("answers", {}),
        payload.get("comments", {}) if isinstance(payload.get("comments"), dict) else {},
        payload.get("revisions", {}) if isinstance(payload.get("revisions"), dict) else {},
    )
    # Checked as a reader; the write lock is held only from here to the commit.
    changed_meanwhile = start_writing(db.session)
    if changed_meanwhile:
        requests.lock(db.session, row)
    try:
        result = responses.apply_autosave(
            db.session, row, plan, recheck=changed_meanwhile, by=answerer(row)
        )
    except responses.NotEditableError as exc:  # submitted from another tab meanwhile
        return jsonify(error=exc.message), 409
    status = 409 if result.conflicts else 422 if result.errors else 200
    if status != 200:
        keep_changes()  # what did save stays saved
    return jsonify(
        saved=list(result.saved),
        errors=result.errors,
        conflicts=result.conflicts,
        revisions=result.revisions,
        shown=result.shown,
    ), status


def _posted_revisions() -> dict[str, int]:
    """The revision of each answer when the page was loaded (hidden fields rev-<id>)."""
    return {
        key[4:]: int(value)
        for key, value in request.form.items()
        if key.startswith("rev-") and value.isdecimal()
    }


def _next_step(row: Request, section_id: str) -> str:
    sections = [s.id for s in responses.questionnaire_of(row).sections]
    colleague = current_colleague()
    if colleague is not None:  # their next section, then their task list
        later = [s for s in sections[sections.index(section_id) + 1 :] if s in colleague.sections]
        if later:
            return url_for("supplier.answer_section", reference=row.reference, section_id=later[0])
        return url_for("supplier.task_list", reference=row.reference)
    index = sections.index(section_id)
    if index + 1 >= len(sections):
        return url_for("supplier.check_answers", reference=row.reference)
    return url_for(
        "supplier.answer_section", reference=row.reference, section_id=sections[index + 1]
    )


@bp.route("/<reference>/check", methods=["GET", "POST"])
@supplier_view
def check_answers(row: Request) -> ResponseReturnValue:
    if not row.is_open:
        # Also a second click of "Accept and submit": one submission, then the copy.
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    form = DeclarationForm()
    if form.validate_on_submit():
        declaration = responses.Declaration(
            name=form.declared_name.data or "",
            role=form.declared_role.data or "",
            directory_consent=bool(form.directory_consent.data),
            reuse_consent=bool(form.reuse_consent.data),
        )
        try:
            responses.submit_response(db.session, row, declaration)
        except ServiceError as exc:
            form.declared_name.errors = [exc.message]
        else:
            return redirect(url_for("supplier.confirmation", reference=row.reference))
    return render_template(
        "supplier/check_answers.html",
        row=row,
        sheet=responses.answer_sheet(db.session, row),
        missing=responses.missing_answers(row),
        form=form,
    )


@bp.get("/<reference>/confirmation")
@supplier_view
def confirmation(row: Request) -> ResponseReturnValue:
    if row.is_open:
        return redirect(url_for("supplier.task_list", reference=row.reference))
    colleague = current_colleague()
    return render_template(
        "supplier/confirmation.html",
        row=row,
        sheet=responses.answer_sheet(db.session, row),
        # A colleague sees the sections handed to them, as before submitting.
        only=colleague.sections if colleague is not None else None,
    )


@bp.get("/<reference>/files/<int:evidence_id>")
@supplier_view
def download_file(row: Request, evidence_id: int) -> ResponseReturnValue:
    """One of this request's evidence files, as an attachment (never shown inline)."""
    found = evidence.find_file(db.session, row, evidence_id)
    if found is None:
        abort(404)
    colleague = current_colleague()
    if colleague is not None:
        section = responses.questionnaire_of(row).section_of(found.question_id)
        if section.id not in colleague.sections:
            abort(404)  # a file of a section not handed to them
    return send_evidence(found)


@bp.get("/<reference>/copy.xlsx")
@supplier_view
def download_copy(row: Request) -> ResponseReturnValue:
    """The supplier's own copy of what they submitted, as a workbook."""
    if row.is_open:
        return redirect(url_for("supplier.task_list", reference=row.reference))
    record_supplier_download(row, "answers")
    return send_file(
        io.BytesIO(exports.request_xlsx(db.session, row, for_supplier=True)),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.download_name(
            row.reference, row.supplier.name, "answers", extension="xlsx"
        ),
        max_age=0,
    )


@bp.get("/<reference>/answers.xlsx")
@supplier_view
def answers_workbook(row: Request) -> ResponseReturnValue:
    """Every question of the request, with the answers so far, to answer in a spreadsheet."""
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    record_supplier_download(row, "answers workbook")
    return send_file(
        io.BytesIO(answer_workbooks.workbook(db.session, row)),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.download_name(
            row.reference, row.supplier.name, "to answer", extension="xlsx"
        ),
        max_age=0,
    )


@bp.post("/<reference>/answers/upload")
@reads_first
@supplier_view
def upload_answers(row: Request) -> ResponseReturnValue:
    """Save what an answers workbook holds, through each section's own checks."""
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    sent = request.files.get("workbook")
    if sent is None or not sent.filename:
        flash("Choose the answers workbook to upload", "error")
        return redirect(
            url_for("supplier.task_list", reference=row.reference, _anchor="spreadsheet")
        )
    data = sent.read()
    try:
        # Read and matched before the write lock: opening a workbook takes a while.
        parsed = answer_workbooks.parse(row, data)
    except ServiceError as exc:
        flash(f"Nothing was saved: {exc.message}", "error")
        return redirect(
            url_for("supplier.task_list", reference=row.reference, _anchor="spreadsheet")
        )
    start_writing(db.session)
    requests.lock(db.session, row)
    try:
        upload = answer_workbooks.apply(db.session, row, sent.filename, data, parsed)
    except responses.NotEditableError as exc:  # submitted from another tab meanwhile
        flash(exc.message, "error")
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    return redirect(
        url_for("supplier.uploaded_answers", reference=row.reference, upload_id=upload.id)
    )


@bp.get("/<reference>/answers/uploads/<int:upload_id>")
@supplier_view
def uploaded_answers(row: Request, upload_id: int) -> ResponseReturnValue:
    """What an upload saved, what it could not, and what is still to do."""
    found = answer_workbooks.upload_of(db.session, row, upload_id)
    if found is None:
        abort(404)
    return render_template(
        "supplier/answers_upload.html",
        row=row,
        upload=found,
        report=answer_workbooks.Report.from_json(found.report or {}),
    )


@bp.get("/colleague/<token>")
@limiter.limit(lambda: str(current_app.config["TOKEN_RATE_LIMIT"]))
def open_colleague_link(token: str) -> ResponseReturnValue:
    """A colleague's own link: a grant to their sections, then the task list
    without the token in the URL. A GET changes nothing else."""
    colleague = colleagues.by_token(db.session, token)
    row = colleague.request if colleague is not None else None
    if colleague is None or row is None or not requests.link_is_live(row):
        return render_template("supplier/link_unusable.html", school=None), 404
    grant_supplier_access(row, colleague)
    record_now(
        "colleague_link_opened",
        organisation=row.organisation,
        actor_label=audit.SUPPLIER_ACTOR,
        request=row,
        colleague=colleague.name,
    )
    return redirect(url_for("supplier.task_list", reference=row.reference), 303)


@bp.route("/<reference>/colleagues", methods=["GET", "POST"])
@supplier_view
def hand_over(row: Request) -> ResponseReturnValue:
    """The contact hands sections to colleagues, and sees who answered what."""
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    questionnaire = responses.questionnaire_of(row)
    form = ColleagueForm()
    form.sections.choices = [SelectChoice(s.id, s.title) for s in questionnaire.sections]
    issued = None
    if form.validate_on_submit():
        try:
            _colleague, issued = colleagues.hand_over(
                db.session,
                row,
                form.name.data or "",
                form.email.data or "",
                form.sections.data or [],
            )
        except ServiceError as exc:
            form[exc.field if exc.field in form else "name"].errors = [exc.message]
        else:
            flash(f"Sent {form.name.data} a link to their sections", "success")
            form = ColleagueForm(formdata=None)
            form.sections.choices = [SelectChoice(s.id, s.title) for s in questionnaire.sections]
    stored = responses.stored_answers(db.session, row)
    return render_template(
        "supplier/colleagues.html",
        row=row,
        questionnaire=questionnaire,
        form=form,
        issued=issued,
        colleagues=colleagues.of_request(db.session, row),
        answered_by=responses.answered_by(db.session, row),
        answered=stored.values,
    ), (200 if not form.errors else 400)


@bp.post("/<reference>/colleagues/<int:colleague_id>/revoke")
@supplier_view
def revoke_colleague(row: Request, colleague_id: int) -> ResponseReturnValue:
    try:
        found = colleagues.revoke(db.session, row, colleague_id, row.contact_name)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{found.name}'s link no longer works; their answers stay", "success")
    return redirect(url_for("supplier.hand_over", reference=row.reference))


@bp.post("/<reference>/assessment")
@reads_first
@supplier_view
def import_assessment(row: Request) -> ResponseReturnValue:
    """Answers proposed from a CAIQ or HECVAT the supplier already has."""
    back = url_for("supplier.task_list", reference=row.reference, _anchor="assessment")
    if not row.is_open:
        return redirect(url_for("supplier.confirmation", reference=row.reference))
    chosen = request.form.get("format", "")
    mapping = next(
        (m for m in foreign_assessments.mappings_for(db.session, row) if m.name == chosen), None
    )
    sent = request.files.get("assessment")
    if mapping is None:
        flash("Choose which assessment you are uploading", "error")
        return redirect(back)
    if sent is None or not sent.filename:
        flash(f"Choose your completed {mapping.title} workbook", "error")
        return redirect(back)
    try:
        # Read before the write lock: a CAIQ is a large workbook.
        rows = foreign_assessments.read_rows(mapping.layout, sent.read(), mapping.title)
    except ServiceError as exc:
        flash(f"Nothing was copied: {exc.message}", "error")
        return redirect(back)
    start_writing(db.session)
    requests.lock(db.session, row)
    done = foreign_assessments.import_assessment(db.session, row, mapping, rows)
    if done.copied:
        flash(
            f"{done.copied} answer{'s' if done.copied != 1 else ''} copied from your "
            f"{done.title}: check each section and save it to confirm them",
            "success",
        )
    else:
        flash(
            f"No answers could be taken from your {done.title}: answer the questions here", "error"
        )
    return redirect(url_for("supplier.task_list", reference=row.reference))
