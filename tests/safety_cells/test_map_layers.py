"""Map layers of the safety app (/api/map/cameras|patrol-routes|township-coverage|patrol-gaps), the
coverage tables behind the coverage page, and the incident page's camera panel.

Every layer: scoped like its list (another county's official whose bbox covers my county gets none
of my features), a fixed number of queries at two data sizes, 401/403 for anonymous callers and
roles without ``safety.view``, and a 400 with field errors (never a 500) for a malformed view."""

import datetime
import json

import pytest
from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import LineString
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from grids.models import Grid, Region
from safety_cells import selectors
from safety_cells.coverage import refresh_coverage
from safety_cells.models import Camera, CoverageRefresh, GridCoverage, PatrolLog, PreventionUnit
from safety_cells.tasks import refresh_coverage_task
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

NEIGHBOUR_COUNTY = "520403"  # 平坝区, next to 西秀区 (520402), where the default users sit
LAYERS = {
    "cameras-clusters": ("/api/map/cameras/view/", 11, {}),
    "cameras-points": ("/api/map/cameras/view/", 15, {}),
    "patrol-units": ("/api/map/patrol-routes/view/", 10, {"days": 30}),
    "patrol-logs": ("/api/map/patrol-routes/view/", 13, {"days": 30}),
    "township-coverage": ("/api/map/township-coverage/view/", 10, {}),
    "patrol-gaps": ("/api/map/patrol-gaps/view/", 10, {"days": 30}),
}


def _extent(code: str) -> tuple[float, ...]:
    grids = Grid.objects.filter(village__path__startswith=Region.objects.get(code=code).path)
    return grids.aggregate(e=Extent("geometry"))["e"]


def _bbox(extent) -> str:
    return ",".join(f"{v:.5f}" for v in extent)


def _view_for(zoom: int, code: str = "520402") -> str:
    """A bbox on the county, no wider than the server allows at ``zoom``."""
    west, south, east, north = _extent(code)
    most = 4000 * 360 / (256 * 2**zoom)
    if east - west > most or north - south > most:  # the county's centre at that zoom
        x, y = (west + east) / 2, (south + north) / 2
        west, east, south, north = x - most / 2, x + most / 2, y - most / 2, y + most / 2
    return _bbox((west, south, east, north))


