"""The incident workflow: one service per transition.

Each service is a command of ``incidents.policy`` (capability, scope, handling unit: one rule
per step, checked inside the service's transaction with the row locked). The service then
checks the incident's current status, changes the incident, raises its ``version`` and
appends one timeline entry — all in one transaction. Two people acting on the same
incident at once queue on the lock; the second one finds the status already moved
and gets a validation error, so both cannot win. Pass ``expected_version`` (the
client's ETag) to turn a stale view into ``StaleVersion`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import Invalid, NotFound
from audit.history import attribute
from grids.models import GridOffice
from incidents import notifications
from incidents.models import (
    CategoryTimeLimit,
    Department,
    Incident,
    IncidentAssignment,
    IncidentEvent,
    IncidentOffice,
)
from incidents.open311_notify import queue_reporter_message
from incidents.policy import POLICY
from incidents.services.attachments import check_attachments, store_attachments
from incidents.services.worktime import add_working_hours, dispatch_due, take_due

S = Incident.Status


class StaleVersion(Exception):
    """The client changed an incident it last saw at an older version (HTTP 412)."""

    def __init__(self, current: int):
        super().__init__(f"incident is at version {current}")
        self.current = current


@dataclass(frozen=True)
class Transition:
    """A step's facts; who may take it is the policy rule of the same name."""

    name: str
    sources: frozenset[str]
    target: str
    needs_note: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("register", frozenset({S.REPORTED}), S.REGISTERED),
        Transition("dispatch", frozenset({S.REGISTERED, S.RETURNED}), S.DISPATCHED),
        Transition("take", frozenset({S.DISPATCHED}), S.HANDLING),
        Transition("report_handled", frozenset({S.HANDLING}), S.HANDLED),
        Transition("return", frozenset({S.DISPATCHED, S.HANDLING}), S.RETURNED, needs_note=True),
        Transition("verify", frozenset({S.HANDLED}), S.VERIFIED),
        Transition("reopen", frozenset({S.HANDLED}), S.HANDLING, needs_note=True),
        Transition("close", frozenset({S.VERIFIED}), S.CLOSED),
        # 不予立案: the centre declines what was reported (junk, not its business), with a reason.
        Transition("reject", frozenset({S.REPORTED}), S.REJECTED, needs_note=True),
        # 作废: a registered case turns out void (a duplicate, a hoax), with a reason.
        Transition("void", frozenset({S.REGISTERED, S.RETURNED}), S.VOIDED, needs_note=True),
    )
}


def available_transitions(*, actor, incident: Incident) -> list[str]:
    """What ``actor`` may do next with ``incident`` (read through a scoped selector), for the
    buttons and the API's ``actions`` field: the policy's rule and the status, no query."""
    if incident.deleted_at is not None:
        return []
    names = []
    for transition in TRANSITIONS.values():
        if incident.status not in transition.sources or not POLICY.can(transition.name, actor=actor):
            continue
        condition = POLICY.rule(transition.name).condition
        if condition is not None and condition(actor, incident):
            continue
        names.append(transition.name)
    return names


def _check_status(*, incident: Incident, transition: Transition) -> None:
    if incident.status not in transition.sources:
        message = _("A %(status)s incident cannot be sent to “%(action)s”.") % {
            "status": incident.get_status_display(),
            "action": transition.name,
        }
        raise ValidationError({"status": ValidationError(message, code="invalid_transition")})


def check_text(value: str, *, field: str, max_length: int = 2000) -> str:
    """A note or reason as the database can hold it: no NUL or lone surrogate, not too long."""
    if any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError({field: _("This text holds characters that cannot be stored.")})
    if len(value) > max_length:
        raise ValidationError({field: _("At most %(n)d characters.") % {"n": max_length}})
    return value


def lock_incident(*, actor, incident_id: int) -> Incident:
    """The live incident under its row lock; a deleted one is not found, like a missing one."""
    incident = (
        Incident.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("category")
        .filter(pk=incident_id, deleted_at__isnull=True)
        .first()
    )
    if incident is None:
        raise NotFound()
    return incident


def handling_limit_hours(incident: Incident) -> int:
    limit = (
        CategoryTimeLimit.objects.filter(category_id=incident.category_id, priority=incident.priority)
        .values_list("handling_limit_hours", flat=True)
        .first()
    )
    return limit if limit is not None else incident.category.handling_limit_hours


