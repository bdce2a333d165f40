"""What an uploaded file really is, read from its first bytes.

A phone's or client's declared content type and the file name are not trusted:
every app that accepts uploads asks ``sniff_type`` and keeps only the types it wants.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

# (signature, offset, content type)
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heic"),
    (b"%PDF-", 0, "application/pdf"),
)
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})


def sniff_type(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, offset, content_type in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type
    return None
