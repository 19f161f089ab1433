"""Single sign-on: signing in through Microsoft, Google or the operator's
provider, and an organisation's admin linking its tenant and setting its
sign-in rules."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..extensions import db, keep_changes, limiter, reads_first, start_writing
from ..identity import sso
from ..identity.staff_sessions import (
    SignInMethod,
    current_actor,
    current_organisation,
    sign_in_method,
    start_session,
)
from ..models import Organisation, Role, User
from ..permissions import (
    Action,
    can,
    join_request_for_org,
    refuse,
    requires,
    sso_link_for_org,
)
from ..services.accounts import sign_in
from ..services.accounts import sso as accounts_sso
from ..services.errors import ServiceError
from .auth import MFA_PENDING, mention_invitations, safe_next

bp = Blueprint("sso", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _provider(key: str) -> sso.Provider:
    chosen = sso.provider(key)
    if chosen is None:
        abort(404)
    return chosen


def _callback_url(chosen: sso.Provider) -> str:
    # On PORTAL_BASE_URL, never the Host header: it is the address registered
    # with the provider (README, "Single sign-on").
    from ..services.platform.runtime import runtime

    return str(runtime(db.session).links.url("sso.callback", provider=chosen.key))


@bp.get("/login/sso/<provider>")
@reads_first
@limiter.limit(_login_limit)
def start(provider: str) -> ResponseReturnValue:
    chosen = _provider(provider)
    if current_user.is_authenticated:
        return redirect(url_for("school.dashboard"))
    try:
        return sso.begin(
            chosen,
            _callback_url(chosen),
            {"purpose": "sign_in", "next": safe_next(request.args.get("next"))},
        )
    except sso.SsoError as exc:
        return _refused(chosen, exc.message, exc.reason)


@bp.get("/organisation/sign-in/link/<provider>")
@requires(Action.MANAGE_USERS)
def link(provider: str) -> ResponseReturnValue:
    """An admin proves their organisation's tenant by signing in through it.

    A link carrying the CSRF token, not a form: the page's Content Security
    Policy (form-action 'self') stops a form's redirect to the provider."""
    chosen = _provider(provider)
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.args.get("csrf_token"))
        except ValidationError:
            abort(400)
    flow = {"purpose": "link", "organisation": current_organisation().id, "user": current_user.id}
    try:
        return sso.begin(chosen, _callback_url(chosen), flow)
    except sso.SsoError as exc:
        flash(exc.message, "error")
        return redirect(url_for("sso.settings"))


@bp.get("/login/sso/<provider>/callback")
@reads_first
@limiter.limit(_login_limit)
def callback(provider: str) -> ResponseReturnValue:
    chosen = _provider(provider)
    flow = sso.pending_flow(chosen.key, request.args.get("state"))
    try:
        # The provider's token, keys and discovery are fetched here, before
        # this request holds a write transaction.
        identity = sso.finish(chosen)
    except sso.SsoError as exc:
        if flow.get("purpose") == "link":
            flash(exc.message, "error")
            return redirect(url_for("sso.settings"))
        return _refused(chosen, exc.message, exc.reason)
    start_writing(db.session)
    if flow.get("purpose") == "link":
        return _link(identity, flow)
    try:
        outcome = accounts_sso.sign_in(db.session, identity, request.remote_addr)
    except accounts_sso.SsoRefused as exc:
        keep_changes()  # the refusal's audit event
        return render_template("auth/sso_refused.html", message=exc.message, chosen=chosen), 403
    if isinstance(outcome, accounts_sso.Waiting):
        return render_template(
            "auth/sso_waiting.html", organisation=outcome.organisation, identity=identity
        )
    user = outcome.user
    method = SignInMethod(
        via="sso",
        sso_organisation_ids=outcome.organisation_ids,
        mfa_all=outcome.mfa_all,
        mfa_organisation_ids=outcome.mfa_organisation_ids,
    )
    destination = str(flow.get("next") or url_for("school.dashboard"))
    how = f"sso:{chosen.key}"
    if method.needs_code(user):
        session.clear()
        session[MFA_PENDING] = {
            "user": user.id,
            "at": int(time.time()),
            "next": destination,
            "method": method.as_session(),
            "how": how,
        }
        return redirect(url_for("auth.enter_code"))
    start_session(user, method)
    sign_in.record_signed_in(db.session, user, request.remote_addr, how)
    mention_invitations(user)
    return redirect(destination)


