"""Writes of the search index. All of it is system work: documents are derived from records
that their own apps' services wrote, and nobody asks for a document to be written.

``index_pending`` drains the queue the triggers fill (migration 0001); ``rebuild`` writes every
document again (after a change of the segmentation, of a category's or a cell type's name, or
to fill the index of a database restored without it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import translation

from anshun.commands import system_command
from anshun.db import analyze
from search import text
from search.models import CaseDocument, CellDocument, IncidentDocument, Kind, PendingDocument

# One lock for every writer of documents, so two drains never write one record's document from
# two different reads of it (the later read could otherwise be overwritten by the earlier).
LOCK_KEY = 0x5EA2C4
# How many queued records a search drains before it runs (the beat job drains the rest).
DRAIN_ON_SEARCH = 500
BATCH = 1000


def _incident_rows(ids: Iterable[int] | None, after: int = 0, limit: int = BATCH):
    from incidents.models import Incident

    rows = Incident.objects.select_related("category").only(
        "id", "description", "address", "category__code", "category__name"
    )
    rows = rows.filter(pk__in=list(ids)) if ids is not None else rows.filter(pk__gt=after)
    return rows.order_by("pk")[: None if ids is not None else limit]


@functools.lru_cache(maxsize=256)
def _english_label(code: str, name: str) -> str:
    from incidents.categories import category_label

    with translation.override("en"):
        return category_label(code, name)


def _incident_fields(incident) -> list[tuple[str, str]]:
    category = incident.category
    return [
        ("A", category.name),
        ("A", _english_label(category.code, category.name)),
        ("B", incident.description),
        ("B", incident.address),
    ]


def _case_rows(ids: Iterable[int] | None, after: int = 0, limit: int = BATCH):
    from mediation.models import MediationCase

    rows = MediationCase.objects.only("id", "dispute_type", "summary", "outcome_note").prefetch_related(
        "parties"
    )
    rows = rows.filter(pk__in=list(ids)) if ids is not None else rows.filter(pk__gt=after)
    return rows.order_by("pk")[: None if ids is not None else limit]


def _case_fields(case) -> list[tuple[str, str]]:
    fields = [("A", case.dispute_type), ("B", case.summary), ("B", case.outcome_note)]
    # Each name on its own, so it is cut as it would be typed into the box.
    fields += [("B", party.name) for party in case.parties.all()]
    return fields


def _cell_rows(ids: Iterable[int] | None, after: int = 0, limit: int = BATCH):
    from safety_cells.models import SafetyCell

    rows = SafetyCell.objects.select_related("cell_type").only("id", "name", "address", "cell_type__name")
    rows = rows.filter(pk__in=list(ids)) if ids is not None else rows.filter(pk__gt=after)
    return rows.order_by("pk")[: None if ids is not None else limit]


def _cell_fields(cell) -> list[tuple[str, str]]:
    return [("A", cell.name), ("B", cell.cell_type.name), ("B", cell.address)]


@dataclass(frozen=True)
class Source:
    kind: str
    model: type
    key: str
    rows: object
    fields: object


SOURCES = {
    Kind.INCIDENT: Source(Kind.INCIDENT, IncidentDocument, "incident_id", _incident_rows, _incident_fields),
    Kind.CASE: Source(Kind.CASE, CaseDocument, "case_id", _case_rows, _case_fields),
    Kind.CELL: Source(Kind.CELL, CellDocument, "cell_id", _cell_rows, _cell_fields),
}


def _write(source: Source, records) -> int:
    """Upsert the documents of ``records`` in one statement."""
    ids, vectors = [], []
    for record in records:
        ids.append(record.pk)
        vectors.append(text.document(source.fields(record)))
    if not ids:
        return 0
    table, key = source.model._meta.db_table, source.key
    # Table and column names are the models' own; the values are parameters.
    sql = f"""
        INSERT INTO {table} ({key}, vector, indexed_at)
        SELECT id, vector::tsvector, now() FROM unnest(%s::bigint[], %s::text[]) AS d(id, vector)
        ON CONFLICT ({key}) DO UPDATE SET vector = EXCLUDED.vector, indexed_at = EXCLUDED.indexed_at
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, vectors])
    return len(ids)


def _index(kind: str, ids: set[int]) -> int:
    source = SOURCES[kind]
    records = list(source.rows(ids))
    found = {record.pk for record in records}
    gone = ids - found
    if gone:
        source.model.objects.filter(pk__in=gone).delete()
    return _write(source, records) + len(gone)


@dataclass(frozen=True)
class Drained:
    records: int
    skipped: bool = False


@system_command("Every search before it runs, the beat job and the demo loader: no actor.")
def index_pending(*, limit: int = DRAIN_ON_SEARCH) -> Drained:
    """Write the documents of up to ``limit`` queued records (remove those of deleted ones).

    One transaction: the queue rows taken are deleted with the documents written, so a failed
    run leaves them queued. Another run in progress: skip (it is doing the work)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                return Drained(0, skipped=True)
            cursor.execute(
                """
                DELETE FROM search_pendingdocument WHERE id IN (
                    SELECT id FROM search_pendingdocument ORDER BY id LIMIT %s
                ) RETURNING kind, object_id
                """,
                [limit],
            )
            taken = cursor.fetchall()
        by_kind: dict[str, set[int]] = {}
        for kind, object_id in taken:
            by_kind.setdefault(kind, set()).add(object_id)
        done = sum(_index(kind, ids) for kind, ids in by_kind.items() if kind in SOURCES)
    return Drained(done)


@system_command("The beat job: drains the queue to the end.")
def index_all_pending(*, batch: int = 5000) -> int:
    total = 0
    while True:
        drained = index_pending(limit=batch)
        total += drained.records
        if drained.skipped or drained.records == 0:
            return total


@system_command("rebuild_search_index and its task, after a change of segmentation or names: no actor.")
def rebuild(*, kinds: Iterable[str] = tuple(SOURCES), batch: int = BATCH) -> dict[str, int]:
    """Write every document again, in batches of ``batch`` records (each its own transaction,
    under the writers' lock), remove documents of records that are gone, and ANALYZE."""
    written: dict[str, int] = {}
    for kind in kinds:
        source = SOURCES[kind]
        after, count = 0, 0
        while True:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                records = list(source.rows(None, after=after, limit=batch))
                count += _write(source, records)
            if len(records) < batch:
                break
            after = records[-1].pk
        record_table = source.model._meta.get_field(source.key.removesuffix("_id")).related_model
        with connection.cursor() as cursor:
            # The models' own table and column names.
            cursor.execute(
                f"DELETE FROM {source.model._meta.db_table} d WHERE NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {record_table._meta.db_table} r WHERE r.id = d.{source.key})"
            )
        analyze(source.model)
        written[kind] = count
    return written


def index_after_demo() -> str:
    """The demo loader hook (``load_anshun --demo``): every app's demo records are in, so their
    documents are written from them."""
    queued = PendingDocument.objects.order_by("-id").values_list("id", flat=True).first()
    written = rebuild()
    if queued is not None:
        # What was queued before the rebuild read the records is in the documents now.
        PendingDocument.objects.filter(id__lte=queued).delete()
    return ", ".join(f"{kind}: {count} documents" for kind, count in written.items())
