"""Staff API: a school's own records. Its DfE standards (status, items,
evidence names, target and review dates; answer items, set the plan), its
RACI chart (read; set a task), and its supplier register (read, add a
supplier, change its details, record the annual review). The pages' forms
and services check every change."""

from __future__ import annotations

from flask import abort, request
from flask.typing import ResponseReturnValue

from ...errors import problem
from ...extensions import db, keep_changes
from ...models import Organisation
from ...permissions import Action, api_caller, register_entry
from ...questionnaire import Question
from ...questionnaire.forms import SelectChoice, sections_holding
from ...services.errors import ServiceError
from ...services.requests import evidence
from ...services.school import dpia as dpias
from ...services.school import raci, standards
from ...services.school import register as supplier_register
from ..downloads import send_evidence
from ..forms import AddSupplierForm, RaciForm, RegisterDetailsForm, StandardPlanForm
from ..register import register_details
from . import bp
from . import records_schemas as r
from .common import (
    fill_form,
    form_problem,
    json_body,
    make_cursor,
    model_body,
    page_args,
    raise_problem,
    reply,
    service_problem,
    unknown_ids,
)


@bp.errorhandler(standards.NotInstalled)
@bp.errorhandler(dpias.NotInstalled)
def _not_installed(exc: ServiceError) -> ResponseReturnValue:
    """The pages say so on a page of their own; the API answers a problem."""
    return problem(409, exc.message, kind="refused")


def _standard(organisation: Organisation, slug: str) -> r.StandardDetail:
    found = standards.progress(db.session, organisation)
    try:
        chosen = found.standard(slug)
    except KeyError:
        abort(404)
    ids = {item.question.id for item in chosen.items}
    names = raci.names(db.session, organisation)
    tasks = raci.tasks(db.session, organisation, found.questionnaire)
    return r.StandardDetail(
        **r.Standard.of(chosen).model_dump(),
        questions=[r.StandardItem.of(item) for item in chosen.items],
        raci=[r.Task.of(t, names) for t in tasks if t.question.id in ids],
    )


@bp.get("/standards")
def list_standards() -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    found = standards.progress(db.session, caller.organisation)
    return reply(
        r.StandardList(
            questionnaire=found.questionnaire.key,
            version=found.questionnaire.version,
            items=[r.Standard.of(s) for s in found.standards],
        )
    )


@bp.get("/standards/<slug>")
def get_standard(slug: str) -> ResponseReturnValue:
    return reply(_standard(api_caller(Action.VIEW_REQUESTS).organisation, slug))


@bp.put("/standards/<slug>/plan")
def plan_standard(slug: str) -> ResponseReturnValue:
    """The standard's target date and next review date (null clears one)."""
    caller = api_caller(Action.MANAGE_STANDARDS)
    found = standards.progress(db.session, caller.organisation)
    try:
        chosen = found.standard(slug)
    except KeyError:
        abort(404)
    form = fill_form(StandardPlanForm, json_body())
    if not form.validate():
        form_problem(form)
    standards.save_plan(
        db.session, caller.organisation, caller.actor, chosen.name,
        form.target_date.data, form.next_review_date.data,
    )  # fmt: skip
    return reply(_standard(caller.organisation, slug))


@bp.patch("/standards/answers")
def change_standard_answers() -> ResponseReturnValue:
    """Change self-assessment answers and notes, each checked as the pages
    check it; valid ones are saved beside those refused (422, by question id).
    Evidence files stay as they are (upload them on the page)."""
    caller = api_caller(Action.MANAGE_STANDARDS)
    body: r.StandardAnswersBody = model_body(r.StandardAnswersBody)
    questionnaire = standards.questionnaire_of(db.session, caller.organisation)
    unknown = sections_holding(questionnaire, [*body.answers, *body.notes])[1]
    if unknown:
        unknown_ids(unknown, "item of the standards")
    errors = standards.save_answers(
        db.session, caller.organisation, caller.actor, body.answers, body.notes
    )
    if errors:
        keep_changes()  # what was valid stays saved beside what was not
        raise_problem(422, "Some answers were not saved: see errors", kind="validation",
                      errors={k: [m] for k, m in errors.items()})  # fmt: skip
    fresh = standards.progress(db.session, caller.organisation)
    return reply(
        r.StandardList(
            questionnaire=fresh.questionnaire.key,
            version=fresh.questionnaire.version,
            items=[r.Standard.of(s) for s in fresh.standards],
        )
    )


def _item_question(organisation: Organisation, question_id: str) -> Question:
    questionnaire = standards.questionnaire_of(db.session, organisation)
    for section in questionnaire.sections:
        for question in section.answerable:
            if question.id == question_id:
                return question
    abort(404)


