"""What a file really is, judged by its first bytes rather than its name."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

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


# An Office file is a ZIP archive: whoever opens it (a reviewer's Excel, our
# own profile import) unpacks it. Real documents stay far inside these.
MAX_PARTS = 2000
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # unpacked / packed, for parts over a megabyte
ARCHIVE_TYPES = frozenset({"docx", "xlsx", "pptx"})


def upload_archive_problem(data: bytes) -> str:
    """Why an uploaded workbook must not be opened, as a sentence, or "": a
    ZIP that is not what it seems (a zip bomb, macros) is refused before it
    is unpacked; anything else that is not a workbook fails to open later."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        problem = archive_problem(io.BytesIO(data))
        if problem:
            return f"This file cannot be opened: it {problem}"
    return ""


def archive_problem(source: Path | IO[bytes]) -> str | None:
    """Why an Office (ZIP) file must not be kept or opened, in words, or None:
    a zip bomb (too many parts, too large unpacked, compressed too tightly),
    parts named to escape a folder, or macros."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "is damaged or not an Office file"
    if len(parts) > MAX_PARTS:
        return f"holds more than {MAX_PARTS:,} parts"
    if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
        return f"unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB"
    for part in parts:
        name = part.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/"):
            return "holds a part whose name leads outside the document"
        if part.file_size > 1024 * 1024 and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            return "is compressed far more tightly than a real document (a zip bomb)"
        if name.lower().endswith("vbaproject.bin"):
            return "contains macros: save it without them (as .docx or .xlsx) and upload that"
    return _inflation_problem(source)


INFLATE_CHUNK = 256 * 1024


def _inflation_problem(source: Path | IO[bytes]) -> str | None:
    """What the parts really unpack to, measured as they stream, never trusting
    the sizes the archive declares (which a crafted one fakes): a running total
    capped at MAX_UNPACKED_BYTES, and each part's real ratio."""
    total = 0
    try:
        if not isinstance(source, Path):
            source.seek(0)
        with zipfile.ZipFile(source) as archive:
            for part in archive.infolist():
                unpacked = 0
                with archive.open(part) as stream:
                    while chunk := stream.read(INFLATE_CHUNK):
                        unpacked += len(chunk)
                        total += len(chunk)
                        if total > MAX_UNPACKED_BYTES:
                            return f"unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB"
                if unpacked > 1024 * 1024 and unpacked > MAX_RATIO * max(part.compress_size, 1):
                    return "is compressed far more tightly than a real document (a zip bomb)"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        # zipfile stops a part at its declared size and then finds the CRC
        # wrong: an archive that lies about its sizes ends here.
        return "is damaged: its parts do not unpack to what it declares"
    return None


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
