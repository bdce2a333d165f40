"""The survey rollup: raw answers → counts per village and grid office → rates at every level.

One run is one transaction; readers see the old rows until the commit and the new ones
after it, never a mixture, and a worker killed mid-run rolls the transaction back.

An incremental run counts deltas. Triggers on ``Answer`` queue every change to the answer
counts as ``AnswerDelta`` rows (+k added, -k removed). The run deletes the queued rows (a
row queued by a transaction that commits after the run's DELETE began stays for the next
run), adds them to the ``Cell`` counts, and for each metric row whose counts they move
(the village, its township, county and city, the grid office; whole wave and month) adds
them to the row's counts and recomputes its rate and interval. Everything else is left
alone, so a run costs what its deltas cost, not what the touched communities hold. The
consumed deltas are deleted in the transaction that publishes their effect: applied once,
or (the run died) still queued.

A full run rebuilds ``Cell`` from ``Answer`` and every metric from the cells, bottom-up,
into a work table, and writes only the metric rows that differ (a rerun over unchanged
answers rewrites none). It holds the delta queue locked against writers while it reads, so
the answers it counts are exactly those whose deltas it discards.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from anshun.background import enqueue_on_commit
from anshun.commands import system_command
from surveys.models import AnswerDelta, RollupRun
from surveys.policy import POLICY
from surveys.stats import Z95

# pg_advisory_xact_lock key: one rollup at a time ("SURV" in ASCII).
LOCK_KEY = 0x53555256
PROGRESS_TTL = 3600

# Counts to a metric row under the wave's counting rule, with the 95% Wilson interval.
# ``{agg}`` is a list of CTEs ending with ``agg``, which yields
# (wave_id, item_id, level, region_id, grid_office_id, month, choice, k); ``{target}`` is
# ``surveys_regionmetric`` or the full run's ``rollup_metric``.
_METRIC_INSERT = """
WITH {agg},
per_unit AS (
    SELECT agg.wave_id, agg.item_id, agg.level, agg.region_id, agg.grid_office_id, agg.month,
           sum(agg.k)::bigint AS n,
           jsonb_object_agg(agg.choice::text, agg.k) AS counts,
           coalesce(sum(agg.k) FILTER (WHERE agg.choice = ANY(r.counted)), 0)::bigint AS num,
           (sum(agg.k) - coalesce(sum(agg.k) FILTER (
                WHERE agg.choice = i.cant_say AND NOT r.cant_say_in_denominator), 0))::bigint AS den
    FROM agg
    JOIN surveys_item i ON i.id = agg.item_id
    LEFT JOIN surveys_countingrule r ON r.wave_id = agg.wave_id AND r.item_id = agg.item_id
    GROUP BY agg.wave_id, agg.item_id, agg.level, agg.region_id, agg.grid_office_id, agg.month
)
INSERT INTO {target}
    (wave_id, item_id, level, region_id, grid_office_id, month, n, counts, numerator, denominator,
     rate, ci_low, ci_high)
SELECT u.wave_id, u.item_id, u.level, u.region_id, u.grid_office_id, u.month, u.n, u.counts, u.num, u.den,
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

# --- full run ------------------------------------------------------------------------------

# A full run computes the metric rows into a session-local table first, then writes only the
# differences: a rerun over unchanged answers rewrites no metric row, so it leaves no dead row
# versions for the next incremental run's index lookups to step over.
_FULL_WORK_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS rollup_metric (wave_id bigint, item_id bigint, level varchar(12),
    region_id bigint, grid_office_id bigint, month date, n integer, counts jsonb, numerator integer,
    denominator integer, rate float8, ci_low float8, ci_high float8) ON COMMIT DELETE ROWS;
