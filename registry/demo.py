"""A sampled demo registry for the whole city (`manage.py load_anshun --demo`).

Anshun had about 2.47 million residents; the demo does not hold them. Every village and community
gets a small, plausible sample: two roads or groups, twelve houses (a rural village's houses are
buildings on its groups; a community's are flats: road, building, unit, room), two or three
residents per lived-in house, a unit or two, and this quarter's visits for about 60% of the houses,
so the coverage pages have something to show. The pages say it is a sample (``is_demo``).

Everything is bulk-inserted level by level; points come from PostGIS (``ST_GeneratePoints`` inside
each grid, seeded so that a re-run gives the same city), so each address lies in its grid. Residents
are synthetic (names like 王某000042, checksum-valid ID numbers in their own county), encrypted like
any other. A sample of the special populations' demo people is linked to a registry resident (their
tokens copied as they are, under the same keys), so a visited house can show "needs attention".
Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone

from anshun.commands import system_command
from anshun.db import analyze
from anshun.provenance import record_demo
from grids.models import Region
from registry.models import Address, AddressSequence, House, HouseholdVisit, Resident, Unit
from registry.selectors import period_start
from special_groups.crypto import id_check_character, lookup_hash

HOUSES_PER_VILLAGE = 12
VISITED_SHARE = 0.6
LINKED_SPECIAL_PERSONS = 300
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
ROADS = ("幸福路", "和平路")
GROUPS = ("一组", "二组")


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


def _points() -> dict[int, list[tuple[int, Point]]]:
    """Per village: (grid id, a point inside that grid), from PostGIS, seeded."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.village_id, g.id, ST_X(p.geom), ST_Y(p.geom) FROM grids_grid g, "
            "LATERAL ST_Dump(ST_GeneratePoints(g.geometry, 6, 17)) p ORDER BY g.village_id, g.code"
        )
        found: dict[int, list[tuple[int, Point]]] = {}
        for village_id, grid_id, x, y in cursor.fetchall():
            found.setdefault(village_id, []).append((grid_id, Point(x, y, srid=4326)))
    return found


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
    with transaction.atomic():
        summary = _generate(rng)
        record_demo(app_label="registry")
    analyze(Address, House, Resident, Unit, HouseholdVisit)
    return summary


def _generate(rng: random.Random) -> DemoSummary:
    points = _points()
    villages = list(
        Region.objects.filter(level=Region.Level.VILLAGE, pk__in=list(points))
        .select_related("parent")
        .order_by("code")
    )
    sequence: dict[int, int] = {}

    def code(village: Region) -> str:
        sequence[village.pk] = sequence.get(village.pk, 0) + 1
        return f"{village.code}{sequence[village.pk]:06d}"

    def address(village, parent, level, name, spot):
        grid_id, point = spot
        return Address(
            code=code(village), village=village, parent=parent, level=level, name=name,
            full_name=f"{parent.full_name if parent else village.short_name}{name}", location=point,
            grid_id=grid_id, is_demo=True,
        )  # fmt: skip

    # Level by level, so each level's parents have their ids.
    roads = []
    for village in villages:
        names = ROADS if village.is_community else GROUPS
        spots = points[village.pk]
        roads += [
            address(village, None, Address.Level.ROAD, n, spots[i % len(spots)]) for i, n in enumerate(names)
        ]
    Address.objects.bulk_create(roads, batch_size=2000)
    buildings = []
    for road in roads:
        spots = points[road.village_id]
        count = 2 if road.village.is_community else HOUSES_PER_VILLAGE // 2
        for i in range(count):
            spot = spots[(i + (3 if road.name in (ROADS[1], GROUPS[1]) else 0)) % len(spots)]
            suffix = f"{i + 1}栋" if road.village.is_community else f"{i + 1}号"
            buildings.append(address(road.village, road, Address.Level.BUILDING, suffix, spot))
    Address.objects.bulk_create(buildings, batch_size=2000)
    units_, rooms = [], []
    for building in buildings:
        if building.village.is_community:
            units_.append(
                address(
                    building.village,
                    building,
                    Address.Level.UNIT,
                    "1单元",
                    (building.grid_id, building.location),
                )
            )
    Address.objects.bulk_create(units_, batch_size=2000)
    for unit in units_:
        for floor in range(1, 4):
            rooms.append(
                address(unit.village, unit, Address.Level.ROOM, f"{floor}01室", (unit.grid_id, unit.location))
            )
    Address.objects.bulk_create(rooms, batch_size=2000)
    AddressSequence.objects.bulk_create(
        [AddressSequence(village_id=pk, last=last) for pk, last in sequence.items()], batch_size=2000
    )
    homes = [b for b in buildings if not b.village.is_community] + rooms
    uses = (
        [House.Use.OWNER_OCCUPIED] * 14
        + [House.Use.RENTED] * 3
        + [House.Use.VACANT] * 2
        + [House.Use.BUSINESS]
    )
    houses = [
        House(address=a, village_id=a.village_id, grid_id=a.grid_id, use=rng.choice(uses), is_demo=True)
        for a in homes
    ]
    House.objects.bulk_create(houses, batch_size=2000)
    residents = _residents(rng, houses, villages)
    Resident.objects.bulk_create(residents, batch_size=2000)
    units = _units(rng, villages, buildings)
    Unit.objects.bulk_create(units, batch_size=2000)
    visits = _visits(rng, houses)
    HouseholdVisit.objects.bulk_create(visits, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_house h SET last_visited_on = v.visited_on FROM registry_householdvisit v "
            "WHERE v.house_id = h.id"
        )
    linked = _link_special_persons()
    return DemoSummary(
        len(roads) + len(buildings) + len(units_) + len(rooms), len(houses), len(residents) + linked,
        len(units), len(visits), skipped=False,
    )  # fmt: skip


