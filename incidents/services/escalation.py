"""Escalation of overdue incidents up the "1+4" levels: community → township → county → city.

An incident climbs one level per handling limit it overruns: the first step when it
becomes overdue, the next after another full limit, and so on up to the city command
centre. Each step is taken under the row lock after re-checking, and the timeline's
unique (incident, escalation_level) constraint makes a second escalation to the same
level impossible even if two beat runs overlap.

A pass reads only what fell due: ``Incident.next_escalation_at`` is a lower bound of the next
step's time (a trigger resets it to ``due_at`` on every change it depends on; each step here
stores the exact time of the following one), so the job selects the rows due now through a
partial index and never walks the history. Passes never overlap: a session advisory lock makes
a second one return at once.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from anshun.commands import system_command
from audit.history import attribute
from grids.models import Region
from incidents.models import Incident, IncidentEvent, Notification
from incidents.notifications import incident_params, lead_staff, notify
from incidents.selectors import RUNNING_STATUSES
from incidents.services.workflow import handling_limit_hours
from incidents.services.worktime import add_working_hours, dispatch_due, register_due, take_due

LEVEL = Incident.EscalationLevel
# Who answers for an incident at each level: the command centre and the officials there.
RESPONSIBLE_ROLES = {
    LEVEL.TOWNSHIP: (Role.DISPATCHER, Role.TOWNSHIP_OFFICIAL),
    LEVEL.COUNTY: (Role.DISPATCHER, Role.COUNTY_OFFICIAL),
    LEVEL.CITY: (Role.DISPATCHER, Role.CITY_OFFICIAL),
}


# pg_try_advisory_lock key of the pass ("ESCL" in ASCII).
ESCALATION_LOCK = 0x4553434C


@contextmanager
def single_run(key: int):
    """Hold a session advisory lock for the pass: True when this run got it, False when another
    run still holds it (that run does the work; this one stops at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def overdue_incident_ids(*, now: datetime) -> list[int]:
    """The incidents whose next step may be due: a range scan of the queue's partial index.
    ``due_at < now`` keeps the first step's strict "overdue" test; the rest is re-checked under
    the row lock."""
    return list(
        Incident.objects.filter(next_escalation_at__lte=now, due_at__lt=now)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)
    )


def next_step_at(incident: Incident, *, level: int, limit_hours: int) -> datetime | None:
    """When the step after ``level`` falls due; None at the city (no step after it)."""
    if level >= LEVEL.CITY:
        return None
    return add_working_hours(incident.due_at, level * limit_hours)


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
    limit = handling_limit_hours(incident)
    step_due = next_step_at(incident, level=incident.escalation_level, limit_hours=limit)
    if now < step_due:
        # Not yet: the queue held a lower bound (a limit or due time changed); store the exact time.
        if incident.next_escalation_at != step_due:
            Incident.objects.filter(pk=incident.pk).update(next_escalation_at=step_due)
        return False
    incident.escalation_level = next_level
    incident.next_escalation_at = next_step_at(incident, level=next_level, limit_hours=limit)
    incident.version += 1
    attribute(incident, None, reason="escalation")
    incident.save(update_fields=["escalation_level", "next_escalation_at", "version", "updated_at"])
    # Stored as the level, not as words: the timeline and the notification are written in the
    # reader's language when read (IncidentEvent.change_lines, incidents.notifications.render).
    IncidentEvent.objects.create(
        incident=incident,
        at=now,
        from_status=incident.status,
        to_status=incident.status,
        escalation_level=next_level,
    )
    notify(
        recipients=responsible_users(incident, next_level),
        incident=incident,
        kind=Notification.Kind.OVERDUE,
        params={**incident_params(incident), "level": next_level},
    )
    return True


# The intake limits: 立案 (from the report), 派遣 (from 立案, and again from a unit's 退回) and
# the lead unit's 签收 (from 派遣), one working hour each.
INTAKE_STAGES = {
    Incident.Status.REPORTED: "register_due_at",
    Incident.Status.REGISTERED: "dispatch_due_at",
    Incident.Status.RETURNED: "dispatch_due_at",
    Incident.Status.DISPATCHED: "take_due_at",
}
# What each limit's passing is called on the timeline and in the notification.
INTAKE_LATE = {
    "register_due_at": ("not_registered", Notification.Kind.NOT_REGISTERED),
    "dispatch_due_at": ("not_dispatched", Notification.Kind.NOT_DISPATCHED),
    "take_due_at": ("not_taken", Notification.Kind.NOT_TAKEN),
}