def _get(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    return response, len(queries)


def _grow(make_incident):
    """More of everything the layers show, in the same views: cameras, patrols, incidents."""
    grids = list(Grid.objects.filter(village__code__startswith="520402001").order_by("code")[:25])
    team = PreventionUnit.objects.filter(
        region__code__startswith="520402001", kind=PreventionUnit.Kind.PATROL_TEAM
    ).first()
    now = timezone.now()
    logger = User.objects.get(username="safety-demo-admin")
    for n, grid in enumerate(grids):
        centre = grid.geometry.point_on_surface
        Camera.objects.create(
            code=f"GROW{n:04d}", phase=1, owner="t", location=centre, village=grid.village, grid=grid
        )
        make_incident(grid=grid, days_ago=2)
        if n % 2:  # every other grid: incidents and no patrol, a gap
            PatrolLog.objects.filter(route__intersects=grid.geometry).delete()
            continue
        PatrolLog.objects.create(
            unit=team,
            started_at=now - datetime.timedelta(hours=3, minutes=n),
            ended_at=now - datetime.timedelta(hours=2, minutes=n),
            route=LineString((centre.x, centre.y), (centre.x + 0.002, centre.y + 0.002), srid=4326),
            logged_by=logger,
        )
    refresh_coverage(reason="test")


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_answers_the_view_with_a_fixed_number_of_queries(
    api_client, safety_demo, make_incident, layer
):
    url, zoom, extra = LAYERS[layer]
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    params = {"bbox": _view_for(zoom, "520402001"), "zoom": zoom, **extra}
    small, small_queries = _get(api_client, url, **params)
    assert small.status_code == 200, small.content
    _grow(make_incident)
    large, large_queries = _get(api_client, url, **params)
    assert large.status_code == 200, large.content
    before, after = json.loads(small.content), json.loads(large.content)
    assert after["type"] == "FeatureCollection" and after["count"] == len(after["features"])
    assert large_queries == small_queries
    if layer.startswith("cameras"):
        total = lambda body: sum(f["properties"]["count"] for f in body["features"])  # noqa: E731
        assert total(after) > total(before)
    elif layer in ("patrol-logs", "patrol-gaps"):
        assert after["count"] != before["count"] or layer == "patrol-gaps"


def test_the_camera_layer_clusters_far_out_and_counts_only_cameras_in_scope(api_client, safety_demo):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(official)
    bbox = _bbox(_extent("520402"))
    body = json.loads(api_client.get("/api/map/cameras/view/", {"bbox": bbox, "zoom": 10}).content)
    in_scope = Camera.objects.filter(village__path__startswith="5204/520402/").count()
    assert 0 < body["count"] < in_scope  # clusters, not one feature per camera
    assert sum(f["properties"]["count"] for f in body["features"]) == in_scope
    assert all(f["properties"]["online"] <= f["properties"]["count"] for f in body["features"])


def test_a_view_denser_than_a_map_can_draw_gets_clusters_even_at_street_level(
    api_client, safety_demo, monkeypatch
):
    """At zoom 15 a view gets one feature per camera only while it holds at most
    CAMERA_POINTS_MOST of them (as the coverage table counts): a dense township still answers
    with clusters whose counts add up to the cameras in scope and in view."""
    from safety_cells import apis

    official = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(official)
    refresh_coverage(reason="test")
    params = {"bbox": _view_for(15, "520402001"), "zoom": 15}
    points = json.loads(api_client.get("/api/map/cameras/view/", params).content)
    assert points["count"] > 3 and all(f["properties"]["count"] == 1 for f in points["features"])
    in_view = {f["id"] for f in points["features"]}

    monkeypatch.setattr(apis, "CAMERA_POINTS_MOST", len(in_view) - 1)
    clusters = json.loads(api_client.get("/api/map/cameras/view/", params).content)
    assert 0 < clusters["count"] < len(in_view)
    assert any(f["properties"]["count"] > 1 for f in clusters["features"])
    # Clusters count the cameras of every grid meeting the view: at least those seen as points,
    # never one outside the official's county.
    total = sum(f["properties"]["count"] for f in clusters["features"])
    in_scope = Camera.objects.filter(village__path__startswith="5204/520402/").count()
    assert len(in_view) <= total <= in_scope
    assert not set(in_view) & {f["id"] for f in clusters["features"]}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_another_countys_official_gets_none_of_my_features(api_client, safety_demo, make_incident, layer):
    _grow(make_incident)  # my county has cameras, patrols, incidents and gaps in the view
    url, zoom, extra = LAYERS[layer]
    neighbour = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=NEIGHBOUR_COUNTY))
    api_client.force_authenticate(neighbour)
    params = {"bbox": _view_for(zoom, "520402001"), "zoom": zoom, **extra}
    mine = api_client.get(url, params)
    assert mine.status_code == 200, mine.content
    features = json.loads(mine.content)["features"]
    ids = [str(f["id"]) for f in features]
    assert not [i for i in ids if i.startswith("520402")]  # grids, townships
    theirs = Camera.objects.filter(village__path__startswith=f"5204/{NEIGHBOUR_COUNTY}/")
    if layer == "cameras-points":
        assert set(ids) <= set(theirs.values_list("code", flat=True))
    if layer == "cameras-clusters":
        assert sum(f["properties"]["count"] for f in features) <= theirs.count()
    if layer == "patrol-units":
        assert not PreventionUnit.objects.filter(pk__in=ids, region__code__startswith="520402").exists()
    if layer == "patrol-logs":
        assert not PatrolLog.objects.filter(pk__in=ids, unit__region__code__startswith="520402").exists()
    # The same view as a 西秀区 official: my features are there, so the view did cover them.
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    own = json.loads(
        api_client.get(url, {"bbox": _view_for(zoom, "520402001"), "zoom": zoom, **extra}).content
    )
    assert own["features"]


def test_a_grid_worker_sees_only_their_offices_gaps_and_cameras(api_client, safety_demo, make_incident):
    worker = user_for_role(Role.GRID_WORKER)
    grid = worker.grid_office.grids.order_by("code").first()
    other = (
        Grid.objects.exclude(office=worker.grid_office).filter(village__code__startswith="520402005").first()
    )
    make_incident(grid=grid, days_ago=1)
    make_incident(grid=other, days_ago=1)
    PatrolLog.objects.filter(route__intersects=grid.geometry).delete()
    PatrolLog.objects.filter(route__intersects=other.geometry).delete()
    refresh_coverage(reason="test")
    api_client.force_authenticate(worker)
    bbox = _bbox(_extent("520402005"))
    gaps = json.loads(
        api_client.get("/api/map/patrol-gaps/view/", {"bbox": bbox, "zoom": 11, "days": 7}).content
    )
    codes = {f["id"] for f in gaps["features"]}
    assert grid.code in codes and other.code not in codes
    assert codes <= set(worker.grid_office.grids.values_list("code", flat=True))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_anonymous_and_roles_without_safety_view_are_refused(api_client, safety_demo, layer):
    url, zoom, extra = LAYERS[layer]
    params = {"bbox": _view_for(zoom), "zoom": zoom, **extra}
    anonymous = api_client.get(url, params)
    assert anonymous.status_code in (401, 403) and b"features" not in anonymous.content
    api_client.force_authenticate(user_for_role(Role.MEDIATOR))
    refused = api_client.get(url, params)
    assert refused.status_code == 403 and b"features" not in refused.content


