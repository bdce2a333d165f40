"""Reporting an incident: the grid comes from the point, retries come back as the same incident.

``report_incident`` is the command for platform users (``incidents.policy`` rule ``report``);
``report_open311_request`` is the one entry for Open311 clients, which are systems with an API
key rather than users with a jurisdiction.

Idempotency, after the IETF Idempotency-Key draft and Stripe's practice, with the client id
(``client_uuid``) as the key: the first report stores a digest of what was sent
(``request_digest``). A repeat with the same key and the same report answers with the first
incident; the same key with another report is a ``Conflict`` (409, the same answer as for a
key used outside the reporter's jurisdiction, so the two cannot be told apart); a repeat of
a report that was since deleted is ``AlreadyDeleted`` (410 in the API), every time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import Conflict, NotPermitted, system_command
from audit.history import attribute
from grids.models import Grid, Region
from incidents.models import Incident, IncidentCategory, IncidentEvent, IncidentOffice, Open311Client
from incidents.policy import POLICY, refers_problems
from incidents.services.attachments import check_attachments, store_attachments
from incidents.services.worktime import register_due

CITY_CODE = "5204"
# How far ahead of the server's clock a phone's ``reported_at`` may be (clocks drift).
CLOCK_SKEW = timedelta(minutes=5)


class AlreadyDeleted(Conflict):
    """The client id names an incident the reporter may see that has since been deleted: the
    report arrived once and was removed, so a retry must stop (410 Gone in the API)."""

    status_code = 410
    code = "gone"

    def __init__(self, incident: Incident):
        self.incident_id = incident.pk
        super().__init__(
            _("This report was received as incident #%(id)d and has since been deleted.")
            % {"id": incident.pk},
            field_name="client_uuid",
        )


def key_reused() -> Conflict:
    return Conflict(_("This client id is already used by another incident."), field_name="client_uuid")


def check_reported_at(value: datetime | None, *, now: datetime | None = None) -> None:
    """A report cannot come from the future (beyond a few minutes of clock drift)."""
    if value is not None and value > (now or timezone.now()) + CLOCK_SKEW:
        raise ValidationError({"reported_at": _("This time is in the future.")})


# Channels only grid-office staff report through: a grid worker's own sighting or patrol. A call
# or a visit logged at the centre is a hotline or walk-in report, whoever types it in.
GRID_CHANNELS = frozenset({Incident.Source.GRID_WORKER, Incident.Source.PATROL})
USER_CHANNELS = frozenset(set(Incident.Source.values) - {Incident.Source.OPEN311})


def check_source(*, actor, source: str) -> None:
    """The intake channel must be the truth: a grid worker's report only from grid-office staff;
    Open311 only through /open311/ (``report_open311_request``)."""
    if source not in USER_CHANNELS:
        raise ValidationError({"source": _("Choose how the report came in.")})
    if actor is None or actor.is_platform_admin:
        return  # administrators may stand in for anyone, as in the workflow
    if source in GRID_CHANNELS and getattr(actor, "grid_office_id", None) is None:
        raise ValidationError(
            {"source": _("Only grid-office staff report as grid workers; record a call or visit as such.")}
        )


def request_digest(
    *,
    category: IncidentCategory,
    description: str,
    location: Point | None = None,
    grid: Grid | None = None,
    priority: str = Incident.Priority.NORMAL,
    source: str = Incident.Source.GRID_WORKER,
    address: str = "",
    reported_at: datetime | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> str:
    """What a report says, as one SHA-256: a retry of the same report gives the same digest.

    Taken from the parsed values (defaults filled in, times in UTC, files by their bytes), so
    the same report sent as JSON, as a form or in a bulk batch digests alike.
    """
    files = []
    for upload in attachments:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files.append(digest.hexdigest())
    said = {
        "category": category.code,
        "description": description,
        "location": [location.x, location.y] if location is not None else None,
        "grid": grid.code if grid is not None else None,
        "priority": priority,
        "source": source,
        "address": address,
        "reported_at": reported_at.astimezone(UTC).isoformat() if reported_at else None,
        "attachments": files,
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def grid_at(*, location: Point) -> Grid | None:
    """The grid containing ``location`` (a PostGIS ST_Contains served by the spatial index)."""
    return Grid.objects.filter(geometry__contains=location).select_related("village").order_by("code").first()


def place_for(*, actor, location: Point | None, grid: Grid | None, command: str = "report") -> Grid:
    """The grid of a report: the one containing ``location``, else the chosen ``grid``.

    A chosen grid was already checked by the policy (it is a referred object of ``command``);
    a grid found from a point gets the very same test here, reported on ``location``. With no
    actor (Open311) the point only has to lie in a grid of the city.
    """
    if location is None:
        if grid is None:
            raise ValidationError({"location": _("Give a location or choose a grid.")})
        return grid
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
    if actor is not None and refers_problems(command, actor=actor, items=[{"grid": found}])[0]:
        message = _("This place is outside your jurisdiction.")
        raise ValidationError({"location": ValidationError(message, code="outside_jurisdiction")})
    return found


@POLICY.command("report")
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
) -> tuple[Incident, bool]:
    """Create an incident, or return the one already made with ``client_uuid`` (created=False).

    A phone that retries after a lost response sends the same ``client_uuid`` and gets the
    first incident back, never a second one. The same ``client_uuid`` with a different report
    is a ``Conflict``; a retry of a report since deleted is ``AlreadyDeleted`` (module docstring).
    ``source`` is the intake channel and must be true of the actor (``check_source``).
    """
    return _record(
        actor=actor,
        category=category,
        description=description,
        location=location,
        grid=grid,
        client_uuid=client_uuid,
        priority=priority,
        source=source,
        address=address,
        reported_at=reported_at,
        attachments=attachments,
    )


@system_command(
    "Open311 clients are systems, not platform users: the Open311 view identifies the client by "
    "its API key, and a request may come from anywhere in the city (it has no jurisdiction)."
)
def report_open311_request(
    *,
    client: Open311Client,
    category: IncidentCategory,
    description: str,
    location: Point | None,
    address: str = "",
    contact: dict[str, str] | None = None,
) -> tuple[Incident, bool]:
    """A service request from an Open311 client: a citizen's report relayed by another system.

    Without a point (an address only) the request goes, unplaced, to the client's intake grid
    for the command centre to place; a client with none cannot send such requests. ``contact``
    (email, phone, first_name, last_name) is stored encrypted, to tell the reporter of changes.
    """
    from incidents.models import Open311Request

    if not client.is_active:
        raise NotPermitted(_("This Open311 client is not active."))
    if location is None and client.intake_grid_id is None:
        raise ValidationError({"location": _("Give lat and long: addresses cannot be placed here.")})
    with transaction.atomic():
        incident, created = _record(
            actor=None,
            category=category,
            description=description,
            location=location,
            grid=client.intake_grid if location is None else None,
            source=Incident.Source.OPEN311,
            address=address,
            open311_client=client,
        )
        if created:
            Open311Request.objects.create(incident=incident, **(contact or {}))
    return incident, created


@transaction.atomic
def _record(
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
    client_uuid = client_uuid or uuid.uuid4()
    check_reported_at(reported_at)
    digest = request_digest(
        category=category,
        description=description,
        location=location,
        grid=grid,
        priority=priority,
        source=source,
        address=address,
        reported_at=reported_at,
        attachments=attachments,
    )
    existing = _existing(actor=actor, client_uuid=client_uuid, digest=digest)
    if existing is not None:
        return existing, False
    if actor is not None:
        check_source(actor=actor, source=source)
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
        request_digest=digest,
    )
    incident.register_due_at = register_due(incident.reported_at)  # the 立案 limit
    incident.full_clean(exclude=["client_uuid"])
    try:
        with transaction.atomic():
            attribute(incident, actor)
            incident.save()
    except IntegrityError:
        # Another request with the same key won the race: answer with its incident.
        existing = _existing(actor=actor, client_uuid=client_uuid, digest=digest)
        if existing is None:
            raise
        return existing, False
    incident.offices.add(place.office_id, through_defaults=IncidentOffice.copied_from(incident))
    event = IncidentEvent.objects.create(
        incident=incident, actor=actor, at=incident.reported_at, to_status=Incident.Status.REPORTED
    )
    store_attachments(incident=incident, event=event, files=checked_files, actor=actor)
    return incident, True


def _existing(*, actor, client_uuid, digest: str) -> Incident | None:
    """The incident a retry refers to, checked as the module docstring says.

    A key used out of the actor's sight and a key used for another report get one and the same
    ``Conflict``: a retry is never answered with a row the actor may not read, nor is the key
    reused, and the answer says nothing of whose the key is. Incidents stored before digests
    were kept (an empty digest) are taken as retries.
    """
    incident = Incident.objects.filter(client_uuid=client_uuid).first()
    if incident is None:
        return None
    if actor is None or not Incident.objects.visible_to(actor).filter(pk=incident.pk).exists():
        raise key_reused()
    if incident.request_digest and incident.request_digest != digest:
        raise key_reused()
    if incident.deleted_at is not None:
        raise AlreadyDeleted(incident)
    return incident


@POLICY.command("mark_notifications_read")
def mark_notifications_read(*, actor) -> int:
    """The actor's own notifications only: opening the list means they were seen."""
    from incidents.models import Notification

    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
