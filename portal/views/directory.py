"""The directory for schools: search, an entry against our own requirements,
adopt it or ask the supplier afresh, and the directory workbook."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..exports.directory import directory_workbook
from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import EntryStatus, utcnow
from ..permissions import Action, can, requires, visible_entry
from ..questionnaire import logic
from ..services.directory import adoption as directory_adoption
from ..services.directory import curation as directory
from ..services.directory import entry_evidence
from ..services.directory import search as directory_search
from ..services.downloads import contents as exports
from ..services.downloads import directory as directory_export
from ..services.errors import ServiceError
from ..services.platform import questionnaire_registry as questionnaires
from ..services.platform.paging import page_number
from .downloads import send_temporary

bp = Blueprint("directory", __name__, url_prefix="/directory")


@bp.get("/")
@requires(Action.VIEW_REQUESTS)
def search() -> ResponseReturnValue:
    criteria = directory_search.Search(
        text=request.args.get("q", ""),
        category=request.args.get("category", ""),
        rating=request.args.get("rating", ""),
        questionnaire=request.args.get("questionnaire", ""),
        freshness=request.args.get("freshness", ""),
    )
    organisation = current_organisation()
    return render_template(
        "directory/search.html",
        criteria=criteria,
        results=directory_search.search_page(
            db.session, criteria, page_number(request.args.get("page"))
        ),
        adopted=directory_adoption.adoptions(db.session, organisation),
        categories=directory.CATEGORY_LABELS,
        questionnaires=[
            q
            for q in questionnaires.current_definitions(db.session)
            if not q.answered_by_staff and q.triage is None
        ],
        today=utcnow().date(),
        searched=any(
            request.args.get(k) for k in ("q", "category", "rating", "questionnaire", "freshness")
        ),
    )


@bp.get("/<int:entry_id>")
@requires(Action.VIEW_REQUESTS)
def entry(entry_id: int) -> ResponseReturnValue:
    organisation = current_organisation()
    found = visible_entry(entry_id, organisation)
    today = utcnow().date()
    comparison = directory_search.comparison_for_school(db.session, found, organisation, today)
    questionnaire = questionnaires.definition_for(found.questionnaire_version)
    return render_template(
        "directory/entry.html",
        entry=found,
        evidence_expired_on=entry_evidence.expired_on(found, today),
        evidence=[
            d for d in entry_evidence.dated_questions(questionnaire, found, today) if d.expires_on
        ],
        comparison=comparison,
        findings=comparison.gaps_first(),
        questionnaire=questionnaire,
        entry_shown=logic.visibility(questionnaire, found.answers),
        adoption=directory_adoption.adoption_of(db.session, found, organisation),
        history=directory.history(db.session, found),
        overdue=directory.review_overdue(found),
        categories=directory.CATEGORY_LABELS,
        status_labels_entry=directory.ENTRY_STATUS_LABELS,
    )


@bp.post("/<int:entry_id>/adopt")
@requires(Action.ADOPT_ENTRIES)
def adopt(entry_id: int) -> ResponseReturnValue:
    organisation = current_organisation()
    found = visible_entry(entry_id, organisation)
    try:
        directory_adoption.adopt(db.session, current_actor(), organisation, found)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"{found.supplier.name} ({found.product}) is in your supplier register, "
            "with this directory entry as its assessment",
            "success",
        )
    return redirect(url_for("directory.entry", entry_id=found.id))


@bp.get("/<int:entry_id>/fresh")
@requires(Action.SEND_REQUESTS)
def fresh_request(entry_id: int) -> ResponseReturnValue:
    found = visible_entry(entry_id, current_organisation())
    return redirect(
        f"{url_for('school.new_request')}?{urlencode(directory_adoption.fresh_request_defaults(found))}"
    )


@bp.get("/export.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def export() -> ResponseReturnValue:
    """Published entries for schools; every state for the curator."""
    curator = can(Action.CURATE)
    statuses: set[str] = set(EntryStatus) if curator else {EntryStatus.PUBLISHED}
    exports.record_download(
        db.session, current_actor(), current_organisation(), "directory", "xlsx"
    )
    return send_temporary(
        lambda handle: directory_workbook(
            handle, directory_export.export_blocks(db.session, statuses)
        ),
        exports.download_name("Due-diligence directory", extension="xlsx"),
        exports.XLSX,
    )
