"""What staff say to the public about an Open311 request (its ``status_notes``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from anshun.exports import CONTROL_CHARACTERS
from audit.history import attribute
from incidents.models import Incident, IncidentEvent, Open311Request
from incidents.policy import POLICY
from incidents.services.workflow import StaleVersion, lock_incident

PUBLIC_NOTE_MAX = 300


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("set_public_note")
def set_public_note(
    *, actor, incident_id: int, note: str, expected_version: int | None = None
) -> Open311Request:
    """Set the note the public reads for the request's current status (empty: the status in words).

    Kept apart from timeline notes, which name people and places and stay internal; the
    timeline records who wrote the public note, and the incident's version and
    ``updated_datetime`` move, so Open311 readers see that something changed.
    """
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    if incident.source != Incident.Source.OPEN311:
        raise ValidationError({"note": _("Only Open311 requests have a public note.")})
    note = note.strip()
    if len(note) > PUBLIC_NOTE_MAX:
        raise ValidationError(
            {"note": _("The public note can have at most %(max)s characters.") % {"max": PUBLIC_NOTE_MAX}}
        )
    if CONTROL_CHARACTERS.search(note):
        raise ValidationError({"note": _("The public note contains control characters.")})
    request, _created = Open311Request.objects.get_or_create(incident=incident)
    request.status_notes = note
    request.status_notes_status = incident.status if note else ""
    request.save(update_fields=["status_notes", "status_notes_status"])
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["version", "updated_at"])
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=incident.status,
        to_status=incident.status,
        # The note as written; the timeline's words around it are the reader's (change_lines).
        changes={"public_note": note},
    )
    return request
