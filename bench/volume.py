"""Bench data at five-year volume, written by SQL (``INSERT ... SELECT generate_series``).

Traffic is spread over five years ending now as a city's really is: more in summer than in
winter, about half on weekends, mostly in working hours (Asia/Shanghai), growing over the
years. Each hour of the five years gets its exact share of the rows (floor of the cumulative
weight), so the totals are exact and the spread is the same on every run.

- ``ensure_incidents(n)``: grows the incidents table to ``n`` rows, each with its grid's office
  link and its timeline (reported, dispatched, handled, closed as far as it got). Old incidents
  are closed (some late); the last 30 days hold the open work. Running incidents already past
  their due time sit at the city level, as earlier escalation passes left them: the escalation
  queue holds only what falls due later.
- ``ensure_mediation_cases(n)``: cases over the same five years; recent ones in mediation with
  their deadline-queue day set as the services would set it.
- ``ensure_case_task_history(n)``: done visit tasks of the six projects' patients, the planning
  job's history.
- ``ensure_patrol_logs(n)``: patrols of the prevention units over the same five years.

Every function only adds rows (idempotent up to its target) and ANALYZEs what it wrote. Other
benches reuse them: call with the volume they need; ``volume_scale()`` reads ``BENCH_SCALE``.
"""

from __future__ import annotations

import os

from django.db import connection, transaction
from django.utils import timezone

LOCAL_TZ = "Asia/Shanghai"
YEARS = 5

# BENCH_SCALE: the incident volumes the scale-sensitive benches compare.
SCALES = {
    "quick": (100_000, 300_000),  # `make bench`: a few minutes on the 2-core machine
    "full": (100_000, 3_000_000),  # `make bench BENCH_SCALE=full`: five years of a city
}


def volume_scale() -> tuple[str, tuple[int, int]]:
    name = os.environ.get("BENCH_SCALE", "quick") or "quick"
    if name not in SCALES:
        raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {name!r}")
    return name, SCALES[name]


def _hour_shares(n: int, *, step: str = "1 hour") -> str:
    """SQL of a CTE list ``slots(at, k)``: k rows at the local slot starting at ``at``, summing to n.
    The weight of a slot: season (summer peak, winter low), weekday (weekends 0.55), hour of day
    (working hours 1, evenings 0.45, early morning 0.3, night 0.06) and growth (0.7 → 1.3)."""
    return f"""
    span AS (
        SELECT date_trunc('hour', now() AT TIME ZONE '{LOCAL_TZ}') - interval '{YEARS} years' AS first,
               date_trunc('hour', now() AT TIME ZONE '{LOCAL_TZ}') AS last
    ),
    weighted AS (
        SELECT h AS local_at,
               (1 + 0.25 * cos(2 * pi() * (extract(doy FROM h) - 200) / 365.25))
               * CASE WHEN extract(isodow FROM h) >= 6 THEN 0.55 ELSE 1 END
               * CASE WHEN extract(hour FROM h) BETWEEN 8 AND 17 THEN 1.0
                      WHEN extract(hour FROM h) BETWEEN 18 AND 21 THEN 0.45
                      WHEN extract(hour FROM h) BETWEEN 6 AND 7 THEN 0.3
                      ELSE 0.06 END
               * (0.7 + 0.6 * extract(epoch FROM h - span.first) / extract(epoch FROM span.last - span.first))
               AS w
        FROM span, generate_series(span.first, span.last - interval '{step}', interval '{step}') AS h
    ),
    cumulative AS (
        SELECT local_at, sum(w) OVER (ORDER BY local_at) AS upto, sum(w) OVER () AS total FROM weighted
    ),
    slots AS (
        SELECT local_at AT TIME ZONE '{LOCAL_TZ}' AS at,
               (floor({int(n)} * upto / total) - floor({int(n)} * (upto - w.w) / total))::int AS k
        FROM cumulative JOIN weighted w USING (local_at)
    )
    """  # noqa: S608 - only integers and module constants are interpolated


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a module constant
        return cursor.fetchone()[0]


