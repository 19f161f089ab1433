"""The database without the web: engines, and the two session helpers the
services use. Nothing here imports Flask (portal/extensions.py wires it to the app)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool


def begin_write(session: Session) -> None:
    """Start the session's next transaction as a writer. On SQLite that is
    BEGIN IMMEDIATE: a transaction that reads and then writes in the default
    deferred mode fails with "database is locked" under several workers,
    whatever the busy timeout. The option holds for one transaction only, so
    a request that commits and then writes again calls this again."""
    session.connection(execution_options={"portal_write": True})


def rows_connection(session: Session) -> Connection:
    """The session's connection, for Core statements on hot paths (plain rows
    instead of objects), after flushing what the session holds, as
    ``session.execute`` would."""
    session.flush()
    return session.connection()


def strict_json_dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each backend needs."""
    # A non-finite number is not JSON: refuse to store one (NaN and Infinity
    # would be written as bare words that break every reader after).
    kwargs: dict[str, Any] = {"json_serializer": strict_json_dumps}
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
