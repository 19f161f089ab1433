"""Backups: the database and the evidence files in one archive, and restoring one.

SQLite is copied with ``VACUUM INTO``, a consistent snapshot taken while the
portal keeps serving. PostgreSQL is dumped with ``pg_dump`` (custom format),
restored with ``pg_restore`` (see README, Production). Evidence files are
copied as they are: a file is written whole under its final name or not at
all (storage.LocalStorage), so a copy never holds half a file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  (pg_dump, without a shell)
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ...models import Evidence, Request, utcnow

SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
UPLOADS_MEMBER = "uploads"
MANIFEST = "manifest.json"


class BackupError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Manifest:
    made_at: str
    database: str  # "sqlite" or "postgresql"
    schema_revision: str | None
    requests: int
    files: int


@contextmanager
def _private_files() -> Iterator[None]:
    """Everything a backup or restore creates is its owner's alone (0600 files,
    0700 folders) from the moment it exists: a backup holds every school's
    data. Backups and restores run from the command line, one at a time, so
    changing the process's umask for their length touches nothing else."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _owner_only(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Inside the archive too: whoever unpacks it by hand gets private files."""
    member.mode = 0o700 if member.isdir() else 0o600
    return member


def make_backup(engine: Engine, uploads: Path, out: Path) -> Manifest:
    """Write one .tar.gz with the database, the evidence files and a manifest."""
    with _private_files(), tempfile.TemporaryDirectory(prefix="portal-backup-") as work:
        folder = Path(work)
        if engine.dialect.name == "sqlite":
            member = SQLITE_MEMBER
            _sqlite_snapshot(engine, folder / member)
        else:
            member = POSTGRES_MEMBER
            _pg_dump(engine, folder / member)
        with Session(engine) as session:
            manifest = Manifest(
                made_at=utcnow().isoformat(),
                database=engine.dialect.name,
                schema_revision=_revision(session),
                requests=session.scalar(select(func.count()).select_from(Request)) or 0,
                files=session.scalar(select(func.count()).select_from(Evidence)) or 0,
            )
        (folder / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=2))
        partial = out.with_name(out.name + ".part")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(folder / MANIFEST, MANIFEST, filter=_owner_only)
            archive.add(folder / member, member, filter=_owner_only)
            if uploads.exists():
                archive.add(uploads, UPLOADS_MEMBER, filter=_owner_only)
        partial.replace(out)  # never a half-written backup under the real name
    return manifest


def restore_backup(archive_path: Path, database_path: Path, uploads: Path) -> Manifest:
    """Put an SQLite backup back: the database file and the evidence folder.

    The portal must be stopped. What is there now is moved aside (``.before-restore``),
    not deleted, until the restored copy has passed ``PRAGMA integrity_check``.
    """
    with _private_files(), tempfile.TemporaryDirectory(prefix="portal-restore-") as work:
        folder = Path(work)
        with tarfile.open(archive_path, "r:gz") as archive:
            # Every member checked by _plain_members first (ruff S202, bandit B202).
            archive.extractall(folder, members=_plain_members(archive))  # noqa: S202  # nosec B202
        manifest = Manifest(**json.loads((folder / MANIFEST).read_text()))
        if manifest.database != "sqlite":
            raise BackupError(
                "This backup is of PostgreSQL: restore its database.pgdump with pg_restore"
            )
        restored = folder / SQLITE_MEMBER
        _check_integrity(restored)
        database_path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (database_path.with_name(database_path.name + s) for s in ("-wal", "-shm")):
            stale.unlink(missing_ok=True)
        if database_path.exists():
            database_path.replace(database_path.with_name(database_path.name + ".before-restore"))
        shutil.copyfile(restored, database_path)
        if uploads.exists():
            aside = uploads.with_name(uploads.name + ".before-restore")
            shutil.rmtree(aside, ignore_errors=True)
            uploads.replace(aside)
        uploads.mkdir(parents=True, exist_ok=True)
        unpacked = folder / UPLOADS_MEMBER
        # Copied one by one, not with copytree: its modes would be the archive's
        # (0644 in backups made before they were private), not the umask's.
        for path in sorted(unpacked.rglob("*")) if unpacked.exists() else []:
            target = uploads / path.relative_to(unpacked)
            if path.is_dir():
                target.mkdir(exist_ok=True)
            else:
                shutil.copyfile(path, target)
    return manifest


def _plain_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Only plain files and folders inside the archive: no absolute paths, no
    .., no links or devices (a doctored archive must not write elsewhere)."""
    members = []
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"This archive is not a portal backup: it holds {member.name!r}")
        members.append(member)
    return members


def _sqlite_snapshot(engine: Engine, target: Path) -> None:
    # VACUUM INTO takes a consistent copy without stopping writers for long. It
    # cannot run inside a transaction, so on the driver's own connection (which
    # portal engines keep in autocommit; extensions._configure_sqlite).
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM INTO ?", (str(target),))  # type: ignore[union-attr]
    finally:
        raw.close()
    _check_integrity(target)


def _check_integrity(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"The database copy failed its integrity check: {result}")


def _pg_dump(engine: Engine, target: Path) -> None:
    url = make_url(engine.url.render_as_string(hide_password=False))
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump is not installed here: install the PostgreSQL client tools")
    command = [
        program,
        "--format=custom",
        f"--file={target}",
        f"--host={url.host or 'localhost'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or ''}",
        url.database or "",
    ]
    environment = {"PGPASSWORD": url.password or ""}
    # No shell, and arguments we built ourselves (ruff S603, bandit B603).
    result = subprocess.run(  # noqa: S603  # nosec B603
        command, capture_output=True, text=True, env=environment, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def _revision(session: Session) -> str | None:
    try:
        return session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:  # a database made without migrations: say so in the manifest
        return None


def describe(manifest: Manifest) -> str:
    made = datetime.fromisoformat(manifest.made_at)
    return (
        f"{manifest.database} backup of {made:%d %B %Y %H:%M} UTC: {manifest.requests} requests, "
        f"{manifest.files} evidence files, schema {manifest.schema_revision or 'unknown'}"
    )
