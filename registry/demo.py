"""A sampled demo registry for the whole city (`manage.py load_anshun --demo`).

Anshun had about 2.47 million residents; the demo does not hold them. Every village and community
gets a small, plausible sample: two roads or groups, twelve houses (a rural village's houses are
buildings on its groups; a community's are flats: road, building, unit, room), one to three
residents per lived-in house, a unit or two, and this quarter's visits for about 60% of the
houses, so the coverage pages have something to show. The pages say it is a sample (``is_demo``).

Everything is inserted by SQL level by level (residents, whose fields are encrypted in Python, by
COPY); points come from PostGIS (``ST_GeneratePoints`` inside
each grid, seeded so that a re-run gives the same city), so each address lies in its grid. Residents
are synthetic (names like 王某000042, checksum-valid ID numbers in their own county), encrypted like
any other. A sample of the special populations' demo people is linked to a registry resident (their
tokens copied as they are, under the same keys), so a visited house can show "needs attention".
Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from anshun.commands import system_command
from anshun.db import analyze
from anshun.provenance import record_demo
from registry.models import Address, House, HouseholdVisit, Resident, Unit
from registry.selectors import period_start
from special_groups.crypto import cipher, encrypt, id_check_character, lookup_hash

VISITED_SHARE = 0.6
LINKED_SPECIAL_PERSONS = 300
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"


@dataclass(frozen=True)
class DemoSummary:
    addresses: int
    houses: int
    residents: int
    units: int
    visits: int
    skipped: bool

    def __str__(self) -> str:
        state = (
            "already present, left unchanged" if self.skipped else "generated (a sample, synthetic people)"
        )
        return (
            f"{self.addresses} addresses, {self.houses} houses, {self.residents} residents, "
            f"{self.units} units, {self.visits} visits — {state}"
        )


def _id_number(rng: random.Random, county_code: str, serial: int) -> str:
    year = rng.randint(1940, 2015)
    first17 = f"{county_code}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{serial % 1000:03d}"
    return first17 + id_check_character(first17)


@system_command("the demo loader (load_anshun --demo): synthetic registry records, no person starts it")
def load_demo_registry() -> DemoSummary:
    if Address.objects.filter(is_demo=True).exists():
        return DemoSummary(
            Address.objects.count(), House.objects.count(), Resident.objects.count(), Unit.objects.count(),
            HouseholdVisit.objects.count(), skipped=True,
        )  # fmt: skip
    rng = random.Random(2470)
    with transaction.atomic(), connection.cursor() as cursor:
        _addresses(cursor)
        houses = _houses(cursor)
        residents = _residents(cursor, rng)
        units = _units(cursor)
        visits = _visits(cursor)
        linked = _link_special_persons()
        cursor.execute("SELECT count(*) FROM registry_address WHERE is_demo")
        addresses = cursor.fetchone()[0]
        record_demo(app_label="registry")
    analyze(Address, House, Resident, Unit, HouseholdVisit)
    return DemoSummary(addresses, houses, residents + linked, units, visits, skipped=False)


# Local numbers of each village's addresses (the 6 digits after the village code):
#   a village:   1-2 groups, 3-14 buildings (houses), 6 on each group;
#   a community: 1-2 roads, 3-6 buildings (2 on each road), 7-10 units (one per building),
#                11-22 rooms (3 per unit; the houses).
_ADDRESS_LEVELS = """
CREATE TEMP TABLE demo_spots ON COMMIT DROP AS
SELECT g.village_id, g.id AS grid_id, p.geom,
       row_number() OVER (PARTITION BY g.village_id ORDER BY g.code, p.path) AS n,
       count(*) OVER (PARTITION BY g.village_id) AS spots
FROM grids_grid g, LATERAL ST_Dump(ST_GeneratePoints(g.geometry, 4, 17)) p;
CREATE INDEX ON demo_spots (village_id, n);
CREATE TEMP TABLE demo_plan ON COMMIT DROP AS
SELECT v.id AS village_id, v.code AS village_code, v.is_community,
       regexp_replace(v.name, '(居民委员会|村民委员会)$', '') AS short, n,
       CASE WHEN n <= 2 THEN 'road' WHEN NOT v.is_community OR n <= 6 THEN 'building'
            WHEN n <= 10 THEN 'unit' ELSE 'room' END AS level,
       CASE WHEN n <= 2 THEN NULL
            WHEN NOT v.is_community THEN 1 + (n - 3) / 6
            WHEN n <= 6 THEN 1 + (n - 3) / 2
            WHEN n <= 10 THEN n - 4
            ELSE 7 + (n - 11) / 3 END AS parent_n,
       CASE WHEN n <= 2 AND v.is_community THEN (ARRAY['幸福路', '和平路'])[n]
            WHEN n <= 2 THEN (ARRAY['一组', '二组'])[n]
            WHEN NOT v.is_community THEN ((n - 3) % 6 + 1)::text || '号'
            WHEN n <= 6 THEN ((n - 3) % 2 + 1)::text || '栋'
            WHEN n <= 10 THEN '1单元'
            ELSE ((n - 11) % 3 + 1)::text || '01室' END AS name
