"""The curator's directory workspace: the queue, drafts, publishing, versions."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db, reads_first, start_writing
from ..identity.staff_sessions import current_actor
from ..models import DirectoryEntry, EntryStatus, utcnow
from ..permissions import Action, consented_submission, curated_entry, requires
from ..questionnaire import logic
from ..questionnaire.forms import SelectChoice, build_section_form, form_data
from ..services.directory import curation as directory
from ..services.directory import entry_evidence, entry_workbooks
from ..services.downloads.contents import XLSX
from ..services.errors import ServiceError
from ..services.platform import questionnaire_registry as questionnaires
from ..services.platform.paging import page_number
from ..services.requests import answering as responses
from .forms import AuthoredEntryForm, EntryForm, EvidenceExpiryForm, WithdrawForm

bp = Blueprint("curator", __name__, url_prefix="/curate")


def entry_details(form: EntryForm) -> directory.EntryDetails:
    return directory.EntryDetails(
        product=form.product.data or "",
        category=form.category.data or "",
        summary=form.summary.data or "",
        rating=form.rating.data or "",
        conditions=form.conditions.data or "",
        review_due=form.review_due.data,
        sources=form.sources.data or "",
    )


def _entry_url(entry: DirectoryEntry) -> str:
    return url_for("curator.entry", entry_id=entry.id)


@bp.get("/")
@requires(Action.CURATE)
def workspace() -> ResponseReturnValue:
    return render_template(
        "curator/workspace.html",
        found=directory.workspace(
            db.session, request.args.get("list", ""), page_number(request.args.get("page"))
        ),
        lists=directory.WORKSPACE_LISTS,
        categories=directory.CATEGORY_LABELS,
    )


@bp.route("/submissions/<int:request_id>", methods=["GET", "POST"])
@requires(Action.CURATE)
def submission(request_id: int) -> ResponseReturnValue:
    """A consented submission's answers, and a draft entry made from them."""
    row = consented_submission(request_id)
    listings = directory.listings_for(db.session, row.supplier_id, row.questionnaire_version.key)
    form = EntryForm()
    if request.method == "GET":
        form.product.data = row.supplier.name
    if form.validate_on_submit():
        listing_id = request.form.get("listing", type=int)
        listing = next((e for e in listings if e.id == listing_id), None)
        try:
            entry = directory.draft_from_submission(
                db.session, current_actor(), row, entry_details(form), listing
            )
        except ServiceError as exc:
            form[exc.field if exc.field in form else "product"].errors = [exc.message]
        else:
            flash("Draft entry created: check it, then publish it", "success")
            return redirect(_entry_url(entry))
    return render_template(
        "curator/submission.html",
        row=row,
        sheet=responses.answer_sheet(db.session, row, shared_only=True),
        form=form,
        listings=listings,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Action.CURATE)
def new_authored() -> ResponseReturnValue:
    """An assessment the curator fills in from a supplier's public documents."""
    form = AuthoredEntryForm()
    form.questionnaire.choices = [
        SelectChoice(q.key, q.title)
        for q in questionnaires.offered_definitions(db.session)
        if q.audience in ("cloud", "it_support")
    ]
    if form.validate_on_submit():
        try:
            entry = directory.draft_authored(
                db.session,
                current_actor(),
                form.supplier_name.data or "",
                form.questionnaire.data or "",
                entry_details(form),
            )
        except ServiceError as exc:
            form[exc.field if exc.field in form else "product"].errors = [exc.message]
        else:
            flash("Draft entry created: now answer the questionnaire from the documents", "success")
            return redirect(_entry_url(entry))
    return render_template("curator/new.html", form=form)


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@requires(Action.CURATE)
def entry(entry_id: int) -> ResponseReturnValue:
    found = curated_entry(entry_id)
    form = EntryForm(obj=found if request.method == "GET" else None)
    if request.method == "GET":
        form.rating.data = found.rating
        form.review_due.process_data(found.review_due)
    if form.validate_on_submit():
        try:
            directory.update_details(db.session, current_actor(), found, entry_details(form))
        except ServiceError as exc:
            form[exc.field if exc.field in form else "product"].errors = [exc.message]
        else:
            flash("Saved", "success")
            return redirect(_entry_url(found))
    questionnaire = questionnaires.definition_for(found.questionnaire_version)
    today = utcnow().date()
    return render_template(
        "curator/entry.html",
        entry=found,
        form=form,
        withdraw_form=WithdrawForm(),
        evidence=entry_evidence.dated_questions(questionnaire, found, today),
        evidence_expired_on=entry_evidence.expired_on(found, today),
        questionnaire=questionnaire,
        shown=logic.visibility(questionnaire, found.answers),
        history=directory.history(db.session, found, include_drafts=True),
        overdue=directory.review_overdue(found),
        categories=directory.CATEGORY_LABELS,
        status_labels_entry=directory.ENTRY_STATUS_LABELS,
    )


