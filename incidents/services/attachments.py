"""Photos and documents on incidents: checked by their bytes, stored through Django's storage
under a random name (the client's name is kept only to be shown, see anshun.uploads)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from anshun.uploads import display_name, max_upload_bytes, sniff_type, upload_problem
from incidents.models import Incident, IncidentAttachment, IncidentEvent

ATTACHMENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


def max_attachment_bytes() -> int:
    return getattr(settings, "INCIDENT_ATTACHMENT_MAX_BYTES", max_upload_bytes())


def check_attachments(files: Iterable[UploadedFile]) -> list[tuple[UploadedFile, str]]:
    """Every file's problem at once, so the reporter fixes them in one go; nothing is stored."""
    checked, problems = [], []
    limit = max_attachment_bytes()
    for upload in files:
        problem = upload_problem(upload, allowed=ATTACHMENT_TYPES, max_bytes=limit)
        if problem is None:
            checked.append((upload, sniff_type(upload)))
        else:
            problems.append(problem + " " + _("Only JPEG, PNG, WebP photos and PDF documents are accepted."))
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
            original_name=display_name(upload.name),
            size=upload.size,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        # The name passed here is ignored: upload_to (RandomName) names the file by its sniffed type.
        attachment.file.save("upload", upload, save=False)
        attachment.full_clean()
        attachment.save()
        stored.append(attachment)
    return stored
