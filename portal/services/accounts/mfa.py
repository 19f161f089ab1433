"""Sign-in with an authenticator app (TOTP, RFC 6238) and one-time recovery codes.

Curators always need it; an organisation's admin can require it of everyone.
A code works once (the last time step used is kept), recovery codes are
stored as hashes and shown once, and every change is audited.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import Membership, Organisation, OrgKind, RecoveryCode, Role, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.tokens import hash_token

ISSUER = "Due Diligence Portal"
RECOVERY_CODE_COUNT = 10
STEP_SECONDS = 30
# The current step and the one before: a code typed just as it rolled over
# still works, so a code lives 60 seconds at most (and works once).
EARLIER_STEPS = 1


def required_for(
    user: User,
    memberships: Iterable[Membership] | None = None,
    met: Callable[[Membership], bool] | None = None,
) -> bool:
    """Whether this person must sign in with an authenticator app: for the
    memberships given (all of theirs by default), less those whose need
    ``met`` says the session already meets (a provider's MFA at sign-on)."""
    return any(
        (
            m.role == Role.CURATOR
            or m.organisation.kind == OrgKind.CURATOR
            or m.organisation.require_mfa
        )
        and not (met and met(m))
        for m in (user.memberships if memberships is None else memberships)
    )


def new_secret() -> str:
    return pyotp.random_base32()


def setup_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> bytes:
    buffer = segno.make(uri, error="m")
    return buffer.svg_inline(scale=5, title="QR code for your authenticator app").encode()


def _clean(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum()).lower()


def _matching_step(
    secret: str, code: str, after: int | None, now: float | None = None
) -> int | None:
    """The time step whose code this is, if it is current and not used yet."""
    digits = _clean(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - EARLIER_STEPS, current + 1):
        if (after is None or step > after) and secrets.compare_digest(
            totp.at(step * STEP_SECONDS), digits
        ):
            return step
    return None


def enable(session: Session, user: User, secret: str, code: str) -> list[str]:
    """Confirm the app with a code it shows; returns the recovery codes (shown once)."""
    step = _matching_step(secret, code, None)
    if step is None:
        raise ServiceError("Enter the 6-digit code your authenticator app shows now", "code")
    user.mfa_secret = secret
    user.mfa_enabled_at = utcnow()
    user.mfa_last_step = step
    codes = _new_recovery_codes(session, user)
    _audit(session, user, "mfa_enabled", user)
    return codes


def check_code(session: Session, user: User, code: str) -> str | None:
    """Whether this code signs the user in: "app", "recovery", or None.

    An app code is refused if it was used before; a recovery code is used up."""
    if user.mfa_secret is None:
        return None
    step = _matching_step(user.mfa_secret, code, user.mfa_last_step)
    if step is not None:
        user.mfa_last_step = step
        return "app"
    cleaned = _clean(code)
    if len(cleaned) == 10:
        found = session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == hash_token(cleaned),
                RecoveryCode.used_at.is_(None),
            )
        )
        if found is not None:
            found.used_at = utcnow()
            _audit(session, user, "mfa_recovery_code_used", user)
            return "recovery"
    return None


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def replace_recovery_codes(session: Session, user: User) -> list[str]:
    if user.mfa_enabled_at is None:
        raise ServiceError("Set up your authenticator app first")
    codes = _new_recovery_codes(session, user)
    _audit(session, user, "mfa_recovery_codes_replaced", user)
    return codes


OPERATOR = "Operator (command line)"


def reset(session: Session, user: User, actor: User | None) -> None:
    """A reset for a lost phone, by an admin of every organisation the person
    belongs to (permissions.ensure_may_reset_authenticator) or by the operator
    (actor None): the app and codes go, every session of the user ends, and
    they set it up again at their next sign-in."""
    if user.mfa_enabled_at is None:
        raise ServiceError(f"{user.name} has no authenticator app set up")
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_sessions()
    _audit(session, user, "mfa_reset", actor)


def set_required(session: Session, organisation: Organisation, actor: User, required: bool) -> None:
    if organisation.require_mfa == required:
        return
    organisation.require_mfa = required
    record_event(
        session,
        "mfa_requirement_changed",
        organisation=organisation,
        actor=actor,
        required=required,
    )
    session.flush()


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]  # 10 hex characters
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(c)) for c in codes)
    session.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def _audit(session: Session, user: User, action: str, actor: User | None) -> None:
    for membership in user.memberships:
        record_event(
            session,
            action,
            organisation=membership.organisation,
            actor=actor,
            actor_label=None if actor else OPERATOR,
            person=user.name,
        )
    session.flush()
