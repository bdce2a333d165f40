"""The survey rollup: raw answers → counts per village and grid office → rates at every level.

One run is one transaction. It locks the (wave, village) marks left by intake, rebuilds
the answer counts (``Cell``) of those villages, then replaces the ``RegionMetric`` rows of
every place above them: villages and grid offices from the counts, townships from their
villages, counties from their townships, the city from its counties. Readers see the old
rows until the commit and the new ones after it, never a mixture; a worker killed
mid-run rolls the transaction back, leaving the marks for the next run.

Marks are locked ``FOR UPDATE`` before anything is read, and intake upserts its marks
(``ON CONFLICT DO UPDATE``), so a response committed while a run is under way either is
seen by the run or keeps its mark for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from surveys.models import DirtyVillage, RollupRun
from surveys.stats import Z95

# pg_advisory_xact_lock key: one rollup at a time ("SURV" in ASCII).
LOCK_KEY = 0x53555256
PROGRESS_TTL = 3600

# Counts to a metric row under the wave's counting rule, with the 95% Wilson interval.
# ``{agg}`` yields (wave_id, item_id, region_id, grid_office_id, month, choice, k).
_METRIC_INSERT = """
WITH agg AS ({agg}),
per_unit AS (
    SELECT agg.wave_id, agg.item_id, agg.region_id, agg.grid_office_id, agg.month,
           sum(agg.k)::bigint AS n,
           jsonb_object_agg(agg.choice::text, agg.k) AS counts,
           coalesce(sum(agg.k) FILTER (WHERE agg.choice = ANY(r.counted)), 0)::bigint AS num,
           (sum(agg.k) - coalesce(sum(agg.k) FILTER (
                WHERE agg.choice = i.cant_say AND NOT r.cant_say_in_denominator), 0))::bigint AS den
    FROM agg
    JOIN surveys_item i ON i.id = agg.item_id
    LEFT JOIN surveys_countingrule r ON r.wave_id = agg.wave_id AND r.item_id = agg.item_id
    GROUP BY agg.wave_id, agg.item_id, agg.region_id, agg.grid_office_id, agg.month
)
INSERT INTO surveys_regionmetric
    (wave_id, item_id, level, region_id, grid_office_id, month, n, counts, numerator, denominator,
     rate, ci_low, ci_high)
SELECT u.wave_id, u.item_id, %(level)s, u.region_id, u.grid_office_id, u.month, u.n, u.counts, u.num, u.den,
       CASE WHEN u.den > 0 THEN 100.0 * u.num / u.den END,
       CASE WHEN u.den > 0 THEN 100.0 * greatest(0.0,
            (w.p + w.z2 / (2 * u.den) - w.z * sqrt(w.p * (1 - w.p) / u.den + w.z2 / (4.0 * u.den * u.den)))
            / (1 + w.z2 / u.den)) END,
       CASE WHEN u.den > 0 THEN 100.0 * least(1.0,
            (w.p + w.z2 / (2 * u.den) + w.z * sqrt(w.p * (1 - w.p) / u.den + w.z2 / (4.0 * u.den * u.den)))
            / (1 + w.z2 / u.den)) END
FROM per_unit u
CROSS JOIN LATERAL (
    SELECT u.num::float8 / nullif(u.den, 0) AS p, %(z)s::float8 AS z, (%(z)s::float8 * %(z)s::float8) AS z2
) w
"""


def _sets(*keys: str) -> str:
    """Month rows and whole-wave rows (month NULL) in one pass."""
    keys_sql = ", ".join(keys)
    return f"GROUPING SETS (({keys_sql}, c.month, c.choice), ({keys_sql}, c.choice))"


_FROM_CELLS_BY_VILLAGE = f"""
SELECT c.wave_id, c.item_id, c.village_id AS region_id, NULL::bigint AS grid_office_id, c.month, c.choice,
       sum(c.count) AS k
FROM surveys_cell c JOIN rollup_villages t ON t.wave_id = c.wave_id AND t.region_id = c.village_id
GROUP BY {_sets("c.wave_id", "c.item_id", "c.village_id")}
"""  # noqa: S608 - only module constants are interpolated

_FROM_CELLS_BY_OFFICE = f"""
SELECT c.wave_id, c.item_id, o.seat_id AS region_id, c.grid_office_id, c.month, c.choice, sum(c.count) AS k
FROM surveys_cell c
JOIN rollup_offices t ON t.wave_id = c.wave_id AND t.office_id = c.grid_office_id
JOIN grids_gridoffice o ON o.id = c.grid_office_id
GROUP BY {_sets("c.wave_id", "c.item_id", "o.seat_id", "c.grid_office_id")}
"""  # noqa: S608 - only module constants are interpolated

# A level from the rows of the level below it (sums of counts; rates recomputed).
_FROM_CHILD_METRICS = """
SELECT m.wave_id, m.item_id, p.parent_id AS region_id, NULL::bigint AS grid_office_id, m.month,
       e.key::int AS choice, sum(e.value::bigint) AS k