@bp.post("/entries/<int:entry_id>/evidence-expiry")
@requires(Action.CURATE)
def date_evidence(entry_id: int) -> ResponseReturnValue:
    """Set or correct when one question's evidence runs out, on a draft."""
    found = curated_entry(entry_id)
    if found.status != EntryStatus.DRAFT:
        abort(404)
    form = EvidenceExpiryForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
    else:
        try:
            directory.date_evidence(
                db.session,
                current_actor(),
                found,
                form.question.data or "",
                form.expires.data,
                utcnow().date(),
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash("Evidence date saved", "success")
    return redirect(f"{_entry_url(found)}#evidence-expiry")


@bp.route("/entries/<int:entry_id>/sections/<section_id>", methods=["GET", "POST"])
@requires(Action.CURATE)
def section(entry_id: int, section_id: str) -> ResponseReturnValue:
    """Answer one section of a draft, from the supplier's public documents."""
    found = curated_entry(entry_id)
    if found.status != EntryStatus.DRAFT:
        abort(404)
    questionnaire = questionnaires.definition_for(found.questionnaire_version)
    try:
        part = questionnaire.section(section_id)
    except KeyError:
        abort(404)
    form_class = build_section_form(questionnaire, part)
    form = (
        form_class(request.form)
        if request.method == "POST"
        else form_class(data=form_data(part, found.answers))
    )
    if request.method == "POST":
        before = logic.visibility(questionnaire, found.answers)
        try:
            saved = directory.save_section(db.session, current_actor(), found, form)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            if not saved.errors:
                after = logic.visibility(questionnaire, found.answers)
                revealed = [q for q in part.answerable if after.get(q.id) and not before.get(q.id)]
                if revealed:
                    # The answers just given call for more in this section: stay.
                    flash(
                        f"{part.title}: saved. Your answers call for the questions now shown",
                        "success",
                    )
                    return redirect(
                        url_for("curator.section", entry_id=found.id, section_id=part.id)
                    )
                flash(f"{part.title}: saved", "success")
                return redirect(_entry_url(found))
    form.add_blank_rows()
    return render_template(
        "curator/section.html",
        entry=found,
        questionnaire=questionnaire,
        section=part,
        form=form,
        shown=logic.visibility(questionnaire, {**found.answers, **form.answers()}),
    )


@bp.post("/entries/<int:entry_id>/<any(publish, withdraw, 'new-version', delete):action>")
@requires(Action.CURATE)
def change_state(entry_id: int, action: str) -> ResponseReturnValue:
    found = curated_entry(entry_id)
    actor = current_actor()
    try:
        if action == "publish":
            directory.publish(db.session, actor, found)
            flash("Published: schools can find and adopt it", "success")
        elif action == "withdraw":
            form = WithdrawForm()
            directory.withdraw(db.session, actor, found, form.reason.data or "")
            flash("Withdrawn: schools no longer find it", "success")
        elif action == "new-version":
            draft = directory.new_version(db.session, actor, found)
            flash("A new draft version: refresh its answers and publish it", "success")
            return redirect(_entry_url(draft))
        else:
            directory.discard_draft(db.session, actor, found)
            flash("Draft deleted", "success")
            return redirect(url_for("curator.workspace"))
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(_entry_url(found))


@bp.get("/entries/<int:entry_id>/answers.xlsx")
@requires(Action.CURATE)
def entry_workbook(entry_id: int) -> ResponseReturnValue:
    """A draft's questions and answers so far, to answer in a spreadsheet."""
    found = curated_entry(entry_id)
    if found.status != EntryStatus.DRAFT:
        abort(404)
    return send_file(
        io.BytesIO(entry_workbooks.workbook(found)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"directory-entry-{found.id}.xlsx",
        max_age=0,
    )


@bp.post("/entries/<int:entry_id>/answers/upload")
@reads_first
@requires(Action.CURATE)
def upload_entry_answers(entry_id: int) -> ResponseReturnValue:
    found = curated_entry(entry_id)
    if found.status != EntryStatus.DRAFT:
        abort(404)
    sent = request.files.get("workbook")
    if sent is None or not sent.filename:
        flash("Choose the workbook to upload", "error")
        return redirect(_entry_url(found))
    try:
        cells = entry_workbooks.read(sent.read())
        if start_writing(db.session):  # read again as a writer: it may have changed
            found = curated_entry(entry_id)
            if found.status != EntryStatus.DRAFT:
                abort(404)
        report = entry_workbooks.apply(db.session, current_actor(), found, cells)
    except ServiceError as exc:
        flash(f"Nothing was saved: {exc.message}", "error")
        return redirect(_entry_url(found))
    return render_template("curator/entry_upload.html", entry=found, report=report)
