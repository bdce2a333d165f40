"""Demo safe cells and prevention records for `make run` (``load_anshun --demo``).

Idempotent and fast (bulk writes, geometry generated in PostGIS). Every figure the
pages show is computed from these raw records; none is stored.

Places that the NBS division list does not hold, numbered by the platform:

* ``520471001`` 开发区直管片区 and ``520471001001`` 星光社区. The development zone
  (520471, a platform code itself, see docs/architecture.md) has no townships in the
  NBS data, so the article's 开发区星光社区 gets a platform-coded township and community
  under the zone: zone code + 3-digit township sequence, + 3-digit community sequence,
  the same shape as statistical codes. Their boundaries are small demo squares,
  flagged ``boundary_is_demo``, at an approximate spot of the zone east of the city centre.

The article's 夏云镇"虹湖社区" is placed in NBS 520403104001 红湖社区 (夏云镇): the same
name with the homophone 红 for 虹, and the only 社区 of that name in the town.

Demo locations are points on the (demo) boundary of each place, so they lie inside it.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role
from anshun.commands import system_command
from anshun.provenance import record_demo
from grids.models import Region
from safety_cells import services
from safety_cells.coverage import refresh_coverage
from safety_cells.models import (
    Camera,
    CellType,
    Criterion,
    DeviceDistribution,
    OnSiteMeeting,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
    UnitMember,
)

CRITERIA = {
    "family": ["家庭和睦无纠纷", "家庭成员无违法犯罪", "安全防范设施齐全"],
    "village": ["治保会、巡防队健全", "矛盾纠纷及时化解", "技防设施覆盖", "无重大刑事治安案件"],
    "campus": ["校园周边治安秩序", "门卫和视频监控", "安全教育开展"],
    "estate": ["小区视频监控和门禁", "物业安保巡逻", "无入室盗窃案件"],
    "hospital": ["医疗纠纷调解机制", "警务室设置"],
    "scenic_area": ["旅游纠纷调解", "游客安全保障"],
}
# The article's four types (also seeded by migration 0002) and two the city added later.
TYPES = {
    "family": "平安家庭",
    "village": "平安村居",
    "campus": "平安校园",
    "estate": "平安小区",
    "hospital": "平安医院",
    "scenic_area": "平安景区",
}

ZONE_TOWNSHIP = ("520471001", "开发区直管片区")
ZONE_COMMUNITY = ("520471001001", "星光社区")
# Approximate spot in the development zone, east of the city centre (demo geometry).
ZONE_CENTRE = (105.975, 26.235)

NAMED_CELLS = [
    # (name, type, region code, address)
    ("家运天城平安智慧小区", "estate", "520402005", "西秀区东关街道"),
    ("南街派出所塔山警务室阳光家园", "village", "520402001004", "西秀区南街街道塔山社区"),
    ("开发区星光社区服务中心", "village", ZONE_COMMUNITY[0], "安顺经济技术开发区星光社区"),
    ("夏云镇虹湖社区", "village", "520403104001", "平坝区夏云镇"),
    ("紫云自治县格凸河镇", "village", "520425101", "紫云自治县格凸河镇"),
]
# The article names 平安家庭 and 平安校园 among the cell types but no example of either: these
# are demo examples (marked 演示 in their names), registered and evaluated like any cell, not
# demonstration sites. (name, type, township code: placed in the township's first village for
# a family, at the township for a campus)
EXAMPLE_CELLS = [
    ("东关街道和睦之家（演示）", "family", "520402005"),
    ("夏云镇守法户（演示）", "family", "520403104"),
    ("格凸河镇五好家庭（演示）", "family", "520425101"),
    ("东关街道中心小学（演示）", "campus", "520402005"),
    ("夏云镇中学（演示）", "campus", "520403104"),
    ("格凸河镇民族中学（演示）", "campus", "520425101"),
]
DESIGNATED_ON = datetime.date(2017, 3, 1)
VALID_UNTIL = datetime.date(2027, 12, 31)


def _square(centre: tuple[float, float], half: float) -> MultiPolygon:
    x, y = centre
    ring = (
        (x - half, y - half),
        (x + half, y - half),
        (x + half, y + half),
        (x - half, y + half),
        (x - half, y - half),
    )
    return MultiPolygon(Polygon(ring), srid=4326)


def _platform_place(code: str, name: str, parent: Region, level: str, half_size: float) -> Region:
    region, _ = Region.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "level": level,
            "kind": Region.Kind.MANAGEMENT_ZONE,
            "parent": parent,
            "path": f"{parent.path}{code}/",
            "is_community": level == Region.Level.VILLAGE,
            "boundary": _square(ZONE_CENTRE, half_size),
            "boundary_is_demo": True,
        },
    )
    return region


def ensure_zone_places() -> Region:
    """The platform-coded township and community under the development zone (see module doc)."""
    zone = Region.objects.get(code="520471")
    township = _platform_place(*ZONE_TOWNSHIP, zone, Region.Level.TOWNSHIP, 0.02)
    return _platform_place(*ZONE_COMMUNITY, township, Region.Level.VILLAGE, 0.006)


def ensure_cell_types() -> dict[str, CellType]:
    types = {t.code: t for t in CellType.objects.all()}
    for code, name in TYPES.items():
        if code not in types:
            types[code] = CellType.objects.create(code=code, name=name)
    for code, names in CRITERIA.items():
        if code in types and not types[code].criteria.exists():
            Criterion.objects.bulk_create(
                Criterion(cell_type=types[code], name=name, max_score=10 if i else 20, position=i)
                for i, name in enumerate(names)
            )
    return types


def ensure_named_cells(types: dict[str, CellType], actor) -> list[SafetyCell]:
    """The article's sites, registered by the demo administrator through the service."""
    ensure_zone_places()
    cells = []
    for name, type_code, region_code, address in NAMED_CELLS:
        region = Region.objects.get(code=region_code)
        cell = SafetyCell.objects.filter(region=region, name=name).first()
        if cell is None:
            cell = services.safety_cell_create(
                actor=actor,
                name=name,
                cell_type=types[type_code],
                region=region,
                location=region.boundary.point_on_surface,
                address=address,
                is_demonstration_site=True,
                designated_on=DESIGNATED_ON,
                valid_until=VALID_UNTIL,
            )
        cells.append(cell)
    return cells


