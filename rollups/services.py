"""Keeping the tallies current: the incremental fold and the full rebuild.

A fold is one transaction. It takes the queued record ids off ``rollups_pending`` (an id queued
by a transaction that commits after the fold began stays for the next fold), recomputes those
records' ledger entries from the raw tables, adds new-minus-old to the tallies of their region
and every region above it, and replaces their entries. It is idempotent by construction: a
record's contribution is recomputed from its current state and compared with what the ledger
says was counted, so a fold repeated, retried after a killed worker (its transaction rolled
back, its ids still queued) or racing a writer never counts anything twice. Its cost is that
of the changed records, not of the history.

The full rebuild recomputes every entry and tally from the raw tables (demo loaders, after
imports, after a grid changes village), holding the queue locked against writers so the
records it counts are exactly those whose queued ids it discards, and analyses the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from anshun.commands import system_command
from rollups.models import FoldState
from rollups.sources import SOURCES, projection

# pg_advisory_xact_lock key: one fold at a time ("RLUP").
LOCK_KEY = 0x524C5550

_ENTRY_COLUMNS = "source, source_id, measure, region_id, dim_a, dim_b, dim_c, bucket, n, amount"
_KEY = "measure, region_id, dim_a, dim_b, dim_c, bucket"

_WORK_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS rollup_taken (source varchar(20), source_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_new (source varchar(20), source_id bigint, measure varchar(40),
    region_id bigint, dim_a bigint, dim_b varchar(40), dim_c varchar(20), bucket timestamptz, n bigint,
    amount numeric(18, 2)) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_change (measure varchar(40), region_id bigint, dim_a bigint,
    dim_b varchar(40), dim_c varchar(20), bucket timestamptz, n bigint, amount numeric(18, 2))
    ON COMMIT DELETE ROWS;
DELETE FROM rollup_taken; DELETE FROM rollup_new; DELETE FROM rollup_change
"""

_TAKE = """
WITH taken AS (DELETE FROM rollups_pending RETURNING source, source_id)
INSERT INTO rollup_taken SELECT DISTINCT source, source_id FROM taken
"""

_CHANGES = f"""
INSERT INTO rollup_change
SELECT {_KEY}, sum(n), sum(amount) FROM (
    SELECT {_KEY}, n, amount FROM rollup_new
    UNION ALL
    SELECT e.measure, e.region_id, e.dim_a, e.dim_b, e.dim_c, e.bucket, -e.n, -e.amount
    FROM rollups_entry e JOIN rollup_taken t ON t.source = e.source AND t.source_id = e.source_id
) d
GROUP BY {_KEY} HAVING sum(n) <> 0 OR sum(amount) <> 0
"""  # noqa: S608 - only module constants are interpolated

_REPLACE_ENTRIES = f"""
DELETE FROM rollups_entry e USING rollup_taken t WHERE t.source = e.source AND t.source_id = e.source_id;
INSERT INTO rollups_entry ({_ENTRY_COLUMNS}) SELECT {_ENTRY_COLUMNS} FROM rollup_new
"""  # noqa: S608 - only module constants are interpolated

# Each row counted in its own region and every region above it (the codes along its path).
_UP_THE_TREE = """
SELECT c.measure, a.id AS region_id, c.dim_a, c.dim_b, c.dim_c, c.bucket,
       sum(c.n) AS n, sum(c.amount) AS amount
FROM {rows} c
JOIN grids_region r ON r.id = c.region_id
JOIN grids_region a ON a.code = ANY(string_to_array(rtrim(r.path, '/'), '/'))
GROUP BY c.measure, a.id, c.dim_a, c.dim_b, c.dim_c, c.bucket
"""

_ADD_TO_TALLIES = f"""
INSERT INTO rollups_tally ({_KEY}, n, amount)
{_UP_THE_TREE.format(rows="rollup_change")}
ON CONFLICT (measure, region_id, dim_a, dim_b, dim_c, bucket)
DO UPDATE SET n = rollups_tally.n + excluded.n, amount = rollups_tally.amount + excluded.amount
RETURNING id, n = 0 AND amount = 0
"""  # noqa: S608 - only module constants are interpolated

