"""Photos and documents on incidents: checked by their bytes, stored through Django's storage."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from anshun.uploads import sniff_type
from incidents.models import Incident, IncidentAttachment, IncidentEvent

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def max_attachment_bytes() -> int:
    return getattr(settings, "INCIDENT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def check_attachments(files: Iterable[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Every file's problem at once, so the reporter fixes them in one go; nothing is stored."""
    checked, problems = [], []
    limit = max_attachment_bytes()
    for upload in files:
        content_type = sniff_type(upload)
        if content_type is None or content_type == "image/heic":
            problems.append(
                _("%(name)s: only JPEG, PNG, WebP photos and PDF documents are accepted.")
                % {"name": upload.name}
            )
        elif upload.size > limit:
            problems.append(
                _("%(name)s is larger than %(mb)d MB.") % {"name": upload.name, "mb": limit // (1024 * 1024)}
            )
        else:
            checked.append((upload, content_type))
    if problems:
        raise ValidationError({"attachments": problems})
    return checked


def store_attachments(
    *, incident: Incident, event: IncidentEvent | None, files: list[tuple[UploadedFile, str]], actor
) -> list[IncidentAttachment]:
    stored = []
    for upload, content_type in files:
        attachment = IncidentAttachment(
            incident=incident,
            event=event,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        attachment.file.save(upload.name, upload, save=False)
        attachment.full_clean()
        attachment.save()
        stored.append(attachment)
    return stored
