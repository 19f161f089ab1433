"""The school's own side: its SLT digital lead, the standards self-assessment,
each standard's plan, who does what (RACI), and the timeline for governors."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..after_response import after_response
from ..exports.governors_pack import governors_pack_pdf
from ..exports.standards import raci_workbook, timeline_workbook
from ..extensions import db, export_limit, keep_changes, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..input_hygiene import valid_id
from ..models import utcnow
from ..permissions import Action, can, ensure, refuse, requires, schools_of_trust
from ..questionnaire import Questionnaire
from ..questionnaire.forms import SelectChoice, build_section_form, form_data
from ..request_audit import record_now
from ..services.accounts import users as accounts
from ..services.downloads import contents as exports
from ..services.downloads import governors_pack as pack
from ..services.errors import ServiceError
from ..services.platform.paging import page_number
from ..services.school import feedback, raci, school_summary, standards
from ..services.school import trust_overview as trust_overview_service
from .downloads import send_evidence, send_temporary
from .forms import DigitalLeadForm, RaciForm, StandardPlanForm

bp = Blueprint("standards", __name__, url_prefix="/standards")


@bp.app_errorhandler(standards.NotInstalled)
def _not_installed(exc: standards.NotInstalled) -> ResponseReturnValue:
    return render_template("standards/not_installed.html", message=exc.message), 404


@bp.get("")
@requires(Action.VIEW_REQUESTS)
def overview() -> ResponseReturnValue:
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    return render_template(
        "standards/overview.html",
        organisation=organisation,
        progress=found,
        timeline=standards.timeline(db.session, organisation, found)[:5],
        gaps=sum(
            1 for task in raci.tasks(db.session, organisation, found.questionnaire) if task.gaps
        ),
        today=utcnow().date(),
        feedback_share=feedback.latest_share(db.session, organisation, None),
        newer=standards.newer_version(db.session, organisation),
    )


@bp.post("/move-to-newest")
@requires(Action.MANAGE_STANDARDS)
def move_to_newest() -> ResponseReturnValue:
    try:
        moved = standards.move_to_newest(db.session, current_organisation(), current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"Your self-assessment now uses version {moved.version}: {moved.carried} "
            f"answer{'s' if moved.carried != 1 else ''} kept, {moved.new_questions} new "
            f"question{'s' if moved.new_questions != 1 else ''} to answer",
            "success",
        )
    return redirect(url_for("standards.overview"))


@bp.route("/digital-lead", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def digital_lead() -> ResponseReturnValue:
    organisation = current_organisation()
    form = DigitalLeadForm()
    people = [m.user for m in accounts.members(db.session, organisation)]
    form.lead.choices = [
        SelectChoice("", "Choose a person"),
        *(SelectChoice(str(u.id), u.name) for u in people),
    ]
    if request.method == "GET":
        form.lead.data = str(organisation.digital_lead_id or "")
        form.link_governor.data = organisation.link_governor or ""
    elif not can(Action.MANAGE_USERS):
        # The digital lead signs DPIAs off: naming one is an admin's act.
        refuse(Action.MANAGE_USERS)
    elif form.validate_on_submit():
        chosen = next((u for u in people if str(u.id) == form.lead.data), None)
        if chosen is None:
            form.lead.errors = ["Choose the SLT digital lead from the list"]
        else:
            standards.name_digital_lead(
                db.session, organisation, current_actor(), chosen, form.link_governor.data or ""
            )
            flash(f"{chosen.name} is now the SLT digital lead", "success")
            return redirect(url_for("standards.overview"))
    return render_template("standards/digital_lead.html", form=form, organisation=organisation), (
        422 if form.errors else 200
    )


@bp.route("/sections/<section_id>", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def answer_section(section_id: str) -> ResponseReturnValue:
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    questionnaire = found.questionnaire
    try:
        section = questionnaire.section(section_id)
    except KeyError:
        abort(404)
    form_class = build_section_form(questionnaire, section)
    errors: dict[str, str] = {}
    notes = {qid: item.note or "" for qid, item in found.items.items()}
    if request.method == "POST":
        ensure(Action.MANAGE_STANDARDS)
        form = form_class(request.form)
        notes = {q.id: request.form.get(f"{q.id}-note", "") for q in section.answerable}
        result = standards.save_section(
            db.session, organisation, current_actor(), section, form, notes,
            uploads={q.id: request.files.getlist(f"{q.id}-evidence") for q in section.answerable},
            keep={
                q.id: [
                    number
                    for v in request.form.getlist(f"{q.id}-evidence-keep")
                    if v.isdecimal() and (number := valid_id(int(v))) is not None
                ]
                for q in section.answerable
            },
        )  # fmt: skip
        errors = result.errors
        keep_changes()  # what was valid stays saved beside what was not
        if not errors:
            flash(f"{section.title}: saved", "success")
            return redirect(_after(questionnaire, section_id))
        found = standards.progress(db.session, organisation)
    else:
        values = {qid: item.value for qid, item in found.items.items() if item.answered}
        form = form_class(data=form_data(section, values))
    return render_template(
        "standards/section.html",
        questionnaire=questionnaire,
        section=section,
        form=form,
        notes=notes,
        errors=errors,
        extra_errors=[
            (key, text) for key, text in errors.items() if key.endswith(("-note", "-evidence"))
        ],
        progress=found,
        editable=can(Action.MANAGE_STANDARDS),
    ), (422 if errors else 200)


def _after(questionnaire: Questionnaire, section_id: str) -> str:
    ids = [s.id for s in questionnaire.sections]
    index = ids.index(section_id)
    if index + 1 < len(ids):
        return url_for("standards.answer_section", section_id=ids[index + 1])
    return url_for("standards.overview")


@bp.get("/files/<int:file_id>")
@requires(Action.VIEW_REQUESTS)
def download_file(file_id: int) -> ResponseReturnValue:
    found = standards.find_file(db.session, current_organisation(), file_id)
    if found is None:
        abort(404)
    return send_evidence(found)


@bp.route("/standard/<slug>", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def standard(slug: str) -> ResponseReturnValue:
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    try:
        chosen = found.standard(slug)
    except KeyError:
        abort(404)
    form = StandardPlanForm()
    if request.method == "GET":
        form.target_date.data = chosen.target_date
        form.next_review_date.data = chosen.next_review_date
    elif not can(Action.MANAGE_STANDARDS):
        refuse(Action.MANAGE_STANDARDS)
    elif form.validate_on_submit():
        standards.save_plan(
            db.session, organisation, current_actor(), chosen.name,
            form.target_date.data, form.next_review_date.data,
        )  # fmt: skip
        flash(f"{chosen.name}: plan saved", "success")
        return redirect(url_for("standards.standard", slug=slug))
    ids = {item.question.id for item in chosen.items}
    tasks = [
        t for t in raci.tasks(db.session, organisation, found.questionnaire) if t.question.id in ids
    ]
    return render_template(
        "standards/standard.html",
        standard=chosen,
        form=form,
        tasks=tasks,
        columns=raci.columns(tasks),
        names=raci.names(db.session, organisation),
        editable=can(Action.MANAGE_STANDARDS),
    ), (422 if form.errors else 200)


@bp.get("/raci")
@requires(Action.VIEW_REQUESTS)
def raci_chart() -> ResponseReturnValue:
    organisation = current_organisation()
    questionnaire = standards.questionnaire_of(db.session, organisation)
    tasks = raci.tasks(db.session, organisation, questionnaire)
    return render_template(
        "standards/raci.html",
        tasks=tasks,
        columns=raci.columns(tasks),
        names=raci.names(db.session, organisation),
        questionnaire=questionnaire,
        editable=can(Action.MANAGE_STANDARDS),
    )


@bp.route("/raci/<question_id>", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def edit_task(question_id: str) -> ResponseReturnValue:
    organisation = current_organisation()
    questionnaire = standards.questionnaire_of(db.session, organisation)
    task = next(
        (
            t
            for t in raci.tasks(db.session, organisation, questionnaire)
            if t.question.id == question_id
        ),
        None,
    )
    if task is None:
        abort(404)
    choices = raci.party_choices(db.session, organisation)
    known = {value for value, _ in choices}
    # Names the questionnaire suggested that are not on our list stay choosable.
    choices += [(p, p) for p in task.parties if p not in known]
    form = RaciForm()
    for field in (form.responsible, form.accountable, form.consulted, form.informed):
        field.choices = [SelectChoice(value, label) for value, label in choices]
    if request.method == "GET":
        form.responsible.data = list(task.responsible)
        form.accountable.data = task.accountable[0] if len(task.accountable) == 1 else ""
        form.consulted.data = list(task.consulted)
        form.informed.data = list(task.informed)
    elif not can(Action.MANAGE_STANDARDS):
        refuse(Action.MANAGE_STANDARDS)
    elif request.form.get("action") == "reset":
        raci.reset_task(db.session, organisation, current_actor(), task.question)
        flash("The suggested chart is back for this task", "success")
        return redirect(url_for("standards.raci_chart"))
    elif form.validate_on_submit():
        try:
            raci.set_task(
                db.session, organisation, current_actor(), task.question,
                form.responsible.data or [], form.accountable.data or "",
                form.consulted.data or [], form.informed.data or [],
                allowed={value for value, _ in choices},
            )  # fmt: skip
        except ServiceError as exc:
            form[exc.field or "responsible"].errors = [exc.message]
        else:
            flash("RACI saved", "success")
            return redirect(url_for("standards.raci_chart"))
    return render_template("standards/raci_edit.html", task=task, form=form, choices=choices), (
        422 if form.errors else 200
    )


@bp.get("/schools")
@requires(Action.VIEW_REQUESTS)
def trust_overview() -> ResponseReturnValue:
    """A trust's schools side by side (404 for anyone but a trust)."""
    organisation = current_organisation()
    schools = schools_of_trust(organisation)
    found = trust_overview_service.overview(db.session, schools)
    if found.unsaved:
        # Kept for the next view, once this one has answered (a reader
        # stays a reader: the store waits for no lock while the page is built).
        after_response(lambda session: school_summary.save(session, found.unsaved))
    return render_template(
        "standards/trust.html",
        organisation=organisation,
        found=found,
        shared=trust_overview_service.shared_page(found, page_number(request.args.get("page"))),
        shown=trust_overview_service.SHOWN,
    )


