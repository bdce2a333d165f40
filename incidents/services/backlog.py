"""挂账: the long-term backlog of cases that cannot close within their period.

The command centre puts a case being handled on the backlog with the written explanation
(DOMAIN.md: cases unresolved after an extension need one and go on a backlog list) and a review
date. While it is there the case has no handling deadline, so it is not overdue and the
escalation queue drops it (the queue trigger of migration 0009 clears ``next_escalation_at``
for a row without ``due_at``, whoever writes it). The review beat job reads only the entries
whose review date has come (``review_alert_at``, a partial index) and flags each once, telling
the centre. The centre takes a case off the backlog, back to handling with a new deadline.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from anshun.commands import Conflict, system_command
from audit.history import attribute
from incidents.models import BacklogEntry, ExtensionRequest, Incident, IncidentEvent, Notification
from incidents.notifications import incident_params, notify
from incidents.policy import POLICY
from incidents.services.extensions import EXTENDABLE, _moment, _text
from incidents.services.workflow import handling_limit_hours, lock_incident
from incidents.services.worktime import LOCAL, add_working_hours

# A review further ahead than this is no review at all.
MAX_REVIEW_DAYS = 366


def _review_moment(day: date) -> datetime:
    """When a review date "has come": the start of that day in Anshun."""
    return datetime.combine(day, time(0), LOCAL)


def _event(incident: Incident, *, actor, note: str, changes: dict | None = None, at=None) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        at=at or timezone.now(),
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.DEADLINE,
        note=note,
        changes=changes or {},
    )


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("backlog_place")
def backlog_place(*, actor, incident_id: int, reason: str, review_on: date | None) -> BacklogEntry:
    """Put a case being handled on the backlog until ``review_on``; its deadline is cleared."""
    reason = _text(reason, "reason", required=True)
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if incident.status not in EXTENDABLE:
        raise ValidationError({"status": _("Only a case being handled can go on the backlog.")})
    today = timezone.localdate()
    if not isinstance(review_on, date) or isinstance(review_on, datetime):
        raise ValidationError({"review_on": _("Enter a valid date.")})
    if not today < review_on <= today + timedelta(days=MAX_REVIEW_DAYS):
        raise ValidationError({"review_on": _("Choose a review date after today and within a year.")})
    if BacklogEntry.objects.filter(incident=incident, state=BacklogEntry.State.ACTIVE).exists():
        raise Conflict(_("This case is already on the backlog."))
    if ExtensionRequest.objects.filter(incident=incident, state=ExtensionRequest.State.PENDING).exists():
        raise Conflict(_("Decide the pending extension request first."))
    entry = BacklogEntry.objects.create(
        incident=incident,
        reason=reason,
        review_on=review_on,
        previous_due_at=incident.due_at,
        placed_by=actor,
        review_alert_at=_review_moment(review_on),
    )
    changes = {"due_at": [_moment(incident.due_at), None]}
    incident.due_at = None
    incident.version += 1
    attribute(incident, actor, reason="backlog")
    incident.save(update_fields=["due_at", "version", "updated_at"])
    _event(
        incident,
        actor=actor,
        note=reason,
        changes={**changes, "deadline": {"code": "backlog_placed", "day": f"{review_on:%Y-%m-%d}"}},
    )
    return entry


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("backlog_lift")
def backlog_lift(*, actor, incident_id: int, note: str = "", due_at: datetime | None = None) -> BacklogEntry:
    """Take the case off the backlog, back to handling: due at ``due_at``, or after its full
    handling limit from now when none is given."""
    note = _text(note, "note", required=False)
    incident = lock_incident(actor=actor, incident_id=incident_id)
    entry = (
        BacklogEntry.objects.select_for_update()
        .filter(incident=incident, state=BacklogEntry.State.ACTIVE)
        .first()
    )
    if entry is None:
        raise ValidationError({"status": _("This case is not on the backlog.")})
    now = timezone.now()
    if due_at is None:
        due_at = add_working_hours(now, handling_limit_hours(incident))
    elif not isinstance(due_at, datetime) or timezone.is_naive(due_at) or due_at <= now:
        raise ValidationError({"due_at": _("Enter a new deadline in the future.")})
    elif due_at > now + timedelta(days=MAX_REVIEW_DAYS):
        raise ValidationError({"due_at": _("Choose a deadline within a year.")})
    entry.state, entry.lifted_by, entry.lifted_at, entry.lift_note = (
        BacklogEntry.State.LIFTED,
        actor,
        now,
        note,
    )
    entry.review_alert_at = None
    entry.save(update_fields=["state", "lifted_by", "lifted_at", "lift_note", "review_alert_at"])
    changes = {"due_at": [_moment(incident.due_at), _moment(due_at)]}
    incident.due_at = due_at
    incident.version += 1
    attribute(incident, actor, reason="backlog")
    incident.save(update_fields=["due_at", "version", "updated_at"])
    _event(
        incident,
        actor=actor,
        note=note,
        changes={**changes, "deadline": {"code": "backlog_lifted"}},
        at=now,
    )
    return entry


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("backlog_review")
def backlog_review(*, actor, incident_id: int, note: str, review_on: date | None) -> BacklogEntry:
    """The centre reviewed a case on the backlog and keeps it there: what was found, and the next
    review date (the review job will flag it again then)."""
    note = _text(note, "note", required=True)
    incident = lock_incident(actor=actor, incident_id=incident_id)
    entry = (
        BacklogEntry.objects.select_for_update()
        .filter(incident=incident, state=BacklogEntry.State.ACTIVE)
        .first()
    )
    if entry is None:
        raise ValidationError({"status": _("This case is not on the backlog.")})
    today = timezone.localdate()
    if not isinstance(review_on, date) or isinstance(review_on, datetime):
        raise ValidationError({"review_on": _("Enter a valid date.")})
    if not today < review_on <= today + timedelta(days=MAX_REVIEW_DAYS):
        raise ValidationError({"review_on": _("Choose a review date after today and within a year.")})
    entry.review_on, entry.review_alert_at, entry.review_flagged_at = (
        review_on,
        _review_moment(review_on),
        None,
    )
    entry.save(update_fields=["review_on", "review_alert_at", "review_flagged_at"])
    _event(
        incident,
        actor=actor,
        note=note,
        changes={"deadline": {"code": "backlog_reviewed", "day": f"{review_on:%Y-%m-%d}"}},
    )
    return entry


def review_due_ids(*, now: datetime) -> list[int]:
    """The entries whose review date has come and that are not flagged yet: a range scan of
    the partial index ``incidents_backlog_review``."""
    return list(
        BacklogEntry.objects.filter(review_alert_at__lte=now)
        .order_by("review_alert_at")
        .values_list("pk", flat=True)
    )


def _centre(incident: Incident, placed_by_id: int):
    """The one who placed it and the township's dispatchers."""
    township = incident.grid.village.parent
    return User.objects.filter(is_active=True).filter(
        Q(pk=placed_by_id) | Q(role=Role.DISPATCHER, region=township)
    )