def ensure_example_cells(types: dict[str, CellType], actor) -> list[SafetyCell]:
    """Demo 平安家庭 and 平安校园 (EXAMPLE_CELLS), each with one evaluation, through the commands."""
    cells = []
    for index, (name, type_code, township_code) in enumerate(EXAMPLE_CELLS):
        township = Region.objects.filter(code=township_code).first()
        if township is None:
            continue
        region = township
        if type_code == "family":
            region = Region.objects.filter(parent=township).order_by("code").first() or township
        cell = SafetyCell.objects.filter(region=region, name=name).first()
        if cell is None:
            cell = services.safety_cell_create(
                actor=actor,
                name=name,
                cell_type=types[type_code],
                region=region,
                location=region.boundary.point_on_surface if region.boundary else None,
                address=region.name,
            )
        if not cell.evaluations.exists():
            criteria = list(cell.cell_type.criteria.all())
            services.evaluation_record(
                actor=actor,
                cell=cell,
                scores={c.pk: c.max_score - (index + position) % 2 for position, c in enumerate(criteria)},
                evaluated_on=datetime.date(2017, 11, 25),
                notes="年度评定（演示）",
            )
        cells.append(cell)
    return cells


def _demo_actor():
    """The demo administrator (``load_anshun --demo`` makes one): the demo's records go through
    the same commands as anyone's, with an actor who may run them everywhere."""
    admins = (
        get_user_model()
        .objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .order_by("-is_superuser", "pk")
    )
    return admins.filter(username="admin").first() or admins.first()


def _ensure_evaluations_and_meetings(cells: list[SafetyCell], actor) -> None:
    for index, cell in enumerate(cells):
        if cell.evaluations.exists():
            continue
        criteria = list(cell.cell_type.criteria.all())
        scores = {c.pk: c.max_score - (index + position) % 3 for position, c in enumerate(criteria)}
        services.evaluation_record(
            actor=actor,
            cell=cell,
            scores=scores,
            evaluated_on=datetime.date(2017, 11, 20),
            notes="年度复核",
        )
    if OnSiteMeeting.objects.exists():
        return
    city = Region.objects.get(code="5204")
    # Two on-site meetings a year since 2016, each visiting some of the demonstration sites.
    for year in (2016, 2017):
        for half, month in ((0, 5), (1, 10)):
            visited = cells[(2 * (year - 2016) + half) % len(cells) :][:2] or cells[:2]
            services.on_site_meeting_record(
                actor=actor,
                title=f"{year}年第{half + 1}次平安细胞工程现场会",
                held_on=datetime.date(year, month, 15),
                host_region=city,
                sites=visited,
                conclusions="总结示范点经验，在全市推广。",
            )


def _villages_without_team(codes: list[str]) -> set[str]:
    """A deterministic few villages (about 4%) still building their patrol team."""
    return {code for code in codes if int(code) % 23 == 0}


