"""Reads of the audit trail, always scoped to the actor through the historical models' ScopeRule.

Every audited model has its own historical table (``HistoricalIncident`` …). The change list
across all of them is a ``UNION ALL`` of the per-model querysets, each one already passed
through ``visible_to(actor)``; every row carries the id of the same object's previous row
(a correlated subquery on the history table's index), so a page of changes and the rows
its diffs need are loaded in a fixed number of queries whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.apps import apps
from django.db import models
from django.db.models import CharField, OuterRef, Subquery, Value
from django.utils import timezone

from anshun.scoping import NOTHING, ScopedQuerySet

# The audited models, in the order the filter lists them. Each sets ``history = AuditedHistory(...)``.
AUDITED_MODELS = (
    "incidents.Incident",
    "mediation.MediationCase",
    "special_groups.Enrollment",
    "special_groups.Person",
    "safety_cells.Evaluation",
    "surveys.CountingRule",
)


def audited_models() -> dict[str, type[models.Model]]:
    """``{"incidents.incident": HistoricalIncident, …}``: the model key used in URLs and filters."""
    result = {}
    for label in AUDITED_MODELS:
        model = apps.get_model(label)
        result[model._meta.label_lower] = model.history.model
    return result


def history_model_for(model_key: str) -> type[models.Model] | None:
    return audited_models().get(model_key)


@dataclass(frozen=True)
class ChangeFilter:
    """What the auditor narrowed the list to; every part optional."""

    model: str = ""
    object_id: int | None = None
    user: str = ""
    change_type: str = ""
    since: date | None = None
    until: date | None = None

    def apply(self, queryset):
        if self.object_id is not None:
            queryset = queryset.filter(id=self.object_id)
        if self.user:
            queryset = queryset.filter(history_user__username=self.user)
        if self.change_type:
            queryset = queryset.filter(history_type=self.change_type)
        if self.since:
            start = timezone.make_aware(datetime.combine(self.since, time.min))
            queryset = queryset.filter(history_date__gte=start)
        if self.until:
            end = timezone.make_aware(datetime.combine(self.until, time.max))
            queryset = queryset.filter(history_date__lte=end)
        return queryset


def _previous_id(history_model) -> Subquery:
    return Subquery(
        history_model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values("history_id")[:1]
    )


def history_visible_to(*, actor, history_model, filters: ChangeFilter | None = None) -> ScopedQuerySet:
    """One model's changes in the actor's jurisdiction, newest first, each with ``prev_id``.

    Without the ``audit.view`` capability the answer is empty (the views refuse earlier).
    """
    queryset = history_model.objects.visible_to(actor)
    if not actor.can("audit.view"):
        queryset = queryset.filter(NOTHING)
    queryset = (filters or ChangeFilter()).apply(queryset)
    return (
        queryset.select_related("history_user")
        .annotate(prev_id=_previous_id(history_model))
        .order_by("-history_date", "-history_id")
    )


def changes_visible_to(*, actor, filters: ChangeFilter | None = None) -> ScopedQuerySet:
    """All audited models' changes in the actor's jurisdiction as one list of small rows
    (model key, history id, previous id, date), newest first; ``load_changes`` fills them in."""
    filters = filters or ChangeFilter()
    parts = []
    for key, history_model in audited_models().items():
        if filters.model and filters.model != key:
            continue
        part = history_visible_to(actor=actor, history_model=history_model, filters=filters)
        parts.append(
            part.select_related(None)
            .order_by()
            .annotate(model_key=Value(key, output_field=CharField()))
            .values("history_id", "history_date", "model_key", "prev_id")
        )
    if not parts:
        first = next(iter(audited_models().values()))
        return first.objects.visible_to(actor).filter(NOTHING).values("history_id")
    first, *rest = parts
    combined = first.union(*rest, all=True) if rest else first
    return combined.order_by("-history_date", "-history_id")


def object_history_visible_to(*, actor, model_key: str, object_id: int) -> ScopedQuerySet:
    """The history of one object: auditors read it in their jurisdiction; anyone else who can
    open the object itself (through its own scoped manager) reads it from the object's page."""
    history_model = history_model_for(model_key)
    if history_model is None:
        return audited_history_none(actor)
    if actor.can("audit.view"):
        return history_visible_to(
            actor=actor, history_model=history_model, filters=ChangeFilter(object_id=object_id)
        )
    model = history_model.instance_type
    queryset = history_model.objects.visible_to(actor).filter(id=object_id)
    if not model.objects.visible_to(actor).filter(pk=object_id).exists():
        queryset = queryset.filter(NOTHING)
    return (
        queryset.select_related("history_user")
        .annotate(prev_id=_previous_id(history_model))
        .order_by("-history_date", "-history_id")
    )


def change_visible_to(*, actor, model_key: str, history_id: int) -> ScopedQuerySet:
    """One change (a queryset of at most one row), if it lies in the actor's jurisdiction."""
    history_model = history_model_for(model_key)
    if history_model is None:
        return audited_history_none(actor)
    return history_visible_to(actor=actor, history_model=history_model).filter(history_id=history_id)


def audited_history_none(actor) -> ScopedQuerySet:
    first = next(iter(audited_models().values()))
    return first.objects.visible_to(actor).filter(NOTHING)
