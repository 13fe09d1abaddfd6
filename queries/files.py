"""Content-addressed storage of query attachments, and what a content is.

A file is received into a temporary file inside the store as it arrives, hashed on the way and refused
as soon as it passes :data:`MAX_BYTES`, so that no upload is ever held whole in memory. Then its type is
detected from its bytes (``filetype``'s signatures, then a check for plain UTF-8 text), never from its
name, and checked against :data:`ACCEPTED`; only then is it moved to ``<files_dir>/ab/cd/<sha256>``.
The same content attached twice is stored once. The store lives in ``BAILIWICK_FILES_DIR``, which no
route serves: downloads go through the API, which checks scope and audits each one.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import filetype

from core import FieldError

FIELD = "file"
MAX_BYTES = 25 * 1024 * 1024
_HEAD = 8192  # what filetype reads of a file, and the sample CSV sniffing looks at
_CHUNK = 1 << 16
_INCOMING = ".incoming"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# What reads as a file name's extension (to be replaced by the detected type's): "pdf", "mp3", not "2".
_EXTENSION = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]{1,5}")
# Control characters no text file carries (tab, line ends and form feed are text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ODT = "application/vnd.oasis.opendocument.text"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_ZIPPED = frozenset({_DOCX, _XLSX, _ODT, _ODS})

# What a query may carry: documents, pictures, telephone recordings and text. Keyed by the type
# filetype detects (or the text check gives), each with the type it is stored and served as and the
# extensions its downloads may carry (the first is given to a name without one of them).
ACCEPTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("application/pdf", ("pdf",)),
    "image/png": ("image/png", ("png",)),
    "image/jpeg": ("image/jpeg", ("jpg", "jpeg")),
    "image/gif": ("image/gif", ("gif",)),
    "image/webp": ("image/webp", ("webp",)),
    "image/tiff": ("image/tiff", ("tif", "tiff")),
    "audio/mpeg": ("audio/mpeg", ("mp3",)),
    "audio/x-wav": ("audio/wav", ("wav",)),
    "audio/mp4": ("audio/mp4", ("m4a", "mp4")),
    "audio/ogg": ("audio/ogg", ("ogg", "oga", "opus")),
    "audio/x-flac": ("audio/flac", ("flac",)),
    "audio/amr": ("audio/amr", ("amr",)),
    _DOCX: (_DOCX, ("docx",)),
    _XLSX: (_XLSX, ("xlsx",)),
    _ODT: (_ODT, ("odt",)),
    _ODS: (_ODS, ("ods",)),
    "text/plain": ("text/plain", ("txt", "log")),
    "text/csv": ("text/csv", ("csv",)),
}


class FileRefused(FieldError):
    """The upload cannot be stored (an empty file: a 422)."""


class FileTooLarge(FileRefused):
    """Larger than :data:`MAX_BYTES` (a 413)."""


class FileTypeRefused(FileRefused):
    """Of a type not in :data:`ACCEPTED`, or not recognised at all (a 415)."""


@dataclass(frozen=True)
class StoredContent:
    sha256: str
    size_bytes: int
    content_type: str


def content_path(files_dir: Path, sha256: str) -> Path:
    """Where the content with this digest lives; only a digest names a path, never user input."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return files_dir / sha256[:2] / sha256[2:4] / sha256


def _is_text(path: Path) -> bool:
    """UTF-8 (a byte-order mark allowed) with no control character but tab, line ends and form feed."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                if _CONTROL.search(decoder.decode(chunk)):
                    return False
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _is_csv(path: Path) -> bool:
    """Whether the text's first lines are a table: one delimiter, the same number (2 or more) of fields."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    lines = head.decode("utf-8-sig", errors="ignore").splitlines()
    if len(head) == _HEAD:  # the file goes on: its last line here may be cut short
        lines = lines[:-1]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return len(widths) == 1 and widths.pop() >= 2


def _macro_free_archive(path: Path) -> bool:
    """An office document is a zip archive: a whole one, carrying no macros."""
    try:
        with zipfile.ZipFile(path) as archive:
            return not any(name.lower().endswith("vbaproject.bin") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def detect_type(path: Path) -> str | None:
    """The accepted type the content is, as stored and served, or None when it is no accepted type."""
    kind = filetype.guess_mime(str(path))
    if kind is None and _is_text(path):
        kind = "text/csv" if _is_csv(path) else "text/plain"
    if kind not in ACCEPTED or (kind in _ZIPPED and not _macro_free_archive(path)):
        return None
    return ACCEPTED[kind][0]


def _refusal(path: Path) -> str:
    """Why :func:`detect_type` found no accepted type."""
    kind = filetype.guess_mime(str(path))
    if kind in _ZIPPED:
        return f"its content is a {kind} document that is not a whole archive or carries macros"
    return f"its content is {kind}" if kind else "its type is not recognised from its content"


def download_name(filename: str | None, content_type: str) -> str:
    """The uploader's name for the file, made safe for a header and a file system (no directory, no
    control or quote characters), its extension that of its detected type: a picture named ``.pdf``
    downloads as the ``.png`` it is."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*').strip(" .")
    extensions = next(exts for stored, exts in ACCEPTED.values() if stored == content_type)
    stem, dot, ext = name.rpartition(".")
    if dot and ext.lower() in extensions:
        return f"{stem[:200] or 'attachment'}.{ext.lower()}"
    if not (dot and _EXTENSION.fullmatch(ext)):
        stem = name
    return f"{stem[:200] or 'attachment'}.{extensions[0]}"


class IncomingFile:
    """A file being received into the store: ``write`` its bytes as they come, then ``finish`` to
    check it and keep it. Leaving the ``with`` block without finishing removes what was written."""

    def __init__(self, files_dir: Path) -> None:
        self.files_dir = files_dir
        self.size = 0
        self._hash = hashlib.sha256()
        incoming = files_dir / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(dir=incoming)
        self._file = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._finished = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self._file.closed:
            self._file.close()
        if not self._finished:
            self._path.unlink(missing_ok=True)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_BYTES:
            raise FileTooLarge(FIELD, f"is larger than {MAX_BYTES:,} bytes ({MAX_BYTES / 2**20:g} MiB), "
                                      "the most a query's attachment may be")
        self._hash.update(data)
        self._file.write(data)

    def finish(self) -> StoredContent:
        """Check the received file (not empty, an accepted type detected from its content) and move it
        to its content-addressed place, unless that content is already stored."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if self.size == 0:
            raise FileRefused(FIELD, "is empty")
        content_type = detect_type(self._path)
        if content_type is None:
            accepted = ", ".join(sorted({exts[0] for _, exts in ACCEPTED.values()}))
            raise FileTypeRefused(FIELD, f"{_refusal(self._path)}, which a query does not take; accepted: {accepted}")
        sha256 = self._hash.hexdigest()
        target = content_path(self.files_dir, sha256)
        if target.exists():
            self._path.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(self._path, target)
        self._finished = True
        return StoredContent(sha256, self.size, content_type)
