"""Reads of incidents, always scoped to the actor."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from incidents.models import Incident, IncidentCategory, Notification

OPEN_STATUSES = (
    Incident.Status.REPORTED,
    Incident.Status.REGISTERED,
    Incident.Status.DISPATCHED,
    Incident.Status.HANDLING,
    Incident.Status.HANDLED,
    Incident.Status.VERIFIED,
    Incident.Status.RETURNED,
)
# Statuses in which the handling unit's clock runs.
RUNNING_STATUSES = (Incident.Status.DISPATCHED, Incident.Status.HANDLING, Incident.Status.RETURNED)


def _with_relations(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    return queryset.select_related(
        "category", "grid", "grid__village", "grid__office", "handling_office", "reporter", "handler"
    ).defer("grid__geometry", "grid__village__boundary")


def incidents_visible_to(*, actor, include_deleted: bool = False) -> QuerySet[Incident]:
    incidents = Incident.objects.visible_to(actor)
    if not include_deleted:
        incidents = incidents.filter(deleted_at__isnull=True)
    return _with_relations(incidents).order_by("-reported_at", "-id")


def incident_detail(*, actor) -> QuerySet[Incident]:
    """For one incident's page or API detail: its timeline and attachments come along."""
    return incidents_visible_to(actor=actor).prefetch_related("events__actor", "attachments")


def dispatcher_queue(*, actor) -> QuerySet[Incident]:
    """Open incidents, the ones nobody has dispatched yet first, then the overdue, then by age."""
    now = timezone.now()
    return (
        incidents_visible_to(actor=actor)
        .filter(status__in=OPEN_STATUSES)
        .annotate(
            urgency=Case(
                When(
                    status__in=(
                        Incident.Status.REPORTED,
                        Incident.Status.REGISTERED,
                        Incident.Status.RETURNED,
                    ),
                    then=Value(0),
                ),
                When(Q(status__in=RUNNING_STATUSES, due_at__lt=now), then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("urgency", "reported_at", "id")
    )


def sync_page(*, actor, updated_after=None, after: tuple | None = None, limit: int = 100) -> list[Incident]:
    """One page of changes in (updated_at, id) order, deletions included as tombstones.

    The key (updated_at, id) is unique and only grows for a row when it changes, so a client
    that walks pages with the last key it saw never misses or repeats a row.
    """
    incidents = incidents_visible_to(actor=actor, include_deleted=True)
    if updated_after is not None:
        incidents = incidents.filter(updated_at__gt=updated_after)
    if after is not None:
        at, pk = after
        incidents = incidents.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=pk))
    return list(incidents.order_by("updated_at", "id")[:limit])


def categories_for(*, actor=None) -> QuerySet[IncidentCategory]:
    return IncidentCategory.objects.filter(is_active=True).order_by("duty", "code")


def notifications_for(*, actor) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=actor).select_related("incident").order_by("-created_at", "-id")
    )
