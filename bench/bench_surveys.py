"""Survey rollup and dashboard at scale: 1,000,000 responses (2,000,000 answers) and
1,000,000 incidents, generated with SQL inside the benchmark.

- full rollup vs one hand-written GROUP BY over the same answers table (target ≤ 1.5);
- incremental rollup after 1,000 new responses in one township vs the full rollup (target < 0.02;
  the run applies the queued count deltas, so it costs what 1,000 responses cost);
- the city dashboard page's server time, reported against reading its metric rows in raw SQL.
"""

from __future__ import annotations

import statistics
import time
import uuid

from django.db import connection
from django.test import Client

from accounts.roles import Role
from accounts.services import user_create
from bench.harness import Comparison, compare
from grids.models import Region
from surveys.demo import ensure_survey_setup, loader_actor
from surveys.models import Response, Wave
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import wave_ensure

RESPONSES = 1_000_000
INCIDENTS = 1_000_000
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


def _generate_incidents() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        if cursor.fetchone()[0] >= INCIDENTS:
            return
        cursor.execute(
            "INSERT INTO incidents_incidentcategory (code, name, duty, handling_limit_hours, is_active) "
            "VALUES ('bench-rubbish', '暴露垃圾', 'environment', 8, true) ON CONFLICT (code) DO NOTHING"
        )
        cursor.execute(
            """
            WITH g AS (SELECT array_agg(id ORDER BY code) AS ids FROM grids_grid),
                 c AS (SELECT id FROM incidents_incidentcategory WHERE code = 'bench-rubbish')
            INSERT INTO incidents_incident (client_uuid, category_id, description, address, grid_id,
                status, priority, source, reported_at, updated_at, version, escalation_level)
            SELECT gen_random_uuid(), c.id, 'bench', '', g.ids[1 + (i %% array_length(g.ids, 1))],
                   (ARRAY['reported', 'dispatched', 'closed'])[1 + (i %% 3)], 'normal', 'grid_worker',
                   now() - make_interval(mins => i), now(), 1, 0
            FROM g, c, generate_series(1, %s) AS i
            """,
            [INCIDENTS],
        )
        cursor.execute("ANALYZE incidents_incident")


def _group_by_baseline() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT wave_id, item_id, village_id, grid_office_id, month, choice, "
            "count(*) FROM surveys_answer GROUP BY 1, 2, 3, 4, 5, 6) g"
        )
        return cursor.fetchone()[0]


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
    _generate_incidents()
    admin = User(username="bench", role=Role.ADMIN, is_superuser=True, is_active=True)

    results = [
        compare(
            "survey rollup, full, 1M responses vs one SQL GROUP BY",
            lambda: run_rollup(full=True),
            _group_by_baseline,
            repeat=3,
            target=1.5,
        )
    ]

    full_times, incremental_times = [], []
    for batch in range(3):
        start = time.perf_counter()
        run_rollup(full=True)
        full_times.append(time.perf_counter() - start)
        _new_responses_in_one_township(wave, admin, "520402005", batch)
        start = time.perf_counter()
        run_rollup()
        incremental_times.append(time.perf_counter() - start)
    results.append(
        Comparison(
            "survey rollup, incremental after 1,000 responses in one township vs full",
            statistics.median(incremental_times),
            statistics.median(full_times),
            target=0.02,
        )
    )

    city = User.objects.filter(username="bench-city").first() or user_create(
        username="bench-city",
        password=uuid.uuid4().hex,
        role=Role.CITY_OFFICIAL,
        region=Region.objects.get(code="5204"),
    )
    client = Client()
    client.force_login(city)

    def dashboard():
        return client.get(f"/dashboard/?wave={BENCH_WAVE}", HTTP_HOST="127.0.0.1")

    def raw_rows():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.* FROM surveys_regionmetric m JOIN grids_region r ON r.id = m.region_id "
                "JOIN surveys_wave w ON w.id = m.wave_id WHERE w.code = %s AND m.month IS NULL "
                "AND (r.code = '5204' OR r.parent_id = (SELECT id FROM grids_region WHERE code = '5204'))",
                [BENCH_WAVE],
            )
            return cursor.fetchall()

    results.append(
        compare(
            "dashboard page, city, 1M responses + 1M incidents (server time)", dashboard, raw_rows, repeat=5
        )
    )
    return results
