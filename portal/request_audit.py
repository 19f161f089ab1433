"""Audit events a request keeps even when it fails (a refusal, a failed
sign-in) or only reads (a link opened): the web's side of services/platform/audit.py."""

from __future__ import annotations

from typing import Any

from .extensions import db, in_write_request, keep_changes
from .models import Organisation, Request, User
from .services.platform.audit import record_event


def record_now(
    action: str,
    *,
    organisation: Organisation | None,
    actor: User | None = None,
    actor_label: str | None = None,
    request: Request | None = None,
    **detail: Any,
) -> None:
    """Record an event that must stay even though the request fails (a refusal,
    a failed sign-in) or only reads (a link opened).

    A reading request writes it in a short transaction of its own, so the
    request stays a reader. A writing request already holds the write lock
    (SQLite), so its own session records it and keeps it on an error status.
    """
    if in_write_request():
        record_event(
            db.session, action, organisation=organisation, actor=actor,
            actor_label=actor_label, request=request, **detail,
        )  # fmt: skip
        keep_changes()
        return
    with db.new_session() as own, own.begin():
        record_event(
            own, action, organisation=organisation, actor=actor,
            actor_label=actor_label, request=request, **detail,
        )  # fmt: skip