FROM {parents} t
JOIN grids_region p ON p.parent_id = t.region_id
JOIN surveys_regionmetric m ON m.region_id = p.id AND m.wave_id = t.wave_id AND m.level = '{child_level}'
CROSS JOIN LATERAL jsonb_each_text(m.counts) e
GROUP BY m.wave_id, m.item_id, p.parent_id, m.month, e.key
"""

_LEVELS_ABOVE = (("township", "village"), ("county", "township"), ("city", "county"))


@dataclass(frozen=True)
class RollupResult:
    run_id: int
    villages: int
    rows: int


def _progress_key(run_id: int) -> str:
    return f"surveys:rollup-progress:{run_id}"


def rollup_progress(run_id: int) -> int | None:
    return cache.get(_progress_key(run_id))


def _set_progress(run_id: int, percent: int) -> None:
    cache.set(_progress_key(run_id), percent, PROGRESS_TTL)


def _rebuild_cells(cursor, *, full: bool) -> None:
    select = (
        "SELECT a.wave_id, a.item_id, a.village_id, a.grid_office_id, a.month, a.choice, count(*) "
        "FROM surveys_answer a {join} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    insert = "INSERT INTO surveys_cell (wave_id, item_id, village_id, grid_office_id, month, choice, count) "
    if full:
        cursor.execute("DELETE FROM surveys_cell")
        cursor.execute(insert + select.format(join=""))
        cursor.execute(
            "INSERT INTO rollup_villages SELECT DISTINCT wave_id, village_id FROM surveys_cell "
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(
            "INSERT INTO rollup_offices SELECT DISTINCT wave_id, grid_office_id FROM surveys_cell "
            "WHERE grid_office_id IS NOT NULL"
        )
        cursor.execute("ANALYZE rollup_villages, rollup_offices")
        return
    touched = "JOIN rollup_villages t ON t.wave_id = a.wave_id AND t.region_id = a.village_id"
    # Offices serving a touched village, before and after, change too; they are collected from
    # the cells this run removes and adds. Their other villages' counts are current already.
    cursor.execute(
        "WITH gone AS (DELETE FROM surveys_cell c USING rollup_villages t "  # noqa: S608 - constants only
        f"WHERE {_on('c')} RETURNING c.wave_id, c.grid_office_id) "
        "INSERT INTO rollup_offices SELECT DISTINCT wave_id, grid_office_id FROM gone "
        "WHERE grid_office_id IS NOT NULL ON CONFLICT DO NOTHING"
    )
    cursor.execute(
        f"WITH added AS ({insert}{select.format(join=touched)} RETURNING wave_id, grid_office_id) "  # noqa: S608
        "INSERT INTO rollup_offices SELECT DISTINCT wave_id, grid_office_id FROM added "
        "WHERE grid_office_id IS NOT NULL ON CONFLICT DO NOTHING"
    )


def _on(alias: str) -> str:
    return f"t.wave_id = {alias}.wave_id AND t.region_id = {alias}.village_id"


def _replace_metrics(cursor, *, full: bool, run_id: int) -> int:
    # The places above each touched village.
    for parent_table, child_table in (
        ("rollup_townships", "rollup_villages"),
        ("rollup_counties", "rollup_townships"),
        ("rollup_city", "rollup_counties"),
    ):
        cursor.execute(
            f"INSERT INTO {parent_table} SELECT DISTINCT t.wave_id, r.parent_id FROM {child_table} t "  # noqa: S608 - constants only
            "JOIN grids_region r ON r.id = t.region_id WHERE r.parent_id IS NOT NULL"
        )
        cursor.execute(f"ANALYZE {parent_table}")  # a few rows: lets the planner walk indexes
    if full:
        cursor.execute("DELETE FROM surveys_regionmetric")
    else:
        for level, table in (
            ("village", "rollup_villages"),
            ("township", "rollup_townships"),
            ("county", "rollup_counties"),
            ("city", "rollup_city"),
        ):
            cursor.execute(
                f"DELETE FROM surveys_regionmetric m USING {table} t WHERE m.level = %s "  # noqa: S608 - constants only
                "AND m.wave_id = t.wave_id AND m.region_id = t.region_id",
                [level],
            )
        cursor.execute(
            "DELETE FROM surveys_regionmetric m USING rollup_offices t WHERE m.level = 'grid_office' "
            "AND m.wave_id = t.wave_id AND m.grid_office_id = t.office_id"
        )
    rows = 0
    params = {"z": Z95}
    cursor.execute(_METRIC_INSERT.format(agg=_FROM_CELLS_BY_VILLAGE), {**params, "level": "village"})
    rows += cursor.rowcount
    cursor.execute(_METRIC_INSERT.format(agg=_FROM_CELLS_BY_OFFICE), {**params, "level": "grid_office"})
    rows += cursor.rowcount
    _set_progress(run_id, 70)
    parents = {"township": "rollup_townships", "county": "rollup_counties", "city": "rollup_city"}
    for level, child_level in _LEVELS_ABOVE:
        agg = _FROM_CHILD_METRICS.format(parents=parents[level], child_level=child_level)
        cursor.execute(_METRIC_INSERT.format(agg=agg), {**params, "level": level})
        rows += cursor.rowcount
    return rows


def _create_work_tables(cursor) -> None:
    """Session-local work tables, created once per connection and emptied by every commit.

    Emptied here too: inside an outer transaction (tests, the demo loader) no commit has come yet.
    """
    for table in ("rollup_villages", "rollup_townships", "rollup_counties", "rollup_city"):
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {table} (wave_id bigint, region_id bigint, "
            "PRIMARY KEY (wave_id, region_id)) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - constants only
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS rollup_offices (wave_id bigint, office_id bigint, "
        "PRIMARY KEY (wave_id, office_id)) ON COMMIT DELETE ROWS"
    )
    cursor.execute("DELETE FROM rollup_offices")


def run_rollup(*, run_id: int | None = None, full: bool = False) -> RollupResult:
    """Recompute what changed since the last run (or everything with ``full``); idempotent."""
    if run_id is None:
        if not full and not DirtyVillage.objects.exists():
            return RollupResult(0, 0, 0)  # the scheduled run with nothing to do leaves no trace
        run = RollupRun.objects.create(full=full)
    else:
        run = RollupRun.objects.get(pk=run_id)
        full = full or run.full
    RollupRun.objects.filter(pk=run.pk).update(status=RollupRun.Status.RUNNING, started_at=timezone.now())
    _set_progress(run.pk, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        # The aggregations of a full run fit in memory instead of spilling to disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # Holding the lock, any other run still marked running lost its worker.
        RollupRun.objects.filter(status=RollupRun.Status.RUNNING).exclude(pk=run.pk).update(
            status=RollupRun.Status.ABANDONED, finished_at=timezone.now()
        )
        cursor.execute("SELECT id, wave_id, village_id FROM surveys_dirtyvillage ORDER BY id FOR UPDATE")
        marks = cursor.fetchall()
        _create_work_tables(cursor)
        if not full:
            if not marks:
                villages = rows = 0
                _finish(run, villages, rows)
                return RollupResult(run.pk, villages, rows)
            cursor.execute(
                "INSERT INTO rollup_villages SELECT * FROM unnest(%s::bigint[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                [[m[1] for m in marks], [m[2] for m in marks]],
            )
            # Statistics on the work table let the planner use the (wave, village) index on answers.
            cursor.execute("ANALYZE rollup_villages")
        _set_progress(run.pk, 10)
        _rebuild_cells(cursor, full=full)
        _set_progress(run.pk, 50)
        cursor.execute("SELECT count(*) FROM rollup_villages")
        villages = cursor.fetchone()[0]
        rows = _replace_metrics(cursor, full=full, run_id=run.pk)
        cursor.execute("DELETE FROM surveys_dirtyvillage WHERE id = ANY(%s)", [[m[0] for m in marks]])
        _set_progress(run.pk, 95)
    _finish(run, villages, rows)
    return RollupResult(run.pk, villages, rows)


def _finish(run: RollupRun, villages: int, rows: int) -> None:
    def done():
        RollupRun.objects.filter(pk=run.pk).update(
            status=RollupRun.Status.DONE, finished_at=timezone.now(), villages=villages, rows=rows
        )
        _set_progress(run.pk, 100)

    transaction.on_commit(done)


@transaction.atomic
def request_rollup(*, full: bool = False, requested_by=None) -> RollupRun:
    """Queue a run (the admin's "recompute now"); the worker starts it after this commits."""
    from surveys.tasks import rollup_surveys

    run = RollupRun.objects.create(full=full, requested_by=requested_by)
    _set_progress(run.pk, 0)
    transaction.on_commit(lambda: rollup_surveys.delay(run_id=run.pk))
    return run


def mark_dirty(cursor, pairs: set[tuple[int, int]]) -> None:
    """Called by intake inside its transaction: these (wave, village) pairs need a recompute."""
    cursor.executemany(
        "INSERT INTO surveys_dirtyvillage (wave_id, village_id, marked_at) VALUES (%s, %s, now()) "
        "ON CONFLICT (wave_id, village_id) DO UPDATE SET marked_at = excluded.marked_at",
        sorted(pairs),
    )
