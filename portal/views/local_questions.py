"""A school's own extra questions for a questionnaire (issue 24): added one at
a time on the page, or all together in a workbook; a preview and try-out of
what a supplier will be sent."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from ..extensions import db, export_limit, reads_first, start_writing, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..permissions import Action, requires
from ..questionnaire import Questionnaire, tryout
from ..questionnaire.definition import SECTION_ID
from ..questionnaire.forms import SelectChoice
from ..questionnaire.supplement import MAX_QUESTIONS
from ..questionnaire.workbook import WorkbookProblems
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform import questionnaire_registry as questionnaires
from ..services.requirements import supplements
from ..services.requirements.supplements import NewQuestion, SupplementProblems
from .forms import LocalQuestionForm, LocalTitleForm, LocalWorkbookForm

bp = Blueprint("local_questions", __name__, url_prefix="/requirements/<key>/local-questions")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _base(key: str) -> Questionnaire:
    """A questionnaire sent to suppliers and compared with requirements (not
    a screening, nor one staff answer): the only ones that take extra questions."""
    for questionnaire in questionnaires.for_suppliers(db.session):
        if questionnaire.key == key and questionnaire.triage is None:
            return questionnaire
    abort(404)


def _question_form() -> LocalQuestionForm:
    form = LocalQuestionForm()
    form.type.choices = [SelectChoice(k, label) for k, label in supplements.FORM_TYPES.items()]
    return form


def _page(key: str, status: int = 200, **forms: Any) -> ResponseReturnValue:
    base = _base(key)
    organisation = current_organisation()
    current = supplements.in_use(db.session, organisation.id, key)
    joined = supplements.questionnaire_for(db.session, organisation, key)
    title_form = forms.get("title_form") or LocalTitleForm(
        formdata=None,
        title=current.title if current else supplements.default_title(organisation),
        intro=current.intro if current else "",
    )
    return render_template(
        "local_questions/show.html",
        questionnaire=base,
        section=joined.section(SECTION_ID) if current else None,
        current=current,
        versions=supplements.versions(db.session, organisation.id, key),
        form=forms.get("form") or _question_form(),
        title_form=title_form,
        workbook_form=forms.get("workbook_form") or LocalWorkbookForm(formdata=None),
        problems=forms.get("problems", []),
        limit=MAX_QUESTIONS,
        types=supplements.TYPE_WORDS,
    ), status


@bp.get("/")
@requires(Action.VIEW_REQUESTS)
def show(key: str) -> ResponseReturnValue:
    return _page(key)


@bp.post("/add")
@reads_first
@requires(Action.MANAGE_REQUIREMENTS)
def add(key: str) -> ResponseReturnValue:
    _base(key)
    form = _question_form()
    if form.validate_on_submit():
        typed = NewQuestion(
            label=form.label.data or "",
            hint=form.hint.data or "",
            type=form.type.data or "",
            choices=form.choices.data or "",
            required=form.required.data != "no",
            expected=form.expected.data or "",
            severity=form.severity.data or "",
            why=form.why.data or "",
        )
        start_writing(db.session)
        try:
            supplements.add_question(
                db.session, current_organisation(), current_actor(), key, typed
            )
        except ServiceError as exc:
            _field_error(form, exc)
        else:
            flash(
                f"Added: “{typed.label.strip()}”. Requests you send from now on ask it", "success"
            )
            return redirect(url_for(".show", key=key, _anchor="questions"))
    return _page(key, 400, form=form)


def _field_error(form: FlaskForm, exc: ServiceError) -> None:
    lines = exc.problems if isinstance(exc, SupplementProblems) else [exc.message]
    form[exc.field if exc.field in form else "label"].errors = list(lines)


@bp.post("/title")
@reads_first
@requires(Action.MANAGE_REQUIREMENTS)
def title(key: str) -> ResponseReturnValue:
    _base(key)
    organisation = current_organisation()
    form = LocalTitleForm()
    if supplements.in_use(db.session, organisation.id, key) is None:
        abort(404)
    if form.validate_on_submit():
        start_writing(db.session)
        current = supplements.in_use(db.session, organisation.id, key)
        if current is None:  # all removed meanwhile, in another tab
            abort(404)
        try:
            supplements.save(
                db.session,
                organisation,
                current_actor(),
                key,
                form.title.data or "",
                form.intro.data or "",
                current.questions,
            )
        except ServiceError as exc:
            _field_error(form, exc)
        else:
            flash("Saved the section's title and introduction", "success")
            return redirect(url_for(".show", key=key))
    return _page(key, 400, title_form=form)


@bp.post("/<question_id>/remove")
@reads_first
@requires(Action.MANAGE_REQUIREMENTS)
def remove(key: str, question_id: str) -> ResponseReturnValue:
    _base(key)
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    start_writing(db.session)
    try:
        supplements.remove_question(
            db.session, current_organisation(), current_actor(), key, question_id
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("Removed. Requests already sent still ask it", "success")
    return redirect(url_for(".show", key=key, _anchor="questions"))


@bp.get("/workbook.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def workbook(key: str) -> ResponseReturnValue:
    """The questions as a workbook to edit and upload back: audited and
    counted like every download."""
    _base(key)
    organisation = current_organisation()
    exports.record_download(
        db.session, current_actor(), organisation, f"local questions {key}", "xlsx"
    )
    return Response(
        supplements.workbook(db.session, organisation, key),
        mimetype=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="local-questions-{key}.xlsx"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.post("/workbook")
@reads_first
@requires(Action.MANAGE_REQUIREMENTS)
def upload(key: str) -> ResponseReturnValue:
    """Replace the questions with a workbook's, all or nothing."""
    _base(key)
    organisation = current_organisation()
    form = LocalWorkbookForm()
    problems: list[str] = []
    if form.validate_on_submit():
        sent = request.files.get("workbook")
        if sent is None or not sent.filename:
            form.workbook.errors = ["Choose the workbook to upload"]
        else:
            try:
                # Read and checked before the write lock: a workbook can take a while.
                typed = supplements.read_workbook(db.session, organisation, key, sent.read())
            except WorkbookProblems as exc:
                problems = [str(p) for p in exc.problems]
            except ServiceError as exc:
                problems = [exc.message]
            else:
                start_writing(db.session)
                try:
                    saved = supplements.save(
                        db.session, organisation, current_actor(), key, *typed, via="workbook"
                    )
                except ServiceError as exc:
                    problems = (
                        exc.problems if isinstance(exc, SupplementProblems) else [exc.message]
                    )
                else:
                    flash(
                        f"Your questions are now version {saved.version}, with "
                        f"{len(saved.questions)} question{'s' if len(saved.questions) != 1 else ''}",
                        "success",
                    )
                    return redirect(url_for(".show", key=key, _anchor="questions"))
            if problems:
                form.workbook.errors = [
                    f"Nothing was changed: fix the {len(problems)} "
                    f"problem{'s' if len(problems) != 1 else ''} listed and upload the file again"
                ]
    return _page(key, 400, workbook_form=form, problems=problems)


@bp.route("/try", methods=["GET", "POST"])
@reads_first
@requires(Action.VIEW_REQUESTS)
def try_out(key: str) -> ResponseReturnValue:
    """The questionnaire with these questions last, as a supplier is sent it;
    sample answers are judged by the baseline and these questions' rules.
    Nothing is stored."""
    _base(key)
    questionnaire = supplements.questionnaire_for(db.session, current_organisation(), key)
    posted = request.method == "POST"
    if posted and not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    return render_template(
        "curator/questionnaire_try.html",
        questionnaire=questionnaire,
        tried=tryout.try_out(questionnaire, request.form if posted else None),
        posted=posted,
        caption="With your own questions",
        back=(url_for(".show", key=key), "Back to your own questions"),
        shown_url=url_for(".shown", key=key),
        judged_by="the questionnaire's baseline requirements and your own questions' rules "
        "(your changes to the baseline rules are left out here)",
    )


@bp.post("/shown")
@reads_first
@requires(Action.VIEW_REQUESTS)
def shown(key: str) -> ResponseReturnValue:
    _base(key)
    questionnaire = supplements.questionnaire_for(db.session, current_organisation(), key)
    return jsonify(shown=tryout.try_out(questionnaire, request.form).shown)