DELETE FROM rollup_metric
"""

_CELLS_FROM_ANSWERS = """
INSERT INTO surveys_cell (wave_id, item_id, village_id, grid_office_id, month, choice, count)
SELECT wave_id, item_id, village_id, grid_office_id, month, choice, count(*)
FROM surveys_answer GROUP BY 1, 2, 3, 4, 5, 6
"""


def _sets(*keys: str) -> str:
    """Month rows and whole-wave rows (month NULL) in one pass."""
    keys_sql = ", ".join(keys)
    return f"GROUPING SETS (({keys_sql}, c.month, c.choice), ({keys_sql}, c.choice))"


_VILLAGES_FROM_CELLS = f"""
agg AS (
    SELECT c.wave_id, c.item_id, 'village' AS level, c.village_id AS region_id,
           NULL::bigint AS grid_office_id, c.month, c.choice, sum(c.count) AS k
    FROM surveys_cell c
    GROUP BY {_sets("c.wave_id", "c.item_id", "c.village_id")}
)
"""  # noqa: S608 - only module constants are interpolated

_OFFICES_FROM_CELLS = f"""
agg AS (
    SELECT c.wave_id, c.item_id, 'grid_office' AS level, o.seat_id AS region_id, c.grid_office_id, c.month,
           c.choice, sum(c.count) AS k
    FROM surveys_cell c JOIN grids_gridoffice o ON o.id = c.grid_office_id
    GROUP BY {_sets("c.wave_id", "c.item_id", "o.seat_id", "c.grid_office_id")}
)
"""  # noqa: S608 - only module constants are interpolated

# A level from the rows of the level below it (sums of counts; rates recomputed).
_FROM_CHILD_METRICS = """
agg AS (
    SELECT m.wave_id, m.item_id, '{level}' AS level, p.parent_id AS region_id, NULL::bigint AS grid_office_id,
           m.month, e.key::int AS choice, sum(e.value::bigint) AS k
    FROM rollup_metric m
    JOIN grids_region p ON p.id = m.region_id
    CROSS JOIN LATERAL jsonb_each_text(m.counts) e
    WHERE m.level = '{child_level}' AND p.parent_id IS NOT NULL
    GROUP BY m.wave_id, m.item_id, p.parent_id, m.month, e.key
)
"""

_LEVELS_ABOVE = (("township", "village"), ("county", "township"), ("city", "county"))

# Keys compared with "=" (a NULL office as 0, a NULL month as -infinity), so the joins can hash.
_COMPARABLE = {
    "grid_office_id": "coalesce({a}.grid_office_id, 0)",
    "month": "coalesce({a}.month, '-infinity')",
}


def _sync(table: str, work: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Statements that make ``table`` hold exactly the rows of ``work``, writing only differences."""

    def key(alias: str) -> str:
        return "(" + ", ".join(_COMPARABLE.get(k, "{a}." + k).format(a=alias) for k in keys) + ")"

    def listed(alias: str, columns: tuple[str, ...]) -> str:
        return "(" + ", ".join(f"{alias}.{c}" for c in columns) + ")"

    same = f"{key('t')} = {key('w')}"
    return f"""
UPDATE {table} t SET {", ".join(f"{v} = w.{v}" for v in values)} FROM {work} w
WHERE {same} AND {listed("t", values)} IS DISTINCT FROM {listed("w", values)};
INSERT INTO {table} ({", ".join(keys + values)})
SELECT {listed("w", keys + values)[1:-1]} FROM {work} w
WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same});
DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {work} w WHERE {same})
"""  # noqa: S608 - only module constants are interpolated


_METRIC_KEY = ("wave_id", "item_id", "level", "region_id", "grid_office_id", "month")
_METRIC_VALUES = ("n", "counts", "numerator", "denominator", "rate", "ci_low", "ci_high")
_SYNC_METRICS = _sync("surveys_regionmetric", "rollup_metric", _METRIC_KEY, _METRIC_VALUES)

# --- incremental run -----------------------------------------------------------------------

# The queued deltas, taken off the queue and netted per cell.
_TAKE_DELTAS = """
WITH taken AS (
    DELETE FROM surveys_answerdelta
    RETURNING wave_id, item_id, village_id, grid_office_id, month, choice, delta
)
INSERT INTO rollup_delta
SELECT wave_id, item_id, village_id, grid_office_id, month, choice, sum(delta)
FROM taken GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(delta) <> 0
RETURNING wave_id, village_id, k < 0
"""

_SAME_CELL = (
    "c.wave_id = d.wave_id AND c.village_id = d.village_id AND c.item_id = d.item_id"
    " AND c.grid_office_id IS NOT DISTINCT FROM d.grid_office_id AND c.month = d.month"
    " AND c.choice = d.choice"
)