def _apply(
    *,
    actor,
    incident_id: int,
    name: str,
    note: str = "",
    expected_version: int | None = None,
    attachments: Sequence[UploadedFile] = (),
    change: Callable[[Incident], list[str]] | None = None,
    changes: Callable[[], dict] | None = None,
) -> Incident:
    transition = TRANSITIONS[name]
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    _check_status(incident=incident, transition=transition)
    if transition.needs_note and not note.strip():
        raise ValidationError({"note": _("Give the reason.")})
    check_text(note, field="note", max_length=20_000)
    files = check_attachments(attachments)
    from_status = incident.status
    changed = change(incident) if change else []
    incident.status = transition.target
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["status", "version", "updated_at", *changed])
    event = IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=from_status,
        to_status=transition.target,
        note=note,
        changes=changes() if changes else {},
    )
    store_attachments(incident=incident, event=event, files=files, actor=actor)
    notifications.on_event(event=event, incident=incident)  # whoever the step hands it to is told
    queue_reporter_message(incident)  # an Open311 reporter hears of the new status after the commit
    return incident


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("register")
def register_incident(*, actor, incident_id: int, note: str = "", expected_version: int | None = None):
    """立案; the 派遣 limit starts (one working hour, ``worktime.DISPATCH_LIMIT_HOURS``)."""

    def change(incident: Incident) -> list[str]:
        incident.dispatch_due_at = dispatch_due(timezone.now())
        return ["dispatch_due_at"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="register",
        note=note,
        expected_version=expected_version,
        change=change,
    )


def _covers(department: Department, incident: Incident) -> bool:
    return incident.grid.village.path.startswith(department.region.path)


