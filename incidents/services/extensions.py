"""延期: the handling unit asks for a later handling deadline; the command centre decides.

The unit gives its reason and the deadline it needs; the centre of the incident's jurisdiction
(who can see the request: ``ExtensionRequest.scope_rule``) approves it, and the handling
deadline moves to the requested one (the timeline records old → new), or refuses it with a
note, and the deadline stays. A case has at most one pending request (a partial unique index
backs the check made under the incident's row lock). The published practice (DOMAIN.md) puts
hard cases at most 15 working days past their deadline with approval, so no request may ask for
more than ``MAX_EXTENSION_HOURS`` working hours beyond the current deadline.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from anshun.commands import Conflict
from audit.history import attribute
from incidents.models import ExtensionRequest, Incident, IncidentEvent, Notification
from incidents.notifications import incident_params, notify
from incidents.policy import POLICY
from incidents.services.workflow import check_text, lock_incident
from incidents.services.worktime import add_working_hours

S = Incident.Status
# Statuses whose handling deadline is running (a returned case waits for a new dispatch).
EXTENDABLE = frozenset({S.DISPATCHED, S.HANDLING})
MAX_EXTENSION_HOURS = 15 * 8
MAX_TEXT = 2000


def _text(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("Give the reason.")})
    return check_text(value, field=field, max_length=MAX_TEXT)


def _moment(value) -> str | None:
    return value.isoformat() if value is not None else None


def _deciders(incident: Incident):
    """Who hears of a request: the dispatcher who sent the case out (the centre that set the
    deadline), if still active."""
    last = (
        IncidentEvent.objects.filter(incident=incident, to_status=S.DISPATCHED, actor__isnull=False)
        .order_by("-at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    return User.objects.filter(pk=last, is_active=True) if last else User.objects.none()


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("request_extension")
def request_extension(
    *, actor, incident_id: int, reason: str, requested_due_at: datetime | None
) -> ExtensionRequest:
    """The handling unit asks for ``requested_due_at`` instead of the current deadline."""
    reason = _text(reason, "reason", required=True)
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if incident.status not in EXTENDABLE or incident.due_at is None:
        raise ValidationError({"status": _("Only a case being handled, with a deadline, can be extended.")})
    if not isinstance(requested_due_at, datetime) or timezone.is_naive(requested_due_at):
        raise ValidationError({"requested_due_at": _("Enter the new deadline as a date and time.")})
    if requested_due_at <= max(incident.due_at, timezone.now()):
        raise ValidationError(
            {"requested_due_at": _("The new deadline must be later than the current one and than now.")}
        )
    if requested_due_at > add_working_hours(incident.due_at, MAX_EXTENSION_HOURS):
        raise ValidationError({"requested_due_at": _("At most 15 working days beyond the current deadline.")})
    if ExtensionRequest.objects.filter(incident=incident, state=ExtensionRequest.State.PENDING).exists():
        raise Conflict(_("An extension request for this case is already waiting for a decision."))
    extension = ExtensionRequest.objects.create(
        incident=incident,
        reason=reason,
        previous_due_at=incident.due_at,
        requested_due_at=requested_due_at,
        requested_by=actor,
    )
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.DEADLINE,
        note=reason,
        changes={"deadline": {"code": "extension_requested", "due": _moment(requested_due_at)}},
    )
    notify(
        recipients=_deciders(incident),
        incident=incident,
        kind=Notification.Kind.EXTENSION_REQUESTED,
        params={**incident_params(incident, actor=actor, note=reason), "due": _moment(requested_due_at)},
    )
    return extension


@transaction.atomic  # the policy runs inside, so its checks see the locked rows
@POLICY.command("decide_extension")
def decide_extension(*, actor, extension_id: int, approve: bool, note: str = "") -> ExtensionRequest:
    """Approve (the handling deadline becomes the requested one) or refuse (a note is required;
    the deadline stays). The incident is locked before the request, in the order
    ``request_extension`` takes them."""
    note = _text(note, "note", required=not approve)
    incident_id = (
        ExtensionRequest.objects.filter(pk=extension_id).values_list("incident_id", flat=True).first()
    )
    incident = lock_incident(actor=actor, incident_id=incident_id)
    extension = ExtensionRequest.objects.select_for_update().get(pk=extension_id)
    if extension.state != ExtensionRequest.State.PENDING:
        raise Conflict(_("This extension request has already been decided."))
    if approve and incident.status not in EXTENDABLE:
        raise ValidationError({"status": _("Only a case being handled, with a deadline, can be extended.")})
    now = timezone.now()
    extension.state = ExtensionRequest.State.APPROVED if approve else ExtensionRequest.State.REFUSED
    extension.decided_by, extension.decided_at, extension.decision_note = actor, now, note
    extension.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    changes = {}
    if approve:
        changes = {"due_at": [_moment(incident.due_at), _moment(extension.requested_due_at)]}
        incident.due_at = extension.requested_due_at
        incident.version += 1
        attribute(incident, actor, reason="extension")
        incident.save(update_fields=["due_at", "version", "updated_at"])
    IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        at=now,
        from_status=incident.status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.DEADLINE,
        note=note,
        changes={**changes, "deadline": {"code": "extension_approved" if approve else "extension_refused"}},
    )
    notify(
        recipients=User.objects.filter(pk=extension.requested_by_id, is_active=True),
        incident=incident,
        kind=Notification.Kind.EXTENSION_APPROVED if approve else Notification.Kind.EXTENSION_REFUSED,
        params={**incident_params(incident, actor=actor, note=note), "due": _moment(incident.due_at)},
    )
    return extension
