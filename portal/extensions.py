"""Extensions, created unbound here and attached to the app in ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .database import begin_write, make_engine
from .links import Links
from .services.platform.runtime import Runtime, Settings, attach

F = TypeVar("F", bound=Callable[..., Any])

# Methods that may write: their SQLite transactions take the write lock up front.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Database:
    """One engine per app, one session per app context.

    We use SQLAlchemy directly (not Flask-SQLAlchemy) so models stay plain typed
    SQLAlchemy 2 classes that Alembic and scripts can use without an app.
    """

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["portal_db"] = self
        app.extensions["portal_db_engine"] = engine
        app.extensions["portal_db_sessions"] = sessionmaker(bind=engine, expire_on_commit=False)
        # Per request as well as per app context: under test clients several
        # requests can share one app context, and must not share a session.
        app.teardown_request(self._remove_session)
        app.teardown_appcontext(self._remove_session)

    @property
    def engine(self) -> Engine:
        return self.engine_for(current_app)

    @staticmethod
    def engine_for(app: Flask) -> Engine:
        engine: Engine = app.extensions["portal_db_engine"]
        return engine

    @property
    def session(self) -> Session:
        """The session of the current app context, opened on first use."""
        session: Session | None = g.get("_db_session")
        if session is None:
            session = self.open(current_app)
            if in_write_request():
                begin_write(session)
            g._db_session = session
        return session

    def new_session(self) -> Session:
        """A session apart from the request's, for bookkeeping in its own transaction."""
        return self.open(current_app)

    @staticmethod
    def open(app: Flask) -> Session:
        """A new session of the app's database, carrying what the services need
        of the installation (services/platform/runtime.py): settings read now,
        so a changed configuration shows in the next session."""
        factory: sessionmaker[Session] = app.extensions["portal_db_sessions"]
        session = factory()
        if "portal_storage" in app.extensions:  # the app is set up (create_app's end)
            attach(session, runtime_for(app, session))
        return session

    def _remove_session(self, exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def writes_on_get(view: F) -> F:
    """Mark a GET view that writes (an audited download) as a writer."""
    view._portal_writes = True  # type: ignore[attr-defined]
    return view


def reads_first(view: F) -> F:
    """Mark a POST view that checks before it writes (reads an upload, plans an
    autosave): its transaction starts as a reader, and it calls
    :func:`start_writing` when it has something to write, so the write lock
    (SQLite's, database-wide) or the row lock (PostgreSQL's, on the request
    it writes) is held only for the writing itself. Put it directly under the
    route decorator."""
    view._portal_reads_first = True  # type: ignore[attr-defined]
    return view


def start_writing(session: Session) -> bool:
    """End a reads-first request's read transaction and begin a writer (BEGIN
    IMMEDIATE on SQLite). Returns whether what was read must be read and
    checked again: another request may have written in between. On
    PostgreSQL the transaction goes on; the caller takes its row lock
    (``lifecycle.lock``, which reads the row afresh) and checks again."""
    g.portal_writing = True
    if not _on_sqlite():
        return True  # nothing was locked while reading
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("start_writing: the reads-first view changed objects before it")
    if session.in_transaction():
        # Swap the read snapshot for a write transaction on the same
        # connection (pysqlite leaves BEGIN and COMMIT to us, see
        # _configure_sqlite; the session's COMMIT ends the writer). A session
        # rollback would also expire every object read, and reloading them
        # one lazy query at a time cost more than the rest of the switch.
        connection = session.connection()
        connection.exec_driver_sql("ROLLBACK")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        begin_write(session)
    return True


def in_write_request() -> bool:
    from flask import has_request_context

    if not has_request_context():
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_portal_reads_first", False):
        return bool(g.get("portal_writing"))
    if request.method in WRITE_METHODS:
        return True
    return bool(getattr(view, "_portal_writes", False))


def _on_sqlite() -> bool:
    return Database.engine_for(current_app).dialect.name == "sqlite"


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing NaN and Infinity instead of writing invalid JSON."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def keep_changes() -> None:
    """Commit this request's changes even though it answers with a 4xx status
    (portal/__init__.py _finish_request reads the flag)."""
    g.keep_changes = True


def runtime_for(app: Flask, session: Session) -> Runtime:
    from .services.platform.questionnaire_registry import QuestionnaireFiles

    files: QuestionnaireFiles = app.extensions["portal_questionnaire_files"]
    env = app.jinja_env

    def render(name: str, **values: Any) -> str:
        return env.get_template(name).render(**values)

    return Runtime(
        settings=Settings.from_config(app.config),
        links=Links(app.url_map, app.config["PORTAL_BASE_URL"]),
        render=render,
        # A store per session: one in the database works in its transaction.
        storage=app.extensions["portal_storage"](session),
        questionnaires=files,
        new_session=lambda: Database.open(app),
        sent_mail=app.extensions.setdefault("portal_mail_memory", []),
    )


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _signed_in_key() -> str:
    """Limits per person when signed in (several staff may share one address)."""
    from flask_login import current_user

    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"address:{get_remote_address()}"


# Every download that builds a workbook counts against one budget per person:
# exports are the heaviest requests we serve.
export_limit = limiter.shared_limit(
    lambda: str(current_app.config["EXPORT_RATE_LIMIT"]), scope="exports", key_func=_signed_in_key
)
