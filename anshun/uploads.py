"""What an uploaded file really is, read from its first bytes, and whether to take it.

A phone's or client's declared content type and the file name are not trusted:
every app that accepts uploads asks ``sniff_type`` (or ``upload_problem``) and keeps
only the types it wants, up to its size limit.
"""

from __future__ import annotations

import codecs
from collections.abc import Collection

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = "text/plain"

# (signature, offset, content type)
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heic"),
    (b"%PDF-", 0, "application/pdf"),
    # XLSX is a ZIP package; openpyxl then decides whether it is really a workbook.
    (b"PK\x03\x04", 0, XLSX),
)
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})
TEXT_SAMPLE_BYTES = 4096
# What a file name promises; imports refuse a file whose bytes break the promise.
TYPES_BY_EXTENSION = {".csv": TEXT, ".xlsx": XLSX, ".geojson": TEXT, ".json": TEXT}


def _is_text(sample: bytes) -> bool:
    """UTF-8 without NUL bytes (HTML, CSV, JSON, scripts); a sample may end mid-character."""
    if b"\x00" in sample:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return bool(sample)


def sniff_type(upload: UploadedFile) -> str | None:
    """The content type the bytes show, ``text/plain`` for UTF-8 text, or None if unknown."""
    upload.seek(0)
    head = upload.read(TEXT_SAMPLE_BYTES)
    upload.seek(0)
    for signature, offset, content_type in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type
    return TEXT if _is_text(head) else None


def max_upload_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def max_import_bytes() -> int:
    return settings.IMPORT_MAX_BYTES


def upload_problem(
    upload: UploadedFile, *, allowed: Collection[str], max_bytes: int | None = None, by_name: bool = False
) -> str | None:
    """Why ``upload`` is refused, or None: its bytes are not an allowed type, they are not
    what the file name promises (``by_name``), or the file is larger than the limit."""
    limit = max_bytes if max_bytes is not None else max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        return _("%(name)s is larger than %(mb)s MB.") % {"name": upload.name, "mb": round(limit / 2**20, 1)}
    content_type = sniff_type(upload)
    if content_type not in allowed:
        return _("%(name)s: this kind of file is not accepted here.") % {"name": upload.name}
    if by_name:
        extension = "." + (upload.name or "").rsplit(".", 1)[-1].lower() if "." in (upload.name or "") else ""
        if TYPES_BY_EXTENSION.get(extension) != content_type:
            return _("%(name)s: the content does not match the file name.") % {"name": upload.name}
    return None