def ensure_prevention_units() -> None:
    if PreventionUnit.objects.exists():
        return
    regions = list(Region.objects.defer("boundary").order_by("code"))
    units: list[PreventionUnit] = []
    for region in regions:
        if region.level == Region.Level.CITY:
            units.append(PreventionUnit(name="市巡逻防控指挥部", level="city", kind="command", region=region))
        elif region.level == Region.Level.COUNTY:
            units.append(PreventionUnit(name=f"{region.name}武装巡逻队", level="county", region=region))
        elif region.level == Region.Level.TOWNSHIP:
            units.append(PreventionUnit(name=f"{region.name}治安巡逻队", level="township", region=region))
    villages = [r for r in regions if r.level == Region.Level.VILLAGE]
    without_team = _villages_without_team([v.code for v in villages])
    for village in villages:
        units.append(
            PreventionUnit(
                name=f"{village.short_name}治保会", level="village", kind="security_committee", region=village
            )
        )
        if village.code not in without_team:
            units.append(PreventionUnit(name=f"{village.short_name}巡防队", level="village", region=village))
    PreventionUnit.objects.bulk_create(units, batch_size=1000)
    members = [
        UnitMember(unit=unit, name=f"{unit.name}队员{n}", duty="队长" if n == 1 else "队员")
        for unit in PreventionUnit.objects.filter(kind=PreventionUnit.Kind.PATROL_TEAM).only("id", "name")
        for n in (1, 2, 3)
    ]
    UnitMember.objects.bulk_create(members, batch_size=2000)


def ensure_patrols(actor) -> int:
    """Recent patrols for two villages in three; a route crosses the village's grids."""
    if PatrolLog.objects.exists() or actor is None:
        return PatrolLog.objects.count()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.id, ST_AsEWKT(ST_MakeLine(ARRAY_AGG(ST_PointOnSurface(g.geometry) ORDER BY g.code)))
            FROM safety_cells_preventionunit u
            JOIN grids_grid g ON g.village_id = u.region_id
            WHERE u.kind = 'patrol_team' AND u.level = 'village'
            GROUP BY u.id, u.region_id
            HAVING COUNT(g.id) >= 2
            """
        )
        rows = cursor.fetchall()
    logs = []
    for unit_id, route in rows:
        if unit_id % 3 == 0:
            continue
        ended = now - datetime.timedelta(days=unit_id % 5, hours=2)
        logs.append(
            PatrolLog(
                unit_id=unit_id,
                started_at=ended - datetime.timedelta(hours=2),
                ended_at=ended,
                route=route,
                observations="例行巡逻，未发现异常。",
                logged_by=actor,
            )
        )
    PatrolLog.objects.bulk_create(logs, batch_size=1000)
    return len(logs)


def ensure_cameras() -> int:
    """Skynet cameras spread inside the demo grids (phases 1–3 built, phase 4 under construction)."""
    if Camera.objects.exists():
        return Camera.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO safety_cells_camera (code, name, phase, location, status, owner, village_id, grid_id)
            SELECT g.code || LPAD(p.path[1]::text, 2, '0'), '', 1 + (p.path[1] + g.id) % 4,
                   p.geom::geography,
                   CASE WHEN (p.path[1] + g.id) % 4 = 3 THEN 'building'
                        WHEN (p.path[1] * 7 + g.id) % 19 = 0 THEN 'offline' ELSE 'online' END,
                   '市公安局', g.village_id, g.id
            FROM grids_grid g,
                 LATERAL ST_Dump(ST_GeneratePoints(g.geometry, (1 + g.id % 3)::int, g.id::int)) p
            """
        )
        return cursor.rowcount


def ensure_devices() -> int:
    if DeviceDistribution.objects.exists():
        return DeviceDistribution.objects.count()
    communities = Region.objects.filter(level=Region.Level.VILLAGE, is_community=True).only("id", "code")
    rows = []
    for community in communities:
        seed = int(community.code)
        rows.append(DeviceDistribution(village=community, device="fishing_alarm", quantity=5 + seed % 20))
        rows.append(DeviceDistribution(village=community, device="super_b_lock", quantity=20 + seed % 50))
    DeviceDistribution.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def _refresh_statistics() -> None:
    """Thousands of rows arrive at once; without fresh statistics the planner takes the camera
    and patrol tables for empty and picks nested-loop plans that crawl (seen in the suite)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE safety_cells_camera, safety_cells_patrollog, safety_cells_preventionunit, "
            "safety_cells_devicedistribution"
        )


@system_command(
    "load_anshun --demo: cell types, units, cameras and patrol history are written as rows; the "
    "named sites, their evaluations and on-site meetings go through the commands as the demo admin."
)
def load_demo() -> str:
    record_demo(app_label="safety_cells")
    types = ensure_cell_types()
    actor = _demo_actor()
    cells = ensure_named_cells(types, actor) if actor is not None else []
    if actor is not None:
        _ensure_evaluations_and_meetings(cells, actor)
    examples = ensure_example_cells(types, actor) if actor is not None else []
    ensure_prevention_units()
    patrols = ensure_patrols(actor)
    cameras = ensure_cameras()
    devices = ensure_devices()
    _refresh_statistics()
    refresh_coverage(reason="demo loader", full=True)
    return (
        f"{len(cells)} named safe cells, {len(examples)} demo families and campuses, "
        f"{PreventionUnit.objects.count()} prevention units, "
        f"{patrols} patrol logs, {cameras} Skynet cameras, {devices} device distributions"
    )
