"""Where uploaded files live: a small interface, a local folder by default.

Several app servers need a shared store; anything with these four methods
(an object store, a network folder) can replace LocalStorage in
``app.extensions["portal_storage"]``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

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
    def put(self, stream: IO[bytes], limit: int) -> Blob: ...

    def path(self, key: str) -> Path: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one folder, named by a random key, two levels deep."""

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


_DOOMED = "portal_delete_after_commit"


def delete_after_commit(session: Session, key: str) -> None:
    """Remove a stored file once the transaction that dropped its row commits;
    if it rolls back instead, the row (and so the file) is still wanted."""
    session.info.setdefault(_DOOMED, []).append(key)


_FRESH = "portal_delete_after_rollback"


def delete_after_rollback(session: Session, key: str) -> None:
    """Remove a file just stored if the transaction that was to record it rolls
    back (a refused file beside a good one, an error later in the request):
    otherwise each failed upload would leave its bytes on disk for good."""
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
