"""Survey rollup and dashboard at scale: 1,000,000 responses (2,000,000 answers), with the
incidents of five years (bench/volume.py), generated with SQL inside the benchmark.

- full rollup vs the same rebuild written by hand in SQL (target ≤ 1.5). Both run in one
  transaction at the rollup's ``work_mem`` (64 MB), and before every timed run 1% of the answers
  change, so both really write: the rollup its cells and the metric rows that moved, the baseline
  its cells and every metric row (a plain rebuild, at least as much writing);
- incremental rollup after 1,000 new responses in one township vs the full rollup (target < 0.02;
  the full runs also follow a change of 1% of the answers);
- the city dashboard page, cold (cache emptied, tile cache off), vs the SELECTs that cold page
  sent, replayed raw.
"""

from __future__ import annotations

import statistics
import uuid

from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings

from accounts.roles import Role
from accounts.services import user_create
from bench.harness import Comparison, compare, page_queries, replay, timed
from bench.volume import ensure_incidents, volume_scale
from grids.models import Region
from surveys.demo import ensure_survey_setup, loader_actor
from surveys.models import Response, Wave
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import wave_ensure

RESPONSES = 1_000_000
BENCH_WAVE = "bench-1m"


def _generate_responses(wave: Wave) -> None:
    """1M responses over every community and two fieldwork months; answers skewed positive."""
    if Response.objects.filter(wave=wave).count() >= RESPONSES:
        return
    ensure_survey_setup()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH v AS (SELECT array_agg(id ORDER BY code) AS ids FROM grids_region WHERE level = 'village')
            INSERT INTO surveys_response (client_uuid, wave_id, village_id, channel, answered_on, created_at)
            SELECT gen_random_uuid(), %s, v.ids[1 + (i %% array_length(v.ids, 1))],
                   (ARRAY['phone', 'door', 'online'])[1 + (i %% 3)],
                   DATE '2018-11-01' + (i %% 50), now()
            FROM v, generate_series(1, %s) AS i
            """,
            [wave.pk, RESPONSES],
        )
        cursor.execute(
            """
            INSERT INTO surveys_answer
                (response_id, item_id, choice, wave_id, village_id, grid_office_id, month)
            SELECT r.id, i.id,
                   CASE WHEN (hashint4(r.id::int # i.id::int) & 1023) < 20 THEN 3 + (r.id %% 2)
                        ELSE (hashint4(r.id::int) & 1023) %% 3 END,
                   r.wave_id, r.village_id, r.grid_office_id, date_trunc('month', r.answered_on)::date
            FROM surveys_response r CROSS JOIN surveys_item i
            WHERE r.wave_id = %s
            """,
            [wave.pk],
        )
        # What autovacuum does on a live system; the covering index then serves index-only scans.
        cursor.execute("VACUUM ANALYZE surveys_answer")
        cursor.execute("ANALYZE surveys_response")


ROLLUP_WORK_MEM = "64MB"  # what surveys.services.rollup sets for its full run

# The hand-written rebuild: cells from the answers, then every metric row (village, township,
# county, city, grid office; per month and whole wave) from the cells, with the counting rule,
# the rate and its Wilson interval, into tables shaped like the platform's.
_REBUILD = f"""
SET LOCAL work_mem = '{ROLLUP_WORK_MEM}';
CREATE TABLE IF NOT EXISTS bench_cell (LIKE surveys_cell INCLUDING ALL);
CREATE TABLE IF NOT EXISTS bench_metric (LIKE surveys_regionmetric INCLUDING ALL);
DELETE FROM surveys_answerdelta;
DELETE FROM bench_cell;
INSERT INTO bench_cell (wave_id, item_id, village_id, grid_office_id, month, choice, count)
SELECT wave_id, item_id, village_id, grid_office_id, month, choice, count(*)
FROM surveys_answer GROUP BY 1, 2, 3, 4, 5, 6;
DELETE FROM bench_metric;
INSERT INTO bench_metric (wave_id, item_id, level, region_id, grid_office_id, month, n, counts, numerator,
    denominator, rate, ci_low, ci_high)
WITH placed AS (
    SELECT c.wave_id, c.item_id, x.level, x.region_id, x.office_id, c.month, c.choice, c.count
    FROM bench_cell c
    JOIN grids_region v ON v.id = c.village_id
    LEFT JOIN grids_region t ON t.id = v.parent_id
    LEFT JOIN grids_region co ON co.id = t.parent_id
    LEFT JOIN grids_gridoffice o ON o.id = c.grid_office_id
    CROSS JOIN LATERAL (VALUES ('village', c.village_id, NULL::bigint), ('township', v.parent_id, NULL),
        ('county', t.parent_id, NULL), ('city', co.parent_id, NULL), ('grid_office', o.seat_id, o.id))
        AS x(level, region_id, office_id)
    WHERE x.region_id IS NOT NULL
),
agg AS (
    SELECT wave_id, item_id, level, region_id, office_id, month, choice, sum(count) AS k FROM placed
    GROUP BY GROUPING SETS ((wave_id, item_id, level, region_id, office_id, month, choice),
                            (wave_id, item_id, level, region_id, office_id, choice))
),
unit AS (
    SELECT a.wave_id, a.item_id, a.level, a.region_id, a.office_id, a.month, sum(a.k) AS n,
           jsonb_object_agg(a.choice::text, a.k) AS counts,
           coalesce(sum(a.k) FILTER (WHERE a.choice = ANY(r.counted)), 0) AS num,
           sum(a.k) - coalesce(sum(a.k) FILTER (
               WHERE a.choice = i.cant_say AND NOT r.cant_say_in_denominator), 0) AS den
    FROM agg a JOIN surveys_item i ON i.id = a.item_id
    LEFT JOIN surveys_countingrule r ON r.wave_id = a.wave_id AND r.item_id = a.item_id
    GROUP BY 1, 2, 3, 4, 5, 6
)
SELECT wave_id, item_id, level, region_id, office_id, month, n, counts, num, den,
       100.0 * num / nullif(den, 0),
       100.0 * greatest(0.0, (p + 1.96^2 / (2 * den)
           - 1.96 * sqrt(p * (1 - p) / den + 1.96^2 / (4.0 * den * den))) / (1 + 1.96^2 / den)),
       100.0 * least(1.0, (p + 1.96^2 / (2 * den)
           + 1.96 * sqrt(p * (1 - p) / den + 1.96^2 / (4.0 * den * den))) / (1 + 1.96^2 / den))
FROM unit CROSS JOIN LATERAL (SELECT num::float8 / nullif(den, 0) AS p) w
"""


def _hand_written_rebuild() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REBUILD)


def _change_answers(step: list[int]) -> None:
    """1% of the answers get another choice (as corrections would), and the queue of their deltas
    is emptied, so each side starts from the same queue; a different 1% each time."""
    step[0] += 1
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE surveys_answer SET choice = (choice + 1) %% 3 WHERE id %% 100 = %s AND choice < 3",
            [step[0] % 100],
        )
        cursor.execute("DELETE FROM surveys_answerdelta")


def _new_responses_in_one_township(wave: Wave, admin, township: str, batch: int) -> None:
    villages = list(
        Region.objects.filter(parent__code=township).order_by("code").values_list("code", flat=True)
    )
    rows = [
        {
            "client_id": str(uuid.uuid4()),
            "community": villages[i % len(villages)],
            "channel": "phone",
            "answered_on": "2018-11-20",
            "security_sense": "安全",
            "satisfaction": "满意" if (i + batch) % 7 else "说不清",
        }
        for i in range(1000)
    ]
    import_responses(actor=admin, wave=wave, rows=rows)


def run():
    from datetime import date

    from accounts.models import User

    wave = wave_ensure(
        actor=loader_actor(),
        code=BENCH_WAVE,
        name="基准测试 100万份",
        year=2018,
        starts_on=date(2018, 11, 1),
        ends_on=date(2018, 12, 31),
    )
    ensure_survey_setup()
    from surveys.models import Item
    from surveys.services.setup import counting_rule_set

    counting_rule_set(
        actor=loader_actor(),
        wave=wave,
        item=Item.objects.get(code="security_sense"),
        counted=[0, 1, 2],
        cant_say_in_denominator=True,
    )
    counting_rule_set(
        actor=loader_actor(),
        wave=wave,
        item=Item.objects.get(code="satisfaction"),
        counted=[0, 1],
        cant_say_in_denominator=True,
    )
    _generate_responses(wave)
    _scale, (small, _large) = volume_scale()
    ensure_incidents(small)
    incidents = _count_incidents()
    admin = User(username="bench", role=Role.ADMIN, is_superuser=True, is_active=True)
    step = [0]

    yield compare(
        "survey rollup, full, 1M responses vs hand-written SQL rebuild",
        lambda: run_rollup(full=True),
        _hand_written_rebuild,
        setup=lambda: _change_answers(step),
        repeat=3,
        target=1.5,
        sides=(
            f"both: 1% of 2M answers changed before each run, one transaction at work_mem {ROLLUP_WORK_MEM}; "
            "platform: run_rollup(full=True); baseline: cells by GROUP BY, every metric row rebuilt by SQL"
        ),
    )

    full_times, incremental_times = [], []
    for batch in range(3):
        _change_answers(step)
        full_times.append(timed(lambda: run_rollup(full=True)))
        _new_responses_in_one_township(wave, admin, "520402005", batch)
        incremental_times.append(timed(run_rollup))
    yield Comparison(
        "survey rollup, incremental after 1,000 responses in one township vs full",
        statistics.median(incremental_times),
        statistics.median(full_times),
        target=0.02,
        sides=(
            "platform: run_rollup() after 1,000 new responses; "
            "baseline: run_rollup(full=True) after 1% of the answers changed"
        ),
    )

    city = User.objects.filter(username="bench-city").first() or user_create(
        username="bench-city",
        password=uuid.uuid4().hex,
        role=Role.CITY_OFFICIAL,
        region=Region.objects.get(code="5204"),
    )
    client = Client()
    client.force_login(city)
    url = f"/dashboard/?wave={BENCH_WAVE}"

    def dashboard():
        response = client.get(url, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.status_code
        return response.content

    with override_settings(DASHBOARD_TILE_CACHE_SECONDS=0):
        cache.clear()
        statements = page_queries(dashboard)
        yield compare(
            f"dashboard page, city, 1M responses + {incidents:,} incidents, cold",
            dashboard,
            lambda: replay(statements),
            setup=cache.clear,
            repeat=5,
            target=1.5,
            sides=(
                f"platform: GET {url} as a city official, cache emptied before each request, tile cache off; "
                f"baseline: the {len(statements)} SELECTs that cold page ran, replayed raw"
            ),
        )


def _count_incidents() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        return cursor.fetchone()[0]