BAD_VIEWS = [
    {},
    {"bbox": "105.9,26.2,106.0,26.3"},
    {"bbox": "NaN,26.2,106.0,26.3", "zoom": "12"},
    {"bbox": "105.9,26.2,106.0,-inf", "zoom": "12"},
    {"bbox": "105.9;26.2;106.0;26.3", "zoom": "12"},
    {"bbox": "1e400,0,0,0", "zoom": "12"},
    {"bbox": "0,0,0,0", "zoom": "12"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "99999999999999999999"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "\x00"},
    {"bbox": "\x00", "zoom": "12"},
    {"bbox": "-180,-90,180,90", "zoom": "10"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "12", "days": "0"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "12", "days": "400"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "12", "days": "7\x00"},
    {"bbox": "105.9,26.2,106.0,26.3", "zoom": "12", "days": "-7"},
]


@pytest.mark.parametrize("layer", sorted({url for url, _z, _e in LAYERS.values()}))
@pytest.mark.parametrize("params", BAD_VIEWS)
def test_malformed_views_are_a_400_never_a_500(api_client, layer, params):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    takes_days = layer in ("/api/map/patrol-routes/view/", "/api/map/patrol-gaps/view/")
    if "days" in params and not takes_days:
        params = {k: v for k, v in params.items() if k != "days"} | {"zoom": "x"}
    response = api_client.get(layer, params)
    assert response.status_code == 400, response.content
    assert set(response.json()) <= {"bbox", "zoom", "days"}


def test_too_many_features_is_a_400_asking_to_zoom_in(api_client, safety_demo):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    west, south, east, north = _extent("5204")
    bbox = _bbox((west, south, min(east, west + 0.9), min(north, south + 0.9)))
    response = api_client.get("/api/map/cameras/view/", {"bbox": bbox, "zoom": 15})
    # Fewer than 5,000 demo cameras fit in that view at street level only if the view is small
    # enough for the zoom, which it is not: the view is refused before any row is read.
    assert response.status_code == 400 and "bbox" in response.json()


# --- the coverage tables ----------------------------------------------------------------------------


def test_the_coverage_tables_match_the_live_analyses(safety_demo, make_incident):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    make_incident(grid=grid, days_ago=1)
    PatrolLog.objects.filter(route__intersects=grid.geometry).delete()
    refresh_coverage(reason="test")
    assert selectors.coverage_joint_defence(actor=official) == selectors.joint_defence_coverage(
        actor=official
    )
    assert selectors.coverage_by_township(actor=official) == selectors.joint_defence_by_township(
        actor=official
    )
    assert selectors.coverage_camera_grids(actor=official) == selectors.camera_grid_coverage(actor=official)
    live_devices = selectors.devices_by_village(actor=official)
    assert list(selectors.coverage_devices_by_village(actor=official)) == live_devices
    for days in (3, 30):
        live = {
            v.code: v.last_patrol_at
            for v in selectors.villages_with_idle_patrol_team(actor=official, days=days)
        }
        kept = {
            r.village.code: r.last_patrol_at
            for r in selectors.coverage_idle_patrol_villages(actor=official, days=days)
        }
        assert kept == live
    live_gaps = {g.code: g.recent_incidents for g in selectors.grid_patrol_gaps(actor=official, days=7)}
    kept_gaps = {
        g.grid.code: g.recent_incidents for g in selectors.coverage_patrol_gaps(actor=official, days=7)
    }
    assert grid.code in kept_gaps and kept_gaps == live_gaps
    cameras = {
        (g.code, g.camera_count, g.cameras_online) for g in selectors.camera_coverage_by_grid(actor=official)
    }
    kept = {
        (g.grid.code, g.camera_count, g.cameras_online)
        for g in selectors.coverage_cameras_by_grid(actor=official).select_related("grid")
    }
    assert kept == cameras


