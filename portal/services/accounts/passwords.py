"""Password rules and hashing."""

from __future__ import annotations

from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from ..errors import ServiceError

MIN_LENGTH = 12
MAX_LENGTH = 256


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked when no user matches, so a sign-in for an unknown email takes as
    # long as one for a known email. Made on first use: scrypt is slow on purpose.
    return generate_password_hash("not-a-real-password-for-timing")


class WeakPasswordError(ServiceError):
    pass


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 passwords most seen in breaches.
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_rules(password: str, *, email: str = "", name: str = "") -> None:
    """Raise WeakPasswordError with a message that says how to fix the password."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"Password must be {MIN_LENGTH} characters or more", "password")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"Password must be {MAX_LENGTH} characters or fewer", "password")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered == email.lower():
        raise WeakPasswordError(
            "This password is too common: choose one that is not on lists of leaked passwords",
            "password",
        )
    # A long password can still be a pattern (a common word repeated, the email
    # with a year); zxcvbn scores 0-4, and below 3 is guessable offline.
    result = zxcvbn(password[:100], user_inputs=[email, name, "portal", "diligence"])
    if result["score"] < 3:
        raise WeakPasswordError(
            "This password is too easy to guess: use three or four unrelated words, or a "
            "password manager",
            "password",
        )


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, Werkzeug's default


def verify_password(password_hash: str | None, password: str) -> bool:
    return check_password_hash(password_hash or _dummy_hash(), password) and bool(password_hash)
