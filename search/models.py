"""The search index: one document per searchable record, kept beside the record's own table.

Why a table of its own rather than a column on each model: every list, page, export and sync
read of incidents, cases and cells loads the whole row, and would then carry a ``tsvector``
it never shows; and the index is derived data, rebuilt at will, that no app's services need to
know about. Each document's primary key *is* its record's id (a one-to-one link with no
database constraint: a record deleted by any door simply leaves a document that no join finds,
until the indexer removes it), so a search is the app's own scoped selector joined to its
documents, and scoping stays the app's.

The documents are kept current by database triggers, not by the apps' services: every insert,
every change of a searched field and every delete of a record (and of a mediation party) queues
the record in ``PendingDocument`` in the writer's own transaction, whichever door wrote it
(services, bulk sync's raw inserts, Open311, the admin, loaders, psql). The queue is drained by
``search.services.index_pending``: at the start of each search (so a search sees what was
written before it), by a beat job every minute, and by the demo loader.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    INCIDENT = "incident", _("Incidents")
    CASE = "case", _("Mediation cases")
    CELL = "cell", _("Safe cells")


class Document(models.Model):
    vector = SearchVectorField()
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class IncidentDocument(Document):
    """An incident's category, description and address."""

    incident = models.OneToOneField(
        "incidents.Incident",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_document",
    )

    class Meta:
        verbose_name = _("incident search document")
        verbose_name_plural = _("incident search documents")
        indexes = [GinIndex(fields=["vector"], name="search_incident_vector")]


class CaseDocument(Document):
    """A mediation case's dispute type, summary, outcome note and the names of its parties:
    what everyone who may open the case reads on its page."""

    case = models.OneToOneField(
        "mediation.MediationCase",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_document",
    )

    class Meta:
        verbose_name = _("mediation case search document")
        verbose_name_plural = _("mediation case search documents")
        indexes = [GinIndex(fields=["vector"], name="search_case_vector")]


class CellDocument(Document):
    """A safe cell's name, type and address."""

    cell = models.OneToOneField(
        "safety_cells.SafetyCell",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_document",
    )

    class Meta:
        verbose_name = _("safe-cell search document")
        verbose_name_plural = _("safe-cell search documents")
        indexes = [GinIndex(fields=["vector"], name="search_cell_vector")]


class PendingDocument(models.Model):
    """A record whose document must be (re)written or removed; filled by triggers (migration 0001)."""

    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("record waiting to be indexed")
        verbose_name_plural = _("records waiting to be indexed")

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}"