def _units_problems(
    *,
    incident: Incident,
    handling_office: GridOffice | None,
    handling_department: Department | None,
    assist_offices: Iterable[GridOffice],
    assist_departments: Iterable[Department],
) -> dict[str, str]:
    """The domain's checks of a dispatch (the policy already checked each unit is in sight):
    one 主办 unit, departments whose jurisdiction covers the place, no unit twice."""
    errors: dict[str, str] = {}
    if handling_office is not None and handling_department is not None:
        errors["handling_department"] = _("Choose one lead unit: a grid office or a department.")
    for field, departments in (
        ("handling_department", [handling_department] if handling_department else []),
        ("assist_departments", assist_departments),
    ):
        for department in departments:
            if not department.is_active:
                errors[field] = _("This department is not active.")
            elif not _covers(department, incident):
                errors[field] = _("This department's jurisdiction does not cover the incident's place.")
    if handling_department is not None and handling_department in assist_departments:
        errors["assist_departments"] = _("The lead unit cannot also assist.")
    if handling_office is not None and handling_office in assist_offices:
        errors["assist_offices"] = _("The lead unit cannot also assist.")
    return errors


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("dispatch")
def dispatch_incident(
    *,
    actor,
    incident_id: int,
    handling_office: GridOffice | None = None,
    handling_department: Department | None = None,
    assist_offices: Sequence[GridOffice] = (),
    assist_departments: Sequence[Department] = (),
    note: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Send to one 主办 unit (a grid office or a functional department; the grid's own office by
    default) and any 协办 units, and start the lead unit's time limit.

    Each unit gets a share (``IncidentAssignment``); shares of an earlier dispatch are withdrawn.
    The timeline entry names every unit, so each hand-over stays on record."""
    assist_offices = list(dict.fromkeys(assist_offices))
    assist_departments = list(dict.fromkeys(assist_departments))
    handover: dict = {}

    def change(incident: Incident) -> list[str]:
        office = handling_office
        if handling_department is None and office is None:
            office = incident.grid.office
            if not GridOffice.objects.visible_to(actor).filter(pk=office.pk).exists():
                # A unit chosen by the dispatcher is a referred object of the policy; the default
                # one (the grid's own office) gets the same test and the same answer here.
                raise Invalid({"handling_office": _("Not found in your jurisdiction.")})
        errors = _units_problems(
            incident=incident,
            handling_office=office,
            handling_department=handling_department,
            assist_offices=assist_offices,
            assist_departments=assist_departments,
        )
        if errors:
            raise Invalid(errors)
        incident.handling_office = office if handling_department is None else None
        incident.handling_department = handling_department
        incident.handler = None
        incident.due_at = add_working_hours(timezone.now(), handling_limit_hours(incident))
        incident.take_due_at = take_due(timezone.now())  # the lead unit's 签收
        IncidentAssignment.objects.filter(incident=incident, state=IncidentAssignment.State.OPEN).update(
            state=IncidentAssignment.State.WITHDRAWN
        )
        lead = {"office": incident.handling_office, "department": handling_department}
        shares = [IncidentAssignment(part=IncidentAssignment.Part.LEAD, **lead)]
        shares += [IncidentAssignment(part=IncidentAssignment.Part.ASSIST, office=o) for o in assist_offices]
        shares += [
            IncidentAssignment(part=IncidentAssignment.Part.ASSIST, department=d) for d in assist_departments
        ]
        for share in shares:
            share.incident = incident
            share.assigned_by = actor
        IncidentAssignment.objects.bulk_create(shares)
        offices = [o for o in [incident.handling_office, *assist_offices] if o is not None]
        departments = [d for d in [handling_department, *assist_departments] if d is not None]
        if offices:
            incident.offices.add(*offices, through_defaults=IncidentOffice.copied_from(incident))
        if departments:
            incident.departments.add(*departments)
        handover.update(
            lead=str(incident.handling_unit), assist=[str(u) for u in [*assist_offices, *assist_departments]]
        )
        return ["handling_office", "handling_department", "handler", "due_at", "take_due_at"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="dispatch",
        note=note,
        expected_version=expected_version,
        change=change,
        changes=lambda: handover,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("take")
def take_incident(*, actor, incident_id: int, note: str = "", expected_version: int | None = None):
    def change(incident: Incident) -> list[str]:
        incident.handler = actor
        return ["handler"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="take",
        note=note,
        expected_version=expected_version,
        change=change,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("report_handled")
def report_handled(
    *,
    actor,
    incident_id: int,
    note: str = "",
    attachments: Sequence[UploadedFile] = (),
    expected_version: int | None = None,
) -> Incident:
    def change(incident: Incident) -> list[str]:
        IncidentAssignment.objects.filter(
            incident=incident, part=IncidentAssignment.Part.LEAD, state=IncidentAssignment.State.OPEN
        ).update(state=IncidentAssignment.State.DONE, result=note, done_at=timezone.now(), done_by=actor)
        return []

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="report_handled",
        change=change,
        note=note,
        attachments=attachments,
        expected_version=expected_version,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("return")
def return_incident(*, actor, incident_id: int, note: str, expected_version: int | None = None) -> Incident:
    """Back to the dispatcher: the unit was the wrong one (the reason is required). Every open
    share is withdrawn; the next dispatch hands out new ones. The 派遣 limit starts again: the
    centre has one working hour to send the case to the right unit, as after 立案."""

    def change(incident: Incident) -> list[str]:
        IncidentAssignment.objects.filter(incident=incident, state=IncidentAssignment.State.OPEN).update(
            state=IncidentAssignment.State.WITHDRAWN
        )
        incident.dispatch_due_at = dispatch_due(timezone.now())
        return ["dispatch_due_at"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="return",
        note=note,
        expected_version=expected_version,
        change=change,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("verify")
def verify_incident(*, actor, incident_id: int, note: str = "", expected_version: int | None = None):
    return _apply(
        actor=actor, incident_id=incident_id, name="verify", note=note, expected_version=expected_version
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("reopen")
def reopen_incident(*, actor, incident_id: int, note: str, expected_version: int | None = None) -> Incident:
    """Verification failed: back to the handling unit, with what is still wrong (its lead share
    is open again)."""

    def change(incident: Incident) -> list[str]:
        IncidentAssignment.objects.filter(
            incident=incident, part=IncidentAssignment.Part.LEAD, state=IncidentAssignment.State.DONE
        ).update(state=IncidentAssignment.State.OPEN, done_at=None, done_by=None)
        return []

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="reopen",
        note=note,
        expected_version=expected_version,
        change=change,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("close")
def close_incident(*, actor, incident_id: int, note: str = "", expected_version: int | None = None):
    def change(incident: Incident) -> list[str]:
        incident.closed_at = timezone.now()
        return ["closed_at"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="close",
        note=note,
        expected_version=expected_version,
        change=change,
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("reject")
def reject_incident(*, actor, incident_id: int, note: str, expected_version: int | None = None) -> Incident:
    """不予立案: the centre declines a report (not a case for it, junk); the reason is required and
    shown to the reporter, who is also notified."""
    return _apply(
        actor=actor, incident_id=incident_id, name="reject", note=note, expected_version=expected_version
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("void")
def void_incident(*, actor, incident_id: int, note: str, expected_version: int | None = None) -> Incident:
    """作废: a registered case is void (a duplicate, a hoax); the reason is required and shown to
    the reporter, who is also notified. Any open share is withdrawn."""

    def change(incident: Incident) -> list[str]:
        IncidentAssignment.objects.filter(incident=incident, state=IncidentAssignment.State.OPEN).update(
            state=IncidentAssignment.State.WITHDRAWN
        )
        incident.due_at = None
        return ["due_at"]

    return _apply(
        actor=actor,
        incident_id=incident_id,
        name="void",
        note=note,
        expected_version=expected_version,
        change=change,
    )


SERVICES = {
    "register": register_incident,
    "dispatch": dispatch_incident,
    "take": take_incident,
    "report_handled": report_handled,
    "return": return_incident,
    "verify": verify_incident,
    "reopen": reopen_incident,
    "close": close_incident,
    "reject": reject_incident,
    "void": void_incident,
}