def _residents(rng: random.Random, houses: list[House], villages: list[Region]) -> list[Resident]:
    county = {v.pk: v.code[:6] for v in villages}
    rural = {v.pk for v in villages if not v.is_community}
    people, serial = [], 0
    for house in houses:
        if house.use == House.Use.VACANT:
            continue
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
            serial += 1
            if house.use == House.Use.RENTED:
                kind = Resident.Kind.FLOATING
            elif house.village_id in rural and rng.random() < 0.12:
                kind = rng.choice((Resident.Kind.LEFT_BEHIND, Resident.Kind.ELDERLY_ALONE))
            else:
                kind = Resident.Kind.OVERSEAS if rng.random() < 0.003 else Resident.Kind.REGISTERED
            number = _id_number(rng, county[house.village_id], serial)
            people.append(
                Resident(
                    kind=kind,
                    name=f"{rng.choice(SURNAMES)}某{serial:06d}",
                    id_number=number,
                    id_number_hash=lookup_hash(number),
                    phone=f"139{serial:08d}",
                    address=house.address,
                    house=house,
                    village_id=house.village_id,
                    is_demo=True,
                )  # fmt: skip
            )
    return people


def _units(rng: random.Random, villages: list[Region], buildings: list[Address]) -> list[Unit]:
    first_building = {}
    for b in buildings:
        first_building.setdefault(b.village_id, b)
    units = []
    for village in villages:
        at = first_building[village.pk]
        if village.is_community:
            kind, name = rng.choice(
                (
                    (Unit.Kind.FIRM, "商贸有限公司"),
                    (Unit.Kind.NON_PUBLIC, "个体餐馆"),
                    (Unit.Kind.KEY_PLACE, "农贸市场"),
                )
            )
        else:
            kind, name = rng.choice(((Unit.Kind.SOCIAL, "农民专业合作社"), (Unit.Kind.NON_PUBLIC, "小卖部")))
        units.append(
            Unit(
                kind=kind,
                name=f"{village.short_name}{name}",
                address=at,
                village=village,
                grid_id=at.grid_id,
                contact_name="联系人",
                contact_phone="13800000000",
                is_demo=True,
            )  # fmt: skip
        )
        if village.is_community or rng.random() < 0.3:
            units.append(
                Unit(
                    kind=Unit.Kind.SCHOOL,
                    name=f"{village.short_name}小学",
                    address=at,
                    village=village,
                    grid_id=at.grid_id,
                    contact_name="校长",
                    contact_phone="13900000000",
                    campus_note="校门口200米内有网吧一处，放学时段需巡查。",
                    is_demo=True,
                )  # fmt: skip
            )
    return units


def _visits(rng: random.Random, houses: list[House]) -> list[HouseholdVisit]:
    start = period_start()
    today = timezone.localdate()
    days = max((today - start).days, 0)
    visits = []
    for house in houses:
        if rng.random() >= VISITED_SHARE:
            continue
        visits.append(
            HouseholdVisit(
                client_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                house=house,
                village_id=house.village_id,
                grid_id=house.grid_id,
                visited_on=start + timezone.timedelta(days=rng.randint(0, days)),
                changes={"confirmed": 1},
                is_demo=True,
            )  # fmt: skip
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
