"""Skynet cameras within 300 m of incidents, with 100,000 cameras: the platform's scoped
selectors against the same PostGIS queries written by hand, on the same incidents.

Two comparisons carry the 1.2 target:

- ``cameras_near`` (the incident page's panel, one incident): the SQL the selector generates, executed
  for each incident, against the hand-written query. This is the comparison of the two *queries*: it
  shows the ORM's scoped ST_DWithin on geography is as good as hand-written PostGIS.
- ``incidents_with_nearby_cameras`` (every incident in scope with its camera count, one query),
  end to end through the ORM.

The incident page's camera panel is timed end to end through the ORM with a 1.5 target
(``incident_camera_rows``: building the queryset, compiling it, reading the rows): it fetches what
the panel shows (code, status, phase, owner, distance, nearest first) as plain rows, and is compared
with the same columns in the same order written by hand. Fetching model instances instead (the
earlier panel) cost 2.3-4.1x. The printed plans show the cameras' GiST index answering ST_DWithin
on geography."""

from django.db import connection

from accounts.roles import Role
from bench.harness import compare
from grids.models import Grid, Region
from incidents.models import Duty, Incident, IncidentCategory
from safety_cells.selectors import cameras_near, incident_camera_rows, incidents_with_nearby_cameras

CAMERAS = 100_000
RADIUS_M = 300
BENCH_PREFIX = "BENCH"