@system_command("The beat job (incidents.tasks.review_backlog), hourly: flags reviews that came due.")
@transaction.atomic
def flag_review(*, entry_id: int, now: datetime | None = None) -> bool:
    """Flag one entry whose review date has come (once: the queue value is cleared); an entry
    whose case moved on meanwhile (handled, returned and sent out again) ends instead."""
    now = now or timezone.now()
    entry = (
        BacklogEntry.objects.select_for_update(of=("self",))
        .select_related("incident__category", "incident__grid__village__parent")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or entry.review_alert_at is None or entry.review_alert_at > now:
        return False
    incident = entry.incident
    entry.review_alert_at = None
    if entry.state != BacklogEntry.State.ACTIVE:
        entry.save(update_fields=["review_alert_at"])
        return False
    if incident.deleted_at is not None or incident.status not in EXTENDABLE or incident.due_at is not None:
        entry.state = BacklogEntry.State.ENDED
        entry.save(update_fields=["review_alert_at", "state"])
        return False
    entry.review_flagged_at = now
    entry.save(update_fields=["review_alert_at", "review_flagged_at"])
    _event(incident, actor=None, at=now, note="", changes={"deadline": {"code": "backlog_review_due"}})
    notify(
        recipients=_centre(incident, entry.placed_by_id),
        incident=incident,
        kind=Notification.Kind.BACKLOG_REVIEW,
        params=incident_params(incident),
    )
    return True


@system_command("The beat job (incidents.tasks.review_backlog).")
def review_backlog(*, now: datetime | None = None) -> int:
    """One pass: each due entry in its own short transaction."""
    now = now or timezone.now()
    return sum(flag_review(entry_id=pk, now=now) for pk in review_due_ids(now=now))
