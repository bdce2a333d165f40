"""Writes for safe cells and "1+4" prevention. Each is a command of ``safety_cells.policy``
(who may, and where), then validates everything and writes nothing when any field is wrong
(the API turns the ValidationError into a 400)."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Mapping

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString, Point
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from anshun.commands import Conflict
from anshun.scoping import deliberately_unscoped
from anshun.uploads import PHOTO_TYPES, display_name, sniff_type, upload_problem
from audit.history import attribute
from grids.models import Grid, Region
from safety_cells.models import (
    Camera,
    CellType,
    Evaluation,
    EvaluationPhoto,
    EvaluationScore,
    OnSiteMeeting,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
    UnitMember,
)
from safety_cells.policy import POLICY


def _boundary_of(region: Region):
    """The region's boundary, or the nearest ancestor's when it has none (a management zone)."""
    current = region
    while current is not None:
        if current.boundary is not None:
            return current
        current = current.parent
    return None


def check_inside_region(*, region: Region, location: Point | None, field: str = "location") -> None:
    if location is None:
        return
    bounded = _boundary_of(region)
    if bounded is None:
        raise ValidationError(
            {field: _("%(region)s has no boundary to place a site in.") % {"region": region}}
        )
    if not bounded.boundary.covers(location):
        raise ValidationError({field: _("The location lies outside %(region)s.") % {"region": bounded.name}})


@POLICY.command("safety_cell_create")
@transaction.atomic
def safety_cell_create(
    *,
    actor,
    name: str,
    cell_type: CellType,
    region: Region,
    location: Point | None,
    address: str = "",
    is_demonstration_site: bool = False,
    designated_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> SafetyCell:
    cell = SafetyCell(
        name=name,
        cell_type=cell_type,
        region=region,
        location=location,
        address=address,
        is_demonstration_site=is_demonstration_site,
        designated_on=designated_on,
        valid_until=valid_until,
    )
    _validate_cell(cell)
    cell.save()
    return cell


def _validate_cell(cell: SafetyCell) -> None:
    errors: dict[str, list] = {}
    try:
        cell.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        check_inside_region(region=cell.region, location=cell.location)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if cell.is_demonstration_site and cell.designated_on is None:
        errors.setdefault("designated_on", []).append(_("A demonstration site needs a designation date."))
    if cell.designated_on and cell.valid_until and cell.valid_until < cell.designated_on:
        errors.setdefault("valid_until", []).append(_("A designation cannot end before it starts."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic  # the policy runs inside, so the cell it saw is the one locked below
@POLICY.command("demonstration_site_designate")
def demonstration_site_designate(
    *, actor, cell: SafetyCell, designated_on: datetime.date, valid_until: datetime.date | None
) -> SafetyCell:
    """Designate (or re-designate) a cell as a demonstration site (示范点) for a period."""
    cell = SafetyCell.objects.select_for_update().get(pk=cell.pk)
    cell.is_demonstration_site = True
    cell.designated_on = designated_on
    cell.valid_until = valid_until
    _validate_cell(cell)
    cell.save(update_fields=["is_demonstration_site", "designated_on", "valid_until"])
    return cell


@POLICY.command("evaluation_record")
@transaction.atomic
def evaluation_record(
    *,
    actor,
    cell: SafetyCell,
    scores: Mapping[int, int],
    evaluated_on: datetime.date | None = None,
    notes: str = "",
    photos: Iterable[UploadedFile] = (),
) -> Evaluation:
    """Score a cell against every criterion of its type; each score lies in 0..max_score.

    The actor is the evaluator: an evaluation is never recorded in someone else's name.

    ``scores`` maps criterion id to score. Every criterion of the type must be scored, and
    nothing is written if any score is missing, unknown or out of range.
    """
    criteria = {c.pk: c for c in cell.cell_type.criteria.all()}
    errors: dict[str, list[str]] = {}
    if not criteria:
        errors["scores"] = [_("This type has no criteria to score against.")]
    for criterion_id in scores:
        if criterion_id not in criteria:
            errors.setdefault("scores", []).append(
                _("Criterion %(id)s does not belong to this type.") % {"id": criterion_id}
            )
    for criterion in criteria.values():
        score = scores.get(criterion.pk)
        if score is None:
            errors.setdefault("scores", []).append(_("%(name)s is not scored.") % {"name": criterion.name})
        elif not 0 <= score <= criterion.max_score:
            errors.setdefault("scores", []).append(
                _("%(name)s: the score must be between 0 and %(max)s.")
                % {"name": criterion.name, "max": criterion.max_score}
            )
    photos = list(photos)
    for index, photo in enumerate(photos):
        problem = upload_problem(photo, allowed=PHOTO_TYPES)  # the bytes decide, not the name
        if problem:
            errors.setdefault("photos", []).append(
                f"{index + 1}: {problem} " + _("Only JPEG, PNG, WebP or HEIC photos are accepted.")
            )
    if errors:
        raise ValidationError(errors)

    evaluation = Evaluation(
        cell=cell,
        evaluator=actor,
        notes=notes,
        total_score=sum(scores.values()),
        max_total=sum(c.max_score for c in criteria.values()),
    )
    if evaluated_on is not None:
        evaluation.evaluated_on = evaluated_on
    evaluation.full_clean()
    attribute(evaluation, actor)
    evaluation.save()
    EvaluationScore.objects.bulk_create(
        EvaluationScore(evaluation=evaluation, criterion_id=cid, score=score) for cid, score in scores.items()
    )
    for photo in photos:
        # Stored under a random name with the sniffed type's extension; the phone's name is only shown.
        stored = EvaluationPhoto(
            evaluation=evaluation, content_type=sniff_type(photo), original_name=display_name(photo.name)
        )
        stored.image.save("upload", photo, save=False)
        stored.save()
    return evaluation


@POLICY.command("on_site_meeting_record")
@transaction.atomic
def on_site_meeting_record(
    *,
    actor,
    title: str,
    held_on: datetime.date,
    host_region: Region,
    sites: list[SafetyCell],
    conclusions: str,
) -> OnSiteMeeting:
    meeting = OnSiteMeeting(title=title, held_on=held_on, host_region=host_region, conclusions=conclusions)
    meeting.full_clean()
    if not sites:
        raise ValidationError({"sites_visited": _("An on-site meeting visits at least one site.")})
    outside = [s.name for s in sites if not s.region.path.startswith(host_region.path)]
    if outside:
        raise ValidationError(
            {"sites_visited": _("Outside the host region: %(names)s") % {"names": ", ".join(outside)}}
        )
    meeting.save()
    meeting.sites_visited.set(sites)
    return meeting


def _as_route(route) -> LineString:
    """A LineString of at least two points, from GEOS, WKT or GeoJSON (text or dict)."""
    if isinstance(route, dict):
        route = json.dumps(route)
    if isinstance(route, str | bytes):
        try:
            route = GEOSGeometry(route)
        except (ValueError, TypeError, GEOSException, GDALException):
            raise ValidationError({"route": _("The route is not readable geometry.")}) from None
    if not isinstance(route, LineString) or route.geom_type != "LineString" or route.num_points < 2:
        raise ValidationError({"route": _("The route must be a line (a LineString of at least two points).")})
    if route.srid is None:
        route.srid = 4326
    return route


@POLICY.command("patrol_log")
@transaction.atomic
def patrol_log(
    *,
    actor,
    unit: PreventionUnit,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    route,
    observations: str = "",
    client_uuid: uuid.UUID | None = None,
    incidents: Iterable = (),
) -> PatrolLog:
    """Record a patrol by the actor. A retry with the same ``client_uuid`` returns the first record;
    a key already used out of the actor's sight is a conflict, never that record."""
    if client_uuid is not None:
        existing = PatrolLog.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            if not PatrolLog.objects.visible_to(actor).filter(pk=existing.pk).exists():
                raise Conflict(
                    _("This client id is already used by another patrol log."), field_name="client_uuid"
                )
            return existing
    errors: dict[str, list[str]] = {}
    if not unit.is_active or unit.kind == PreventionUnit.Kind.SECURITY_COMMITTEE:
        errors["unit"] = [_("This unit does not log patrols.")]
    try:
        route = _as_route(route)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if started_at and ended_at and ended_at <= started_at:
        errors["ended_at"] = [_("A patrol cannot end before it starts.")]
    if errors:
        raise ValidationError(errors)
    log = PatrolLog(
        unit=unit,
        logged_by=actor,
        started_at=started_at,
        ended_at=ended_at,
        route=route,
        observations=observations,
    )
    if client_uuid is not None:
        log.client_uuid = client_uuid
    log.full_clean()
    log.save()
    incidents = list(incidents)
    if incidents:
        log.incidents.set(incidents)
    return log


