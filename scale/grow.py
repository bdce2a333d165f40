# ruff: noqa: S608 - the SQL is built from this module's constants, integers and model tables only.
"""Grow the demo database to a given share of five years of Anshun's data, with set-based SQL.

Every table grows by cloning one of the demo's own rows (``load_anshun --demo``) and overriding
the columns that make a row what it is (its place, time, status...): a column another change adds
to a model later is filled as the demo fills it, so this file does not break each time a model
gains a field. Rows are placed in the real jurisdiction tree and grids that ``make run`` loads.

Time runs backwards: the n-th generated row of a table is older than the (n-1)-th, so a first,
small volume is the most recent months and growing it to full volume adds older history, as five
years of operation would. Traffic grows over the five years (the oldest year has 40% less than the
newest), arrives in the daytime (07:00-21:00 Asia/Shanghai), and some grids are busier than others.

Triggers stay on (sync positions, the escalation queue and survey answer deltas are written by the
database as in production); each batch is one transaction, so the office links of a batch do not
move its incidents in the sync feed. Special-population personal data is encrypted like the
platform's own writes: a pool of distinct synthetic identities is encrypted once in Python (Fernet,
``PII_ENCRYPTION_KEYS``) with its keyed lookup hashes, and the persons reuse them.
"""

from __future__ import annotations

import io
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Model

# Five years of a city of 388 grid offices (issue #14).
FULL = {
    "incidents": 3_000_000,
    "survey_responses": 1_000_000,
    "mediation_cases": 300_000,
    "special_persons": 200_000,
    "patrol_logs": 1_000_000,
    "cameras": 50_000,
}
YEARS = 5
SECONDS = int(YEARS * 365.25 * 86400)
BATCH = 200_000
IDENTITY_POOL = 5_000
SURVEY_WAVES = 4 * YEARS  # quarterly (CATI) waves
MARKER = "【规模测试】"  # every generated text row says what it is


def _age_fraction(share_sql: str) -> str:
    """SQL for the age of a row (0 = now, 1 = five years ago) from its share of the full volume,
    under traffic that grows linearly over the five years (density 1 - 0.4 * age)."""
    return f"((1 - sqrt(1 - 0.64 * ({share_sql}))) / 0.4)"


def _age_interval(share_sql: str) -> str:
    return f"make_interval(secs => {SECONDS} * {_age_fraction(share_sql)})"


def _daytime(ts_sql: str, r_sql: str) -> str:
    """The day of ``ts_sql`` at a daytime hour (07:00-21:00 local, busier in the morning), never
    later than now."""
    return (
        f"least(now() - interval '1 minute', (date_trunc('day', ({ts_sql}) AT TIME ZONE 'Asia/Shanghai')"
        f" + make_interval(secs => 3600 * (7 + 14 * power({r_sql}, 1.3)))) AT TIME ZONE 'Asia/Shanghai')"
    )


