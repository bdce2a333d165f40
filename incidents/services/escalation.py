"""Escalation of overdue incidents up the "1+4" levels: community → township → county → city.

An incident climbs one level per handling limit it overruns: the first step when it
becomes overdue, the next after another full limit, and so on up to the city command
centre. Each step is taken under the row lock after re-checking, and the timeline's
unique (incident, escalation_level) constraint makes a second escalation to the same
level impossible even if two beat runs overlap.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from anshun.commands import system_command
from audit.history import attribute
from grids.models import Region
from incidents.models import Incident, IncidentEvent
from incidents.notifications import notify
from incidents.selectors import RUNNING_STATUSES
from incidents.services.workflow import handling_limit_hours
from incidents.services.worktime import add_working_hours

LEVEL = Incident.EscalationLevel
# Who answers for an incident at each level: the command centre and the officials there.
RESPONSIBLE_ROLES = {
    LEVEL.TOWNSHIP: (Role.DISPATCHER, Role.TOWNSHIP_OFFICIAL),
    LEVEL.COUNTY: (Role.DISPATCHER, Role.COUNTY_OFFICIAL),
    LEVEL.CITY: (Role.DISPATCHER, Role.CITY_OFFICIAL),
}


def overdue_incident_ids(*, now: datetime) -> list[int]:
    return list(
        Incident.objects.filter(
            deleted_at__isnull=True,
            status__in=RUNNING_STATUSES,
            due_at__lt=now,
            escalation_level__lt=LEVEL.CITY,
        )
        .order_by("due_at")
        .values_list("pk", flat=True)
    )


def level_region(incident: Incident, level: int) -> Region | None:
    """The township, county or city above the incident's village."""
    region = incident.grid.village
    for _step in range(level):
        region = region.parent
        if region is None:
            return None
    return region


def responsible_users(incident: Incident, level: int):
    region = level_region(incident, level)
    if region is None:
        return User.objects.none()
    return User.objects.filter(is_active=True, region=region, role__in=RESPONSIBLE_ROLES[level]).order_by(
        "pk"
    )


@system_command("The beat job moves overdue incidents up a level; no person starts it.")
@transaction.atomic
def escalate_incident(*, incident_id: int, now: datetime | None = None) -> bool:
    """Take the next escalation step if it is due; True when a step was taken."""
    now = now or timezone.now()
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("category", "grid__village__parent__parent__parent")
        .filter(pk=incident_id, deleted_at__isnull=True)
        .first()
    )
    if incident is None or incident.status not in RUNNING_STATUSES or incident.due_at is None:
        return False
    if incident.escalation_level >= LEVEL.CITY:
        return False
    next_level = incident.escalation_level + 1
    step_due = add_working_hours(incident.due_at, (next_level - 1) * handling_limit_hours(incident))
    if now < step_due:
        return False
    incident.escalation_level = next_level
    incident.version += 1
    attribute(incident, None, reason="escalation")
    incident.save(update_fields=["escalation_level", "version", "updated_at"])
    level_name = LEVEL(next_level).label
    IncidentEvent.objects.create(
        incident=incident,
        at=now,
        from_status=incident.status,
        to_status=incident.status,
        escalation_level=next_level,
        note=_("Overdue: escalated to %(level)s.") % {"level": level_name},
    )
    notify(
        recipients=responsible_users(incident, next_level),
        incident=incident,
        message=_("Incident #%(id)s (%(category)s) is overdue and now with %(level)s.")
        % {"id": incident.pk, "category": incident.category.name, "level": level_name},
    )
    return True


@system_command("The beat job (incidents.tasks.escalate_overdue_incidents), every five minutes.")
def escalate_overdue(*, now: datetime | None = None) -> int:
    """One pass of the beat job; each incident in its own transaction, so one failure stops none."""
    now = now or timezone.now()
    return sum(escalate_incident(incident_id=pk, now=now) for pk in overdue_incident_ids(now=now))
