"""Handling units beyond the dispatch step: corrections by the dispatcher, a 协办 unit's part,
and the routing table (category × place → default unit).

Each write is a command of ``incidents.policy``; the services do the domain's own checks only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import Invalid
from audit.history import attribute
from grids.models import GridOffice, Region
from incidents.models import (
    Department,
    Incident,
    IncidentAssignment,
    IncidentCategory,
    IncidentEvent,
    RoutingRule,
)
from incidents.policy import POLICY
from incidents.services.workflow import StaleVersion, check_text, lock_incident

S = Incident.Status
# Statuses in which a case can still be corrected or a share recorded.
LIVE = frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED, S.VERIFIED, S.RETURNED})
# Statuses in which the dispatcher may still correct the category or priority: before the
# handling unit reports back (afterwards the case is judged as it was handled).
CORRECTABLE = frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURNED})
MAX_TEXT = 2000


def _reason(text: str, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("Give the reason.")})
    return check_text(text, field=field, max_length=MAX_TEXT)


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("correct")
def correct_incident(
    *,
    actor,
    incident_id: int,
    reason: str,
    category: IncidentCategory | None = None,
    priority: str | None = None,
    expected_version: int | None = None,
) -> Incident:
    """The dispatcher corrects what the reporter chose: the category and/or the priority.

    The timeline records old → new and the reason (``IncidentEvent.Kind.CORRECTION``), so a
    correction is never silent. A running deadline is left as it was set at dispatch."""
    reason = _reason(reason)
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    if incident.status not in CORRECTABLE:
        raise ValidationError({"status": _("A finished case cannot be corrected.")})
    changes: dict[str, list[str]] = {}
    if category is not None and category.pk != incident.category_id:
        if not category.is_active:
            raise ValidationError({"category": _("This category is no longer in use.")})
        changes["category"] = [incident.category.code, category.code]
        incident.category = category
    if priority is not None and priority != incident.priority:
        if priority not in Incident.Priority.values:
            raise ValidationError({"priority": _("Choose a priority.")})
        changes["priority"] = [incident.priority, priority]
        incident.priority = priority
    if not changes:
        raise ValidationError({"category": _("Nothing to correct: choose another category or priority.")})
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["category", "priority", "version", "updated_at"])
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.CORRECTION,
        changes=changes,
        note=reason,
    )
    return incident


@transaction.atomic
@POLICY.command("record_part")
def record_part(*, actor, assignment_id: int, result: str) -> IncidentAssignment:
    """A 协办 unit records what it did. The case itself moves on when the 主办 unit reports it
    handled (``workflow.report_handled``); the part is on the timeline either way."""
    result = _reason(result, "result")
    share = (
        IncidentAssignment.objects.select_for_update(of=("self",))
        .select_related("office", "department")
        .filter(pk=assignment_id)
        .first()
    )
    incident = lock_incident(actor=actor, incident_id=share.incident_id)
    if share.part != IncidentAssignment.Part.ASSIST:
        raise ValidationError({"assignment": _("The lead unit reports the case handled instead.")})
    if share.state != IncidentAssignment.State.OPEN:
        raise ValidationError({"assignment": _("This share is no longer open.")})
    if incident.status not in LIVE:
        raise ValidationError({"status": _("This case is finished.")})
    share.state = IncidentAssignment.State.DONE
    share.result = result
    share.done_at = timezone.now()
    share.done_by = actor
    share.save(update_fields=["state", "result", "done_at", "done_by"])
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["version", "updated_at"])
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.PART,
        changes={"unit": str(share.unit)},
        note=result,
    )
    return share


def _check_department(department: Department) -> None:
    department.full_clean()  # fields, the unique code, and the level (Department.clean)


@transaction.atomic
@POLICY.command("department_create")
def department_create(*, actor, code: str, name: str, kind: str, region: Region) -> Department:
    """Record a functional department of ``region`` (its level and its jurisdiction); its staff
    are then users with the department officer role and ``department`` set (the user admin)."""
    department = Department(code=code, name=name, kind=kind, region=region)
    _check_department(department)
    department.save()
    return department


@transaction.atomic
@POLICY.command("department_update")
def department_update(
    *, actor, department: Department, name: str, kind: str, region: Region, is_active: bool = True
) -> Department:
    """Rename, re-place (inside the actor's sight) or deactivate a department. A deactivated one
    is offered to no dispatcher and no route; its open shares stay as they are."""
    department.name, department.kind, department.region, department.is_active = name, kind, region, is_active
    _check_department(department)
    department.save(update_fields=["name", "kind", "region", "is_active"])
    return department


def route_problems(*, region: Region, office: GridOffice | None, department: Department | None) -> dict:
    """The routing table's own checks (the policy checked that everything is in sight): one
    unit, which serves the place."""
    errors: dict[str, str] = {}
    if region.pk is None:
        errors["region"] = _("Not found in your jurisdiction.")
    if (office is None) == (department is None):
        errors["department"] = _("Choose one unit: a grid office or a department.")
    elif department is not None and region.pk is not None:
        if not department.is_active:
            errors["department"] = _("This department is not active.")
        elif not region.path.startswith(department.region.path):
            errors["department"] = _("This department's jurisdiction does not cover this place.")
    elif office is not None and region.pk is not None:
        area = region.path if region.level != Region.Level.VILLAGE else region.path.rsplit("/", 2)[0] + "/"
        if not office.seat.path.startswith(area):
            errors["office"] = _("This grid office does not serve this place.")
    return errors


@transaction.atomic
@POLICY.command("route_set")
def route_set(
    *,
    actor,
    category: IncidentCategory,
    region: Region,
    office: GridOffice | None = None,
    department: Department | None = None,
) -> RoutingRule:
    """Set the default unit for ``category`` in ``region`` (replacing the one there was).

    The unit must serve the place: a department whose jurisdiction contains the region, or a
    grid office seated inside it (or, for a village, in its township)."""
    errors = route_problems(region=region, office=office, department=department)
    if errors:
        raise Invalid(errors)
    try:
        with transaction.atomic():
            route, _created = RoutingRule.objects.update_or_create(
                category=category,
                region=region,
                defaults={"office": office, "department": department, "updated_by": actor},
            )
    except IntegrityError:
        raise Invalid({"region": _("Someone set this route meanwhile; try again.")}) from None
    return route


@transaction.atomic
@POLICY.command("route_delete")
def route_delete(*, actor, route: RoutingRule | int) -> None:
    """Remove a route: the place falls back to a wider region's route, or to the grid's office."""
    RoutingRule.objects.filter(pk=route.pk if isinstance(route, RoutingRule) else route).delete()