FROM grids_region v
CROSS JOIN LATERAL generate_series(1, CASE WHEN v.is_community THEN 22 ELSE 14 END) n
WHERE v.level = 'village' AND EXISTS (SELECT 1 FROM grids_grid g WHERE g.village_id = v.id);
"""

_ADDRESS_INSERT = """
INSERT INTO registry_address (code, village_id, parent_id, level, name, full_name, location, grid_id, is_demo)
SELECT d.village_code || lpad(d.n::text, 6, '0'), d.village_id, parent.id, d.level, d.name,
       coalesce(parent.full_name, d.short) || d.name,
       CASE WHEN d.level IN ('unit', 'room') THEN parent.location ELSE s.geom END,
       CASE WHEN d.level IN ('unit', 'room') THEN parent.grid_id ELSE s.grid_id END, true
FROM demo_plan d
LEFT JOIN registry_address parent ON parent.code = d.village_code || lpad(d.parent_n::text, 6, '0')
LEFT JOIN demo_spots s ON s.village_id = d.village_id AND s.n = 1 + (d.n * 7) %% s.spots
WHERE d.level = %s
ORDER BY d.village_id, d.n
"""


def _addresses(cursor) -> None:
    """The address tree, level by level, each point from PostGIS inside one of its village's grids
    (a unit and its rooms share their building's point)."""
    cursor.execute(_ADDRESS_LEVELS)
    for level in ("road", "building", "unit", "room"):
        cursor.execute(_ADDRESS_INSERT, [level])
    cursor.execute(
        "INSERT INTO registry_addresssequence (village_id, last) "
        "SELECT village_id, max(substr(code, 13)::int) FROM registry_address GROUP BY village_id"
    )


def _houses(cursor) -> int:
    """A house at each rural building and each flat; uses 70% owner-occupied, 15% rented,
    10% vacant, 5% business (by a hash of the address, so a re-run is the same city)."""
    cursor.execute(
        """
        INSERT INTO registry_house (address_id, village_id, grid_id, use, owner_name, is_demo)
        SELECT a.id, a.village_id, a.grid_id,
               CASE WHEN a.id % 20 < 14 THEN 'owner' WHEN a.id % 20 < 17 THEN 'rented'
                    WHEN a.id % 20 < 19 THEN 'vacant' ELSE 'business' END, '', true
        FROM registry_address a JOIN grids_region v ON v.id = a.village_id
        WHERE a.is_demo AND ((NOT v.is_community AND a.level = 'building') OR a.level = 'room')
        """
    )
    return cursor.rowcount


def _residents(cursor, rng: random.Random) -> int:
    """Synthetic residents, encrypted like any other, copied in with COPY."""
    cursor.execute(
        "SELECT h.id, h.address_id, h.village_id, h.use, v.code, v.is_community FROM registry_house h "
        "JOIN grids_region v ON v.id = h.village_id WHERE h.is_demo AND h.use <> 'vacant' ORDER BY h.id"
    )
    fernet = cipher()
    lines, serial = io.StringIO(), 0
    created = timezone.now().isoformat()
    for house_id, address_id, village_id, use, code, is_community in cursor.fetchall():
        for _ in range(rng.choice((1, 2, 2, 3, 3))):
            serial += 1
            if use == House.Use.RENTED:
                kind = Resident.Kind.FLOATING
            elif not is_community and rng.random() < 0.12:
                kind = rng.choice((Resident.Kind.LEFT_BEHIND, Resident.Kind.ELDERLY_ALONE))
            else:
                kind = Resident.Kind.OVERSEAS if rng.random() < 0.003 else Resident.Kind.REGISTERED
            number = _id_number(rng, code[:6], serial)
            name = fernet.encrypt(f"{rng.choice(SURNAMES)}某{serial:06d}".encode()).decode()
            phone = fernet.encrypt(f"139{serial:08d}".encode()).decode() if serial % 2 else ""
            token = fernet.encrypt(number.encode()).decode()
            lines.write(
                f"{kind}\t{name}\t{token}\t{lookup_hash(number)}\t{phone}\t{address_id}\t{house_id}\t"
                f"{village_id}\tt\t{created}\n"
            )
    lines.seek(0)
    cursor.copy_expert(
        "COPY registry_resident (kind, name, id_number, id_number_hash, phone, address_id, house_id, "
        "village_id, is_demo, created_at) FROM STDIN",
        lines,
    )
    # The floating residents of rented houses are their tenants, since some months before.
    cursor.execute(
        "INSERT INTO registry_tenancy (house_id, tenant_id, starts_on) "
        "SELECT r.house_id, r.id, %s::date - 180 FROM registry_resident r "
        "WHERE r.is_demo AND r.kind = 'floating'",
        [period_start()],
    )
    return serial


def _units(cursor) -> int:
    """A firm or organisation in every village, and a school (with its campus note) in every
    community and in a third of the villages, at the village's first building."""
    contact, phone = encrypt("联系人"), encrypt("13800000000")
    cursor.execute(
        """
        INSERT INTO registry_unit (kind, name, address_id, village_id, grid_id, contact_name, contact_phone,
                                   campus_note, is_demo)
        SELECT k.kind, regexp_replace(v.name, '(居民委员会|村民委员会)$', '') || k.name, a.id, v.id,
               a.grid_id, %s, %s, k.note, true
        FROM grids_region v
        JOIN registry_address a ON a.code = v.code || '000003'
        CROSS JOIN LATERAL (VALUES
            (CASE WHEN v.is_community THEN 'firm' ELSE 'social' END,
             CASE WHEN v.is_community THEN '商贸有限公司' ELSE '农民专业合作社' END, ''),
            ('school', '小学', '校门口200米内有网吧一处，放学时段需巡查。')
        ) AS k(kind, name, note)
        WHERE k.kind <> 'school' OR v.is_community OR v.id %% 3 = 0
        """,
        [contact, phone],
    )
    return cursor.rowcount


def _visits(cursor) -> int:
    """This period's visits for about 60% of the houses, on days since the period began."""
    start = period_start()
    days = max((timezone.localdate() - start).days, 0)
    cursor.execute(
        """
        INSERT INTO registry_householdvisit (client_uuid, house_id, village_id, grid_id, visited_on, note,
                                             changes, request_digest, is_demo, created_at)
        SELECT md5('demo-visit-' || h.id)::uuid, h.id, h.village_id, h.grid_id,
               %s::date + (h.id * 7919 %% (%s + 1))::int, '', '{"confirmed": 1}', '', true, now()
        FROM registry_house h WHERE h.is_demo AND (h.id * 37) %% 100 < %s
        """,
        [start, days, round(VISITED_SHARE * 100)],
    )
    visits = cursor.rowcount
    cursor.execute(
        "UPDATE registry_house h SET last_visited_on = v.visited_on FROM registry_householdvisit v "
        "WHERE v.house_id = h.id AND v.is_demo"
    )
    return visits


def _link_special_persons() -> int:
    """A registry resident for a sample of the special populations' demo people living in a
    village (their tokens copied as they are), and the person's ``registry_person`` set to it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT p.id, p.name, p.id_number, p.id_number_hash, p.phone, p.region_id,
                       (SELECT h.id FROM registry_house h WHERE h.village_id = p.region_id
                        ORDER BY h.id OFFSET (p.id %% 12) LIMIT 1) AS house_id
                FROM special_groups_person p JOIN grids_region r ON r.id = p.region_id
                WHERE p.is_demo AND r.level = 'village' AND p.registry_person_id IS NULL
                ORDER BY p.id LIMIT %s
            ), made AS (
                INSERT INTO registry_resident (kind, name, id_number, id_number_hash, phone, address_id,
                                               house_id, village_id, is_demo, created_at)
                SELECT 'registered', c.name, c.id_number, c.id_number_hash, c.phone, h.address_id, h.id,
                       c.region_id, true, now()
                FROM chosen c JOIN registry_house h ON h.id = c.house_id
                RETURNING id, id_number_hash
            )
            UPDATE special_groups_person p SET registry_person_id = made.id
            FROM made WHERE made.id_number_hash = p.id_number_hash AND p.id IN (SELECT id FROM chosen)
            """,
            [LINKED_SPECIAL_PERSONS],
        )
        return cursor.rowcount
