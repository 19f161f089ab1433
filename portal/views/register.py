"""The school's supplier register: every supplier it uses, with contract,
data held, latest assessment and annual review."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..exports.supplier_register import supplier_register_workbook
from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import utcnow
from ..permissions import Action, can, ensure, register_entry, requires
from ..questionnaire.expiry import status_of
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform.paging import page_number
from ..services.school import evidence_watch
from ..services.school import register as supplier_register
from .downloads import send_temporary
from .forms import AddSupplierForm, RegisterDetailsForm

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers")


@bp.get("")
@requires(Action.VIEW_REQUESTS)
def register() -> ResponseReturnValue:
    organisation = current_organisation()
    page = supplier_register.register_page(
        db.session, organisation, page_number(request.args.get("page"))
    )
    today = utcnow().date()
    return render_template(
        "suppliers/register.html",
        page=page,
        expiries=evidence_watch.next_expiries(db.session, _request_ids(page.items)),
        today=today,
        expiry_status=lambda day: status_of(day, today),
    )


def _request_ids(found: list[supplier_register.RegisterEntry]) -> list[int]:
    return [e.latest.request_id for e in found if e.latest and e.latest.request_id]


@bp.get("/evidence")
@requires(Action.VIEW_REQUESTS)
def evidence() -> ResponseReturnValue:
    """Each supplier's evidence and when it runs out (issue 26)."""
    organisation = current_organisation()
    today = utcnow().date()
    show = request.args.get("show", "")
    return render_template(
        "suppliers/evidence.html",
        page=evidence_watch.lines_page(
            db.session,
            organisation,
            today,
            show if show in evidence_watch.SHOWN else None,
            page_number(request.args.get("page")),
        ),
        counts=evidence_watch.counts(db.session, organisation, today),
        show=show if show in evidence_watch.SHOWN else "",
        today=today,
    )


def register_details(form: RegisterDetailsForm) -> supplier_register.Details:
    return supplier_register.Details(
        category=form.category.data or None,
        contract_start=form.contract_start.data,
        contract_end=form.contract_end.data,
        data_held=form.data_held.data or "",
        notes=form.notes.data or "",
        next_review_date=form.next_review_date.data,
    )


@bp.route("/add", methods=["GET", "POST"])
@requires(Action.MANAGE_STANDARDS)
def add() -> ResponseReturnValue:
    form = AddSupplierForm()
    if form.validate_on_submit():
        organisation = current_organisation()
        try:
            supplier = supplier_register.supplier_named(db.session, form.supplier_name.data or "")
            supplier_register.save_details(
                db.session, organisation, current_actor(), supplier, register_details(form)
            )
        except ServiceError as exc:
            form[exc.field or "supplier_name"].errors = [exc.message]
        else:
            flash(f"{supplier.name} added to the register", "success")
            return redirect(url_for("suppliers.register"))
    return render_template("suppliers/edit.html", form=form, supplier=None, entry=None), (
        422 if form.errors else 200
    )


def _entry_of(supplier_id: int) -> supplier_register.RegisterEntry:
    entry: supplier_register.RegisterEntry = register_entry(supplier_id, current_organisation())
    return entry


@bp.route("/<int:supplier_id>", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def edit(supplier_id: int) -> ResponseReturnValue:
    entry = _entry_of(supplier_id)
    form = RegisterDetailsForm()
    if request.method == "GET" and entry.use is not None:
        use = entry.use
        form.category.data = use.category or ""
        form.contract_start.data = use.contract_start
        form.contract_end.data = use.contract_end
        form.data_held.data = use.data_held or ""
        form.notes.data = use.notes or ""
        form.next_review_date.data = use.next_review_date
    if request.method == "POST":
        ensure(Action.MANAGE_STANDARDS)
        if form.validate_on_submit():
            try:
                supplier_register.save_details(
                    db.session, current_organisation(), current_actor(), entry.supplier,
                    register_details(form),
                )  # fmt: skip
            except ServiceError as exc:
                form[exc.field or "category"].errors = [exc.message]
            else:
                flash(f"{entry.supplier.name}: saved", "success")
                return redirect(url_for("suppliers.register"))
    return render_template(
        "suppliers/edit.html",
        form=form,
        supplier=entry.supplier,
        entry=entry,
        editable=can(Action.MANAGE_STANDARDS),
    ), (422 if form.errors else 200)


@bp.post("/<int:supplier_id>/reviewed")
@requires(Action.MANAGE_STANDARDS)
def reviewed(supplier_id: int) -> ResponseReturnValue:
    entry = _entry_of(supplier_id)
    use = supplier_register.record_review(
        db.session, current_organisation(), current_actor(), entry.supplier
    )
    flash(
        f"{entry.supplier.name}: annual review recorded; the next is due by "
        f"{use.next_review_date:%-d %B %Y}",
        "success",
    )
    return redirect(url_for("suppliers.register"))


@bp.get("/register.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def download() -> ResponseReturnValue:
    organisation = current_organisation()
    entries = supplier_register.entries(db.session, organisation)
    found = supplier_register.sheet_rows(
        entries, evidence_watch.next_expiries(db.session, _request_ids(entries))
    )
    exports.record_download(db.session, current_actor(), organisation, "suppliers", "xlsx")
    return send_temporary(
        lambda handle: supplier_register_workbook(handle, organisation.name, found),
        exports.download_name(organisation.name, "suppliers", extension="xlsx"),
        exports.XLSX,
    )