@bp.post("/standards/evidence/<question_id>")
def upload_standard_evidence(question_id: str) -> ResponseReturnValue:
    """Evidence files (multipart field ``file``, one or more) added to an
    item, checked as the page checks them; nothing is stored if one fails."""
    caller = api_caller(Action.MANAGE_STANDARDS)
    question = _item_question(caller.organisation, question_id)
    try:
        standards.add_evidence(
            db.session, caller.organisation, caller.actor, question, request.files.getlist("file")
        )
    except evidence.UploadError as exc:
        service_problem(exc.message, "file")
    assessment = standards.find_assessment(db.session, caller.organisation)
    files = standards.stored_files(db.session, assessment).get(question_id, [])
    return reply(
        r.StandardEvidence(
            question_id=question_id,
            files=[r.EvidenceName(id=f.id, filename=f.filename) for f in files],
        ),
        201,
    )


@bp.get("/standards/evidence/files/<int:file_id>")
def download_standard_evidence(file_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    found = standards.find_file(db.session, caller.organisation, file_id)
    if found is None:
        abort(404)
    return send_evidence(found)


@bp.delete("/standards/evidence/files/<int:file_id>")
def remove_standard_evidence(file_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_STANDARDS)
    found = standards.find_file(db.session, caller.organisation, file_id)
    if found is None:
        abort(404)
    standards.remove_evidence(db.session, caller.organisation, caller.actor, found)
    return "", 204


# --- RACI ------------------------------------------------------------------------


@bp.get("/raci")
def get_raci() -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    organisation = caller.organisation
    questionnaire = standards.questionnaire_of(db.session, organisation)
    names = raci.names(db.session, organisation)
    return reply(
        r.Raci(
            tasks=[
                r.Task.of(t, names) for t in raci.tasks(db.session, organisation, questionnaire)
            ],
            parties=[
                r.Party(value=v, name=n) for v, n in raci.party_choices(db.session, organisation)
            ],
        )
    )


@bp.put("/raci/<question_id>")
def set_raci_task(question_id: str) -> ResponseReturnValue:
    """One task's whole chart: exactly one accountable, at least one responsible."""
    caller = api_caller(Action.MANAGE_STANDARDS)
    organisation = caller.organisation
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
    choices += [(p, p) for p in task.parties if p not in {v for v, _ in choices}]
    form = fill_form(RaciForm, json_body())
    for field in (form.responsible, form.accountable, form.consulted, form.informed):
        field.choices = [SelectChoice(value, label) for value, label in choices]
    if not form.validate():
        form_problem(form)
    try:
        raci.set_task(
            db.session, organisation, caller.actor, task.question,
            form.responsible.data or [], form.accountable.data or "",
            form.consulted.data or [], form.informed.data or [],
            allowed={value for value, _ in choices},
        )  # fmt: skip
    except ServiceError as exc:
        service_problem(exc.message, exc.field or "responsible")
    names = raci.names(db.session, organisation)
    changed = next(
        t
        for t in raci.tasks(db.session, organisation, questionnaire)
        if t.question.id == question_id
    )
    return reply(r.Task.of(changed, names))


# --- The supplier register -------------------------------------------------------------


@bp.get("/register")
def list_register() -> ResponseReturnValue:
    """The register by supplier name, a page at a time."""
    caller = api_caller(Action.VIEW_REQUESTS)
    offset, limit = page_args()
    if (offset or 0) % limit:
        service_problem("cursor is not one this API gave out", "cursor", 400)
    number = (offset or 0) // limit + 1
    page = supplier_register.register_page(db.session, caller.organisation, number, size=limit)
    return reply(
        r.RegisterPage(
            items=[r.RegisterEntry.of(e) for e in page.items],
            total=page.total,
            next_cursor=make_cursor(number * limit) if page.has_next else None,
        )
    )


def _entry(organisation: Organisation, supplier_id: int) -> r.RegisterEntry:
    return r.RegisterEntry.of(register_entry(supplier_id, organisation))


@bp.post("/register")
def add_to_register() -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_STANDARDS)
    form = fill_form(AddSupplierForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        supplier = supplier_register.supplier_named(db.session, form.supplier_name.data or "")
        supplier_register.save_details(
            db.session, caller.organisation, caller.actor, supplier, register_details(form)
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field or "supplier_name")
    return reply(_entry(caller.organisation, supplier.id), 201)


@bp.put("/register/<int:supplier_id>")
def change_register_entry(supplier_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_STANDARDS)
    entry = register_entry(supplier_id, caller.organisation)
    form = fill_form(RegisterDetailsForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        supplier_register.save_details(
            db.session, caller.organisation, caller.actor, entry.supplier, register_details(form)
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field or "category")
    return reply(_entry(caller.organisation, supplier_id))


@bp.post("/register/<int:supplier_id>/review")
def record_supplier_review(supplier_id: int) -> ResponseReturnValue:
    """The annual review is done today: the next is due in a year."""
    caller = api_caller(Action.MANAGE_STANDARDS)
    entry = register_entry(supplier_id, caller.organisation)
    supplier_register.record_review(db.session, caller.organisation, caller.actor, entry.supplier)
    return reply(_entry(caller.organisation, supplier_id))
