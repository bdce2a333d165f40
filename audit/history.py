"""How an audited model keeps its history: django-simple-history, scoped like everything else.

A model opts in with ``history = AuditedHistory(scope_rule=ScopeRule(...))``. Its historical
model (``HistoricalIncident`` and so on, in the model's own app) then gets the project's
``ScopedQuerySet`` and that ``ScopeRule``, so ``visible_to(actor)`` places every change in the
jurisdiction tree exactly as the live rows are placed: an auditor of one county never
reads another county's changes. The rule follows the historical row's own foreign keys,
so a change stays where it happened even after the object moved or was deleted.

Who made a change: ``HistoryRequestMiddleware`` names the signed-in user for pages and
the API (DRF sets the token's user on the underlying request); services, which also run
in tasks and commands, set ``instance._history_user = actor`` before saving, and paths
that write rows in bulk call ``record_rows`` (one ``INSERT … SELECT``) with the actor.

Write paths and what they record (every one names its actor unless stated):

- incidents: report (page, API, Open311 without a platform user), every workflow
  transition, edit and soft delete (``save()``, attributed by the service); the beat job's
  escalation (no user, reason "escalation"); the bulk sync API (raw multi-row insert,
  recorded by ``record_rows``). The ``offices`` many-to-many is not tracked.
- mediation cases: ``case_open`` and every ``_change`` of a case (assignment, extension,
  agreement, closing), from pages, the API and incident referrals.
- enrolments and persons: ``person_enroll``, visits (last visit), pick-ups and closing.
- safe-cell evaluations: ``evaluation_record`` (pages, API, the demo loader).
- survey counting rules: ``counting_rule_set`` (``actor`` None for the set-up loaders) and
  the Django admin's inline (the signed-in admin, through the middleware).
- Deletions through the ORM or the admin (including cascades) are recorded by the
  library's ``post_delete`` signal.

Deliberately not recorded: the demo loaders' ``bulk_create`` of incidents, mediation
cases, persons and enrolments (synthetic records, loaded in seconds; their first recorded
change is then a "changed" row with no earlier record), and ``rotate_pii_keys``, whose
``bulk_update`` re-encrypts unchanged values (it rotates the tokens held in
``HistoricalPerson`` as well, so retiring an old key never makes history unreadable).

Encrypted fields (``special_groups.crypto.EncryptedTextField``) are copied into the
historical table as the same field class, so history, too, holds Fernet tokens only;
they are listed in ``sensitive_fields`` and the audit views show them as "changed"
without ever rendering a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from anshun.scoping import ScopedQuerySet, ScopeRule

HISTORY_COLUMNS = ("history_date", "history_type", "history_user_id", "history_change_reason")


class ScopedHistoricalModel(models.Model):
    """Base of every audited historical model: read only through ``visible_to(actor)``."""

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True


def city_path() -> str:
    """The path of the tree's root, where city-wide settings (survey counting rules) belong."""
    from grids.models import Region

    return Region.objects.filter(parent__isnull=True).values_list("path", flat=True).first() or ""


class CityWideHistoricalModel(ScopedHistoricalModel):
    """For settings that belong to no place below the city: their changes sit at the root,
    so city-level auditors (and admins) see them and county auditors do not."""

    scope_path = models.CharField(max_length=255, default=city_path, editable=False, db_index=True)

    class Meta:
        abstract = True


class AuditedHistory(HistoricalRecords):
    """``HistoricalRecords`` whose historical model is scoped by ``scope_rule``."""

    def __init__(
        self, *, scope_rule: ScopeRule, city_wide: bool = False, sensitive: Sequence[str] = (), **kw
    ):
        base = CityWideHistoricalModel if city_wide else ScopedHistoricalModel
        super().__init__(bases=[base], **kw)
        self.audit_scope_rule = scope_rule
        self.extra_sensitive = tuple(sensitive)

    def create_history_model(self, model, inherited):
        from special_groups.crypto import EncryptedTextField

        history_model = super().create_history_model(model, inherited)
        history_model.scope_rule = self.audit_scope_rule
        history_model.sensitive_fields = frozenset(
            {f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)}
            | set(self.extra_sensitive)
        )
        return history_model


def record_rows(
    *, model: type[models.Model], pks: Iterable[int], actor, history_type: str, at: datetime | None = None
) -> int:
    """Copy the current state of ``pks`` into ``model``'s history in one ``INSERT … SELECT``.

    For write paths that bypass ``save()`` (raw multi-row inserts, ``QuerySet.update``):
    the same row a ``save()`` would have recorded, at the cost of one statement per batch.
    """
    pks = list(pks)
    if not pks:
        return 0
    history = model.history.model
    quote = connection.ops.quote_name
    tracked = [f.column for f in history.tracked_fields]
    extra = [
        f
        for f in history._meta.concrete_fields
        if f.column not in tracked and f.column not in HISTORY_COLUMNS and f.column != "history_id"
    ]
    columns = ", ".join(quote(c) for c in [*tracked, *HISTORY_COLUMNS, *(f.column for f in extra)])
    selected = ", ".join(quote(c) for c in tracked)
    placeholders = ", ".join(["%s"] * (len(HISTORY_COLUMNS) + len(extra)))
    params = [at or timezone.now(), history_type, getattr(actor, "pk", None), None]
    params += [f.get_default() for f in extra]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({columns}) "  # noqa: S608 - quoted model names only
            f"SELECT {selected}, {placeholders} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} = ANY(%s)",
            [*params, pks],
        )
        return cursor.rowcount


def attribute(instance: models.Model, actor, *, reason: str = "") -> None:
    """Name who is about to save ``instance`` (None: the platform itself, e.g. a beat job),
    so the history row is right whether the service runs in a request, a task or a command."""
    instance._history_user = actor if getattr(actor, "is_authenticated", False) else None
    if reason:
        instance._change_reason = reason
