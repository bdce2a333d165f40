"""What an uploaded file really is, read from its first bytes, and whether to take it.

A phone's or client's declared content type and the file name are not trusted:
every app that accepts uploads asks ``sniff_type`` (or ``upload_problem``) and keeps
only the types it wants, up to its size limit. Files that are kept are stored under a
random name whose extension is the sniffed type's (``RandomName``); the client's name
survives only as display metadata (``display_name``), and the files are served by
``anshun.files`` alone, never from a public /media/ URL.
"""

from __future__ import annotations

import codecs
import os
import re
import uuid
from collections.abc import Collection

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.deconstruct import deconstructible
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
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> str | None:
    """``sniff_type`` for the first bytes of a file already read."""
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


# The stored file's extension for each type that is ever kept as a served file. Anything else
# that reached storage is served as application/octet-stream, as a download.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
OCTET_STREAM = "application/octet-stream"
DISPLAY_NAME_LENGTH = 150
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def random_name(prefix: str, content_type: str) -> str:
    """``prefix/YYYY/MM/<32 hex>.<ext of the sniffed type>``: nothing of the client's name, nothing
    to guess, and an extension a web server maps back to the same harmless type."""
    extension = EXTENSIONS.get(content_type, "bin")
    return f"{prefix}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


@deconstructible
class RandomName:
    """``upload_to`` for files whose model keeps the sniffed type in ``type_field``."""

    def __init__(self, prefix: str, type_field: str = "content_type"):
        self.prefix = prefix
        self.type_field = type_field

    def __call__(self, instance, filename: str) -> str:
        return random_name(self.prefix, getattr(instance, self.type_field, "") or "")

    def __eq__(self, other) -> bool:
        return isinstance(other, RandomName) and (self.prefix, self.type_field) == (
            other.prefix,
            other.type_field,
        )


def display_name(client_name: str | None) -> str:
    """The client's file name, for people to read only: no folders, no control characters, short."""
    name = _UNPRINTABLE.sub("", os.path.basename((client_name or "").replace("\\", "/"))).strip()
    if len(name) > DISPLAY_NAME_LENGTH:
        stem, extension = os.path.splitext(name)
        name = stem[: DISPLAY_NAME_LENGTH - len(extension[:10])] + extension[:10]
    return name


def move_to_random_name(*, storage, name: str, prefix: str) -> tuple[str, str] | None:
    """For files stored before random names: copy ``name`` to a random name chosen by its
    sniffed type and return (new name, type), or None if the file is gone. The old file is
    removed only after the surrounding transaction commits, so a rollback loses nothing."""
    from django.core.files.base import ContentFile
    from django.db import transaction

    try:
        with storage.open(name, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    content_type = sniff_bytes(data[:TEXT_SAMPLE_BYTES]) or OCTET_STREAM
    new_name = storage.save(random_name(prefix, content_type), ContentFile(data))
    transaction.on_commit(lambda: storage.delete(name))
    return new_name, content_type