def _link(identity: accounts_sso.Identity, flow: dict[str, object]) -> ResponseReturnValue:
    """Back from the provider with an admin's identity: link its tenant."""
    if not current_user.is_authenticated or flow.get("user") != current_user.id:
        abort(403)
    organisation = current_organisation()
    if organisation.id != flow.get("organisation"):
        abort(403)  # they switched organisation while at the provider
    if not can(Action.MANAGE_USERS):
        refuse(Action.MANAGE_USERS)
    try:
        linked = accounts_sso.link_tenant(db.session, organisation, identity, current_actor())
    except ServiceError as exc:
        keep_changes()  # a refused link is audited
        flash(exc.message, "error")
        return redirect(url_for("sso.settings"))
    provider = sso.provider(linked.provider)
    flash(
        f"{organisation.name} is linked to the {provider.tenant_word if provider else 'tenant'} "
        f"of {identity.email}. Its staff can now sign in with {identity.provider_label}.",
        "success",
    )
    return redirect(url_for("sso.settings"))


def _refused(chosen: sso.Provider, message: str, reason: str) -> ResponseReturnValue:
    start_writing(db.session)
    accounts_sso.record_refusal(db.session, chosen.key, reason, request.remote_addr)
    keep_changes()
    return render_template("auth/sso_refused.html", message=message, chosen=chosen), 403


@bp.get("/organisation/sign-in")
@requires(Action.MANAGE_USERS)
def settings() -> ResponseReturnValue:
    return _settings_page(current_organisation())


def _settings_page(
    organisation: Organisation,
    errors: dict[str, str] | None = None,
    chosen: dict[str, str] | None = None,
) -> str:
    return render_template(
        "school/sign_in_settings.html",
        organisation=organisation,
        links=accounts_sso.links(db.session, organisation),
        providers={p.key: p for p in sso.providers()},
        method=sign_in_method(),
        errors=errors or {},
        chosen=chosen,
    )


@bp.post("/organisation/sign-in/rules")
@requires(Action.MANAGE_USERS)
def rules() -> ResponseReturnValue:
    organisation = current_organisation()
    user = current_actor()
    passwords = request.form.get("passwords") != "no"
    newcomers = request.form.get("newcomers", "")
    keeps_access = sign_in_method().keeps_access_without_passwords(organisation.id, user)
    try:
        accounts_sso.set_rules(
            db.session,
            organisation,
            user,
            passwords=passwords,
            newcomers=newcomers,
            actor_keeps_access=keeps_access,
        )
    except ServiceError as exc:
        return _settings_page(
            organisation,
            errors={exc.field or "passwords": exc.message},
            chosen={"passwords": "yes" if passwords else "no", "newcomers": newcomers},
        ), 400
    flash("Sign-in rules saved", "success")
    return redirect(url_for("sso.settings"))


@bp.post("/organisation/sign-in/links/<int:link_id>/<any(remove, trust, distrust):change>")
@requires(Action.MANAGE_USERS)
def change_link(link_id: int, change: str) -> ResponseReturnValue:
    organisation = current_organisation()
    linked = sso_link_for_org(link_id, organisation)
    try:
        if change == "remove":
            accounts_sso.unlink(db.session, linked, current_actor())
            flash("The link was removed: its staff can no longer sign in through it", "success")
        else:
            accounts_sso.set_trusts_mfa(db.session, linked, current_actor(), change == "trust")
            flash("Saved", "success")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("sso.settings"))


@bp.post("/users/newcomers/<int:join_id>/<any(approve, decline):decision>")
@requires(Action.MANAGE_USERS)
def decide(join_id: int, decision: str) -> ResponseReturnValue:
    organisation = current_organisation()
    join = join_request_for_org(join_id, organisation)
    role = request.form.get("role", Role.VIEWER)
    try:
        user: User | None = accounts_sso.decide(
            db.session, join, current_actor(), approve=decision == "approve", role=role
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        if user is not None:
            flash(f"{join.name} can now sign in to {organisation.name} as a {role}", "success")
        else:
            flash(f"{join.name} was turned away", "success")
    return redirect(url_for("school.manage_users"))
