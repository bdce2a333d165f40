"""Changing an incident's facts (not its status) and deleting it, with optimistic concurrency."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import Conflict, NotFound
from audit.history import attribute
from grids.models import Grid
from incidents.models import Incident, IncidentCategory, IncidentEvent, IncidentOffice
from incidents.policy import POLICY
from incidents.services.reporting import place_for
from incidents.services.workflow import StaleVersion, lock_incident

EDITABLE = ("category", "description", "priority", "address")


@transaction.atomic
@POLICY.command("update")
def update_incident(
    *,
    actor,
    incident_id: int,
    expected_version: int | None = None,
    category: IncidentCategory | None = None,
    description: str | None = None,
    priority: str | None = None,
    address: str | None = None,
    location: Point | None = None,
    grid: Grid | None = None,
) -> Incident:
    """Correct what was reported; the place may move only before dispatch."""
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    if incident.status == Incident.Status.CLOSED:
        raise ValidationError({"status": _("A closed incident cannot be changed.")})
    if incident.status == Incident.Status.MERGED:
        # A sync client may still hold the merged report: tell it where the case went (409).
        raise Conflict(
            _("This report was merged into case #%(id)d: send changes to that case.")
            % {"id": incident.merged_into_id},
            field_name="status",
        )
    values = {"category": category, "description": description, "priority": priority, "address": address}
    changed = [
        name for name, value in values.items() if value is not None and getattr(incident, name) != value
    ]
    for name in changed:
        setattr(incident, name, values[name])
    if location is not None or grid is not None:
        if incident.status not in (Incident.Status.REPORTED, Incident.Status.REGISTERED):
            raise ValidationError({"location": _("The place cannot change after dispatch.")})
        incident.grid = place_for(actor=actor, location=location, grid=grid, command="update")
        incident.location = location
        incident.offices.add(incident.grid.office_id, through_defaults=IncidentOffice.copied_from(incident))
        changed += ["grid", "location"]
    if not changed:
        return incident
    if category is not None and not category.is_active:
        raise ValidationError({"category": _("This category is no longer in use.")})
    incident.full_clean(exclude=["client_uuid", "offices"])
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=[*changed, "version", "updated_at"])
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=incident.status,
        to_status=incident.status,
        # The fields as codes: the timeline names them in the reader's language (change_lines).
        changes={"edited": changed},
    )
    return incident


@transaction.atomic
@POLICY.command("delete")
def delete_incident(*, actor, incident_id: int, expected_version: int | None = None) -> Incident:
    """Soft delete: sync clients must learn of it, so the row stays as a tombstone.

    Deleting again is not an error: a replayed request (a lost answer, an outbox retry) ends in
    the state the first one made, so it gets the first one's answer. ``expected_version``
    guards only the change itself; once the incident is deleted there is nothing to overwrite.
    """
    incident = (
        Incident.objects.visible_to(actor).select_for_update(of=("self",)).filter(pk=incident_id).first()
    )
    if incident is None:
        raise NotFound()
    if incident.deleted_at is not None:
        return incident
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    incident.deleted_at = timezone.now()
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["deleted_at", "version", "updated_at"])
    return incident
