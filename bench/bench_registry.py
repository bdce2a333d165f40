"""The basic registry at scale: visit coverage per township over 1,000,000 houses, and a person
look-up by ID number among 2,500,000 residents (``BENCH_SCALE=full``; ``quick``, the default, runs
a tenth of each), generated with SQL inside the benchmark.

- coverage per township (houses visited this period / houses) as a city official: the page's
  selector (``registry.selectors.coverage``) vs the same grouped scan written by hand, with the
  same jurisdiction filter (target ≤ 1.5);
- a resident found by ID number (any spelling: NFKC and the keyed hash) as a city official: the
  selector vs the hand-written indexed SELECT; the plan (EXPLAIN) is printed, and checked, to show
  the partial index ``resident_id_hash`` used (the issue's requirement; the ratio is reported).
"""

from __future__ import annotations

from django.db import connection

from accounts.roles import Role
from bench.harness import compare
from bench.volume import volume_scale
from grids.models import Region
from registry.selectors import coverage, period_start, resident_by_id_number
from special_groups.crypto import decrypt, encrypt, id_check_character, lookup_hash, normalise_id_number

SIZES = {"quick": (100_000, 250_000), "full": (1_000_000, 2_500_000)}


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE NOT is_demo")  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def _generate(houses: int, people: int) -> None:
    """Addresses and houses spread over every village (60% visited this period), and residents
    with distinct keyed hashes (their encrypted fields all hold one token: only the hash is searched)."""
    if _count("registry_house") >= houses and _count("registry_resident") >= people:
        return
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE registry_householdvisit, registry_tenancy, registry_revealrecord")
        cursor.execute("DELETE FROM registry_resident WHERE NOT is_demo")
        cursor.execute("DELETE FROM registry_house WHERE NOT is_demo")
        cursor.execute("DELETE FROM registry_address WHERE NOT is_demo")
        cursor.execute(
            """
            WITH v AS (SELECT array_agg(id ORDER BY code) AS ids FROM grids_region WHERE level = 'village')
            INSERT INTO registry_address (code, village_id, level, name, full_name, is_demo)
            SELECT 'B' || lpad(i::text, 17, '0'), v.ids[1 + (i %% array_length(v.ids, 1))], 'room',
                   i::text, 'bench ' || i, false
            FROM v, generate_series(1, %s) AS i
            """,
            [houses],
        )
        cursor.execute(
            """
            INSERT INTO registry_house (address_id, village_id, use, owner_name, last_visited_on, is_demo)
            SELECT a.id, a.village_id, 'owner', '',
                   CASE WHEN hashint4(a.id::int) & 1023 < 614 THEN %s::date
                        ELSE %s::date - 100 END, false
            FROM registry_address a WHERE a.code LIKE 'B%%'
            """,
            [period_start(), period_start()],
        )
        cursor.execute(
            """
            INSERT INTO registry_resident (kind, name, id_number, id_number_hash, phone, address_id, house_id,
                                           village_id, is_demo, created_at)
            SELECT 'registered', %s, %s, md5(i::text) || md5('x' || i), '',
                   h.address_id, h.id, h.village_id, false, now()
            FROM generate_series(1, %s) AS i
            JOIN registry_house h ON h.id = (SELECT min(id) FROM registry_house) + (i %% %s)
            """,
            [encrypt("某基准"), encrypt("520402198001010000"), people, houses],
        )
        cursor.execute("VACUUM ANALYZE registry_address")
        cursor.execute("VACUUM ANALYZE registry_house")
        cursor.execute("VACUUM ANALYZE registry_resident")


_COVERAGE_SQL = """
SELECT t.id, t.code, t.name, count(*) AS houses, count(*) FILTER (WHERE h.last_visited_on >= %s) AS visited
FROM registry_house h
JOIN grids_region v ON v.id = h.village_id
LEFT JOIN grids_region t ON t.id = v.parent_id
WHERE v.path LIKE %s
GROUP BY t.id, t.code, t.name
ORDER BY t.code
"""

_LOOKUP_SQL = """
SELECT r.id, r.name, r.id_number, r.phone, a.code, a.full_name
FROM registry_resident r
JOIN grids_region v ON v.id = r.village_id
JOIN registry_address a ON a.id = r.address_id
WHERE r.id_number_hash = %s AND r.id_number_hash <> '' AND v.path LIKE %s
ORDER BY r.id
"""


def run():
    from accounts.models import User

    scale, _volumes = volume_scale()
    houses, people = SIZES.get(scale, SIZES["quick"])
    _generate(houses, people)
    city_region = Region.objects.get(code="5204")
    official = User(username="bench-registry", role=Role.CITY_OFFICIAL, region=city_region, is_active=True)
    official.pk = 0
    prefix = city_region.path + "%"
    start = period_start()

    def platform_coverage():
        return coverage(actor=official, level="township")

    def baseline_coverage():
        with connection.cursor() as cursor:
            cursor.execute(_COVERAGE_SQL, [start, prefix])
            return cursor.fetchall()

    rows = platform_coverage()
    expected = [(code, n, visited) for _id, code, _name, n, visited in baseline_coverage()]
    assert [(r.code, r.houses, r.visited) for r in rows] == expected
    yield compare(
        f"registry coverage per township, {houses:,} houses",
        platform_coverage,
        baseline_coverage,
        repeat=5,
        target=1.5,
        sides=(
            "both: one grouped scan of the houses under the city's path, counting those visited since the "
            "period began, with each township's code and name; platform: registry.selectors.coverage"
            "(level='township'); baseline: the same in one SQL statement"
        ),
    )

    # One resident with a real number among the placeholders; found by its full-width spelling.
    first17 = "52040219800101777"
    number = first17 + id_check_character(first17)
    digest = lookup_hash(number)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_resident SET id_number_hash = %s "
            "WHERE id = (SELECT min(id) FROM registry_resident WHERE NOT is_demo)",
            [digest],
        )
    typed = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))

    def platform_lookup():
        return list(resident_by_id_number(actor=official, id_number=typed))

    def baseline_lookup():
        with connection.cursor() as cursor:
            cursor.execute(_LOOKUP_SQL, [lookup_hash(normalise_id_number(typed)), prefix])
            return [
                (pk, decrypt(n), decrypt(i), p and decrypt(p), c, f)
                for pk, n, i, p, c, f in cursor.fetchall()
            ]

    assert len(platform_lookup()) == len(baseline_lookup()) == 1
    query = resident_by_id_number(actor=official, id_number=typed)
    plan = query.explain()
    assert "resident_id_hash" in plan, plan
    yield "EXPLAIN of the look-up by ID number:\n" + "\n".join("    " + line for line in plan.splitlines())
    yield compare(
        f"registry look-up by ID number, {people:,} residents",
        platform_lookup,
        baseline_lookup,
        repeat=20,
        # The issue asks that the index be used (the plan above); the ratio is reported, with no target:
        # what remains is Django's per-query cost (compiling the scoped query, building one model).
        sides=(
            "both: the keyed hash of the number looked up in the partial index, under the city's path; "
            "platform: resident_by_id_number (NFKC, HMAC, visible_to, fields decrypted); "
            "baseline: NFKC and HMAC, the indexed SELECT in SQL with the same joins and fields decrypted"
        ),
    )