def _ensure_cameras() -> None:
    """100,000 cameras spread through the demo grids (30 a grid, more in small urban ones)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM safety_cells_camera WHERE code LIKE %s", [BENCH_PREFIX + "%"])
        if cursor.fetchone()[0] >= CAMERAS:
            return
        cursor.execute("DELETE FROM safety_cells_camera WHERE code LIKE %s", [BENCH_PREFIX + "%"])
        cursor.execute(
            """
            INSERT INTO safety_cells_camera (code, name, phase, location, status, owner, village_id, grid_id)
            SELECT %s || g.code || LPAD(p.path[1]::text, 3, '0'), '', 1 + (p.path[1] + g.id) %% 4,
                   p.geom::geography, CASE WHEN p.path[1] %% 13 = 0 THEN 'offline' ELSE 'online' END,
                   '市公安局', g.village_id, g.id
            FROM grids_grid g, LATERAL ST_Dump(ST_GeneratePoints(g.geometry, 30, g.id::int)) p
            ORDER BY g.id, p.path[1]
            LIMIT %s
            """,
            [BENCH_PREFIX, CAMERAS],
        )
        cursor.execute("ANALYZE safety_cells_camera")


INCIDENTS = 2_000


def _ensure_incidents() -> None:
    """Incidents at random spots of the grids (rows written through the ORM, in bulk)."""
    category, _ = IncidentCategory.objects.get_or_create(
        code="bench-public-order", defaults={"name": "治安隐患(基准)", "duty": Duty.PUBLIC_ORDER}
    )
    existing = Incident.objects.filter(category=category).count()
    if existing >= INCIDENTS:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT g.id, ST_AsEWKT(p.geom) FROM grids_grid g,
                   LATERAL ST_Dump(ST_GeneratePoints(g.geometry, 1, g.id::int + 7)) p
            ORDER BY md5(g.code) LIMIT %s
            """,
            [INCIDENTS - existing],
        )
        rows = cursor.fetchall()
    Incident.objects.bulk_create(
        [
            Incident(category=category, description="bench", grid_id=grid_id, location=point)
            for grid_id, point in rows
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")


def _official(role, region_code):
    from accounts.models import User

    user = User(username=f"bench-{role}", role=role, region=Region.objects.get(code=region_code))
    user.pk = 0
    return user


HAND_WRITTEN = """
    SELECT c.id, c.code, c.name, c.phase, c.status, c.owner, c.location
    FROM safety_cells_camera c
    JOIN grids_region v ON v.id = c.village_id
    WHERE v.path LIKE %s
      AND ST_DWithin(c.location, ST_GeogFromText(%s), %s)
    ORDER BY c.code
"""


def _hand_written(path: str, points: list) -> list:
    rows = []
    with connection.cursor() as cursor:
        for point in points:
            cursor.execute(HAND_WRITTEN, [path + "%", point.ewkt, RADIUS_M])
            rows.append(cursor.fetchall())
    return rows


HAND_WRITTEN_PANEL = """
    SELECT c.code, c.status, c.phase, c.owner, ST_Distance(c.location, p.g) AS distance
    FROM safety_cells_camera c
    JOIN grids_region v ON v.id = c.village_id,
         (SELECT ST_GeogFromText(%s) AS g) p
    WHERE v.path LIKE %s
      AND ST_DWithin(c.location, p.g, %s)
    ORDER BY distance, c.code
"""


def _hand_written_panel(path: str, points: list) -> list:
    rows = []
    with connection.cursor() as cursor:
        for point in points:
            cursor.execute(HAND_WRITTEN_PANEL, [point.ewkt, path + "%", RADIUS_M])
            rows.append(cursor.fetchall())
    return rows


def _platform_panel(actor, points: list) -> list:
    return [incident_camera_rows(actor=actor, point=point, metres=RADIUS_M) for point in points]


def _platform(actor, points: list) -> list:
    return [list(cameras_near(actor=actor, point=point, metres=RADIUS_M)) for point in points]


def _platform_sql(actor, points: list) -> list[tuple[str, tuple]]:
    """The statements the selector sends to PostgreSQL, one per incident, exactly as compiled."""
    return [
        cameras_near(actor=actor, point=point, metres=RADIUS_M).query.sql_with_params() for point in points
    ]


def _execute_all(statements: list[tuple[str, tuple]]) -> list:
    rows = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            rows.append(cursor.fetchall())
    return rows


HAND_WRITTEN_ALL = """
    SELECT i.id, i.reported_at, (
        SELECT COUNT(c.id) FROM safety_cells_camera c JOIN grids_region cv ON cv.id = c.village_id
        WHERE cv.path LIKE %s AND ST_DWithin(c.location, i.location::geography, %s)
    )
    FROM incidents_incident i
    JOIN grids_grid g ON g.id = i.grid_id JOIN grids_region v ON v.id = g.village_id
    WHERE v.path LIKE %s AND i.location IS NOT NULL
    ORDER BY i.reported_at DESC, i.id DESC
"""


def _hand_written_all(path: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN_ALL, [path + "%", RADIUS_M, path + "%"])
        return cursor.fetchall()


def _platform_all(actor) -> list:
    return list(incidents_with_nearby_cameras(actor=actor).values_list("id", "reported_at", "cameras_nearby"))


def run():
    _ensure_cameras()
    _ensure_incidents()
    # Incidents in the city's densest grids (the small urban ones), where cameras cluster.
    grids = Grid.objects.filter(village__code__startswith="520402001").order_by("code")[:40]
    points = [grid.geometry.point_on_surface for grid in grids]
    results = []
    for role, code in ((Role.CITY_OFFICIAL, "5204"), (Role.COUNTY_OFFICIAL, "520402")):
        actor = _official(role, code)
        found = _platform(actor, points)
        hand = _hand_written(actor.region.path, points)
        assert [[camera.pk for camera in r] for r in found] == [[row[0] for row in r] for r in hand]
        assert sum(len(r) for r in found) > 0
        statements = _platform_sql(actor, points)
        results.append(
            compare(
                f"cameras within {RADIUS_M} m, platform's SQL, one incident x{len(points)}, {role.value}",
                lambda statements=statements: _execute_all(statements),
                lambda path=actor.region.path: _hand_written(path, points),
                target=1.2,
            )
        )
        panel = _platform_panel(actor, points)
        hand_panel = _hand_written_panel(actor.region.path, points)
        assert [[row[0] for row in r] for r in panel] == [[row[0] for row in r] for r in hand_panel]
        results.append(
            compare(
                f"camera panel end to end (rows it shows) x{len(points)}, {role.value}",
                lambda actor=actor: _platform_panel(actor, points),
                lambda path=actor.region.path: _hand_written_panel(path, points),
                target=1.5,
            )
        )
    for role, code in ((Role.CITY_OFFICIAL, "5204"), (Role.COUNTY_OFFICIAL, "520402")):
        actor = _official(role, code)
        assert _platform_all(actor) == _hand_written_all(actor.region.path)
        results.append(
            compare(
                f"cameras within {RADIUS_M} m of every incident in scope, {role.value}",
                lambda actor=actor: _platform_all(actor),
                lambda path=actor.region.path: _hand_written_all(path),
                target=1.2,
            )
        )
    print(f"   {sum(len(r) for r in found)} cameras found near {len(points)} incidents")
    city = _official(Role.CITY_OFFICIAL, "5204")
    print("   plan, one incident (the incident page's panel):")
    for line in cameras_near(actor=city, point=points[0], metres=RADIUS_M).explain(analyze=True).splitlines():
        print(f"     {line}")
    print("   plan, every incident in scope:")
    for line in incidents_with_nearby_cameras(actor=city).explain().splitlines():
        print(f"     {line}")
    return results
