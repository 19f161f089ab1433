"""The organisation's requirement profile: its own rules beside the baseline."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..exports.profile import profile_workbook
from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..permissions import Action, requires
from ..questionnaire.definition import Question, Questionnaire
from ..questionnaire.forms import SelectChoice
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform import audit
from ..services.platform import questionnaire_registry as questionnaires
from ..services.requirements import changes as profile_changes
from ..services.requirements import profiles
from ..services.requirements.profiles import OPERATOR_LABELS, RuleInput
from ..services.requirements.workbook import ProfileWorkbookError, read_profile
from .forms import ProfileImportForm, RuleForm

bp = Blueprint("profiles", __name__, url_prefix="/requirements")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _questionnaire(key: str) -> Questionnaire:
    for questionnaire in questionnaires.current_definitions(db.session):
        if questionnaire.key == key and not questionnaire.answered_by_staff:
            return questionnaire
    abort(404)


def _question(questionnaire: Questionnaire, question_id: str) -> Question:
    try:
        question = questionnaire.question(question_id)
    except KeyError:
        abort(404)
    if not question.answerable:
        abort(404)
    return question


@bp.get("/")
@requires(Action.VIEW_REQUESTS)
def overview() -> ResponseReturnValue:
    organisation = current_organisation()
    listed = [
        (q, len(profiles.own_rules(db.session, organisation.id, q.key)))
        for q in questionnaires.current_definitions(db.session)
        if not q.answered_by_staff and any(x.requirement for x in q.questions())
    ]
    return render_template("profiles/overview.html", listed=listed, organisation=organisation)


@bp.get("/<key>")
@requires(Action.VIEW_REQUESTS)
def show(key: str) -> ResponseReturnValue:
    questionnaire = _questionnaire(key)
    organisation = current_organisation()
    return render_template(
        "profiles/show.html",
        questionnaire=questionnaire,
        organisation=organisation,
        rows=profiles.profile_rows(db.session, organisation, questionnaire),
        changed_only=request.args.get("changed") == "1",
        history=[
            event
            for event in audit.organisation_history(
                db.session, organisation, {"requirement_changed", "requirement_removed"}
            )
            if event.detail.get("questionnaire") == key
        ],
    )


@bp.route("/<key>/<question_id>", methods=["GET", "POST"])
@requires(Action.MANAGE_REQUIREMENTS)
def edit_rule(key: str, question_id: str) -> ResponseReturnValue:
    questionnaire = _questionnaire(key)
    question = _question(questionnaire, question_id)
    organisation = current_organisation()
    row = next(
        r
        for r in profiles.profile_rows(db.session, organisation, questionnaire)
        if r.question.id == question_id
    )
    if request.method == "POST" and request.form.get("action") == "remove":
        profile_changes.remove_rule(
            db.session, organisation, current_actor(), questionnaire, question_id
        )
        flash(
            f"“{question.label}” uses the {'trust' if row.trust else 'baseline'} rule again",
            "success",
        )
        return redirect(url_for("profiles.show", key=key, _anchor=f"rule-{question_id}"))
    form = RuleForm()
    form.operator.choices = [
        SelectChoice(name, OPERATOR_LABELS[name]) for name in profiles.operators_for(question)
    ]
    form.values.choices = [SelectChoice(c.value, c.label) for c in question.choices]
    if request.method == "GET":
        start = row.own or row.effective
        if start is not None:
            form.operator.data = start.operator
            form.severity.data = start.severity
            form.off.data = start.off
            form.note.data = row.own.note if row.own else ""
            if isinstance(start.value, tuple):
                form.values.data = list(start.value)
            elif (
                question.choices
                and start.value is not None
                and start.operator not in profiles.COUNT_OPERATORS
            ):
                form.values.data = [str(start.value)]
            elif start.value is not None:
                form.value.data = str(start.value)
    if form.validate_on_submit():
        operator = form.operator.data or ""
        uses_choices = bool(question.choices) and operator not in profiles.COUNT_OPERATORS
        typed = RuleInput(
            operator=operator,
            value=(form.values.data or []) if uses_choices else (form.value.data or ""),
            severity=form.severity.data or "",
            off=bool(form.off.data),
            note=form.note.data or "",
        )
        try:
            profile_changes.save_rule(
                db.session, organisation, current_actor(), questionnaire, question_id, typed
            )
        except ServiceError as exc:
            form.operator.errors = exc.message.splitlines()
        else:
            flash(f"Your rule for “{question.label}” is saved", "success")
            return redirect(url_for("profiles.show", key=key, _anchor=f"rule-{question_id}"))
    return render_template(
        "profiles/edit_rule.html",
        questionnaire=questionnaire,
        question=question,
        row=row,
        form=form,
        uses_choices=bool(question.choices),
    )


@bp.get("/<key>.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def export(key: str) -> ResponseReturnValue:
    """The requirement profile as a workbook: audited and counted like every download."""
    questionnaire = _questionnaire(key)
    organisation = current_organisation()
    exports.record_download(
        db.session, current_actor(), organisation, f"requirements {key}", "xlsx"
    )
    data = profile_workbook(
        questionnaire,
        profiles.profile_rows(db.session, organisation, questionnaire),
        organisation.name,
    )
    return Response(
        data,
        mimetype=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="requirements-{key}.xlsx"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/<key>/import", methods=["GET", "POST"])
@requires(Action.MANAGE_REQUIREMENTS)
def import_profile(key: str) -> ResponseReturnValue:
    questionnaire = _questionnaire(key)
    organisation = current_organisation()
    form = ProfileImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = request.files.get("workbook")
        if upload is None or not upload.filename:
            form.workbook.errors = ["Choose the workbook to import"]
        else:
            try:
                typed = read_profile(questionnaire, upload.read())
                changed = profile_changes.replace_profile(
                    db.session, organisation, current_actor(), questionnaire, typed
                )
            except ProfileWorkbookError as exc:
                problems = exc.problems
                form.workbook.errors = [
                    f"Nothing was changed: fix the {len(problems)} "
                    f"problem{'s' if len(problems) != 1 else ''} below and import the file again"
                ]
            except ServiceError as exc:
                problems = exc.message.splitlines()
                form.workbook.errors = [
                    "Nothing was changed: some rules would be less strict than your trust's"
                ]
            else:
                flash(
                    f"Imported: {changed} rule{'s' if changed != 1 else ''} changed",
                    "success",
                )
                return redirect(url_for("profiles.show", key=key))
    return render_template(
        "profiles/import.html", questionnaire=questionnaire, form=form, problems=problems
    )
