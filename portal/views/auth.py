"""Sign in and out, invitations and password resets."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..extensions import db, limiter
from ..models import TokenPurpose
from ..permissions import end_session, start_session
from ..services import accounts
from ..services.errors import ServiceError
from .forms import ForgotPasswordForm, LoginForm, SetPasswordForm

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("school.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("school.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db.session,
                form.email.data or "",
                form.password.data or "",
                address=request.remote_addr,
            )
        except accounts.LoginError as exc:
            error = exc.message
        else:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, error=error)


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
            start_session(user)
            flash(
                "Your password has been set"
                if purpose == TokenPurpose.INVITATION
                else "Your password has been changed",
                "success",
            )
            return redirect(url_for("school.dashboard"))
    return render_template("auth/set_password.html", form=form, user=link.user, purpose=purpose)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(db.session, form.email.data or "")
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)