_TALLIES_FROM_ENTRIES = f"""
INSERT INTO rollups_tally ({_KEY}, n, amount)
SELECT * FROM ({_UP_THE_TREE.format(rows="rollups_entry")}) t WHERE n <> 0 OR amount <> 0
"""  # noqa: S608 - only module constants are interpolated


@dataclass(frozen=True)
class FoldResult:
    records: int  # records whose contribution was recomputed
    rows: int  # tally rows written
    full: bool = False


def _stamp(cursor, *, records: int, full: bool) -> None:
    now = timezone.now()
    FoldState.objects.update_or_create(
        pk=1, defaults={"folded_at": now, "records": records, **({"rebuilt_at": now} if full else {})}
    )


def _project(cursor, *, into: str, incremental: bool) -> None:
    for source in SOURCES:
        cursor.execute(f"INSERT INTO {into} ({_ENTRY_COLUMNS}) {projection(source, incremental=incremental)}")


def _incremental(cursor) -> FoldResult:
    cursor.execute(_WORK_TABLES)
    cursor.execute(_TAKE)
    records = cursor.rowcount
    if not records:
        return FoldResult(0, 0)
    cursor.execute("ANALYZE rollup_taken")  # a few rows: the projections then walk the primary keys
    _project(cursor, into="rollup_new", incremental=True)
    cursor.execute(_CHANGES)
    cursor.execute(_REPLACE_ENTRIES)
    cursor.execute(_ADD_TO_TALLIES)
    written = cursor.fetchall()
    emptied = [pk for pk, empty in written if empty]
    if emptied:
        cursor.execute("DELETE FROM rollups_tally WHERE id = ANY(%s)", [emptied])
    return FoldResult(records, len(written))


def _full(cursor) -> FoldResult:
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # Writers queue their ids before they commit: with the queue locked against them, every
    # statement below sees the same records, those whose queued ids are discarded here.
    cursor.execute("LOCK TABLE rollups_pending IN EXCLUSIVE MODE")
    cursor.execute("DELETE FROM rollups_pending")
    cursor.execute("DELETE FROM rollups_entry")
    _project(cursor, into="rollups_entry", incremental=False)
    cursor.execute("SELECT count(DISTINCT (source, source_id)) FROM rollups_entry")
    records = cursor.fetchone()[0]
    cursor.execute("DELETE FROM rollups_tally")
    cursor.execute(_TALLIES_FROM_ENTRIES)
    rows = cursor.rowcount
    # The planner must know what was just written (autovacuum never sees a loader's transaction).
    cursor.execute("ANALYZE rollups_entry; ANALYZE rollups_tally")
    return FoldResult(records, rows, full=True)


@system_command("the rollup beat job, the rebuild command and the demo loaders")
def fold(*, full: bool = False) -> FoldResult:
    """Bring the tallies up to date with every change queued so far (``full``: recount everything)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        result = (_full if full else _incremental)(cursor)
        # Committed with the figures: the page's "as of" is exactly when these were in.
        _stamp(cursor, records=result.records, full=full)
    return result


@system_command("a dashboard opened while changes were queued (the beat job does the same each minute)")
def fold_if_queued() -> FoldResult | None:
    """Fold now when changes are queued and no other fold is running (else read what is there):
    a dashboard then shows every change committed before it opened, at the cost of the changes
    queued since the last fold (a minute's worth at most), never of the history."""
    from rollups.models import Pending

    if not Pending.objects.exists():
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return None  # another fold is running: its figures arrive when it commits
        result = _incremental(cursor)
        _stamp(cursor, records=result.records, full=False)
    return result


def rebuild_after_demo() -> str:
    """The demo loader hook (``load_anshun --demo``): every app's demo records are in, so the
    demo's figures are rolled up from them, never stored."""
    result = fold(full=True)
    return f"{result.records} records rolled up into {result.rows} rows"
