"""Reporting an incident: the grid comes from the point, retries come back as the same incident."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.history import attribute
from grids.models import Grid, Region
from incidents.models import Incident, IncidentCategory, IncidentEvent
from incidents.services.attachments import check_attachments, store_attachments

CITY_CODE = "5204"


def grid_at(*, location: Point) -> Grid | None:
    """The grid containing ``location`` (a PostGIS ST_Contains served by the spatial index)."""
    return Grid.objects.filter(geometry__contains=location).select_related("village").order_by("code").first()


def place_for(*, actor, location: Point | None, grid: Grid | None) -> Grid:
    if location is not None:
        if location.srid not in (None, 4326):
            location.transform(4326)
        if not (-180 <= location.x <= 180 and -90 <= location.y <= 90):
            raise ValidationError({"location": _("Longitude and latitude are out of range.")})
        found = grid_at(location=location)
        if found is None:
            inside_city = Region.objects.filter(code=CITY_CODE, boundary__contains=location).exists()
            if not inside_city:
                raise ValidationError(
                    {"location": ValidationError(_("This point is outside Anshun."), code="outside_city")}
                )
            raise ValidationError(
                {"location": ValidationError(_("No grid covers this point yet."), code="no_grid")}
            )
        grid = found
    elif grid is None:
        raise ValidationError({"location": _("Give a location or choose a grid.")})
    if actor is not None and not Grid.objects.visible_to(actor).filter(pk=grid.pk).exists():
        field = "location" if location is not None else "grid"
        message = _("This place is outside your jurisdiction.")
        raise ValidationError({field: ValidationError(message, code="outside_jurisdiction")})
    return grid


@transaction.atomic
def report_incident(
    *,
    actor,
    category: IncidentCategory,
    description: str,
    location: Point | None = None,
    grid: Grid | None = None,
    client_uuid: uuid.UUID | None = None,
    priority: str = Incident.Priority.NORMAL,
    source: str = Incident.Source.GRID_WORKER,
    address: str = "",
    reported_at=None,
    attachments: Sequence[UploadedFile] = (),
    open311_client=None,
) -> tuple[Incident, bool]:
    """Create an incident, or return the one already made with ``client_uuid`` (created=False).

    ``actor`` is None only for channels without a platform user (Open311 clients), which are
    not limited to a jurisdiction. A phone that retries after a lost response sends the same
    ``client_uuid`` and gets the first incident back, never a second one.
    """
    if actor is not None and not actor.can("incident.report"):
        raise PermissionDenied(_("Your role cannot report incidents."))
    client_uuid = client_uuid or uuid.uuid4()
    existing = _existing(actor=actor, client_uuid=client_uuid)
    if existing is not None:
        return existing, False
    if not category.is_active:
        raise ValidationError({"category": _("This category is no longer in use.")})
    checked_files = check_attachments(attachments)
    place = place_for(actor=actor, location=location, grid=grid)
    incident = Incident(
        client_uuid=client_uuid,
        category=category,
        description=description,
        location=location,
        address=address,
        grid=place,
        priority=priority,
        source=source,
        reporter=actor,
        open311_client=open311_client,
        reported_at=reported_at or timezone.now(),
    )
    incident.full_clean(exclude=["client_uuid"])
    try:
        with transaction.atomic():
            attribute(incident, actor)
            incident.save()
    except IntegrityError:
        # Another request with the same key won the race: answer with its incident.
        existing = _existing(actor=actor, client_uuid=client_uuid)
        if existing is None:
            raise
        return existing, False
    incident.offices.add(place.office_id)
    event = IncidentEvent.objects.create(
        incident=incident, actor=actor, at=incident.reported_at, to_status=Incident.Status.REPORTED
    )
    store_attachments(incident=incident, event=event, files=checked_files, actor=actor)
    return incident, True


def _existing(*, actor, client_uuid) -> Incident | None:
    incident = Incident.objects.filter(client_uuid=client_uuid).first()
    if incident is None:
        return None
    if actor is not None and not Incident.objects.visible_to(actor).filter(pk=incident.pk).exists():
        raise ValidationError({"client_uuid": _("This client id is already used by another incident.")})
    return incident


def mark_notifications_read(*, actor) -> int:
    from incidents.models import Notification

    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
