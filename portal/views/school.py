"""School (and curator) staff: requests, their answers and history, and users."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ..extensions import db, export_limit, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation, switch_organisation
from ..input_hygiene import valid_id
from ..models import ANSWERED_STATUSES, ApiKey, Request, RequestStatus, utcnow
from ..permissions import (
    Action,
    authenticator_resettable,
    ensure_may_reset_authenticator,
    get_for_org,
    invitation_for_org,
    request_on_behalf,
    requires,
    trust_person_of,
)
from ..questionnaire.forms import SelectChoice
from ..services.accounts import api_keys, mfa
from ..services.accounts import sso as accounts_sso
from ..services.accounts import users as accounts
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform import audit, mail
from ..services.platform import questionnaire_registry as questionnaires
from ..services.platform.paging import page_number
from ..services.requests import answering as responses
from ..services.requests import clarifications, colleagues, evidence, evidence_life, renewals
from ..services.requests import lifecycle as requests
from ..services.requirements import ratings
from ..services.review.dashboard import REVIEW_WARNING_DAYS, summarise
from ..services.review.timeline import describe
from ..services.school import dpia, evidence_watch, feedback, trust_overview
from ..services.school import register as supplier_register
from ..templating import format_date
from .auth import safe_next
from .downloads import send_evidence
from .forms import ApiKeyForm, InviteUserForm, NewRequestForm

bp = Blueprint("school", __name__)
AUDIT_PAGE = 100


@bp.get("/")
@requires(Action.VIEW_REQUESTS)
def dashboard() -> ResponseReturnValue:
    organisation = current_organisation()
    criteria = request_filter()
    return render_template(
        "school/requests_list.html",
        organisation=organisation,
        page=requests.requests_page(
            db.session, organisation, criteria, page_number(request.args.get("page"))
        ),
        criteria=criteria,
        questionnaires=questionnaires.for_suppliers(db.session),
        summary=summarise(db.session, organisation),
        review_due=supplier_register.due_for_review(
            supplier_register.entries(db.session, organisation),
            utcnow().date(),
            REVIEW_WARNING_DAYS,
        ),
        today=utcnow().date(),
        evidence_counts=evidence_watch.counts(db.session, organisation, utcnow().date()),
    )


def request_filter() -> requests.RequestFilter:
    """The home page's filters from its address; a value no list offers
    (edited by hand) filters nothing rather than failing."""
    status = request.args.get("status", "")
    return requests.RequestFilter(
        status=status if status in RequestStatus.__members__.values() else None,
        supplier=request.args.get("supplier", "").strip()[:200] or None,
        questionnaire=request.args.get("questionnaire", "").strip()[:64] or None,
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@requires(Action.SEND_REQUESTS)
def new_request() -> ResponseReturnValue:
    form = NewRequestForm()
    if request.method == "GET":
        # Prefilled from a directory entry's "request a fresh assessment".
        form.supplier_name.data = request.args.get("supplier_name", "")[:200]
        form.questionnaire.data = request.args.get("questionnaire")
        form.message.data = request.args.get("message", "")[:2000]
    form.questionnaire.choices = [
        SelectChoice(q.key, f"{q.title} ({q.question_count} questions)")
        for q in questionnaires.for_suppliers(db.session)
    ]
    schools = trust_overview.trust_schools(db.session, current_organisation())
    form.on_behalf_of.choices = [SelectChoice(str(s.id), s.name) for s in schools]
    if form.validate_on_submit():
        details = requests.NewRequest(
            supplier_name=form.supplier_name.data or "",
            contact_name=form.contact_name.data or "",
            contact_email=form.contact_email.data or "",
            questionnaire_key=form.questionnaire.data or "",
            due_date=form.due_date.data,
            message=form.message.data or "",
            link_days=form.link_days.data,
            on_behalf_of=tuple(
                number
                for v in form.on_behalf_of.data or []
                if v.isdecimal() and (number := valid_id(int(v))) is not None
            ),
        )
        try:
            issued = requests.create_request(
                db.session, current_organisation(), current_actor(), details
            )
        except ServiceError as exc:
            form[exc.field or "supplier_name"].errors = [exc.message]
        else:
            return show_new_request(issued)
    return render_template("school/request_new.html", form=form)


def show_new_request(issued: requests.IssuedLink) -> ResponseReturnValue:
    """Go to a request just sent, which shows its supplier link this once."""
    flash(f"Request {issued.request.reference} sent to {issued.request.contact_email}", "success")
    # Shown once on the next page so the sender can copy it; we keep only its hash.
    session["issued_link"] = {"request_id": issued.request.id, "url": issued.url}
    return redirect(url_for("school.view_request", request_id=issued.request.id))


@bp.get("/requests/<int:request_id>")
@requires(Action.VIEW_REQUESTS)
def view_request(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    issued = session.pop("issued_link", None)
    answered = row.status in ANSWERED_STATUSES
    comparison = ratings.comparison_for(db.session, row) if answered else None
    only = set(request.args.getlist("only"))
    return render_template(
        "school/request_view.html",
        row=row,
        comparison=comparison,
        finding_groups=comparison.reading_order("gaps" in only, "critical" in only)
        if comparison
        else [],
        only=only,
        judged=request.args.get("judged", ""),
        follow_ups=requests.follow_ups(db.session, row),
        issued_url=issued["url"] if issued and issued.get("request_id") == row.id else None,
        sheet=responses.answer_sheet(db.session, row, confirmed_only=True),
        history=audit.request_history(db.session, row),
        rounds=clarifications.rounds(db.session, row),
        link_live=requests.link_is_live(row),
        outbox=mail.emails_for_request(db.session, row),
        feedback_share=feedback.latest_share(db.session, row.organisation, row),
        dpias=dpia.for_request(db.session, row),
        high_risk=answered and dpia.screened_high(db.session, row),
        colleagues=colleagues.of_request(db.session, row),
        tracked_evidence=_tracked(row) if answered else {},
    )


def _tracked(row: Request) -> dict[str, evidence_life.Tracked]:
    """The request's evidence whose expiry the school follows, by question."""
    return {t.question.id: t for t in evidence_life.tracked(db.session, row, utcnow().date())}