def intake_due_ids(*, now: datetime) -> list[int]:
    """The incidents whose 立案 or 派遣 limit may have run out: a range scan of the partial index
    ``incidents_intake_queue`` (``intake_alert_at`` is a lower bound of the limit, kept by the
    trigger of migration 0014; NULL once alerted or past intake)."""
    return list(
        Incident.objects.filter(intake_alert_at__lte=now)
        .order_by("intake_alert_at")
        .values_list("pk", flat=True)
    )


def _last_came_to(incident: Incident, *statuses: str) -> datetime:
    """When the case last entered one of ``statuses`` (for 派遣: its 立案 or a unit's 退回; for
    签收: its 派遣)."""
    at = (
        IncidentEvent.objects.filter(incident=incident, to_status__in=statuses)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    return at or incident.updated_at


@system_command("The beat job moves overdue intake to the centre's attention; no person starts it.")
@transaction.atomic
def alert_intake(*, incident_id: int, now: datetime | None = None) -> bool:
    """Tell the township centre once that a report was not registered, or a registered case not
    dispatched, within its limit; True when told. A limit the writer did not store (bulk sync's
    raw inserts) is computed and stored here."""
    now = now or timezone.now()
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("category", "grid__village__parent__parent__parent")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None or incident.intake_alert_at is None:
        return False
    field = INTAKE_STAGES.get(incident.status)
    if field is None or incident.deleted_at is not None:
        Incident.objects.filter(pk=incident.pk).update(intake_alert_at=None)
        return False
    due = getattr(incident, field)
    filled = due is None
    if filled:
        S = Incident.Status
        if field == "register_due_at":
            due = register_due(incident.reported_at)
        elif field == "dispatch_due_at":
            due = dispatch_due(_last_came_to(incident, S.REGISTERED, S.RETURNED))
        else:
            due = take_due(_last_came_to(incident, S.DISPATCHED))
    if now < due:
        # Not yet: the queue held a lower bound; store the exact time (and the limit if missing).
        Incident.objects.filter(pk=incident.pk).update(intake_alert_at=due, **{field: due})
        return False
    setattr(incident, field, due)
    incident.intake_alert_at = None
    incident.version += 1
    attribute(incident, None, reason="intake limit")
    incident.save(update_fields=[field, "intake_alert_at", "version", "updated_at"])
    code, kind = INTAKE_LATE[field]
    IncidentEvent.objects.create(
        incident=incident,
        at=now,
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.DEADLINE,
        # Stored as a code and the limit; worded in the reader's language when read.
        changes={"deadline": {"code": code, "due": due.isoformat()}},
    )
    recipients = list(responsible_users(incident, LEVEL.TOWNSHIP))
    params = incident_params(incident)
    if field == "take_due_at":
        # The centre chases the unit, and the unit's own staff are reminded too.
        recipients += [u for u in lead_staff(incident) if u not in recipients]
        params["unit"] = str(incident.handling_unit or "")
    notify(recipients=recipients, incident=incident, kind=kind, params=params)
    return True


@system_command("The beat job (incidents.tasks.escalate_overdue_incidents), every five minutes.")
def escalate_overdue(*, now: datetime | None = None) -> int:
    """One pass of the beat job; each incident in its own short transaction, so one failure stops
    none. Returns 0 at once while another pass runs."""
    now = now or timezone.now()
    with single_run(ESCALATION_LOCK) as acquired:
        if not acquired:
            return 0
        return sum(escalate_incident(incident_id=pk, now=now) for pk in overdue_incident_ids(now=now))


# pg_try_advisory_lock key of the intake pass ("INTK" in ASCII).
INTAKE_LOCK = 0x494E544B


@system_command("The same beat job (incidents.tasks.escalate_overdue_incidents), after the escalations.")
def alert_overdue_intake(*, now: datetime | None = None) -> int:
    """One pass over the 立案 and 派遣 limits that ran out; as ``escalate_overdue``."""
    now = now or timezone.now()
    with single_run(INTAKE_LOCK) as acquired:
        if not acquired:
            return 0
        return sum(alert_intake(incident_id=pk, now=now) for pk in intake_due_ids(now=now))