# Existing cells move by their delta; new ones are inserted. (Not ON CONFLICT: the
# count's CHECK (>= 0) would be applied to a negative delta before the conflict is seen.)
_ADD_TO_CELLS = f"""
WITH moved AS (
    UPDATE surveys_cell c SET count = c.count + d.k FROM rollup_delta d WHERE {_SAME_CELL}
    RETURNING d.wave_id, d.village_id, d.item_id, d.grid_office_id, d.month, d.choice
)
INSERT INTO surveys_cell (wave_id, item_id, village_id, grid_office_id, month, choice, count)
SELECT d.wave_id, d.item_id, d.village_id, d.grid_office_id, d.month, d.choice, d.k
FROM rollup_delta d
WHERE NOT EXISTS (SELECT 1 FROM moved c WHERE {_SAME_CELL})
"""  # noqa: S608 - only module constants are interpolated

_DROP_EMPTY_CELLS = f"""
DELETE FROM surveys_cell c USING rollup_delta d WHERE d.k < 0 AND c.count = 0 AND {_SAME_CELL}
"""  # noqa: S608 - only module constants are interpolated

_SAME_METRIC = (
    "m.wave_id = t.wave_id AND m.item_id = t.item_id AND m.level = t.level AND m.region_id = t.region_id"
    " AND m.grid_office_id IS NOT DISTINCT FROM t.grid_office_id AND m.month IS NOT DISTINCT FROM t.month"
)

# Each cell delta moves the metric rows of its village, township, county and city and of its
# grid office (placed at the office's seat, as the full run places them), per month and for
# the whole wave. Added to those rows' current counts, they give the rows' new counts, which
# are written over the old rows (or as new rows); a row whose counts all come to 0 goes.
_MOVED_METRICS = f"""
delta AS (
    SELECT d.wave_id, d.item_id, x.level, x.region_id, x.grid_office_id, span.month, d.choice, sum(d.k) AS k
    FROM rollup_delta d
    JOIN grids_region v ON v.id = d.village_id
    LEFT JOIN grids_region t ON t.id = v.parent_id
    LEFT JOIN grids_region c ON c.id = t.parent_id
    LEFT JOIN grids_gridoffice o ON o.id = d.grid_office_id
    CROSS JOIN LATERAL (VALUES
        ('village', d.village_id, NULL::bigint),
        ('township', v.parent_id, NULL::bigint),
        ('county', t.parent_id, NULL::bigint),
        ('city', c.parent_id, NULL::bigint),
        ('grid_office', o.seat_id, o.id)
    ) AS x(level, region_id, grid_office_id)
    CROSS JOIN LATERAL (VALUES (d.month), (NULL::date)) AS span(month)
    WHERE x.region_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
moved AS (SELECT DISTINCT wave_id, item_id, level, region_id, grid_office_id, month FROM delta),
summed AS (
    SELECT wave_id, item_id, level, region_id, grid_office_id, month, choice, sum(k) AS k
    FROM (
        SELECT * FROM delta
        UNION ALL
        SELECT m.wave_id, m.item_id, m.level, m.region_id, m.grid_office_id, m.month,
               e.key::int, e.value::bigint
        FROM moved t JOIN surveys_regionmetric m ON {_SAME_METRIC}
        CROSS JOIN LATERAL jsonb_each_text(m.counts) e
    ) current_and_delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
emptied AS (
    DELETE FROM surveys_regionmetric m USING (
        SELECT wave_id, item_id, level, region_id, grid_office_id, month FROM summed
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING every(k = 0)
    ) t
    WHERE {_SAME_METRIC}
),
agg AS (SELECT * FROM summed WHERE k <> 0)
"""  # noqa: S608 - only module constants are interpolated

_OVERWRITE = """
ON CONFLICT (wave_id, item_id, level, region_id, grid_office_id, month) DO UPDATE SET
    n = excluded.n, counts = excluded.counts, numerator = excluded.numerator,
    denominator = excluded.denominator, rate = excluded.rate,
    ci_low = excluded.ci_low, ci_high = excluded.ci_high
"""

# Session-local, created once per connection and emptied by every commit; emptied here too,
# since inside an outer transaction (tests, the demo loader) no commit has come yet.
_WORK_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS rollup_delta (wave_id bigint, item_id bigint, village_id bigint,
    grid_office_id bigint, month date, choice smallint, k bigint) ON COMMIT DELETE ROWS;