@bp.post("/requests/<int:request_id>/evidence/<question_id>/accept")
@requires(Action.REVIEW_REQUESTS)
def accept_evidence_without_dates(request_id: int, question_id: str) -> ResponseReturnValue:
    """The school accepts evidence whose dates the supplier will not give, saying why."""
    row = get_for_org(Request, request_id, current_organisation())
    try:
        evidence_life.accept_without_dates(
            db.session, row, question_id, current_actor(), request.form.get("reason", "")
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("Accepted without an expiry date; your reason is on the timeline", "success")
    return redirect(url_for("school.view_request", request_id=row.id, _anchor="evidence"))


@bp.post("/requests/<int:request_id>/evidence/renew")
@requires(Action.SEND_REQUESTS)
def ask_for_renewed_evidence(request_id: int) -> ResponseReturnValue:
    """The school asks the supplier for renewed evidence now (the daily job
    asks by itself 30 days before an expiry and once it has passed)."""
    row = get_for_org(Request, request_id, current_organisation())
    try:
        renewals.ask(
            db.session,
            row,
            request.form.getlist("question"),
            "school",
            utcnow().date(),
            current_actor(),
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Asked {row.contact_email} for the renewed evidence", "success")
    return redirect(url_for("school.view_request", request_id=row.id, _anchor="evidence"))


@bp.post("/requests/<int:request_id>/colleagues/<int:colleague_id>/revoke")
@requires(Action.SEND_REQUESTS)
def revoke_colleague(request_id: int, colleague_id: int) -> ResponseReturnValue:
    """The school takes back a link the supplier's contact gave a colleague."""
    row = get_for_org(Request, request_id, current_organisation())
    try:
        found = colleagues.revoke(db.session, row, colleague_id, current_actor().name)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{found.name}'s link no longer works", "success")
    return redirect(url_for("school.view_request", request_id=row.id, _anchor="colleagues"))


@bp.get("/requests/on-behalf/<int:request_id>")
@requires(Action.VIEW_REQUESTS)
def request_on_behalf_view(request_id: int) -> ResponseReturnValue:
    """A request the school's trust made for it: the answers against the
    school's own requirements, and the trust's decision (read only)."""
    organisation = current_organisation()
    row = request_on_behalf(request_id, organisation)
    answered = row.status in ANSWERED_STATUSES
    return render_template(
        "school/request_on_behalf.html",
        row=row,
        comparison=ratings.comparison_for_school(db.session, row, organisation)
        if answered
        else None,
        sheet=responses.answer_sheet(db.session, row) if answered else None,
    )


@bp.get("/requests/<int:request_id>/files/<int:evidence_id>")
@requires(Action.VIEW_REQUESTS)
def download_file(request_id: int, evidence_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    found = evidence.find_file(db.session, row, evidence_id)
    if found is None:
        abort(404)
    return send_evidence(found)


@bp.route("/requests/<int:request_id>/clarify", methods=["GET", "POST"])
@requires(Action.SEND_REQUESTS)
def ask_clarification(request_id: int) -> ResponseReturnValue:
    """Write a note against the answers the supplier should clarify."""
    row = get_for_org(Request, request_id, current_organisation())
    notes = {key[5:]: value for key, value in request.form.items() if key.startswith("note-")}
    error = None
    if request.method == "POST":
        try:
            clarifications.ask_clarification(db.session, row, current_actor(), notes)
        except ServiceError as exc:
            error = exc.message
        else:
            flash(
                f"Your questions have been emailed to {row.contact_email} with a new link",
                "success",
            )
            return redirect(url_for("school.view_request", request_id=row.id))
    return render_template(
        "school/clarification_new.html",
        row=row,
        sheet=responses.answer_sheet(db.session, row),
        notes=notes,
        error=error,
    )


@bp.post("/requests/<int:request_id>/link")
@requires(Action.SEND_REQUESTS)
def manage_link(request_id: int) -> ResponseReturnValue:
    """Revoke, extend or reissue the supplier's link."""
    row = get_for_org(Request, request_id, current_organisation())
    action = request.form.get("action")
    try:
        if action == "revoke":
            requests.revoke_link(db.session, row, current_actor())
            flash(
                "The supplier's link no longer works. Send a new link to let them continue.",
                "success",
            )
        elif action == "extend":
            days = request.form.get("days", type=int) or 0
            requests.extend_link(db.session, row, current_actor(), days)
            flash(f"The link now works until {format_date(row.token_expires_at)}", "success")
        elif action == "reissue":
            issued = requests.reissue_link(db.session, row, current_actor())
            flash(
                f"A new link has been emailed to {row.contact_email}; the old one no longer works",
                "success",
            )
            session["issued_link"] = {"request_id": row.id, "url": issued.url}
        else:
            abort(400)
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("school.view_request", request_id=row.id))


@bp.route("/users", methods=["GET", "POST"])
@requires(Action.MANAGE_USERS)
def manage_users() -> ResponseReturnValue:
    organisation = current_organisation()
    form = InviteUserForm()
    if form.validate_on_submit():
        try:
            invitation = accounts.invite_user(
                db.session,
                inviter=current_actor(),
                organisation=organisation,
                email=form.email.data or "",
                name=form.name.data or "",
                role=form.role.data or "",
            )
        except ServiceError as exc:
            form[exc.field or "email"].errors = [exc.message]
        else:
            flash(f"Invitation sent to {invitation.email}", "success")
            return redirect(url_for("school.manage_users"))
    members = accounts.members(db.session, organisation)
    return render_template(
        "school/users_manage.html",
        form=form,
        organisation=organisation,
        members=members,
        invitations=accounts.organisation_invitations(db.session, organisation),
        resettable=authenticator_resettable(members),
        newcomers=accounts_sso.waiting(db.session, organisation),
        trust_people=[
            m
            for m in accounts.trust_people(db.session, organisation)
            if m.user_id not in {member.user_id for member in members}
        ],
        single_sign_on=accounts_sso.signs_on(db.session, [m.user_id for m in members]),
        now=utcnow(),
    )


@bp.post("/users/trust/<int:user_id>/role")
@requires(Action.MANAGE_USERS)
def give_trust_person_a_role(user_id: int) -> ResponseReturnValue:
    """A person of the school's trust gets a role here (reviewer, say)."""
    organisation = current_organisation()
    person = trust_person_of(user_id, organisation)
    try:
        accounts.give_trust_person_a_role(
            db.session, organisation, current_actor(), person, request.form.get("role", "")
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"{person.name} is now a {request.form.get('role')} in {organisation.name}", "success"
        )
    return redirect(url_for("school.manage_users"))


@bp.post("/users/invitations/<int:invitation_id>/withdraw")
@requires(Action.MANAGE_USERS)
def withdraw_invitation(invitation_id: int) -> ResponseReturnValue:
    invitation = invitation_for_org(invitation_id, current_organisation())
    try:
        accounts.withdraw_invitation(db.session, invitation, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"The invitation to {invitation.email} was withdrawn", "success")
    return redirect(url_for("school.manage_users"))


@bp.post("/users/<int:user_id>/reset-authenticator")
@requires(Action.MANAGE_USERS)
def reset_authenticator(user_id: int) -> ResponseReturnValue:
    """For a lost phone: the person sets the app up again at their next sign-in."""
    organisation = current_organisation()
    member = next(
        (m for m in accounts.members(db.session, organisation) if m.user_id == user_id), None
    )
    if member is None:
        abort(404)
    ensure_may_reset_authenticator(member)
    try:
        mfa.reset(db.session, member.user, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"{member.user.name}'s authenticator app was reset and they were signed out "
            "everywhere. They set it up again when they next sign in.",
            "success",
        )
    return redirect(url_for("school.manage_users"))


@bp.post("/users/<int:user_id>/remove")
@requires(Action.MANAGE_USERS)
def remove_member(user_id: int) -> ResponseReturnValue:
    organisation = current_organisation()
    member = next(
        (m for m in accounts.members(db.session, organisation) if m.user_id == user_id), None
    )
    if member is None:
        abort(404)
    person = member.user
    try:
        accounts.remove_member(db.session, organisation, person, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"{person.name} can no longer use {organisation.name}"
            + (
                ""
                if person.is_active
                else "; their account is closed and they were signed out everywhere"
            ),
            "success",
        )
    return redirect(url_for("school.manage_users"))


@bp.post("/organisation/require-authenticator")
@requires(Action.MANAGE_USERS)
def require_authenticator() -> ResponseReturnValue:
    organisation = current_organisation()
    required = request.form.get("required") == "yes"
    mfa.set_required(db.session, organisation, current_actor(), required)
    flash(
        "Everyone must now sign in with an authenticator app; those without one set it up "
        "at their next page."
        if required
        else "An authenticator app is now each person's choice",
        "success",
    )
    return redirect(url_for("school.manage_users"))


@bp.route("/api-keys", methods=["GET", "POST"])
@requires(Action.MANAGE_API_KEYS)
def manage_api_keys() -> ResponseReturnValue:
    """Keys for scripts and integrations; a new key is shown on this response only."""
    organisation = current_organisation()
    form = ApiKeyForm()
    created = None
    if form.validate_on_submit():
        try:
            created = api_keys.create_api_key(
                db.session,
                organisation,
                current_actor(),
                form.name.data or "",
                form.scope.data or "",
            )
        except ServiceError as exc:
            form[exc.field or "name"].errors = [exc.message]
        else:
            form = ApiKeyForm(formdata=None)
    return render_template(
        "school/api_keys.html",
        form=form,
        organisation=organisation,
        keys=api_keys.keys_of(db.session, organisation),
        created=created,
    )


@bp.post("/api-keys/<int:key_id>/revoke")
@requires(Action.MANAGE_API_KEYS)
def revoke_api_key(key_id: int) -> ResponseReturnValue:
    key = get_for_org(ApiKey, key_id, current_organisation())
    try:
        api_keys.revoke_api_key(db.session, key, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"The key {key.name} no longer works", "success")
    return redirect(url_for("school.manage_api_keys"))


def _audit_filter() -> audit.AuditFilter:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    return audit.AuditFilter(
        action=request.args.get("action", ""),
        who=request.args.get("who", "")[:200],
        since=day("since"),
        until=day("until"),
    )


@bp.get("/audit")
@requires(Action.VIEW_AUDIT)
def audit_trail() -> ResponseReturnValue:
    """Who did what in the organisation: filter, page back, download."""
    organisation = current_organisation()
    criteria = _audit_filter()
    before = valid_id(request.args.get("before", type=int))
    filters = {k: v for k, v in request.args.items() if k in ("action", "who", "since", "until")}
    events = audit.search_events(
        db.session, organisation, criteria, before_id=before, limit=AUDIT_PAGE + 1
    )
    return render_template(
        "school/audit_trail.html",
        organisation=organisation,
        criteria=criteria,
        events=events[:AUDIT_PAGE],
        total=audit.count_events(db.session, organisation, criteria),
        older_url=url_for("school.audit_trail")
        + "?"
        + urlencode({**filters, "before": events[AUDIT_PAGE - 1].id})
        if len(events) > AUDIT_PAGE
        else None,
        export_url=url_for("school.audit_trail_export") + "?" + urlencode(filters),
        actions=audit.actions_in(db.session, organisation),
        date_errors=[
            (name, "Enter a real date, for example 28/11/2026")
            for name in ("since", "until")
            if request.args.get(name) and not getattr(criteria, name)
        ],
    )


@bp.get("/audit.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_AUDIT)
def audit_trail_export() -> ResponseReturnValue:
    from ..exports.audit import AuditLine, audit_workbook
    from .downloads import send_temporary

    organisation = current_organisation()
    criteria = _audit_filter()
    exports.record_download(db.session, current_actor(), organisation, "audit trail", "xlsx")
    lines = (
        AuditLine(
            at=event.created_at,
            who=event.actor_label,
            what=describe(event),
            request=event.request.reference if event.request else "",
            details=audit.event_details(event),
        )
        for event in audit.search_events(db.session, organisation, criteria, limit=None)
    )
    return send_temporary(
        lambda handle: audit_workbook(handle, lines, f"Audit trail: {organisation.name}"),
        exports.download_name(organisation.name, "audit trail", extension="xlsx"),
        exports.XLSX,
    )


@bp.post("/organisation")
@login_required
def choose_organisation() -> ResponseReturnValue:
    organisation_id = request.form.get("organisation_id", type=int)
    if organisation_id is None or not switch_organisation(organisation_id):
        abort(404)
    return redirect(safe_next(request.form.get("next")))