@POLICY.command("prevention_unit_create")
@transaction.atomic
def prevention_unit_create(
    *, actor, name: str, level: str, kind: str, region: Region, is_active: bool = True
) -> PreventionUnit:
    """Set up a unit of the "1+4" structure. A unit works at its region's level (the city's
    command, a county's armed patrol, a township's patrol, a village's security committee or
    patrol team), so the level must be the region's; a security committee is a village's."""
    errors: dict[str, list[str]] = {}
    if level in PreventionUnit.Level.values and region.level != level:
        errors["level"] = [
            _("%(region)s is a %(region_level)s; a unit of this level works in a region of its level.")
            % {"region": region.name, "region_level": region.get_level_display()}
        ]
    if kind == PreventionUnit.Kind.SECURITY_COMMITTEE and level != PreventionUnit.Level.VILLAGE:
        errors.setdefault("kind", []).append(_("Security committees are set up in villages and communities."))
    unit = PreventionUnit(name=name.strip(), level=level, kind=kind, region=region, is_active=is_active)
    try:
        unit.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    unit.save()
    return unit


@POLICY.command("unit_member_add")
@transaction.atomic
def unit_member_add(*, actor, unit: PreventionUnit, name: str, phone: str = "", duty: str = "") -> UnitMember:
    """Add a member to a prevention unit (the roster patrols and shifts draw on)."""
    member = UnitMember(unit=unit, name=name.strip(), phone=phone.strip(), duty=duty.strip())
    member.full_clean()
    member.save()
    return member


