"""Organisation API keys: made by an admin (or the CLI), shown once, revocable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...models import ApiKey, ApiScope, Membership, Organisation, OrgKind, Role, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.tokens import hash_token

KEY_PREFIX = "ddp_"  # recognisable in logs and by secret scanners
# Stamping last use on every call would make every read a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # exists in clear only in this object


def scope_role(organisation: Organisation, scope: str) -> Role:
    """What a key may do: read as a viewer; write as a reviewer (a curator in
    the curator organisation). Never an admin: keys cannot manage people or keys."""
    if scope == ApiScope.READ:
        return Role.VIEWER
    return Role.CURATOR if organisation.kind == OrgKind.CURATOR else Role.REVIEWER


def create_api_key(
    session: Session, organisation: Organisation, creator: User | None, name: str, scope: str
) -> NewKey:
    clean = " ".join(name.split())
    if not clean:
        raise ServiceError("Enter a name for the key, for example Trust tracker sync", "name")
    if len(clean) > 100:
        raise ServiceError("The name must be 100 characters or fewer", "name")
    if scope not in set(ApiScope):
        raise ServiceError("Choose read or read and write", "scope")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    service_user = User(
        email=f"api-key-{secrets.token_hex(8)}@keys.invalid",
        name=f"API key: {clean}",
        password_hash=None,
        is_service=True,
    )
    service_user.memberships.append(
        Membership(organisation_id=organisation.id, role=scope_role(organisation, scope))
    )
    key = ApiKey(
        organisation_id=organisation.id,
        user=service_user,
        name=clean,
        scope=scope,
        key_hash=hash_token(secret),
        prefix=secret[:12],
        created_by=creator,
    )
    session.add(key)
    session.flush()
    record_event(
        session,
        "api_key_created",
        organisation=organisation,
        actor=creator,
        actor_label=None if creator else "Command line",
        key=clean,
        scope=scope,
        prefix=key.prefix,
    )
    return NewKey(key, secret)


def revoke_api_key(session: Session, key: ApiKey, actor: User) -> None:
    if key.revoked_at is not None:
        raise ServiceError("This key was already revoked")
    key.revoked_at = utcnow()
    key.user.is_active = False
    record_event(
        session,
        "api_key_revoked",
        organisation=key.organisation,
        actor=actor,
        key=key.name,
        prefix=key.prefix,
    )
    session.flush()


def keys_of(session: Session, organisation: Organisation) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation.id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def find_live_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key with this secret, or None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    return session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_token(secret), ApiKey.revoked_at.is_(None))
    )


def stamp_last_use(session: Session, key: ApiKey) -> None:
    """Record when a key was last used, at most once a minute.

    Run in a transaction of its own (``session`` is not the request's): a
    read-only API call must not turn the request's transaction into a write.
    """
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_GRANULARITY:
        return
    session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    # In the trail as often as it is stamped: once a minute of use, not per call.
    record_event(
        session,
        "api_key_used",
        organisation=key.organisation,
        actor=key.user,
        key=key.name,
        prefix=key.prefix,
    )
