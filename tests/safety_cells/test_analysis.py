"""Coverage computations and spatial queries, each checked against an independent count."""

import datetime
import math

import pytest
from django.contrib.gis.geos import LineString, Point
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid, Region
from safety_cells import selectors
from safety_cells.demo import NAMED_CELLS
from safety_cells.models import Camera, DeviceDistribution, PatrolLog, PreventionUnit, SafetyCell
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _metres(a: Point, b: Point) -> float:
    """Great-circle distance (haversine), independent of PostGIS."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def test_joint_defence_coverage_is_computed_from_the_village_records(safety_demo):
    city = user_for_role(Role.CITY_OFFICIAL)
    coverage = selectors.joint_defence_coverage(actor=city)
    villages = Region.objects.filter(level="village")
    with_both = [
        v
        for v in villages
        if {"security_committee", "patrol_team"} <= set(v.prevention_units.values_list("kind", flat=True))
    ]
    assert coverage.villages == villages.count()
    assert coverage.covered == len(with_both)
    assert coverage.rate == round(100 * len(with_both) / villages.count(), 2)
    assert coverage.rate > 95  # the source: over 95% of villages


def test_coverage_changes_when_a_team_is_disbanded_and_is_scoped(safety_demo):
    township = user_for_role(Role.TOWNSHIP_OFFICIAL)  # 东关街道
    before = selectors.joint_defence_coverage(actor=township)
    assert before.villages == Region.objects.filter(level="village", code__startswith="520402005").count()
    team = PreventionUnit.objects.filter(
        kind="patrol_team", region__level="village", region__code__startswith="520402005"
    ).first()
    team.is_active = False
    team.save(update_fields=["is_active"])
    after = selectors.joint_defence_coverage(actor=township)
    assert after.covered == before.covered - 1
    rows = selectors.joint_defence_by_township(actor=township)
    assert [r["parent__code"] for r in rows] == ["520402005"]
    assert rows[0]["covered"] == after.covered


def test_villages_with_an_idle_patrol_team(safety_demo):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    since = timezone.now() - datetime.timedelta(days=3)
    idle = set(
        selectors.villages_with_idle_patrol_team(actor=official, days=3).values_list("code", flat=True)
    )
    expected = {
        unit.region.code
        for unit in PreventionUnit.objects.filter(
            kind="patrol_team", is_active=True, region__level="village", region__code__startswith="520402"
        ).select_related("region")
        if not PatrolLog.objects.filter(
            unit__region=unit.region, unit__kind="patrol_team", ended_at__gte=since
        ).exists()
    }
    assert idle == expected and idle


def test_grid_patrol_gaps_find_incident_clusters_no_patrol_passed(safety_demo, make_incident):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    PatrolLog.objects.all().delete()
    grids = list(Grid.objects.filter(village__code__startswith="520402005").order_by("code")[:3])
    patrolled, quiet, cluster = grids
    for _ in range(3):
        make_incident(grid=cluster)
    make_incident(grid=patrolled)
    make_incident(grid=patrolled)
    make_incident(grid=quiet, days_ago=30)  # outside the window
    team = PreventionUnit.objects.filter(kind="patrol_team").first()
    centre = patrolled.geometry.point_on_surface
    PatrolLog.objects.create(
        unit=team,
        started_at=timezone.now() - datetime.timedelta(days=2),
        ended_at=timezone.now() - datetime.timedelta(days=1),
        route=LineString(centre, Point(centre.x + 0.0001, centre.y, srid=4326), srid=4326),
        logged_by=safety_demo,
    )
    gaps = {g.code: g.recent_incidents for g in selectors.grid_patrol_gaps(actor=official, days=7)}
    assert gaps == {cluster.code: 3}
    assert not selectors.grid_patrol_gaps(actor=official, days=7, min_incidents=4).exists()


def test_cameras_within_radius_match_a_haversine_check(safety_demo):
    official = user_for_role(Role.CITY_OFFICIAL)
    grid = Grid.objects.filter(village__code__startswith="520402001").order_by("code").first()
    centre = grid.geometry.point_on_surface
    # Two cameras just inside and just outside 300 m (east of the centre), plus the demo ones.
    metre_in_lon = 1 / (111_320 * math.cos(math.radians(centre.y)))
    for code, metres in (("NEAR-290", 290), ("FAR-310", 310)):
        Camera.objects.create(
            code=code,
            phase=4,
            owner="test",
            location=Point(centre.x + metres * metre_in_lon, centre.y, srid=4326),
            village=grid.village,
        )
    found = set(
        selectors.cameras_near(actor=official, point=centre, metres=300).values_list("code", flat=True)
    )
    expected = {c.code for c in Camera.objects.all() if _metres(centre, c.location) <= 300}
    assert "NEAR-290" in found and "FAR-310" not in found
    assert found == expected


def test_camera_query_uses_the_spatial_index(safety_demo):
    official = user_for_role(Role.CITY_OFFICIAL)
    point = Grid.objects.order_by("code").first().geometry.point_on_surface
    queryset = selectors.cameras_near(actor=official, point=point, metres=300)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: make the planner show its choice
        plan = queryset.explain()
        cursor.execute(
            "SELECT indexname FROM pg_indexes "
            "WHERE tablename = 'safety_cells_camera' AND indexdef LIKE '%%gist%%'"
        )
        (index,) = cursor.fetchone()
    # The ST_DWithin on geography is sargable: the GiST index answers the bounding-box test.
    # An Index Scan or a Bitmap Index Scan, whichever the planner picks for the table's size.
    assert f"Index Scan using {index}" in plan or f"Bitmap Index Scan on {index}" in plan, plan
    assert "st_dwithin" in plan


def test_camera_coverage_per_grid_counts_online_cameras(safety_demo):
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    rows = {
        g.code: (g.camera_count, g.cameras_online) for g in selectors.camera_coverage_by_grid(actor=official)
    }
    assert rows and all(code.startswith("520402005") for code in rows)
    for code, (total, online) in list(rows.items())[:10]:
        cameras = Camera.objects.filter(grid__code=code)
        assert total == cameras.count()
        assert online == cameras.filter(status="online").count()
    coverage = selectors.camera_grid_coverage(actor=official)
    assert coverage.villages == len(rows)
    assert coverage.covered == sum(1 for _total, online in rows.values() if online)


def test_devices_per_community_add_up_every_batch(safety_demo):
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    community = Region.objects.filter(code__startswith="520402005", is_community=True).first()
    DeviceDistribution.objects.create(village=community, device="fishing_alarm", quantity=7)
    rows = {r["village__code"]: r for r in selectors.devices_by_village(actor=official)}
    alarms = sum(
        DeviceDistribution.objects.filter(village=community, device="fishing_alarm").values_list(
            "quantity", flat=True
        )
    )
    assert rows[community.code]["fishing_alarms"] == alarms
    assert all(code.startswith("520402005") for code in rows)


def test_the_five_named_examples_are_at_their_places(safety_demo):
    cells = {c.name: c for c in SafetyCell.objects.select_related("region")}
    for name, _type, region_code, _address in NAMED_CELLS:
        cell = cells[name]
        assert cell.region.code == region_code
        assert cell.region.boundary.covers(cell.location)
        assert cell.is_current_demonstration_site()
    assert cells["开发区星光社区服务中心"].region.path.startswith("5204/520471/")


def test_dashboard_tiles_are_computed_in_scope(safety_demo):
    city = user_for_role(Role.CITY_OFFICIAL)
    tiles = {t.key: t for t in selectors.dashboard_tiles(actor=city, region=None)}
    assert tiles["safety_cells.demonstration_sites"].value == 5
    assert (
        tiles["safety_cells.joint_defence_coverage"].value
        == selectors.joint_defence_coverage(actor=city).rate
    )
    assert tiles["safety_cells.cameras_online"].value == Camera.objects.filter(status="online").count()
    ziyun = Region.objects.get(code="520425")
    tiles = {t.key: t for t in selectors.dashboard_tiles(actor=city, region=ziyun)}
    assert tiles["safety_cells.demonstration_sites"].value == 1
    township = user_for_role(Role.TOWNSHIP_OFFICIAL)
    tiles = {t.key: t for t in selectors.dashboard_tiles(actor=township, region=None)}
    assert tiles["safety_cells.demonstration_sites"].value == 1  # 家运天城 in 东关街道


def test_incident_panel_lists_nearby_cameras_in_scope(safety_demo, make_incident):
    from django.apps import apps
    from django.template.loader import render_to_string
    from django.utils.module_loading import import_string

    hook = import_string(apps.get_app_config("safety_cells").incident_panels)
    grid = Camera.objects.filter(grid__village__code__startswith="520402005").first().grid
    camera = Camera.objects.filter(grid=grid).first()
    incident = make_incident(grid=grid, location=camera.location)
    worker = user_for_role(Role.GRID_WORKER, office=grid.office)
    panel = hook(actor=worker, incident=incident)
    assert camera.code in [row["code"] for row in panel["context"]["cameras"]]  # rows, not instances
    html = render_to_string(panel["template"], panel["context"])
    assert camera.code in html
    outsider = user_for_role(Role.TOWNSHIP_OFFICIAL, region=Region.objects.get(code="520425101"))
    assert hook(actor=outsider, incident=incident)["context"]["cameras"] == []
    incident.location = None
    assert hook(actor=worker, incident=incident) is None


def test_every_incident_counts_the_cameras_within_the_radius(safety_demo, make_incident):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    grids = Grid.objects.filter(village__code__startswith="520402005").order_by("code")[:4]
    incidents = [make_incident(grid=grid) for grid in grids]
    far = make_incident(grid=Grid.objects.filter(village__code__startswith="520425").first())
    Camera.objects.create(
        code="AT-INCIDENT", phase=2, owner="test", location=incidents[0].location, village=grids[0].village
    )
    counted = {i.pk: i.cameras_nearby for i in selectors.incidents_with_nearby_cameras(actor=official)}
    assert far.pk not in counted  # outside the county: not listed
    cameras = list(Camera.objects.filter(village__path__startswith="5204/520402/"))
    for incident in incidents:
        expected = sum(1 for c in cameras if _metres(incident.location, c.location) <= 300)
        assert counted[incident.pk] == expected
    assert counted[incidents[0].pk] >= 1