def place_point(location: Point) -> tuple[Region | None, Grid | None]:
    """The village and grid a point falls in, from the boundaries in the tree."""
    grid = Grid.objects.filter(geometry__covers=location).select_related("village").first()
    if grid is not None:
        return grid.village, grid
    village = Region.objects.filter(level=Region.Level.VILLAGE, boundary__covers=location).first()
    return village, None


@POLICY.command("camera_register")
@transaction.atomic
def camera_register(
    *,
    actor,
    code: str,
    phase: int,
    location: Point,
    owner: str,
    status: str = Camera.Status.ONLINE,
    name: str = "",
) -> Camera:
    """Register a Skynet camera point; its village and grid come from where it stands.

    The code is the device's code on the city's Skynet (天网) video platform, which the public
    security bureau issues and the 综治 centre reads footage and coverage by: one code is one
    device city-wide, so codes stay unique across the city and a second record under a taken
    code would merge two cameras. The check therefore reaches past the official's jurisdiction,
    but its answer is ``camera_code_taken()`` word for word whether the holder is in the
    official's own township or in another county: it names no camera, place, owner or status,
    and sends the official to the issuing bureau (which knows its own codes). That the code is
    taken is all it says; that much the issuing bureau tells anyone who asks for a code.
    Two officials registering one code at once are settled by the unique index, the loser
    getting the same field error.
    """
    village, grid = place_point(location)
    if village is None:
        raise ValidationError({"location": _("The location lies outside every village of the city.")})
    if not Region.objects.visible_to(actor).filter(pk=village.pk).exists():
        raise ValidationError({"location": _("This place is outside your jurisdiction.")})
    camera = Camera(
        code=code,
        name=name,
        phase=phase,
        location=location,
        owner=owner,
        status=status,
        village=village,
        grid=grid,
    )
    camera.full_clean(validate_unique=False)
    taken = deliberately_unscoped(
        Camera.objects.all(), actor=actor, why="Camera codes are unique city-wide; only 'taken' is said."
    )
    if taken.filter(code=camera.code).exists():
        raise ValidationError({"code": camera_code_taken()})
    try:
        with transaction.atomic():
            camera.save()
    except IntegrityError as exc:
        if "code" not in str(exc):
            raise
        raise ValidationError({"code": camera_code_taken()}) from None
    return camera


def camera_code_taken() -> str:
    """The one answer to a taken camera code, wherever the camera stands (``camera_register``)."""
    return _(
        "This camera code is already taken in the city register. "
        "Check the code with the bureau that issued it."
    )