def ensure_incidents(n: int, *, timeline: bool = True) -> int:
    """Grow the incidents to ``n`` (five years of traffic); returns how many were added."""
    missing = n - _count("incidents_incident")
    if missing <= 0:
        return 0
    from incidents.categories import seed_categories

    seed_categories()
    # One transaction: the sync feed's trigger on the office links moves every incident linked in
    # a later transaction to that transaction's feed position (a rewrite of every row); linked in
    # the transaction that created them, they keep their first position.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5204)")
        cursor.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS bench_grid AS
            SELECT row_number() OVER (ORDER BY id)::int AS k, id, office_id, ST_PointOnSurface(geometry) AS p
            FROM grids_grid;
            CREATE TEMP TABLE IF NOT EXISTS bench_category AS
            SELECT row_number() OVER (ORDER BY id)::int AS k, id, handling_limit_hours AS hours
            FROM incidents_incidentcategory WHERE is_active;
            CREATE TEMP TABLE IF NOT EXISTS bench_new (id bigint PRIMARY KEY);
            TRUNCATE bench_new;
            """
        )
        # One statement: the rows, their place and category drawn per row (a materialised CTE, so
        # the draws are made once per row), their life so far decided by their age.
        cursor.execute(
            f"""
            WITH {_hour_shares(missing)},
            drawn AS MATERIALIZED (
                SELECT s.at + random() * interval '1 hour' AS reported_at,
                       1 + floor((SELECT count(*) FROM bench_grid) * power(random(), 1.6))::int AS gk,
                       1 + floor((SELECT count(*) FROM bench_category) * random())::int AS ck,
                       random() AS fate, random() AS speed, random() AS kind
                FROM slots s, generate_series(1, s.k)
            ),
            lived AS (
                SELECT d.*, g.id AS grid_id, g.office_id, g.p, c.id AS category_id,
                       d.reported_at + make_interval(hours => c.hours) AS due_at,
                       CASE
                         WHEN d.reported_at < now() - interval '30 days' THEN
                           CASE WHEN d.fate < 0.97 THEN 'closed' WHEN d.fate < 0.99 THEN 'verified'
                                ELSE 'handled' END
                         WHEN d.fate < 0.10 THEN 'reported' WHEN d.fate < 0.18 THEN 'registered'
                         WHEN d.fate < 0.35 THEN 'dispatched' WHEN d.fate < 0.50 THEN 'handling'
                         WHEN d.fate < 0.52 THEN 'returned' WHEN d.fate < 0.60 THEN 'handled'
                         WHEN d.fate < 0.65 THEN 'verified' ELSE 'closed' END AS status,
                       -- 90% handled within the limit, the rest up to twice it
                       CASE WHEN d.speed < 0.9 THEN d.speed / 0.9 ELSE 1 + (d.speed - 0.9) * 10 END AS took
                FROM drawn d JOIN bench_grid g ON g.k = d.gk JOIN bench_category c ON c.k = d.ck
            ),
            made AS (
                INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                    grid_id, status, priority, source, reported_at, updated_at, due_at, closed_at, version,
                    handling_office_id, escalation_level, deleted_at, request_digest, sync_txid, sync_seq)
                SELECT gen_random_uuid(), l.category_id,
                       (ARRAY['路面破损', '占道经营', '噪声扰民', '邻里纠纷', '暴露垃圾', '消防通道堵塞'])
                           [1 + floor(l.kind * 6)::int],
                       l.p, '', l.grid_id, l.status,
                       CASE WHEN l.kind < 0.05 THEN 'urgent' WHEN l.kind > 0.9 THEN 'low' ELSE 'normal' END,
                       (ARRAY['grid_worker', 'grid_worker', 'grid_worker', 'citizen', 'hotline',
                              'sync_client'])
                           [1 + floor(l.speed * 6)::int],
                       l.reported_at,
                       least(now(), l.reported_at + (l.due_at - l.reported_at) * l.took),
                       l.due_at,
                       CASE WHEN l.status = 'closed'
                            THEN least(now(), l.reported_at + (l.due_at - l.reported_at) * l.took) END,
                       1 + (l.status <> 'reported')::int * 3,
                       CASE WHEN l.status NOT IN ('reported', 'registered') THEN l.office_id END,
                       -- running and already past due: escalated to the city by earlier passes
                       CASE WHEN l.status IN ('dispatched', 'handling', 'returned') AND l.due_at < now()
                            THEN 3 ELSE 0 END,
                       CASE WHEN l.fate > 0.997 THEN l.reported_at + interval '1 day' END,
                       '', 0, 0
                FROM lived l
                ORDER BY l.reported_at
                RETURNING id
            )
            INSERT INTO bench_new SELECT id FROM made
            """  # noqa: S608 - only integers and module constants are interpolated
        )
        cursor.execute(
            """
            INSERT INTO incidents_incident_offices (incident_id, gridoffice_id)
            SELECT i.id, g.office_id FROM bench_new n JOIN incidents_incident i ON i.id = n.id
            JOIN grids_grid g ON g.id = i.grid_id
            """
        )
        if timeline:
            cursor.execute(
                """
                INSERT INTO incidents_incidentevent (incident_id, actor_id, at, from_status, to_status, note,
                    escalation_level)
                SELECT i.id, NULL, i.reported_at + (i.updated_at - i.reported_at) * s.at, s.from_status,
                       s.to_status, '', NULL
                FROM bench_new n JOIN incidents_incident i ON i.id = n.id
                CROSS JOIN LATERAL (VALUES
                    (0, 0.0, '', 'reported'),
                    (2, 0.1, 'registered', 'dispatched'),
                    (4, 0.8, 'handling', 'handled'),
                    (6, 1.0, 'verified', 'closed')
                ) AS s(step, at, from_status, to_status)
                WHERE s.step <= array_position(
                    ARRAY['reported', 'registered', 'dispatched', 'handling', 'handled', 'verified',
                          'closed'], i.status::text) - 1
                   OR (s.step <= 2 AND i.status = 'returned')
                """
            )
        cursor.execute("ANALYZE incidents_incident")
        cursor.execute("ANALYZE incidents_incident_offices")
        if timeline:
            cursor.execute("ANALYZE incidents_incidentevent")
    return missing


def ensure_mediation_cases(n: int) -> int:
    """Grow the mediation cases to ``n`` over the same five years (needs committees and mediators:
    ``mediation.demo.load_demo``). Cases of the last 30 days are in mediation, with the deadline
    queue's day the services would give them; older ones are closed and off the queue."""
    missing = n - _count("mediation_mediationcase")
    if missing <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5205)")
        cursor.execute(
            f"""
            WITH {_hour_shares(missing, step="1 day")},
            members AS (
                SELECT row_number() OVER (ORDER BY m.committee_id, m.user_id)::int AS k, m.committee_id,
                       m.user_id, coalesce(nullif(c.dispute_type, ''), '邻里纠纷') AS dispute_type
                FROM mediation_committeemembership m
                JOIN mediation_mediationcommittee c ON c.id = m.committee_id
            ),
            villages AS (
                SELECT row_number() OVER (ORDER BY id)::int AS k, id FROM grids_region WHERE level = 'village'
            ),
            drawn AS MATERIALIZED (
                SELECT (s.at AT TIME ZONE '{LOCAL_TZ}')::date AS intake,
                       1 + floor((SELECT count(*) FROM members) * random())::int AS mk,
                       1 + floor((SELECT count(*) FROM villages) * random())::int AS vk,
                       random() AS fate, random() AS took
                FROM slots s, generate_series(1, s.k)
            )
            INSERT INTO mediation_mediationcase (committee_id, region_id, source, dispute_type, summary,
                mediator_id, intake_date, extension_days, extension_reason, status, closed_on, outcome_note,
                created_at, next_deadline_at)
            SELECT m.committee_id, v.id, 'walk_in', m.dispute_type, m.dispute_type || '（基准数据）',
                   m.user_id,
                   d.intake, 0, '', st.status,
                   CASE WHEN st.status <> 'in_mediation' THEN d.intake + (3 + floor(d.took * 27))::int END,
                   '', d.intake::timestamp AT TIME ZONE '{LOCAL_TZ}',
                   CASE WHEN st.status <> 'in_mediation' THEN NULL
                        WHEN d.intake + 25 > %(today)s THEN d.intake + 25
                        WHEN d.intake + 30 >= %(today)s THEN d.intake + 31 END
            FROM drawn d JOIN members m ON m.k = d.mk JOIN villages v ON v.k = d.vk
            CROSS JOIN LATERAL (SELECT CASE
                WHEN d.intake >= %(today)s - 30 AND d.fate < 0.8 THEN 'in_mediation'
                WHEN d.fate < 0.7 THEN 'no_agreement' WHEN d.fate < 0.85 THEN 'withdrawn'
                ELSE 'referred_on' END AS status) st
            ORDER BY d.intake
            """,  # noqa: S608 - only integers and module constants are interpolated
            {"today": timezone.localdate()},
        )
        cursor.execute("ANALYZE mediation_mediationcase")
    return missing


