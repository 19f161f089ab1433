"""Where uploaded files live: a small interface, a local folder by default.

Several app servers need a shared store: EVIDENCE_STORE = "database" keeps
the files in the portal's own database (DatabaseStorage), which every server
shares already. Anything else with these methods (an object store, a network
folder) can take their place: ``app.extensions["portal_storage"]`` holds a
function from a session to the store that session uses (:func:`configured`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, cast

from sqlalchemy import Table, delete, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from ...models import StoredFile, StoredFileChunk
from .runtime import runtime

CHUNK = 1024 * 1024


class TooLarge(Exception):
    """The stream was longer than the limit; nothing was kept."""


@dataclass(frozen=True)
class Blob:
    key: str
    sha256: str
    size: int
    path: Path  # a local path to inspect the content (for a remote store, a temporary copy)


class Storage(Protocol):
    # Whether put and delete are part of the session's transaction (kept or
    # undone with it), or happen at once whatever the transaction does.
    transactional: bool

    def put(self, stream: IO[bytes], limit: int) -> Blob: ...

    def path(self, key: str) -> Path: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one folder, named by a random key, two levels deep."""

    transactional = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def put(self, stream: IO[bytes], limit: int) -> Blob:
        key = secrets.token_hex(16)
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        partial = path.with_suffix(".part")
        with partial.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    partial.unlink()
                    raise TooLarge
                digest.update(chunk)
                out.write(chunk)
        os.replace(partial, path)
        return Blob(key=key, sha256=digest.hexdigest(), size=size, path=path)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class DatabaseStorage:
    """Files in the portal's database (stored_file, and its 1 MB chunks in
    stored_file_chunk), for app servers that share the database and no folder.

    Written and removed in the session's own transaction: a file is kept or
    undone with the rows that name it, so a failed upload leaves nothing and a
    removal is never half done. A file moves one chunk at a time, in and out:
    none is ever whole in memory. ``path`` (and ``put``'s Blob) give a
    temporary local copy, removed when the session's transaction ends: the
    checks of a file's type read it then, and a download opens it first (an
    open file stays readable after its name is removed).
    """

    transactional = True

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, stream: IO[bytes], limit: int) -> Blob:
        key = secrets.token_hex(16)
        digest = hashlib.sha256()
        size = seq = 0
        copy = self._copy()
        self.session.execute(insert(_FILES).values(key=key, size=0, sha256="", chunks=0))
        with copy:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    self.delete(key)
                    raise TooLarge
                digest.update(chunk)
                copy.write(chunk)
                self.session.execute(insert(_CHUNKS).values(key=key, seq=seq, data=chunk))
                seq += 1
        self.session.execute(
            update(_FILES)
            .where(_FILES.c.key == key)
            .values(size=size, sha256=digest.hexdigest(), chunks=seq)
        )
        return Blob(key=key, sha256=digest.hexdigest(), size=size, path=Path(copy.name))

    def path(self, key: str) -> Path:
        """A temporary copy of the file; a path where nothing is for a key
        with no file (as LocalStorage's would be)."""
        chunks = self.session.scalar(select(_FILES.c.chunks).where(_FILES.c.key == key))
        copy = self._copy()
        with copy:
            for seq in range(chunks or 0):
                copy.write(
                    self.session.execute(
                        select(_CHUNKS.c.data).where(_CHUNKS.c.key == key, _CHUNKS.c.seq == seq)
                    ).scalar_one()
                )
        if chunks is None:
            os.unlink(copy.name)
        return Path(copy.name)

    def delete(self, key: str) -> None:
        self.session.execute(delete(_CHUNKS).where(_CHUNKS.c.key == key))
        self.session.execute(delete(_FILES).where(_FILES.c.key == key))

    def _copy(self) -> Any:
        copy = tempfile.NamedTemporaryFile(prefix="portal-evidence-", delete=False)  # noqa: SIM115
        self.session.info.setdefault(_COPIES, []).append(copy.name)
        return copy


_FILES = cast(Table, StoredFile.__table__)
_CHUNKS = cast(Table, StoredFileChunk.__table__)
_COPIES = "portal_storage_copies"


@event.listens_for(Session, "after_transaction_end")
def _remove_copies(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction, not a savepoint
        for name in session.info.pop(_COPIES, []):
            Path(name).unlink(missing_ok=True)


def configured(kind: str, folder: Path) -> Callable[[Session], Storage]:
    """The store EVIDENCE_STORE names, for each session: "folder" (one for
    all, under UPLOAD_FOLDER) or "database" (one per session, in its
    transaction)."""
    if kind == "database":
        return DatabaseStorage
    local = LocalStorage(folder)
    return lambda _session: local


_DOOMED = "portal_delete_after_commit"


def delete_after_commit(session: Session, key: str) -> None:
    """Remove a stored file once the transaction that dropped its row commits;
    if it rolls back instead, the row (and so the file) is still wanted. (A
    store in the transaction removes it now: the rollback would undo that.)"""
    store = runtime(session).storage
    if store.transactional:
        store.delete(key)
        return
    session.info.setdefault(_DOOMED, []).append(key)


_FRESH = "portal_delete_after_rollback"


def delete_after_rollback(session: Session, key: str) -> None:
    """Remove a file just stored if the transaction that was to record it rolls
    back (a refused file beside a good one, an error later in the request):
    otherwise each failed upload would leave its bytes on disk for good. (A
    store in the transaction needs nothing: the rollback undoes the file.)"""
    if not runtime(session).storage.transactional:
        session.info.setdefault(_FRESH, []).append(key)


@event.listens_for(Session, "after_commit")
def _delete_doomed(session: Session) -> None:
    session.info.pop(_FRESH, None)  # recorded: wanted
    for key in session.info.pop(_DOOMED, []):
        runtime(session).storage.delete(key)


@event.listens_for(Session, "after_rollback")
def _keep_doomed(session: Session) -> None:
    session.info.pop(_DOOMED, None)
    for key in session.info.pop(_FRESH, []):
        runtime(session).storage.delete(key)