def columns(model: type[Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


def clone_sql(model: type[Model], overrides: dict[str, str], source: str) -> str:
    """``INSERT INTO <model's table> SELECT ...``: the columns in ``overrides`` from their SQL,
    every other column copied from the template row aliased ``t`` in ``source``."""
    cols = columns(model)
    unknown = set(overrides) - set(cols)
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    select = ", ".join(f"{overrides[c]}" if c in overrides else f't."{c}"' for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    return f"INSERT INTO {model._meta.db_table} ({names}) SELECT {select} {source}"


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None


def _run(sql: str, params=None) -> int:
    """Run ``sql``; a dict of ``params`` holds whole numbers only and is bound here, so the SQL
    keeps its ``%`` (modulo, LIKE) as written."""
    if isinstance(params, dict):
        for name, value in params.items():
            sql = sql.replace(f"%({name})s", str(int(value)))
        params = None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@dataclass
class Growth:
    """What one call of ``grow`` wrote and how long each table took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, rows: int, seconds: float) -> None:
        self.rows[name] = self.rows.get(name, 0) + rows
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def _say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- places ---------------------------------------------------------------------------------


def prepare_places() -> None:
    """Session-temporary tables: grids in a shuffled order (busier grids first), eight points
    inside each grid, villages, categories. Rebuilt for every connection that grows data."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DROP TABLE IF EXISTS scale_grid, scale_point, scale_village, scale_category, scale_committee;
            CREATE TEMP TABLE scale_grid AS
                SELECT (row_number() OVER (ORDER BY md5(g.id::text)) - 1)::int AS k,
                       g.id, g.office_id, g.village_id
                FROM grids_grid g;
            CREATE UNIQUE INDEX ON scale_grid (k);
            CREATE TEMP TABLE scale_point AS
                SELECT g.id AS grid_id, (p.path[1] - 1)::int AS j, p.geom
                FROM grids_grid g, LATERAL ST_Dump(ST_GeneratePoints(g.geometry, 8, g.id::int)) p;
            CREATE UNIQUE INDEX ON scale_point (grid_id, j);
            CREATE TEMP TABLE scale_village AS
                SELECT (row_number() OVER (ORDER BY md5(r.id::text)) - 1)::int AS k, r.id, r.parent_id
                FROM grids_region r WHERE r.level = 'village';
            CREATE UNIQUE INDEX ON scale_village (k);
            CREATE TEMP TABLE scale_category AS
                SELECT (row_number() OVER (ORDER BY c.id) - 1)::int AS k, c.id, c.name,
                       greatest(c.handling_limit_hours, 8) AS hours
                FROM incidents_incidentcategory c WHERE c.is_active;
            CREATE UNIQUE INDEX ON scale_category (k);
            -- Each township's mediation committee with the villages of its township.
            CREATE TEMP TABLE scale_committee AS
                SELECT (row_number() OVER (ORDER BY c.id, v.id) - 1)::int AS k, c.id AS committee_id,
                       v.id AS village_id, coalesce(nullif(c.dispute_type, ''), '邻里纠纷') AS dispute_type
                FROM mediation_mediationcommittee c JOIN grids_region v ON v.parent_id = c.region_id
                WHERE c.kind = 'township' AND v.level = 'village';
            CREATE UNIQUE INDEX ON scale_committee (k);
            ANALYZE scale_grid, scale_point, scale_village, scale_category, scale_committee;
            """
        )


def _count(name: str) -> int:
    return _one(f"SELECT count(*) FROM {name}")


# ---- incidents --------------------------------------------------------------------------------

STATUS_PATH = ["reported", "registered", "dispatched", "handling", "handled", "verified", "closed"]


def _incident_batch(lo: int, hi: int, full: int) -> int:
    from incidents.models import Incident, IncidentEvent

    grids = _one("SELECT count(*) FROM scale_grid")
    categories = _one("SELECT count(*) FROM scale_category")
    first_new = _one("SELECT coalesce(max(id), 0) FROM incidents_incident")
    reported = _daytime(f"now() - {_age_interval(f's::float8 / {full}')}", "r2")
    source = f"""
        FROM (
            SELECT x.*, g.id AS grid_id, g.office_id, c.id AS category_id, c.name AS category_name,
                   c.hours, p.geom,
                   CASE
                     WHEN x.age_days > 30 THEN (CASE WHEN x.r3 < 0.97 THEN 'closed'
                                                     WHEN x.r3 < 0.985 THEN 'verified' ELSE 'handling' END)
                     WHEN x.age_days > 7 THEN (CASE WHEN x.r3 < 0.80 THEN 'closed'
                                                    WHEN x.r3 < 0.86 THEN 'verified'
                                                    WHEN x.r3 < 0.92 THEN 'handled'
                                                    WHEN x.r3 < 0.97 THEN 'handling'
                                                    ELSE 'dispatched' END)
                     ELSE (CASE WHEN x.r3 < 0.10 THEN 'reported' WHEN x.r3 < 0.20 THEN 'registered'
                                WHEN x.r3 < 0.40 THEN 'dispatched' WHEN x.r3 < 0.65 THEN 'handling'
                                WHEN x.r3 < 0.80 THEN 'handled' WHEN x.r3 < 0.85 THEN 'verified'
                                ELSE 'closed' END)
                   END AS status
            FROM (
                SELECT y.*, extract(epoch FROM now() - y.reported) / 86400 AS age_days
                FROM (
                    SELECT s, r1, r2, r3, r4, r5, r6, r7, {reported} AS reported
                    FROM (SELECT s, random() r1, random() r2, random() r3, random() r4, random() r5,
                                 random() r6, random() r7
                          FROM generate_series(%(lo)s, %(hi)s - 1) s) z
                ) y
            ) x
            JOIN scale_grid g ON g.k = least({grids} - 1, floor({grids} * power(x.r1, 1.8)))::int
            JOIN scale_category c ON c.k = floor({categories} * x.r4)::int % {categories}
            JOIN scale_point p ON p.grid_id = g.id AND p.j = floor(8 * x.r5)::int % 8
        ) n
        CROSS JOIN (SELECT * FROM incidents_incident ORDER BY id LIMIT 1) t
    """
    due = "n.reported + make_interval(hours => n.hours * 3)"
    closed = (
        f"CASE WHEN n.status = 'closed' THEN least(now() - interval '1 minute', n.reported + "
        f"({due} - n.reported) * (0.2 + 1.0 * n.r2)) END"
    )
    open_live = "n.status IN ('dispatched', 'handling')"
    sql = clone_sql(
        Incident,
        {
            "client_uuid": "gen_random_uuid()",
            "category_id": "n.category_id",
            "description": f"'{MARKER}' || n.category_name",
            "location": "n.geom",
            "address": "''",
            "grid_id": "n.grid_id",
            "status": "n.status",
            "priority": "(CASE WHEN n.r6 < 0.03 THEN 'urgent' WHEN n.r6 < 0.15 THEN 'high'"
            " WHEN n.r6 < 0.85 THEN 'normal' ELSE 'low' END)",
            "source": "(CASE WHEN n.r7 < 0.72 THEN 'grid_worker' WHEN n.r7 < 0.84 THEN"
            " 'hotline' WHEN n.r7 < 0.94 THEN 'citizen' WHEN n.r7 < 0.97 THEN 'patrol'"
            " ELSE 'sync_client' END)",
            "open311_client_id": "NULL",
            "reported_at": "n.reported",
            "updated_at": f"coalesce({closed}, least(now(), n.reported + interval '2 hours'))",
            "due_at": due,
            "closed_at": closed,
            "version": f"1 + array_position(ARRAY{STATUS_PATH!r}::varchar[], n.status::varchar)",
            "handling_office_id": "CASE WHEN n.status NOT IN ('reported', 'registered') THEN n.office_id END",
            "handler_id": "NULL",
            # Live work long past its time limit has been escalated to the city already.
            "escalation_level": (
                f"CASE WHEN {open_live} AND {due} < now() - interval '3 days' THEN 3 ELSE 0 END"
            ),
            "deleted_at": "NULL",
            "request_digest": "''",
        },
        source,
    )
    with transaction.atomic():
        written = _run(sql, {"lo": lo, "hi": hi})
        # The timeline: one entry per step of the path up to the incident's status.
        event_source = f"""
            FROM (
                SELECT i.id, i.reported_at, i.status,
                       coalesce(i.closed_at, least(now(), i.reported_at + interval '6 hours')) AS ended,
                       array_position(ARRAY{STATUS_PATH!r}::varchar[], i.status::varchar) AS steps
                FROM incidents_incident i WHERE i.id > %(first)s
            ) i
            CROSS JOIN LATERAL generate_series(1, i.steps) step
            CROSS JOIN (SELECT * FROM incidents_incidentevent ORDER BY id LIMIT 1) t
        """
        path = f"ARRAY{STATUS_PATH!r}::varchar[]"
        _run(
            clone_sql(
                IncidentEvent,
                {
                    "incident_id": "i.id",
                    "actor_id": "NULL",
                    "at": "i.reported_at + (i.ended - i.reported_at)"
                    " * ((step - 1)::float8 / greatest(i.steps - 1, 1))",
                    "from_status": f"coalesce(({path})[step - 1], '')",
                    "to_status": f"({path})[step]",
                    "note": f"'{MARKER}'",
                    "escalation_level": "NULL",
                },
                event_source,
            ),
            {"first": first_new},
        )
        _run(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id) "
            "SELECT i.id, g.office_id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "WHERE i.id > %s",
            [first_new],
        )
    return written


# ---- surveys ----------------------------------------------------------------------------------


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def ensure_waves() -> list[tuple[int, date, date]]:
    """The quarterly waves of the five years, newest first: (id, starts_on, ends_on), through the
    surveys services as the demo loader does."""
    from django.utils import timezone

    from surveys.demo import ensure_survey_setup, loader_actor
    from surveys.models import Item
    from surveys.services.setup import counting_rule_set, wave_ensure

    ensure_survey_setup()  # the two items and their scales
    security = Item.objects.get(code="security_sense")
    satisfaction = Item.objects.get(code="satisfaction")
    waves = []
    start = _quarter_start(timezone.localdate())
    for _ in range(SURVEY_WAVES):
        end_month = start.month + 2
        end = date(start.year, end_month, 1) + timedelta(days=31)
        end = end.replace(day=1) - timedelta(days=1)
        quarter = (start.month - 1) // 3 + 1
        wave = wave_ensure(
            actor=loader_actor(),
            code=f"scale-{start.year}-q{quarter}",
            name=f"{start.year}年第{quarter}季度群众安全感和满意度电话调查（规模测试）",
            year=start.year,
            starts_on=start,
            ends_on=end,
        )
        counting_rule_set(
            actor=loader_actor(), wave=wave, item=security, counted=[0, 1, 2], cant_say_in_denominator=True
        )
        counting_rule_set(
            actor=loader_actor(), wave=wave, item=satisfaction, counted=[0, 1], cant_say_in_denominator=True
        )
        waves.append((wave.pk, start, min(end, timezone.localdate())))
        start = _quarter_start(start - timedelta(days=1))
    return waves


def _survey_batch(lo: int, hi: int, full: int, waves) -> int:
    from surveys.models import Answer, Item, Response

    security = Item.objects.get(code="security_sense").pk
    satisfaction = Item.objects.get(code="satisfaction").pk
    grids = _one("SELECT count(*) FROM scale_grid")
    villages = _one("SELECT count(*) FROM scale_village")
    per_wave = max(1, full // len(waves))
    wave_rows = ", ".join(f"({i}, {pk}, DATE '{s}', DATE '{e}')" for i, (pk, s, e) in enumerate(waves))
    first_new = _one("SELECT coalesce(max(id), 0) FROM surveys_response")
    source = f"""
        FROM (
            SELECT x.*, w.wave_id, w.starts_on + floor(x.r2 * (w.ends_on - w.starts_on + 1))::int AS day,
                   CASE WHEN x.r3 < 0.7 THEN g.id END AS grid_id,
                   CASE WHEN x.r3 < 0.7 THEN g.office_id END AS office_id,
                   CASE WHEN x.r3 < 0.7 THEN g.village_id ELSE v.id END AS village_id
            FROM (SELECT s, random() r1, random() r2, random() r3, random() r4, random() r5
                  FROM generate_series(%(lo)s, %(hi)s - 1) s) x
            JOIN (VALUES {wave_rows}) w (i, wave_id, starts_on, ends_on)
              ON w.i = least({len(waves) - 1}, x.s / {per_wave})
            JOIN scale_grid g ON g.k = floor({grids} * x.r1)::int % {grids}
            JOIN scale_village v ON v.k = floor({villages} * x.r4)::int % {villages}
        ) n
        CROSS JOIN (SELECT * FROM surveys_response ORDER BY id LIMIT 1) t
    """
    with transaction.atomic():
        written = _run(
            clone_sql(
                Response,
                {
                    "client_uuid": "gen_random_uuid()",
                    "wave_id": "n.wave_id",
                    "village_id": "n.village_id",
                    "grid_id": "n.grid_id",
                    "grid_office_id": "n.office_id",
                    "channel": "(CASE WHEN n.r5 < 0.8 THEN 'phone' WHEN n.r5 < 0.95 THEN 'door'"
                    " ELSE 'online' END)",
                    "answered_on": "n.day",
                    "created_at": "(n.day + time '10:00') AT TIME ZONE 'Asia/Shanghai'",
                },
                source,
            ),
            {"lo": lo, "hi": hi},
        )
        # Two answers per response, as the questionnaire has two items; the answer trigger queues
        # their deltas and the rollup after the load publishes them.
        answers = f"""
            FROM (SELECT r.*, random() AS q FROM surveys_response r WHERE r.id > %(first)s) r
            CROSS JOIN (VALUES
                ({security}, ARRAY[0.45, 0.80, 0.97, 0.99]),
                ({satisfaction}, ARRAY[0.65, 0.93, 0.96, 0.97])
            ) i (item_id, cut)
            CROSS JOIN (SELECT * FROM surveys_answer ORDER BY id LIMIT 1) t
        """
        _run(
            clone_sql(
                Answer,
                {
                    "response_id": "r.id",
                    "item_id": "i.item_id",
                    "choice": "(SELECT count(*) FROM unnest(i.cut) c WHERE c <= r.q)",
                    "wave_id": "r.wave_id",
                    "village_id": "r.village_id",
                    "grid_office_id": "r.grid_office_id",
                    "month": "date_trunc('month', r.answered_on)::date",
                },
                answers,
            ),
            {"first": first_new},
        )
    return written


# ---- mediation ----------------------------------------------------------------------------------


def _mediation_batch(lo: int, hi: int, full: int) -> int:
    from mediation.models import CaseEvent, MediationAgreement, MediationCase, Party

    pairs = _one("SELECT count(*) FROM scale_committee")
    first_new = _one("SELECT coalesce(max(id), 0) FROM mediation_mediationcase")
    source = f"""
        FROM (
            SELECT x.*, c.committee_id, c.village_id, c.dispute_type,
                   CASE WHEN x.age_days <= 10 OR x.r3 >= 0.985 THEN 'in_mediation'
                        WHEN x.r3 < 0.70 THEN 'agreement' WHEN x.r3 < 0.80 THEN 'no_agreement'
                        WHEN x.r3 < 0.90 THEN 'withdrawn' ELSE 'referred_on' END AS status
            FROM (
                SELECT y.*, current_date - y.intake AS age_days
                FROM (SELECT s, r1, r2, r3,
                             (({_daytime(f"now() - {_age_interval(f's::float8 / {full}')}", "r2")})
                              AT TIME ZONE 'Asia/Shanghai')::date AS intake
                      FROM (SELECT s, random() r1, random() r2, random() r3
                            FROM generate_series(%(lo)s, %(hi)s - 1) s) z) y
            ) x
            JOIN scale_committee c ON c.k = floor({pairs} * power(x.r1, 1.5))::int % {pairs}
        ) n
        CROSS JOIN (SELECT * FROM mediation_mediationcase ORDER BY id LIMIT 1) t
    """
    closed = (
        "CASE WHEN n.status <> 'in_mediation' "
        "THEN least(current_date, n.intake + 3 + floor(n.r2 * 37)::int) END"
    )
    with transaction.atomic():
        written = _run(
            clone_sql(
                MediationCase,
                {
                    "committee_id": "n.committee_id",
                    "region_id": "n.village_id",
                    "source": "(ARRAY['walk_in', 'walk_in', 'grid_incident', 'police', 'court', 'petition'])"
                    "[1 + floor(n.r2 * 6)::int % 6]",
                    "source_incident_id": "NULL",
                    "dispute_type": "n.dispute_type",
                    "summary": f"'{MARKER}' || n.dispute_type",
                    "amount_in_dispute": "(ARRAY[NULL, 2000, 15000, 86000])[1 + floor(n.r3 * 40)::int % 4]",
                    "intake_date": "n.intake",
                    "extension_days": "0",
                    "extension_reason": "''",
                    "status": "n.status",
                    "closed_on": closed,
                    "outcome_note": "''",
                    "created_at": "(n.intake + time '09:00') AT TIME ZONE 'Asia/Shanghai'",
                    "next_deadline_at": "NULL",  # set by the mediation service after the load
                },
                source,
            ),
            {"lo": lo, "hi": hi},
        )
        new = "FROM (SELECT * FROM mediation_mediationcase WHERE id > %(first)s) c "
        _run(
            clone_sql(
                Party,
                {"case_id": "c.id", "side": "s.side"},
                new + "CROSS JOIN (VALUES ('applicant'), ('respondent')) s (side) "
                "CROSS JOIN (SELECT * FROM mediation_party ORDER BY id LIMIT 1) t",
            ),
            {"first": first_new},
        )
        _run(
            clone_sql(
                CaseEvent,
                {"case_id": "c.id", "at": "c.created_at", "note": f"'{MARKER}'"},
                new + "CROSS JOIN (SELECT * FROM mediation_caseevent ORDER BY id LIMIT 1) t",
            ),
            {"first": first_new},
        )
        _run(
            clone_sql(
                MediationAgreement,
                {"case_id": "c.id", "signed_on": "c.closed_on", "effective_on": "c.closed_on"},
                new.replace("WHERE", "WHERE status = 'agreement' AND")
                + "CROSS JOIN (SELECT * FROM mediation_mediationagreement ORDER BY id LIMIT 1) t",
            ),
            {"first": first_new},
        )
    return written


# ---- special populations ------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅琴云飞鹏辉燕凤丹"
COUNTIES = ["520402", "520403", "520422", "520423", "520424", "520425"]


def ensure_identity_pool() -> None:
    """``scale_identity``: IDENTITY_POOL synthetic people (checksum-valid ID numbers), each field
    encrypted once, with the keyed hash of the ID number. Persons reuse them."""
    from special_groups.crypto import encrypt, id_check_character, lookup_hash

    rng = random.Random(5204)
    buffer = io.StringIO()
    for k in range(IDENTITY_POOL):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 60))
        first17 = f"{rng.choice(COUNTIES)}{born:%Y%m%d}{k % 1000:03d}"
        id_number = first17 + id_check_character(first17)
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        address = f"安顺市{rng.choice(['西秀区', '平坝区', '普定县', '镇宁县'])}{rng.randrange(1, 300)}号"
        fields = (encrypt(name), encrypt(id_number), lookup_hash(id_number), encrypt(phone), encrypt(address))
        buffer.write(f"{k}\t" + "\t".join(fields) + "\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS scale_identity; CREATE TEMP TABLE scale_identity "
            "(k int PRIMARY KEY, name text, id_number text, id_number_hash varchar(64), phone text, "
            "address text)"
        )
        cursor.cursor.copy_expert("COPY scale_identity FROM STDIN", buffer)


def _special_batch(lo: int, hi: int, full: int) -> int:
    from special_groups.models import Enrollment, Guardian, Person, SubsidyPayment, Visit

    villages = _one("SELECT count(*) FROM scale_village")
    first_person = _one("SELECT coalesce(max(id), 0) FROM special_groups_person")
    first_enrollment = _one("SELECT coalesce(max(id), 0) FROM special_groups_enrollment")
    # Weighted like Anshun's caseloads: most are left-behind children and patients.
    projects = (
        "ARRAY['yulu', 'yulu', 'yulu', 'anning', 'anning', 'yangguang', 'huigui', 'hongsidai', 'yuxin']"
    )
    source = f"""
        FROM (
            SELECT x.*, v.id AS village_id, ({projects})[1 + floor(x.r3 * 9)::int % 9] AS project,
                   {_daytime(f"now() - {_age_interval(f'x.s::float8 / {full}')}", "x.r2")} AS created
            FROM (SELECT s, random() r1, random() r2, random() r3
                  FROM generate_series(%(lo)s, %(hi)s - 1) s) x
            JOIN scale_village v ON v.k = floor({villages} * power(x.r1, 1.3))::int % {villages}
        ) n
        JOIN scale_identity p ON p.k = n.s % {IDENTITY_POOL}
        JOIN (SELECT DISTINCT ON (project) * FROM special_groups_person ORDER BY project, id) t
          ON t.project = n.project
    """
    with transaction.atomic():
        written = _run(
            clone_sql(
                Person,
                {
                    "project": "n.project",
                    "name": "p.name",
                    "id_number": "p.id_number",
                    "id_number_hash": "p.id_number_hash",
                    "phone": "p.phone",
                    "address": "p.address",
                    "region_id": "n.village_id",
                    "is_demo": "true",
                    "created_at": "n.created",
                },
                source,
            ),
            {"lo": lo, "hi": hi},
        )
        enrolled = "(p.created_at AT TIME ZONE 'Asia/Shanghai')::date"
        _run(
            clone_sql(
                Enrollment,
                {
                    "person_id": "p.id",
                    "project": "p.project",
                    "case_officer_id": "NULL",
                    "status": "CASE WHEN p.id % 10 = 0 THEN 'closed' ELSE 'active' END",
                    "enrolled_on": enrolled,
                    "closed_on": f"CASE WHEN p.id % 10 = 0 THEN least(current_date, {enrolled} + 365) END",
                    "release_date": f"CASE WHEN p.project = 'huigui' THEN {enrolled} + 30 END",
                    "picked_up_on": f"CASE WHEN p.project = 'huigui' AND t.picked_up_on IS NOT NULL "
                    f"THEN {enrolled} + 30 END",
                    "last_visit_on": (
                        f"CASE WHEN t.last_visit_on IS NOT NULL THEN least(current_date, {enrolled} + 60) END"
                    ),
                },
                "FROM (SELECT * FROM special_groups_person WHERE id > %(first)s) p "
                "JOIN (SELECT DISTINCT ON (project) * FROM special_groups_enrollment ORDER BY project, id) t "
                "ON t.project = p.project",
            ),
            {"first": first_person},
        )
        new = (
            "FROM (SELECT e.*, p.created_at AS person_created FROM special_groups_enrollment e "
            "JOIN special_groups_person p ON p.id = e.person_id WHERE e.id > %(first)s) e "
        )
        _run(
            clone_sql(
                Guardian,
                {"enrollment_id": "e.id"},
                new.replace("WHERE", "WHERE e.project IN ('anning', 'yulu') AND")
                + "CROSS JOIN (SELECT * FROM special_groups_guardian ORDER BY id LIMIT 1) t",
            ),
            {"first": first_enrollment},
        )
        _run(
            clone_sql(
                Visit,
                {
                    "enrollment_id": "e.id",
                    "visited_on": "least(current_date, e.enrolled_on + 30 * v.n)",
                    "by_id": "NULL",
                },
                new + "CROSS JOIN generate_series(1, 2) v (n) "
                "CROSS JOIN (SELECT * FROM special_groups_visit ORDER BY id LIMIT 1) t",
            ),
            {"first": first_enrollment},
        )
        _run(
            clone_sql(
                SubsidyPayment,
                {"enrollment_id": "e.id", "paid_on": "least(current_date, e.enrolled_on + 90 * v.n)"},
                new.replace("WHERE", "WHERE e.project = 'anning' AND")
                + "CROSS JOIN generate_series(1, 2) v (n) "
                "CROSS JOIN (SELECT * FROM special_groups_subsidypayment ORDER BY id LIMIT 1) t",
            ),
            {"first": first_enrollment},
        )
    return written


# ---- patrols and cameras ------------------------------------------------------------------------


def _patrol_batch(lo: int, hi: int, full: int) -> int:
    from safety_cells.models import PatrolLog

    templates = _one(
        "SELECT count(*) FROM safety_cells_patrollog WHERE observations NOT LIKE %s", [MARKER + "%"]
    )
    age = _age_interval(f"x.s::float8 / {full}")
    ended = _daytime(f"now() - {age}", "x.r2")
    source = f"""
        FROM (SELECT s, random() r1, random() r2, random() r3 FROM generate_series(%(lo)s, %(hi)s - 1) s) x
        JOIN (SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, * FROM safety_cells_patrollog
              WHERE observations NOT LIKE '{MARKER}%') t
          ON t.k = floor({templates} * power(x.r1, 1.2))::int % {templates}
    """
    return _run(
        clone_sql(
            PatrolLog,
            {
                "client_uuid": "gen_random_uuid()",
                "ended_at": ended,
                "started_at": f"{ended} - make_interval(mins => 60 + floor(x.r3 * 180)::int)",
                "observations": f"'{MARKER}' || t.observations",
            },
            source,
        ),
        {"lo": lo, "hi": hi},
    )


def _camera_batch(lo: int, hi: int, full: int) -> int:
    from safety_cells.models import Camera

    grids = _one("SELECT count(*) FROM scale_grid")
    source = f"""
        FROM (SELECT s, random() r1, random() r2, random() r3 FROM generate_series(%(lo)s, %(hi)s - 1) s) x
        JOIN scale_grid g ON g.k = floor({grids} * power(x.r1, 1.5))::int % {grids}
        JOIN scale_point p ON p.grid_id = g.id AND p.j = floor(8 * x.r2)::int % 8
        CROSS JOIN (SELECT * FROM safety_cells_camera ORDER BY id LIMIT 1) t
    """
    return _run(
        clone_sql(
            Camera,
            {
                "code": "'SC' || lpad(x.s::text, 8, '0')",
                "name": "''",
                "phase": "1 + floor(x.r3 * 4)::int % 4",
                # Cameras of one grid point sit apart from each other, a few metres to 150 m.
                "location": "ST_Translate(p.geom, (x.r2 - 0.5) * 0.003, (x.r3 - 0.5) * 0.003)::geography",
                "status": (
                    "CASE WHEN x.r3 > 0.75 THEN 'building' WHEN x.r2 < 0.05 THEN 'offline' ELSE 'online' END"
                ),
                "village_id": "g.village_id",
                "grid_id": "g.id",
            },
            source,
        ),
        {"lo": lo, "hi": hi},
    )


# ---- the whole --------------------------------------------------------------------------------


# table key -> (how many rows exist of the generated kind, batch writer)
def _existing(key: str) -> int:
    marker = MARKER + "%"
    queries = {
        "incidents": ("SELECT count(*) FROM incidents_incident WHERE description LIKE %s", [marker]),
        "survey_responses": (
            "SELECT count(*) FROM surveys_response r JOIN surveys_wave w ON w.id = r.wave_id "
            "WHERE w.code LIKE 'scale-%'",
            None,
        ),
        "mediation_cases": ("SELECT count(*) FROM mediation_mediationcase WHERE summary LIKE %s", [marker]),
        # Generated persons carry the pool's identities (scale_identity, built before this).
        "special_persons": (
            "SELECT count(*) FROM special_groups_person WHERE id_number_hash IN "
            "(SELECT id_number_hash FROM scale_identity)",
            None,
        ),
        "patrol_logs": ("SELECT count(*) FROM safety_cells_patrollog WHERE observations LIKE %s", [marker]),
        "cameras": ("SELECT count(*) FROM safety_cells_camera WHERE code LIKE 'SC%'", None),
    }
    sql, params = queries[key]
    return _one(sql, params)


def grow(*, scale: float, share: float) -> Growth:
    """Grow every table to ``share`` of five years (``FULL`` × ``scale``); rows already there count."""
    growth = Growth()
    prepare_places()
    ensure_identity_pool()
    waves = ensure_waves()
    writers = {
        "incidents": _incident_batch,
        "survey_responses": lambda lo, hi, full: _survey_batch(lo, hi, full, waves),
        "mediation_cases": _mediation_batch,
        "special_persons": _special_batch,
        "patrol_logs": _patrol_batch,
        "cameras": _camera_batch,
    }
    for key, writer in writers.items():
        full = max(1, round(FULL[key] * scale))
        target = round(full * share)
        have = _existing(key)
        started = time.perf_counter()
        written = 0
        for lo in range(have, target, BATCH):
            hi = min(target, lo + BATCH)
            written += writer(lo, hi, full)
            _say(f"{key}: {hi:,} of {target:,}")
        growth.add(key, written, time.perf_counter() - started)
    return growth


def analyze() -> float:
    """VACUUM ANALYZE what grew (autovacuum would have, over five years): planner statistics and
    the visibility map that index-only scans need."""
    started = time.perf_counter()
    tables = [
        "incidents_incident",
        "incidents_incidentevent",
        "incidents_incident_offices",
        "incidents_incidentscopeexit",
        "surveys_response",
        "surveys_answer",
        "surveys_answerdelta",
        "mediation_mediationcase",
        "mediation_party",
        "mediation_caseevent",
        "mediation_mediationagreement",
        "special_groups_person",
        "special_groups_enrollment",
        "special_groups_guardian",
        "special_groups_visit",
        "special_groups_subsidypayment",
        "safety_cells_patrollog",
        "safety_cells_camera",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")
    return time.perf_counter() - started
