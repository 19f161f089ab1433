"""Signing in: a password, then the authenticator app where it is set up,
with failures counted per address typed and a lock after too many."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import LoginFailure, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.runtime import runtime
from .passwords import verify_password


class LoginError(ServiceError):
    pass


class AccountLockedError(LoginError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_key(email: str) -> str:
    """How failed sign-ins are counted: per address typed, registered or not."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def authenticate(
    session: Session,
    email: str,
    password: str,
    now: datetime | None = None,
    address: str | None = None,
) -> User:
    """Return the user for these credentials or raise; every attempt is audited
    (under the user's organisations when the email is theirs).

    Failures are counted per email typed, whether or not it is registered, so
    neither the error nor the lock tells an attacker which emails exist.
    """
    now = now or utcnow()
    settings = runtime(session).settings
    window_start = now - timedelta(minutes=settings.login_failure_window_minutes)
    key = email_key(email)
    recent = list(
        session.scalars(
            select(LoginFailure.failed_at)
            .where(LoginFailure.email_hash == key, LoginFailure.failed_at >= window_start)
            .order_by(LoginFailure.failed_at.desc())
            .limit(settings.login_max_failures)
        )
    )
    if len(recent) >= settings.login_max_failures:
        unlock_at = recent[0] + timedelta(minutes=settings.login_lock_minutes)
        if now < unlock_at:
            minutes = max(1, round((unlock_at - now).total_seconds() / 60))
            _audit_sign_in(session, "sign_in_locked", email, None, address)
            raise AccountLockedError(
                "Too many failed attempts to sign in with this email address. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or reset your password."
            )
    user = session.scalar(
        select(User).where(User.email == normalise_email(email), User.is_service.is_(False))
    )
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        session.add(LoginFailure(email_hash=key, failed_at=now))
        _audit_sign_in(session, "sign_in_failed", email, user, address)
        session.flush()
        raise LoginError("Enter a correct email address and password")
    session.execute(delete(LoginFailure).where(LoginFailure.email_hash == key))
    session.flush()
    return user


def record_signed_in(session: Session, user: User, address: str | None, how: str) -> None:
    """The session starts: after the password, or the password and a code."""
    user.last_login_at = utcnow()
    _audit_sign_in(session, "signed_in", user.email, user, address, how=how)


def record_refused(session: Session, user: User, address: str | None, reason: str) -> None:
    """A right password that still may not sign in (the organisation's rules)."""
    _audit_sign_in(session, "sign_in_refused", user.email, user, address, how=reason)


def second_factor(
    session: Session, user: User, code: str, address: str | None, now: datetime | None = None
) -> str:
    """Check the authenticator (or recovery) code of a user whose password was
    right; failures lock like passwords do. Returns "app" or "recovery"."""
    from . import mfa

    now = now or utcnow()
    settings = runtime(session).settings
    key = email_key(f"mfa:{user.id}")
    window_start = now - timedelta(minutes=settings.login_failure_window_minutes)
    failures = session.scalars(
        select(LoginFailure.id).where(
            LoginFailure.email_hash == key, LoginFailure.failed_at >= window_start
        )
    ).all()
    if len(failures) >= settings.login_max_failures:
        _audit_sign_in(session, "sign_in_locked", user.email, user, address)
        raise AccountLockedError(
            "Too many wrong codes. Wait 15 minutes, or use one of your recovery codes "
            "after that, or ask an administrator to reset your authenticator app."
        )
    how = mfa.check_code(session, user, code)
    if how is None:
        session.add(LoginFailure(email_hash=key, failed_at=now))
        _audit_sign_in(session, "mfa_failed", user.email, user, address)
        session.flush()
        raise LoginError(
            "Enter the 6-digit code your authenticator app shows now, or a recovery code"
        )
    session.execute(delete(LoginFailure).where(LoginFailure.email_hash == key))
    session.flush()
    return how


def _audit_sign_in(
    session: Session,
    action: str,
    email: str,
    user: User | None,
    address: str | None,
    how: str | None = None,
) -> None:
    """One event per organisation of the user (each admin sees their own), or
    one unfiled event for an email nobody has."""
    if user is None:
        user = session.scalar(
            select(User).where(User.email == normalise_email(email), User.is_service.is_(False))
        )
    typed = email.strip()[:200]
    if user is None:
        record_event(
            session, action, organisation=None, actor_label="Unknown", email=typed, address=address
        )
        return
    for membership in user.memberships:
        event = record_event(
            session,
            action,
            organisation=membership.organisation,
            actor=user,
            email=typed,
            address=address,
        )
        if how:
            event.detail = {**event.detail, "how": how}
