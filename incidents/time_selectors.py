"""Reads for the time limits: 延期 requests, the 挂账 list, and the incident page's time panel.
Every read is scoped to the actor (``visible_to``), like incidents.selectors."""

from __future__ import annotations

from django.db.models import QuerySet

from incidents.models import BacklogEntry, ExtensionRequest, Incident
from incidents.policy import POLICY, handling_unit_only
from incidents.services.extensions import EXTENDABLE


def extensions_visible_to(*, actor) -> QuerySet[ExtensionRequest]:
    return ExtensionRequest.objects.visible_to(actor).select_related(
        "incident__category", "incident__grid", "requested_by", "decided_by"
    )


def pending_extensions(*, actor) -> QuerySet[ExtensionRequest]:
    """The centre's list of requests waiting for a decision, oldest first (one partial index)."""
    return (
        extensions_visible_to(actor=actor)
        .filter(state=ExtensionRequest.State.PENDING)
        .defer("incident__grid__geometry", "incident__location")
        .order_by("requested_at", "id")
    )


def backlog_visible_to(*, actor) -> QuerySet[BacklogEntry]:
    return BacklogEntry.objects.visible_to(actor).select_related(
        "incident__category", "incident__grid", "placed_by", "lifted_by"
    )


def active_backlog(*, actor) -> QuerySet[BacklogEntry]:
    """The 挂账 list: cases on the backlog, by review date (those due for review first)."""
    return (
        backlog_visible_to(actor=actor)
        .filter(state=BacklogEntry.State.ACTIVE)
        .defer("incident__grid__geometry", "incident__location")
        .order_by("review_on", "id")
    )


def time_panel(*, actor, incident: Incident) -> dict | None:
    """The incident page's 延期 / 挂账 block (an ``incident_panels`` provider): what was asked and
    decided, and the forms the actor may use now. Reads only this incident's rows, scoped."""
    if incident.deleted_at is not None:
        return None
    extensions = list(
        extensions_visible_to(actor=actor).filter(incident=incident).order_by("-requested_at", "-id")
    )
    backlog = (
        backlog_visible_to(actor=actor).filter(incident=incident, state=BacklogEntry.State.ACTIVE).first()
    )
    pending = next((e for e in extensions if e.state == ExtensionRequest.State.PENDING), None)
    running = incident.status in EXTENDABLE
    can_request = (
        running
        and incident.due_at is not None
        and pending is None
        and POLICY.can("request_extension", actor=actor)
        and handling_unit_only(actor, incident) is None
    )
    can_dispatch = POLICY.can("decide_extension", actor=actor)
    context = {
        "extensions": extensions,
        "pending": pending,
        "backlog": backlog,
        "can_request": can_request,
        "can_decide": can_dispatch and pending is not None,
        "can_place": running
        and backlog is None
        and pending is None
        and POLICY.can("backlog_place", actor=actor),
        "can_lift": backlog is not None and POLICY.can("backlog_lift", actor=actor),
    }
    if not (extensions or backlog or can_request or context["can_place"]):
        return None
    return {"template": "incidents/_time_panel.html", "context": context}
