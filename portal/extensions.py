"""Extensions, created unbound here and attached to the app in ``create_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

# Methods that may write: their SQLite transactions take the write lock up front.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Database:
    """One engine per app, one session per app context.

    We use SQLAlchemy directly (not Flask-SQLAlchemy) so models stay plain typed
    SQLAlchemy 2 classes that Alembic and scripts can use without an app.
    """

    def __init__(self) -> None:
        self._engines: dict[int, Engine] = {}
        self._factories: dict[int, sessionmaker[Session]] = {}

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        self._engines[id(app)] = engine
        self._factories[id(app)] = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["portal_db"] = self
        app.teardown_appcontext(self._remove_session)

    @property
    def engine(self) -> Engine:
        from flask import current_app

        return self._engines[id(current_app._get_current_object())]  # type: ignore[attr-defined]

    @property
    def session(self) -> Session:
        """The session of the current app context, opened on first use."""
        session: Session | None = g.get("_db_session")
        if session is None:
            from flask import current_app

            factory = self._factories[id(current_app._get_current_object())]  # type: ignore[attr-defined]
            session = factory()
            if _in_write_request():
                # SQLite: BEGIN IMMEDIATE, so a read-then-write transaction never
                # fails with "database is locked" under several workers.
                session.connection(execution_options={"portal_write": True})
            g._db_session = session
        return session

    def _remove_session(self, exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def _in_write_request() -> bool:
    from flask import has_request_context

    return has_request_context() and request.method in WRITE_METHODS


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each backend needs."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("portal_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
