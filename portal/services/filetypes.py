"""What a file really is, judged by its first bytes rather than its name."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

# Office Open XML files are ZIP archives; the part that names their kind.
_OOXML_PART = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
}


def _starts(*prefixes: bytes) -> Callable[[Path, bytes], bool]:
    return lambda _path, head: head.startswith(prefixes)


def _ooxml(kind: str) -> Callable[[Path, bytes], bool]:
    def check(path: Path, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                return _OOXML_PART[kind] in archive.namelist()
        except zipfile.BadZipFile:
            return False

    return check


def _text(path: Path, head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True


CHECKS: dict[str, Callable[[Path, bytes], bool]] = {
    "pdf": _starts(b"%PDF-"),
    "png": _starts(b"\x89PNG\r\n\x1a\n"),
    "jpg": _starts(b"\xff\xd8\xff"),
    "jpeg": _starts(b"\xff\xd8\xff"),
    "docx": _ooxml("docx"),
    "xlsx": _ooxml("xlsx"),
    "pptx": _ooxml("pptx"),
    "csv": _text,
    "txt": _text,
}
KNOWN_TYPES = frozenset(CHECKS)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv",
    "txt": "text/plain",
}


def content_matches(extension: str, path: Path) -> bool:
    """True when the stored file's content is what its extension says."""
    check = CHECKS.get(extension)
    if check is None:
        return False
    with path.open("rb") as handle:
        head = handle.read(4096)
    return check(path, head)
