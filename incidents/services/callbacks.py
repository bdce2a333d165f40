"""回访: after 结案 the command centre calls the reporter back.

One command, ``record_callback`` (policy rule of the same name: the centre that closes cases).
A callback records whether the reporter was reached and, if so, how satisfied they are
(satisfied / basically satisfied / dissatisfied) and what they said. A dissatisfied callback
may reopen the case when the dispatcher chooses: the case goes back to its handling unit
(status 处置中, the lead share open again, a new handling deadline), the timeline records the
callback and the reopening in one entry, and the unit is told (``incidents.notifications``).

The per-case satisfaction rate is rolled up from the callbacks (``rollups.sources``: each
case's latest reached callback) and read with the surveys' counting rule and Wilson interval
(``incidents.callback_selectors``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.history import attribute
from incidents import notifications
from incidents.models import Incident, IncidentAssignment, IncidentCallback, IncidentEvent, Satisfaction
from incidents.policy import POLICY
from incidents.services.workflow import StaleVersion, check_text, handling_limit_hours, lock_incident
from incidents.services.worktime import add_working_hours

S = Incident.Status


@transaction.atomic  # the policy runs inside, so its checks see the locked row
@POLICY.command("record_callback")
def record_callback(
    *,
    actor,
    incident_id: int,
    reached: bool,
    satisfaction: str = "",
    comment: str = "",
    reopen: bool = False,
    expected_version: int | None = None,
) -> IncidentCallback:
    """Record one callback of a closed case; with ``reopen`` (only when dissatisfied) send the
    case back to its handling unit. Bad input is a field error and changes nothing."""
    incident = lock_incident(actor=actor, incident_id=incident_id)
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    if incident.status != S.CLOSED:
        raise ValidationError({"status": _("Only a closed case gets a callback.")})
    comment = check_text(comment or "", field="comment", max_length=2000)
    errors = {}
    if reached:
        if satisfaction not in Satisfaction.values:
            errors["satisfaction"] = _("Say how satisfied the reporter is.")
    elif satisfaction:
        errors["satisfaction"] = _("A reporter who was not reached gave no answer.")
    if reopen and satisfaction != Satisfaction.DISSATISFIED:
        errors["reopen"] = _("Only a dissatisfied callback can reopen the case.")
    if reopen and incident.handling_unit is None:
        errors["reopen"] = _("The case has no handling unit to go back to.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    callback = IncidentCallback.objects.create(
        incident=incident,
        at=now,
        by=actor,
        reached=reached,
        satisfaction=satisfaction if reached else "",
        comment=comment,
        reopened=reopen,
    )
    from_status = incident.status
    if reopen:
        IncidentAssignment.objects.filter(
            incident=incident, part=IncidentAssignment.Part.LEAD, state=IncidentAssignment.State.DONE
        ).update(state=IncidentAssignment.State.OPEN, done_at=None, done_by=None)
        incident.status = S.HANDLING
        incident.closed_at = None
        incident.due_at = add_working_hours(now, handling_limit_hours(incident))
    incident.version += 1
    attribute(incident, actor)
    incident.save(update_fields=["status", "closed_at", "due_at", "version", "updated_at"])
    event = IncidentEvent.objects.create(
        incident=incident,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=incident.status,
        kind=IncidentEvent.Kind.STATUS if reopen else IncidentEvent.Kind.CALLBACK,
        note=comment,
        changes={"callback": {"reached": reached, "satisfaction": callback.satisfaction, "reopened": reopen}},
    )
    if reopen:
        notifications.on_event(event=event, incident=incident)
    return callback
