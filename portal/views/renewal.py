"""Renewed evidence, through the link of a renewal ask (issue 26): the
supplier's contact uploads the renewed documents, and nothing else of the
request opens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db, limiter, reads_first, start_writing
from ..identity.supplier_grants import grant_renewal, granted_renewal
from ..models import EvidenceRenewal, utcnow
from ..request_audit import record_now
from ..services.platform.audit import SUPPLIER_ACTOR
from ..services.requests import lifecycle, renewals
from .supplier import private_headers

bp = Blueprint("renewal", __name__, url_prefix="/renew")


# Another organisation's evidence: never cached, indexed or announced, as on
# every supplier page.
bp.after_request(private_headers)


@bp.get("/link/<token>")
@limiter.limit(lambda: str(current_app.config["TOKEN_RATE_LIMIT"]))
def open_link(token: str) -> ResponseReturnValue:
    """Trade the token for a grant to this renewal, then leave it out of the URL."""
    found = renewals.by_token(db.session, token)
    if found is None:
        return render_template("supplier/link_unusable.html", school=None), 404
    grant_renewal(found)
    record_now(
        "renewal_link_opened",
        organisation=found.request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=found.request,
    )
    return redirect(url_for("renewal.renew", reference=found.request.reference), 303)


@bp.route("/<reference>", methods=["GET", "POST"])
@reads_first
def renew(reference: str) -> ResponseReturnValue:
    renewal = granted_renewal(reference)
    items = renewals.open_items(db.session, renewal)
    form_class = renewals.form_class(renewal, items)
    today = utcnow().date()
    if request.method == "GET":
        return _page(renewal, items, form_class())
    form = form_class(request.form)
    files = {name: request.files.getlist(name) for name in request.files}
    if start_writing(db.session):
        renewal = granted_renewal(reference)  # read again as a writer
    lifecycle.lock(db.session, renewal.request)
    outcome = renewals.renew(db.session, renewal, form, files, today)
    if outcome.done:
        return redirect(url_for("renewal.done", reference=reference), 303)
    for name, message in outcome.problems.items():
        if name in form:
            form[name].errors = [message]
    return _page(renewal, items, form, outcome.problems), 422


def _page(renewal: EvidenceRenewal, items: list[renewals.Item], form: Any,
          problems: dict[str, str] | None = None) -> str:  # fmt: skip
    problems = problems or {}
    return render_template(
        "supplier/renewal.html",
        row=renewal.request,
        renewal=renewal,
        items=items,
        form=form,
        problems=problems,
        # An evidence box beside an answer is not a field of the form: its
        # message is listed apart.
        extra_errors=[(name, message) for name, message in problems.items() if name not in form],
        today=utcnow().date(),
    )


@bp.get("/<reference>/done")
def done(reference: str) -> ResponseReturnValue:
    """After the renewed evidence is in: the grant has ended with the renewal."""
    return render_template("supplier/renewal_done.html", reference=reference)
