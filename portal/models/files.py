"""Evidence files kept in the database (EVIDENCE_STORE = "database"), for
several app servers sharing one database: services/platform/storage.py."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at


class StoredFile(Base):
    """One stored file, named by its random storage key (Evidence.storage_key)."""

    __tablename__ = "stored_file"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, comment="how many stored_file_chunk rows")
    created_at: Mapped[created_at]


class StoredFileChunk(Base):
    """A piece of a stored file (1 MB but the last): written and read one at a
    time, so no file is ever whole in memory."""

    __tablename__ = "stored_file_chunk"

    key: Mapped[str] = mapped_column(
        String(64), ForeignKey("stored_file.key", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
