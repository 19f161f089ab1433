"""What a use case needs of the installation it runs in, carried by its session.

Services take a session and explicit arguments. The settings they read, the
link builder, the renderer of email templates, file storage and the
questionnaire files come with the session, in ``session.info``: the web app
and the CLI put them there when they open a session (portal/extensions.py),
and a script or test that builds its own session calls :func:`attach`. So no
service reaches for Flask's globals, and a command needs no fake request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ...links import Links

if TYPE_CHECKING:
    from .questionnaire_registry import QuestionnaireFiles
    from .storage import Storage


@dataclass(frozen=True)
class Settings:
    """The settings use cases read, typed (from the app's configuration)."""

    link_lifetime_days: int
    invitation_lifetime_hours: int
    reset_lifetime_hours: int
    login_max_failures: int
    login_failure_window_minutes: int
    login_lock_minutes: int
    reminder_days_before: tuple[int, ...]
    reminder_overdue_every_days: int
    evidence_request_limit_mb: int
    smtp_url: str
    mail_from: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            link_lifetime_days=int(config["LINK_LIFETIME_DAYS"]),
            invitation_lifetime_hours=int(config["INVITATION_LIFETIME_HOURS"]),
            reset_lifetime_hours=int(config["RESET_LIFETIME_HOURS"]),
            login_max_failures=int(config["LOGIN_MAX_FAILURES"]),
            login_failure_window_minutes=int(config["LOGIN_FAILURE_WINDOW_MINUTES"]),
            login_lock_minutes=int(config["LOGIN_LOCK_MINUTES"]),
            reminder_days_before=tuple(int(d) for d in config["REMINDER_DAYS_BEFORE"]),
            reminder_overdue_every_days=int(config["REMINDER_OVERDUE_EVERY_DAYS"]),
            evidence_request_limit_mb=int(config["EVIDENCE_REQUEST_LIMIT_MB"]),
            smtp_url=str(config.get("PORTAL_SMTP_URL") or ""),
            mail_from=str(config["PORTAL_MAIL_FROM"]),
        )


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    links: Links
    # Renders a template of templates/ (the emails) with these values.
    render: Callable[..., str]
    storage: Storage
    questionnaires: QuestionnaireFiles
    # A new session on the same database, for work in a transaction of its own.
    new_session: Callable[[], Session]
    # Where the mail server's test double keeps what it was sent ("memory://").
    sent_mail: list[dict[str, str]]


_KEY = "portal_runtime"


def attach(session: Session, runtime: Runtime) -> Session:
    session.info[_KEY] = runtime
    return session


def runtime(session: Session) -> Runtime:
    """The installation ``session`` was opened for."""
    found: Runtime | None = session.info.get(_KEY)
    if found is None:
        raise RuntimeError(
            "This session carries no Runtime: open it through the app "
            "(portal/extensions.py) or attach one (services/platform/runtime.attach)"
        )
    return found
