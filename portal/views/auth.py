"""Sign in and out, invitations and password resets."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..after_response import after_response
from ..extensions import db, limiter
from ..identity import sso
from ..identity.staff_sessions import (
    SignInMethod,
    current_actor,
    end_session,
    sign_in_method,
    start_session,
    switch_organisation,
)
from ..models import Role, TokenPurpose, User
from ..permissions import own_invitation
from ..services.accounts import mfa, sign_in
from ..services.accounts import users as accounts
from ..services.errors import ServiceError
from .forms import ChangePasswordForm, CodeForm, ForgotPasswordForm, LoginForm, SetPasswordForm

bp = Blueprint("auth", __name__)
MFA_PENDING = "mfa_pending"  # who gave the right password, waiting for their code
MFA_PENDING_SECONDS = 5 * 60
MFA_SETUP = "mfa_setup"  # the secret being set up, until a code confirms it


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _typed_account() -> str:
    """Per account as well as per address: many addresses against one account
    are throttled too. Hashed: the store never holds the email itself."""
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    # No control characters either: a CR or LF would break the Location header,
    # and browsers read "/\\" as "//".
    if (
        target
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and target.isprintable()
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("school.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_typed_account)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("school.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = sign_in.authenticate(
                db.session,
                form.email.data or "",
                form.password.data or "",
                address=request.remote_addr,
            )
        except sign_in.LoginError as exc:
            error = exc.message
        else:
            destination = safe_next(request.args.get("next"))
            error = _single_sign_on_required(user)
            if error:
                return render_template(
                    "auth/login.html", form=form, error=error, providers=sso.providers()
                )
            if user.mfa_enabled_at is not None:
                # The password was right; the session starts after the code.
                session.clear()
                session[MFA_PENDING] = {
                    "user": user.id,
                    "at": int(time.time()),
                    "next": destination,
                }
                return redirect(url_for("auth.enter_code"))
            start_session(user)
            sign_in.record_signed_in(db.session, user, request.remote_addr, "password")
            mention_invitations(user)
            return redirect(destination)
    return render_template("auth/login.html", form=form, error=error, providers=sso.providers())


def _single_sign_on_required(user: User) -> str | None:
    """Why a right password still does not let this person in: every
    organisation they belong to requires single sign-on (its admins keep a
    password with their authenticator app). Audited."""
    with_password = SignInMethod(app=user.mfa_enabled_at is not None)
    if not user.memberships or any(with_password.may_enter(m) for m in user.memberships):
        return None
    sign_in.record_refused(db.session, user, request.remote_addr, "single sign-on required")
    names = ", ".join(m.organisation.name for m in user.memberships)
    admin = any(m.role == Role.ADMIN for m in user.memberships)
    return (
        f"{names} asks its staff to sign in through their organisation's account: use the "
        "button below."
        + (
            " As an administrator you can keep your password for emergencies once you have "
            "set up an authenticator app."
            if admin
            else ""
        )
    )


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def enter_code() -> ResponseReturnValue:
    """The second step for people with an authenticator app."""
    pending = session.get(MFA_PENDING)
    user = db.session.get(User, pending["user"]) if pending else None
    if pending is None or user is None or pending["at"] + MFA_PENDING_SECONDS < time.time():
        session.pop(MFA_PENDING, None)
        flash("Sign in again: the code must follow the password within 5 minutes", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            how = sign_in.second_factor(db.session, user, form.code.data or "", request.remote_addr)
        except sign_in.LoginError as exc:
            form.code.errors = [exc.message]
        else:
            # After a single sign-on the session keeps how it began; the code adds the app.
            method = SignInMethod.from_session(pending.get("method"))
            start_session(user, replace(method, app=True))
            via = pending.get("how")
            sign_in.record_signed_in(
                db.session, user, request.remote_addr, f"{via}+{how}" if via else how
            )
            if how == "recovery":
                left = mfa.recovery_codes_left(db.session, user)
                flash(
                    f"You used a recovery code; {left} left. Make new ones on your "
                    "authenticator page if you are running out.",
                    "info",
                )
            mention_invitations(user)
            return redirect(pending["next"])
    return render_template("auth/enter_code.html", form=form)


@bp.route("/account/authenticator", methods=["GET", "POST"])
@login_required
def authenticator() -> ResponseReturnValue:
    """Set up an authenticator app, or make new recovery codes."""
    user = current_actor()
    form = CodeForm()
    codes: list[str] | None = None
    if user.mfa_enabled_at is not None:
        if request.method == "POST" and request.form.get("action") == "new_codes":
            codes = mfa.replace_recovery_codes(db.session, user)
        return render_template(
            "auth/authenticator.html",
            user=user,
            codes=codes,
            left=mfa.recovery_codes_left(db.session, user),
            form=form,
        )
    secret = session.get(MFA_SETUP) or mfa.new_secret()
    session[MFA_SETUP] = secret
    if form.validate_on_submit():
        try:
            codes = mfa.enable(db.session, user, secret, form.code.data or "")
        except ServiceError as exc:
            form.code.errors = [exc.message]
        else:
            session.pop(MFA_SETUP, None)
            return render_template(
                "auth/authenticator.html", user=user, codes=codes, left=len(codes), form=form
            )
    return render_template(
        "auth/authenticator.html",
        user=user,
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=mfa.required_for(user),
    )


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    user = current_actor()
    return render_template(
        "auth/account.html",
        user=user,
        invitations=accounts.pending_invitations(db.session, user),
    )


@bp.post("/account/invitations/<int:invitation_id>/<any(accept, decline):answer>")
@login_required
def account_invitation(invitation_id: int, answer: str) -> ResponseReturnValue:
    """Join an organisation that invited you, or say no."""
    invitation = own_invitation(invitation_id)
    try:
        accounts.answer_invitation(
            db.session, current_actor(), invitation, accept=answer == "accept"
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        name = invitation.organisation.name
        if answer == "accept":
            switch_organisation(invitation.organisation_id)
            flash(f"You have joined {name}", "success")
            return redirect(url_for("school.dashboard"))
        flash(f"You declined the invitation to {name}", "success")
    return redirect(url_for("auth.account"))


def mention_invitations(user: User) -> None:
    waiting = accounts.pending_invitations(db.session, user)
    if waiting:
        names = ", ".join(i.organisation.name for i in waiting)
        flash(f"You are invited to join {names}: accept or decline on your account page.")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    user = current_actor()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session, user, form.current.data or "", form.password.data or ""
            )
        except ServiceError as exc:
            form[exc.field or "password"].errors = [exc.message]
        else:
            start_session(user, sign_in_method())  # this one goes on; every other one has ended
            flash("Your password has been changed; you were signed out everywhere else", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.get("/account/authenticator/qr.svg")
@login_required
def authenticator_qr() -> ResponseReturnValue:
    secret = session.get(MFA_SETUP)
    if not secret or current_actor().mfa_enabled_at is not None:
        abort(404)
    response = make_response(mfa.qr_svg(mfa.setup_uri(current_actor(), secret)))
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    end_session()
    flash("You have signed out", "success")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["TOKEN_RATE_LIMIT"]))
def accept_invitation(token: str) -> ResponseReturnValue:
    return _set_password(token, TokenPurpose.INVITATION)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["TOKEN_RATE_LIMIT"]))
def reset_password(token: str) -> ResponseReturnValue:
    return _set_password(token, TokenPurpose.PASSWORD_RESET)


def _set_password(token: str, purpose: TokenPurpose) -> ResponseReturnValue:
    try:
        link = accounts.find_user_link(db.session, token, purpose)
    except accounts.LinkError as exc:
        status = 410 if exc.gone else 404
        return render_template(
            "auth/link_unusable.html", message=exc.message, purpose=purpose
        ), status
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.set_password_from_link(
                db.session, token, purpose, form.password.data or ""
            )
        except ServiceError as exc:
            form.password.errors = [exc.message]
        else:
            done = (
                "Your password has been set"
                if purpose == TokenPurpose.INVITATION
                else "Your password has been changed"
            )
            if user.mfa_enabled_at is not None:
                # A reset link is not a second factor: the code is still needed.
                session[MFA_PENDING] = {
                    "user": user.id,
                    "at": int(time.time()),
                    "next": url_for("school.dashboard"),
                }
                flash(f"{done}. Now enter the code from your authenticator app.", "success")
                return redirect(url_for("auth.enter_code"))
            start_session(user)  # a new session: flash after it, or the message is lost
            flash(done, "success")
            sign_in.record_signed_in(db.session, user, request.remote_addr, "password")
            return redirect(url_for("school.dashboard"))
    return render_template("auth/set_password.html", form=form, user=link.user, purpose=purpose)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_typed_account)
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        # After the response, so the reply takes the same work whether or not
        # the address has an account (issue 20, finding 5).
        after_response(lambda session: accounts.request_password_reset(session, email))
        return render_template("auth/reset_sent.html", email=email)
    return render_template("auth/forgot_password.html", form=form)
