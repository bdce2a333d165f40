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

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from anshun.commands import system_command
from rollups.sources import SOURCES, projection

# pg_advisory_xact_lock key: one fold at a time ("RLUP").
LOCK_KEY = 0x524C5550

_ENTRY_COLUMNS = "source, source_id, measure, region_id, dim_a, dim_b, dim_c, bucket, n, amount, who, until"
_KEY = "measure, region_id, dim_a, dim_b, dim_c, bucket"

_WORK_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS rollup_taken (source varchar(20), source_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_new (source varchar(20), source_id bigint, measure varchar(40),
    region_id bigint, dim_a bigint, dim_b varchar(40), dim_c varchar(20), bucket timestamptz, n bigint,
    amount numeric(18, 2), who varchar(64), until timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_who (measure varchar(40), who varchar(64)) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_marks (measure varchar(40), region_id bigint, dim_a bigint,
    dim_b varchar(40), dim_c varchar(20), who varchar(64), bucket timestamptz, n bigint,
    amount numeric(18, 2)) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rollup_change (measure varchar(40), region_id bigint, dim_a bigint,
    dim_b varchar(40), dim_c varchar(20), bucket timestamptz, n bigint, amount numeric(18, 2))
    ON COMMIT DELETE ROWS;
DELETE FROM rollup_taken; DELETE FROM rollup_new; DELETE FROM rollup_change; DELETE FROM rollup_who;
DELETE FROM rollup_marks
"""

_TAKE = """
WITH taken AS (DELETE FROM rollups_pending RETURNING source, source_id)
INSERT INTO rollup_taken SELECT DISTINCT source, source_id FROM taken
"""

_CHANGES = f"""
INSERT INTO rollup_change
SELECT {_KEY}, sum(n), sum(amount) FROM (
    SELECT {_KEY}, n, amount FROM rollup_new WHERE who IS NULL
    UNION ALL
    SELECT e.measure, e.region_id, e.dim_a, e.dim_b, e.dim_c, e.bucket, -e.n, -e.amount
    FROM rollups_entry e JOIN rollup_taken t ON t.source = e.source AND t.source_id = e.source_id
    WHERE e.who IS NULL
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
SELECT * FROM ({_UP_THE_TREE.format(rows="(SELECT * FROM rollups_entry WHERE who IS NULL)")}) t
WHERE n <> 0 OR amount <> 0
"""  # noqa: S608 - only module constants are interpolated


# --- counts of people ----------------------------------------------------------------------
# The people whose entries change: their marks are recomputed in every region above them.
_TOUCHED_PEOPLE = """
INSERT INTO rollup_who
SELECT DISTINCT measure, who FROM (
    SELECT measure, who FROM rollup_new WHERE who IS NOT NULL
    UNION ALL
    SELECT e.measure, e.who FROM rollups_entry e
    JOIN rollup_taken t ON t.source = e.source AND t.source_id = e.source_id WHERE e.who IS NOT NULL
) p
"""

_PERSON_KEY = "measure, region_id, dim_a, dim_b, dim_c, who"

# Per person and region (each of theirs and every one above): the union of the times their
# entries cover, as +1 at the start of each stretch and -1 at its end.
_MARKS = f"""
WITH spans AS (
    SELECT e.measure, a.id AS region_id, e.dim_a, e.dim_b, e.dim_c, e.who, e.bucket AS s,
           coalesce(e.until, 'infinity') AS e
    FROM rollups_entry e {{people}}
    JOIN grids_region r ON r.id = e.region_id
    JOIN grids_region a ON a.code = ANY(string_to_array(rtrim(r.path, '/'), '/'))
    WHERE e.who IS NOT NULL AND e.bucket < coalesce(e.until, 'infinity')
),
reached AS (
    SELECT *, max(e) OVER (PARTITION BY {_PERSON_KEY} ORDER BY s, e
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM spans
),
stretches AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR s > reach THEN 1 ELSE 0 END)
              OVER (PARTITION BY {_PERSON_KEY} ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS stretch
    FROM reached
),
merged AS (
    SELECT {_PERSON_KEY}, min(s) AS s, max(e) AS e FROM stretches GROUP BY {_PERSON_KEY}, stretch
)
INSERT INTO {{target}} ({_PERSON_KEY}, bucket, n, amount)
SELECT {_PERSON_KEY}, s, 1, 0 FROM merged
UNION ALL
SELECT {_PERSON_KEY}, e, -1, 0 FROM merged WHERE e <> 'infinity'
"""  # noqa: S608 - only module constants are interpolated

_TOUCHED = "JOIN rollup_who w ON w.measure = e.measure AND w.who = e.who"

_ADD_MARKS_TO_TALLIES = f"""
INSERT INTO rollups_tally ({_KEY}, n, amount)
SELECT {_KEY}, sum(n), 0 FROM (
    SELECT {_KEY}, n FROM rollup_marks
    UNION ALL
    SELECT m.measure, m.region_id, m.dim_a, m.dim_b, m.dim_c, m.bucket, -m.n
    FROM rollups_mark m JOIN rollup_who w ON w.measure = m.measure AND w.who = m.who
) d
GROUP BY {_KEY} HAVING sum(n) <> 0
ON CONFLICT (measure, region_id, dim_a, dim_b, dim_c, bucket)
DO UPDATE SET n = rollups_tally.n + excluded.n, amount = rollups_tally.amount + excluded.amount
RETURNING id, n = 0 AND amount = 0
"""  # noqa: S608 - only module constants are interpolated

_REPLACE_MARKS = f"""
DELETE FROM rollups_mark m USING rollup_who w WHERE w.measure = m.measure AND w.who = m.who;
INSERT INTO rollups_mark ({_PERSON_KEY}, bucket, n, amount)
SELECT {_PERSON_KEY}, bucket, n, 0 FROM rollup_marks
"""  # noqa: S608 - only module constants are interpolated

# Measures whose readers only ever ask whether a bucket has passed (rollups.sources: an open
# incident's due time, a mediation case's next deadline day, both compared with now or today).
# Once a bucket lies well in the past every reader counts it the same way, so the fold merges
# such rows into one row per key at ``PASSED``: a region keeps as many rows as it has work still
# ahead of its clock, not one per due time in its whole history. A later subtraction of a merged
# entry writes its own past-bucket row, which the next merge takes in; every sum is unchanged.
PASSED_MEASURES = ("incidents", "mediation.case")
PASSED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Well clear of any "now" or "today" a reader compares with (a local day starts at most 16 hours
# before now in UTC).
PASSED_MARGIN = datetime.timedelta(days=2)

_MERGE_PASSED = f"""
WITH passed AS (
    DELETE FROM rollups_tally
    WHERE measure IN {PASSED_MEASURES!r} AND bucket > %(passed)s AND bucket < %(before)s
    RETURNING measure, region_id, dim_a, dim_b, dim_c, n, amount
)
INSERT INTO rollups_tally ({_KEY}, n, amount)
SELECT measure, region_id, dim_a, dim_b, dim_c, %(passed)s, sum(n), sum(amount) FROM passed
GROUP BY measure, region_id, dim_a, dim_b, dim_c
ON CONFLICT ({_KEY})
DO UPDATE SET n = rollups_tally.n + excluded.n, amount = rollups_tally.amount + excluded.amount
RETURNING id, n = 0 AND amount = 0
"""  # noqa: S608 - only module constants are interpolated

# Measures kept by day whose readers ask for whole months (the six projects' periods: a month, a
# year, everything, or up to today). Days of months that ended well before today are merged into
# their month's first day (midnight UTC, as the projections store a day), so a region holds one
# row per key and month of its history instead of one per day. The current and previous months
# keep their days: "up to today" cuts inside them. ``sg.enrolled`` (whose latest day is read) and
# the incident/mediation measures above are not among them.
MONTHLY_MEASURES = (
    "sg.visit",
    "sg.subsidy",
    "people.released",
    "people.picked",
    "people.patients",
    "people.guarded",
    "people.students",
    "people.payees",
    "people.enrolled",
    "sg.checkin",
)
# The incremental fold merges the days of this window before the line (what crossed it lately)
# and the rows it has just written (a late correction to an old month); the full rebuild merges
# the whole history. Either way the tallies come out the same. ``written`` is compared as bigint[]
# (the column's type): an int4[] literal compares through int84eq, which PostgreSQL cannot hash,
# so each row scanned walked the whole list (a fold of many records took minutes).
MONTHLY_WINDOW = datetime.timedelta(days=93)

_MERGE_MONTHS = f"""
WITH days AS (
    DELETE FROM rollups_tally
    WHERE measure IN {MONTHLY_MEASURES!r} AND bucket < %(line)s
      AND (bucket >= %(since)s OR id = ANY(%(written)s::bigint[]))
      AND bucket <> date_trunc('month', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
    RETURNING measure, region_id, dim_a, dim_b, dim_c, bucket, n, amount
)
INSERT INTO rollups_tally ({_KEY}, n, amount)
SELECT measure, region_id, dim_a, dim_b, dim_c,
       date_trunc('month', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(n), sum(amount)
FROM days GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT ({_KEY})
DO UPDATE SET n = rollups_tally.n + excluded.n, amount = rollups_tally.amount + excluded.amount
RETURNING id, n = 0 AND amount = 0
"""  # noqa: S608 - only module constants are interpolated


def _month_line() -> datetime.datetime:
    """Midnight UTC of the first day of the month before last (local calendar)."""
    earlier = timezone.localdate() - datetime.timedelta(days=35)
    return datetime.datetime(earlier.year, earlier.month, 1, tzinfo=datetime.UTC)


def _merge_passed(cursor, *, written: list[int] | None = None) -> None:
    """Three statements, whatever there is to merge (the fold's query count stays constant).
    ``written``: the tally rows the incremental fold has just written; None for the whole history."""
    line = _month_line()
    times = {
        "passed": PASSED,
        "before": timezone.now() - PASSED_MARGIN,
        "line": line,
        "since": PASSED if written is None else line - MONTHLY_WINDOW,
        "written": written or [],
    }
    cursor.execute(_MERGE_PASSED, times)
    merged = cursor.fetchall()
    cursor.execute(_MERGE_MONTHS, times)
    merged += cursor.fetchall()
    # A merged row whose count came back to nothing goes, as the fold's own empty rows do.
    cursor.execute("DELETE FROM rollups_tally WHERE id = ANY(%s)", [[pk for pk, empty in merged if empty]])


_TALLIES_FROM_MARKS = f"""
INSERT INTO rollups_tally ({_KEY}, n, amount)
SELECT {_KEY}, sum(n), 0 FROM rollups_mark GROUP BY {_KEY} HAVING sum(n) <> 0
"""  # noqa: S608 - only module constants are interpolated


@dataclass(frozen=True)
class FoldResult:
    records: int  # records whose contribution was recomputed
    rows: int  # tally rows written
    full: bool = False


def _stamp(cursor, *, records: int, full: bool) -> None:
    """One statement, whatever the state: a fold costs the same number of queries every time."""
    cursor.execute(
        "INSERT INTO rollups_foldstate (id, folded_at, rebuilt_at, records)"
        " VALUES (1, %(now)s, %(rebuilt)s, %(n)s)"
        " ON CONFLICT (id) DO UPDATE SET folded_at = excluded.folded_at, records = excluded.records,"
        " rebuilt_at = coalesce(excluded.rebuilt_at, rollups_foldstate.rebuilt_at)",
        {"now": timezone.now(), "rebuilt": timezone.now() if full else None, "n": records},
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
    cursor.execute(_TOUCHED_PEOPLE)
    cursor.execute(_CHANGES)
    cursor.execute(_REPLACE_ENTRIES)
    cursor.execute(_ADD_TO_TALLIES)
    written = cursor.fetchall()
    cursor.execute(_MARKS.format(people=_TOUCHED, target="rollup_marks"))
    cursor.execute(_ADD_MARKS_TO_TALLIES)
    written += cursor.fetchall()
    cursor.execute(_REPLACE_MARKS)
    # Rows whose count came back to nothing go (always one statement: a constant query count).
    cursor.execute("DELETE FROM rollups_tally WHERE id = ANY(%s)", [[pk for pk, empty in written if empty]])
    _merge_passed(cursor, written=[pk for pk, empty in written if not empty])
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
    cursor.execute("DELETE FROM rollups_mark")
    cursor.execute(_MARKS.format(people="", target="rollups_mark"))
    cursor.execute(_TALLIES_FROM_MARKS)
    rows += cursor.rowcount
    _merge_passed(cursor)
    # The planner must know what was just written (autovacuum never sees a loader's transaction).
    cursor.execute("ANALYZE rollups_entry; ANALYZE rollups_mark; ANALYZE rollups_tally")
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
    from rollups.selectors import _page

    page = _page.get()  # inside ``rollups.selectors.one_page``: once per page
    if page is not None and "fold" in page:
        return page["fold"]
    result = _fold_if_queued()
    if page is not None:
        page["fold"] = result
        if result is not None:
            page.pop("folded_at", None)  # a fold time read before this fold is out of date
    return result


def _fold_if_queued() -> FoldResult | None:
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