DELETE FROM rollup_delta
"""

# One run at a time; holding the lock, any other run still marked running lost its worker.
_START = """
SELECT pg_advisory_xact_lock(%(lock)s);
UPDATE surveys_rolluprun SET status = %(abandoned)s, finished_at = now()
WHERE status = %(running)s AND id <> %(run)s
"""

# An incremental run is two round trips: its work is small enough that waiting for the
# database to be scheduled again, once per statement on a busy machine, would dominate it.
_INCREMENTAL_TAKE = ";".join((_START, _WORK_TABLE, _TAKE_DELTAS))
_INCREMENTAL_APPLY = ";".join(
    (
        "ANALYZE rollup_delta",  # a few dozen rows: with statistics the joins walk the unique indexes
        _ADD_TO_CELLS,
        _DROP_EMPTY_CELLS,
        _METRIC_INSERT.format(agg=_MOVED_METRICS, target="surveys_regionmetric") + _OVERWRITE,
    )
)


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


def _full(cursor, *, run_id: int, params: dict) -> tuple[int, int]:
    _set_progress(run_id, 10)
    cursor.execute(_START, params)
    # The aggregations fit in memory instead of spilling to disk.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # Writers queue their deltas before they commit, so with the queue locked against them
    # every statement below sees the same answers: those whose deltas are discarded here.
    cursor.execute("LOCK TABLE surveys_answerdelta IN EXCLUSIVE MODE")
    cursor.execute("DELETE FROM surveys_answerdelta")
    cursor.execute(_FULL_WORK_TABLE)
    cursor.execute("DELETE FROM surveys_cell")
    cursor.execute(_CELLS_FROM_ANSWERS)
    _set_progress(run_id, 50)
    cursor.execute("SELECT count(*) FROM (SELECT DISTINCT wave_id, village_id FROM surveys_cell) v")
    villages = cursor.fetchone()[0]
    cursor.execute(_METRIC_INSERT.format(agg=_VILLAGES_FROM_CELLS, target="rollup_metric"), params)
    rows = cursor.rowcount
    cursor.execute(_METRIC_INSERT.format(agg=_OFFICES_FROM_CELLS, target="rollup_metric"), params)
    rows += cursor.rowcount
    _set_progress(run_id, 70)
    for level, child_level in _LEVELS_ABOVE:
        agg = _FROM_CHILD_METRICS.format(level=level, child_level=child_level)
        cursor.execute(_METRIC_INSERT.format(agg=agg, target="rollup_metric"), params)
        rows += cursor.rowcount
    cursor.execute(_SYNC_METRICS)
    _set_progress(run_id, 95)
    return villages, rows


def _incremental(cursor, *, run_id: int, params: dict) -> tuple[int, int]:
    cursor.execute(_INCREMENTAL_TAKE, params)
    deltas = cursor.fetchall()
    if not deltas:
        return 0, 0  # nothing queued, or changes that cancel out: only the queue moves
    _set_progress(run_id, 50)
    cursor.execute(_INCREMENTAL_APPLY, params)
    return len({(wave, village) for wave, village, _removal in deltas}), cursor.rowcount


@system_command("the rollup task and beat; loaders after writing responses")
def run_rollup(*, run_id: int | None = None, full: bool = False) -> RollupResult:
    """Apply the changes queued since the last run (or recompute everything with ``full``); idempotent."""
    running = {"status": RollupRun.Status.RUNNING, "started_at": timezone.now()}
    if run_id is None:
        if not full and not AnswerDelta.objects.exists():
            return RollupResult(0, 0, 0)  # the scheduled run with nothing to do leaves no trace
        run = RollupRun.objects.create(full=full, **running)
    else:
        run = RollupRun.objects.get(pk=run_id)
        full = full or run.full
        RollupRun.objects.filter(pk=run.pk).update(**running)
    params = {
        "lock": LOCK_KEY,
        "run": run.pk,
        "running": RollupRun.Status.RUNNING.value,
        "abandoned": RollupRun.Status.ABANDONED.value,
        "z": Z95,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        villages, rows = (_full if full else _incremental)(cursor, run_id=run.pk, params=params)
        # Committed with the figures: a run is done exactly when its rows are in.
        RollupRun.objects.filter(pk=run.pk).update(
            status=RollupRun.Status.DONE, finished_at=timezone.now(), villages=villages, rows=rows
        )
    return RollupResult(run.pk, villages, rows)


@POLICY.command("rollup_request")
@transaction.atomic
def request_rollup(*, actor, full: bool = False) -> RollupRun:
    """Queue a run (the admin's "recompute now"); the worker starts it after this commits."""
    from surveys.tasks import rollup_surveys

    run = RollupRun.objects.create(full=full, requested_by=actor if actor.pk else None)
    _set_progress(run.pk, 0)
    enqueue_on_commit(rollup_surveys, run_id=run.pk)
    return run
