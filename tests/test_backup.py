"""Backup while running, then restore: the requests and their files come back."""

from __future__ import annotations

import io
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.cli import upgrade_database
from portal.extensions import db
from portal.models import Evidence, Request
from portal.services.platform.runtime import runtime

from .conftest import app_config
from .factories import Factory


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Flask:
    """An app on an SQLite file of its own (the backup test replaces it)."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    upgrade_database("head", url)
    # The archive holds the folder's files (in the database store, they are in the database).
    return create_app(app_config(url, tmp_path, EVIDENCE_STORE="folder"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_restores_the_database_and_the_evidence(sqlite_app: Flask, tmp_path: Path) -> None:
    make = Factory(sqlite_app)
    row, _ = make.submitted(make.user(make.org("Oakfield Primary")), "features")
    runner = sqlite_app.test_cli_runner()
    archive = tmp_path / "backup.tar.gz"

    made = runner.invoke(args=["backup", "--out", str(archive)])
    assert made.exit_code == 0, made.output
    assert "sqlite backup of" in made.output and "1 requests, 1 evidence files" in made.output
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "manifest.json" in names and "database.sqlite3" in names
    assert any(name.startswith("uploads/") for name in names)

    # Disaster: the request and its file are lost after the backup.
    with sqlite_app.app_context():
        evidence = db.session.scalars(select(Evidence)).one()
        stored_file = runtime(db.session).storage.path(evidence.storage_key)
        db.session.delete(db.session.get(Request, row.id))
        db.session.commit()
        db.engine.dispose()
    stored_file.unlink()

    restored = runner.invoke(args=["restore", "--from", str(archive), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Restored sqlite backup" in restored.output
    database = tmp_path / "portal.sqlite3"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT reference FROM request").fetchall() == [(row.reference,)]
    assert stored_file.read_bytes().startswith(b"%PDF")
    assert (tmp_path / "portal.sqlite3.before-restore").exists()  # kept aside, not deleted
    # Issue 20, finding 12: a backup and what it restores are the owner's alone.
    assert mode(archive) == 0o600
    assert mode(database) == 0o600
    assert mode(stored_file) == 0o600
    assert mode(stored_file.parent) == 0o700
    with tarfile.open(archive) as opened:
        assert {m.mode for m in opened.getmembers() if m.isfile()} == {0o600}

    fresh = create_app(app_config(f"sqlite:///{database}", tmp_path, EVIDENCE_STORE="folder"))
    with fresh.app_context():
        assert db.session.scalars(select(Request)).one().reference == row.reference


def test_a_doctored_archive_is_refused(sqlite_app: Flask, tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as out:
        payload = b"owned"
        info = tarfile.TarInfo("../../outside.txt")
        info.size = len(payload)
        out.addfile(info, io.BytesIO(payload))
    result = sqlite_app.test_cli_runner().invoke(args=["restore", "--from", str(archive), "--yes"])
    assert result.exit_code != 0
    assert "not a portal backup" in result.output
    assert not (tmp_path.parent.parent / "outside.txt").exists()


def test_postgresql_is_dumped_with_pg_dump(app: Flask, make: Factory, tmp_path: Path) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("runs in the PostgreSQL pass of make test")
    make.submitted(make.user(make.org()), "features")
    archive = tmp_path / "pg.tar.gz"
    made = app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
    assert made.exit_code == 0, made.output
    assert "postgresql backup of" in made.output
    with tarfile.open(archive) as opened:
        dump = opened.extractfile("database.pgdump")
        assert dump is not None and dump.read(5) == b"PGDMP"  # pg_restore's custom format
    refused = app.test_cli_runner().invoke(args=["restore", "--from", str(archive), "--yes"])
    assert refused.exit_code != 0
    assert "pg_restore" in refused.output