def ensure_case_task_history(n: int) -> int:
    """Grow the six projects' task table to ``n`` with done visit tasks of the active patients,
    one a month back from last month (the history the planning job must not walk)."""
    missing = n - _count("special_groups_casetask")
    if missing <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH patients AS (
                SELECT row_number() OVER (ORDER BY id)::int AS k, id FROM special_groups_enrollment
                WHERE project = 'anning'
            ),
            total AS (SELECT count(*) AS c FROM patients),
            wanted AS (
                SELECT p.id,
                       (date_trunc('month', %s::date) - make_interval(months => 1 + (s / t.c)::int))::date
                       AS due
                FROM generate_series(0, %s - 1) AS s CROSS JOIN total t
                JOIN patients p ON p.k = 1 + (s %% t.c)::int
            )
            INSERT INTO special_groups_casetask (enrollment_id, kind, due_on, done_on, created_at)
            SELECT id, 'visit', due, due, due::timestamptz FROM wanted
            ON CONFLICT DO NOTHING
            """,
            [timezone.localdate(), missing],
        )
        cursor.execute("ANALYZE special_groups_casetask")
    return missing


def ensure_patrol_logs(n: int) -> int:
    """Grow the patrol logs to ``n`` over the same five years: each a one-to-three-hour walk of a
    prevention unit along a short line in its region (needs prevention units and one user)."""
    missing = n - _count("safety_cells_patrollog")
    if missing <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5206)")
        cursor.execute(
            f"""
            WITH {_hour_shares(missing)},
            units AS (
                SELECT row_number() OVER (ORDER BY u.id)::int AS k, u.id,
                       coalesce(ST_PointOnSurface(r.boundary),
                                ST_SetSRID(ST_MakePoint(105.95, 26.25), 4326)) AS p
                FROM safety_cells_preventionunit u JOIN grids_region r ON r.id = u.region_id
                WHERE u.is_active
            ),
            logger AS (SELECT min(id) AS id FROM accounts_user),
            drawn AS MATERIALIZED (
                SELECT s.at + random() * interval '1 hour' AS started_at,
                       1 + floor((SELECT count(*) FROM units) * random())::int AS uk,
                       random() AS length
                FROM slots s, generate_series(1, s.k)
            )
            INSERT INTO safety_cells_patrollog (client_uuid, unit_id, started_at, ended_at, route,
                observations, logged_by_id)
            SELECT gen_random_uuid(), u.id, d.started_at,
                   d.started_at + interval '1 hour' + d.length * interval '2 hours',
                   ST_MakeLine(u.p, ST_Translate(u.p, 0.002 + d.length * 0.01, 0.001)), '', logger.id
            FROM drawn d JOIN units u ON u.k = d.uk CROSS JOIN logger
            ORDER BY d.started_at
            """  # noqa: S608 - only integers and module constants are interpolated
        )
        cursor.execute("ANALYZE safety_cells_patrollog")
    return missing


# --- new work for one beat pass ------------------------------------------------------------


def add_due_incidents(k: int, *, within_minutes: int = 5) -> int:
    """``k`` dispatched incidents whose due time passed in the last ``within_minutes`` (what fell due
    since the previous five-minute pass), each in a grid of its own office; returns k."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT row_number() OVER (ORDER BY id)::int AS k, id, office_id,
                              ST_PointOnSurface(geometry) AS p FROM grids_grid),
                 c AS (SELECT id, handling_limit_hours AS hours FROM incidents_incidentcategory
                       WHERE is_active ORDER BY code LIMIT 1),
                 made AS (
                     INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                         grid_id, status, priority, source, reported_at, updated_at, due_at, version,
                         handling_office_id, escalation_level, request_digest, sync_txid, sync_seq)
                     SELECT gen_random_uuid(), c.id, '到期未办结（基准）', g.p, '', g.id, 'dispatched',
                            'normal', 'grid_worker', d.due - make_interval(hours => c.hours),
                            d.due - make_interval(hours => c.hours - 1),
                            d.due, 3, g.office_id, 0, '', 0, 0
                     FROM generate_series(0, %(k)s - 1) AS s
                     CROSS JOIN c
                     JOIN g ON g.k = 1 + (s * 7919) %% (SELECT count(*) FROM g)
                     CROSS JOIN LATERAL (SELECT now() - make_interval(secs => 1 + (s %% (%(w)s * 60))))
                         AS d(due)
                     RETURNING id, grid_id
                 )
            INSERT INTO incidents_incident_offices (incident_id, gridoffice_id)
            SELECT made.id, g.office_id FROM made JOIN g ON g.id = made.grid_id
            """,
            {"k": k, "w": within_minutes},
        )
    return k


def add_due_mediation_cases(k: int) -> int:
    """``k`` cases in mediation whose first warning (five days before the 30-day deadline) is today."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH members AS (
                SELECT row_number() OVER (ORDER BY m.committee_id, m.user_id)::int AS k, m.committee_id,
                       m.user_id FROM mediation_committeemembership m
            ),
            villages AS (SELECT row_number() OVER (ORDER BY id)::int AS k, id FROM grids_region
                         WHERE level = 'village')
            INSERT INTO mediation_mediationcase (committee_id, region_id, source, dispute_type, summary,
                mediator_id, intake_date, extension_days, extension_reason, status, outcome_note, created_at,
                next_deadline_at)
            SELECT m.committee_id, v.id, 'walk_in', '邻里纠纷', '临近调解期限（基准）', m.user_id,
                   %(today)s - 25, 0, '', 'in_mediation', '', now() - interval '25 days', %(today)s
            FROM generate_series(0, %(k)s - 1) AS s
            JOIN members m ON m.k = 1 + s %% (SELECT count(*) FROM members)
            JOIN villages v ON v.k = 1 + (s * 7919) %% (SELECT count(*) FROM villages)
            """,
            {"k": k, "today": timezone.localdate()},
        )
    return k


def add_new_patients(k: int) -> int:
    """``k`` patients enrolled today in 安宁 (with a person record each, its encrypted fields copied
    from an existing record): each needs its first visit planned."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH model AS (SELECT * FROM special_groups_person WHERE project = 'anning' ORDER BY id LIMIT 1),
            people AS (
                INSERT INTO special_groups_person (project, name, id_number, id_number_hash, phone, address,
                    region_id, is_demo, created_at)
                SELECT 'anning', model.name, model.id_number, md5(gen_random_uuid()::text) || md5(s::text),
                       model.phone, model.address, model.region_id, false, now()
                FROM model, generate_series(1, %(k)s) AS s
                RETURNING id
            )
            INSERT INTO special_groups_enrollment (person_id, project, status, enrolled_on, risk_grade,
                placement, relapse_flag, pickup_outcome, resettled)
            SELECT id, 'anning', 'active', %(today)s, 1, '', false, '', false FROM people
            """,
            {"k": k, "today": timezone.localdate()},
        )
    return k