def test_the_page_shows_edits_after_the_refresh_with_its_time(client, safety_demo):
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    client.force_login(official)
    before = client.get(reverse("safety_cells:coverage")).context["coverage"]
    covered = selectors.village_coverage_visible_to(actor=official).filter(
        has_committee=True, has_patrol_team=True
    )
    village = covered.order_by("village__code").first().village
    PreventionUnit.objects.filter(region=village, kind=PreventionUnit.Kind.PATROL_TEAM).update(
        is_active=False
    )
    assert (
        client.get(reverse("safety_cells:coverage")).context["coverage"] == before
    )  # as of the last refresh
    refresh_coverage_task.run(reason="test")  # what beat runs
    page = client.get(reverse("safety_cells:coverage"))
    after = page.context["coverage"]
    assert after.covered == before.covered - 1 and after.villages == before.villages
    as_of = CoverageRefresh.objects.latest("finished_at").finished_at
    assert page.context["as_of"] == as_of
    assert timezone.localtime(as_of).strftime("%Y-%m-%d %H:%M") in page.content.decode()


def test_beat_refreshes_the_coverage_tables(safety_demo):
    jobs = {job["task"]: job for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert jobs["safety_cells.tasks.refresh_coverage"]["schedule"] <= 600
    GridCoverage.objects.all().delete()
    refresh_coverage_task.run(reason="beat")
    assert GridCoverage.objects.count() == Grid.objects.count()


def test_the_coverage_page_ships_no_geometry_and_a_fixed_number_of_queries(
    client, safety_demo, make_incident
):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))

    def load():
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("safety_cells:coverage"), {"days": 30})
        assert page.status_code == 200
        return page, len(queries)

    small, small_queries = load()
    _grow(make_incident)
    large, large_queries = load()
    assert large_queries == small_queries
    html = large.content.decode()
    assert len(large.content) < 150_000
    assert '"coordinates"' not in html and "cameras" not in large.context["map_data"]
    assert large.context["map_data"]["layers"]["townships"] == "/api/map/township-coverage/view/"
    assert len(large.context["map_data"]["extent"]) == 4


# --- the incident page's camera panel -----------------------------------------------------------


def test_the_camera_panel_rows_are_the_scoped_cameras_nearest_first(safety_demo):
    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    point = grid.geometry.point_on_surface
    Camera.objects.create(
        code="PANEL-NEAR", phase=1, owner="o", location=point, village=grid.village, grid=grid
    )
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    neighbour = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=NEIGHBOUR_COUNTY))
    rows = selectors.incident_camera_rows(actor=official, point=point)
    assert {r[0] for r in rows} == {c.code for c in selectors.cameras_near(actor=official, point=point)}
    assert rows[0][0] == "PANEL-NEAR" and rows[0][4] < 1
    assert [r[4] for r in rows] == sorted(r[4] for r in rows)
    # The statement is kept per jurisdiction: the neighbour's is not the township official's.
    assert selectors.incident_camera_rows(actor=neighbour, point=point) == []
    assert selectors.incident_camera_rows(actor=official, point=point) == rows
    panel = selectors.incident_camera_panel(actor=official, incident=type("I", (), {"location": point})())
    assert panel["context"]["cameras"][0]["code"] == "PANEL-NEAR"
    assert panel["context"]["cameras"][0]["status"] == Camera.Status.ONLINE.label


def test_an_incremental_refresh_counts_late_synced_incidents_as_a_full_one_does(safety_demo, make_incident):
    """After the first run only new incidents are counted (by id, so a phone's report synced late
    with an old ``reported_at`` is not missed); a change of cameras makes the next run full."""
    from safety_cells.models import GridIncidentDay, UnwatchedIncident

    def tables():
        days = set(GridIncidentDay.objects.values_list("grid_id", "day", "incidents"))
        return days, set(UnwatchedIncident.objects.values_list("incident_id", flat=True))

    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    Camera.objects.filter(location__dwithin=(grid.geometry, 0.05)).delete()
    assert refresh_coverage(reason="test").full  # the cameras changed
    late = make_incident(grid=grid, days_ago=40)  # reported 40 days ago, synced now
    make_incident(grid=grid, days_ago=0.1)
    run = refresh_coverage(reason="test")
    assert not run.full and run.max_incident_id >= late.pk
    incremental = tables()
    assert late.pk in incremental[1]
    assert refresh_coverage(reason="test", full=True).full
    assert tables() == incremental
    Camera.objects.create(code="NEW-CAM", phase=1, owner="t", location=late.location, village=grid.village)
    assert refresh_coverage(reason="test").full
    assert late.pk not in tables()[1]  # now watched