@bp.get("/timeline")
@requires(Action.VIEW_REQUESTS)
def timeline() -> ResponseReturnValue:
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    return render_template(
        "standards/timeline.html",
        entries=standards.timeline(db.session, organisation, found),
        unplanned=standards.without_target(found),
    )


@bp.get("/report")
@requires(Action.VIEW_REQUESTS)
def report() -> ResponseReturnValue:
    """One printable page for governors: progress, gaps and what is due."""
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    tasks = raci.tasks(db.session, organisation, found.questionnaire)
    return render_template(
        "standards/report.html",
        organisation=organisation,
        progress=found,
        entries=standards.timeline(db.session, organisation, found),
        unplanned=standards.without_target(found),
        gaps=[t for t in tasks if t.gaps],
        today=utcnow().date(),
    )


@bp.get("/report.pdf")
@export_limit
@requires(Action.VIEW_REQUESTS)
def governors_pack() -> ResponseReturnValue:
    """The governors' pack: standards, RACI gaps, supplier reviews, open DPIAs
    and expiring evidence, as one PDF. Drawn as a reader, then recorded."""
    organisation = current_organisation()
    pdf = governors_pack_pdf(pack.governors_pack(db.session, organisation))
    record_now(
        "export_downloaded", organisation=organisation, actor=current_actor(),
        what="governors_pack", format="pdf",
    )  # fmt: skip
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, max_age=0,
        download_name=exports.download_name(organisation.name, "governors pack", extension="pdf"),
    )  # fmt: skip


@bp.get("/raci.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def download_raci() -> ResponseReturnValue:
    organisation = current_organisation()
    tasks = raci.tasks(
        db.session, organisation, standards.questionnaire_of(db.session, organisation)
    )
    exports.record_download(db.session, current_actor(), organisation, "raci", "xlsx")
    chart = raci.chart(tasks, raci.names(db.session, organisation))
    return send_temporary(
        lambda handle: raci_workbook(handle, organisation.name, chart),
        exports.download_name(organisation.name, "RACI", extension="xlsx"),
        exports.XLSX,
    )


@bp.get("/timeline.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def download_timeline() -> ResponseReturnValue:
    organisation = current_organisation()
    found = standards.progress(db.session, organisation)
    entries = standards.due_rows(standards.timeline(db.session, organisation, found))
    rows = standards.standard_rows(found)
    exports.record_download(db.session, current_actor(), organisation, "timeline", "xlsx")
    return send_temporary(
        lambda handle: timeline_workbook(handle, organisation.name, rows, entries),
        exports.download_name(organisation.name, "standards timeline", extension="xlsx"),
        exports.XLSX,
    )
