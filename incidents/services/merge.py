"""并案: the dispatcher merges a duplicate report into the case that carries on.

One case survives (``into``); the merged incident keeps its reporter, photos and timeline, is
marked ``merged`` with ``merged_into`` pointing at the survivor, and stops counting as work of
its own (no deadline, no open shares). Both timelines record the merge. The merged report's grid
office is linked to the surviving case, so the grid worker who reported it can follow the case
their report became; an Open311 reporter hears of it through the usual reporter message.

Who may merge is the policy's ``merge`` rule (capability, both incidents in sight, the merged
one still a case). The pair's own facts are checked here, with both rows locked in id order,
so two dispatchers merging A into B and B into A at once cannot deadlock, and cannot both win.
A retry of a merge already made answers with the same result and changes nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from anshun.commands import Conflict, Invalid, NotFound
from audit.history import attribute
from incidents.models import Incident, IncidentAssignment, IncidentEvent, IncidentOffice, Notification
from incidents.notifications import incident_params, notify
from incidents.open311_notify import queue_reporter_message
from incidents.policy import POLICY
from incidents.services.workflow import StaleVersion, check_text

S = Incident.Status
# A case that is over cannot take reports in, nor be merged away.
FINISHED = (S.CLOSED, S.REJECTED, S.VOIDED, S.MERGED)


def township_of(incident: Incident) -> int | None:
    """The township (乡镇/街道) an incident lies in: its grid's village's parent."""
    return incident.grid.village.parent_id


@POLICY.command("merge")
@transaction.atomic
def merge_incident(
    *,
    actor,
    incident_id: int,
    into: Incident,
    note: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Merge incident ``incident_id`` (the duplicate) into ``into`` (the case that carries on);
    returns the merged incident.

    Refused with a field error: the same incident, or a case in another township (a township's
    matter is merged by the centre that handles it). Refused as a ``Conflict`` (409): either
    one is finished (closed, declined, voided, merged) or deleted; the duplicate was already
    merged into another case. Merging again into the same case is not an error (a retry)."""
    if into.pk == incident_id:
        raise Invalid({"into": _("An incident cannot be merged into itself.")})
    check_text(note, field="note")
    rows = {
        row.pk: row
        for row in Incident.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("grid__village")
        .filter(pk__in=sorted([incident_id, into.pk]))
        .order_by("pk")
    }
    duplicate, survivor = rows.get(incident_id), rows.get(into.pk)
    if duplicate is None:
        raise NotFound()
    if survivor is None:
        raise Invalid({"into": _("Not found in your jurisdiction.")})
    if duplicate.status == S.MERGED and duplicate.merged_into_id == survivor.pk:
        return duplicate  # a retry of the merge already made
    if expected_version is not None and expected_version != duplicate.version:
        raise StaleVersion(duplicate.version)
    if duplicate.deleted_at is not None or duplicate.status in FINISHED:
        raise Conflict(
            _("A %(status)s incident cannot be merged.") % {"status": duplicate.get_status_display()},
            field_name="status",
        )
    if survivor.deleted_at is not None or survivor.status in FINISHED:
        raise Conflict(
            _("Incident #%(id)d is %(status)s: it cannot take other reports in.")
            % {"id": survivor.pk, "status": survivor.get_status_display()},
            field_name="into",
        )
    if township_of(duplicate) != township_of(survivor):
        raise Invalid({"into": _("Only incidents of the same township can be merged.")})

    from_status = duplicate.status
    duplicate.status = S.MERGED
    duplicate.merged_into = survivor
    duplicate.due_at = None
    duplicate.version += 1
    attribute(duplicate, actor)
    duplicate.save(update_fields=["status", "merged_into", "due_at", "version", "updated_at"])
    IncidentAssignment.objects.filter(incident=duplicate, state=IncidentAssignment.State.OPEN).update(
        state=IncidentAssignment.State.WITHDRAWN
    )
    IncidentEvent.objects.create(
        incident=duplicate,
        actor=actor,
        from_status=from_status,
        to_status=S.MERGED,
        note=note,
        changes={"merged_into": survivor.pk},
    )
    # The reporter's office follows the case its report became.
    survivor.offices.add(duplicate.grid.office_id, through_defaults=IncidentOffice.copied_from(survivor))
    survivor.version += 1
    attribute(survivor, actor)
    survivor.save(update_fields=["version", "updated_at"])
    IncidentEvent.objects.create(
        incident=survivor,
        actor=actor,
        from_status=survivor.status,
        to_status=survivor.status,
        note=note,
        changes={"merged": duplicate.pk},
    )
    queue_reporter_message(duplicate)  # an Open311 reporter hears that the report was merged
    if duplicate.reporter_id and duplicate.reporter_id != actor.pk:
        # A grid worker (or any platform reporter) learns which case their report became.
        notify(
            recipients=User.objects.filter(pk=duplicate.reporter_id, is_active=True),
            incident=duplicate,
            kind=Notification.Kind.MERGED,
            params={**incident_params(duplicate, actor=actor, note=note), "into": survivor.pk},
        )
    return duplicate
