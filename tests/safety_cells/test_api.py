"""REST endpoints: a role × endpoint scoping matrix, fixed query counts, and 400s that write nothing."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid, Region
from safety_cells.models import Camera, Evaluation, PatrolLog, PreventionUnit, SafetyCell
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

# endpoint basename -> (model queryset, path of the row's region)
ENDPOINTS = {
    "safety-cell": (
        lambda: SafetyCell.objects.select_related("region").defer("region__boundary"),
        lambda o: o.region.path,
    ),
    "safety-evaluation": (
        lambda: Evaluation.objects.select_related("cell__region").defer("cell__region__boundary"),
        lambda o: o.cell.region.path,
    ),
    "prevention-unit": (
        lambda: PreventionUnit.objects.select_related("region").defer("region__boundary"),
        lambda o: o.region.path,
    ),
    "patrol-log": (
        lambda: PatrolLog.objects.select_related("unit__region").defer("unit__region__boundary"),
        lambda o: o.unit.region.path,
    ),
    "camera": (
        lambda: Camera.objects.select_related("village").defer("village__boundary"),
        lambda o: o.village.path,
    ),
}


def _allowed(user, path: str, served: set[str]) -> bool:
    """Who may see what, stated apart from the implementation."""
    if user.is_platform_admin:
        return True
    if user.grid_office_id:
        return path in served
    return path.startswith(user.region.path)


def _list_ids(api_client, basename) -> set[int]:
    ids, url, params = (
        set(),
        reverse(f"{basename}-list"),
        {"page_size": 5000 if basename == "camera" else 1000},
    )
    while url:
        response = api_client.get(url, params)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        items = body.get("features", body.get("results"))
        ids |= {item["id"] for item in items}
        url, params = body.get("next"), None
    return ids


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_endpoint_matrix(api_client, safety_demo, role):
    user = user_for_role(role)
    # Evaluations inside and outside 西秀区 exist in the demo (东关, 塔山 vs 紫云, 平坝, zone).
    xixiu = Region.objects.get(code="520402").path
    assert Evaluation.objects.filter(cell__region__path__startswith=xixiu).exists()
    assert Evaluation.objects.exclude(cell__region__path__startswith=xixiu).exists()
    # Keep the matrix quick: one camera per village (a camera code is its grid code + a 2-digit number).
    Camera.objects.exclude(code__endswith="00101").delete()
    served = set()
    if user.grid_office_id:
        served = set(
            Region.objects.filter(grids__office_id=user.grid_office_id)
            .values_list("path", flat=True)
            .distinct()
        )
    api_client.force_authenticate(user)
    for basename, (objects, path_of) in ENDPOINTS.items():
        rows = list(objects())
        if not user.can("safety.view"):
            # Mediators, lawyers and case officers: the pages refuse them, and so does every route.
            assert api_client.get(reverse(f"{basename}-list")).status_code == 403, f"{role} {basename}"
            for row in rows[:3]:
                assert api_client.get(reverse(f"{basename}-detail", args=[row.pk])).status_code == 403
            continue
        expected = {o.pk for o in rows if _allowed(user, path_of(o), served)}
        assert _list_ids(api_client, basename) == expected, f"{role} {basename}"
        inside = next((o for o in rows if o.pk in expected), None)
        outside = next((o for o in rows if o.pk not in expected), None)
        if inside is not None:
            assert api_client.get(reverse(f"{basename}-detail", args=[inside.pk])).status_code == 200
        if outside is not None:
            status = api_client.get(reverse(f"{basename}-detail", args=[outside.pk])).status_code
            assert status == 404, f"{role} read {basename} {outside.pk} outside its scope"
        citywide = user.is_platform_admin or (user.region is not None and user.region.level == "city")
        assert outside is not None or citywide or not rows


@pytest.mark.parametrize("basename", list(ENDPOINTS))
def test_anonymous_gets_nothing(client, basename):
    assert client.get(reverse(f"{basename}-list")).status_code in (401, 403)


def _queries(api_client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url, params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("basename", list(ENDPOINTS))
def test_list_query_count_is_independent_of_page_size(api_client, safety_demo, basename):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    url = reverse(f"{basename}-list")
    counts = {size: _queries(api_client, url, {"page_size": size}) for size in (1, 2, 5, 200)}
    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= 5, counts


def test_coverage_endpoint_and_near_filter(api_client, safety_demo):
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    body = api_client.get(reverse("prevention-unit-coverage")).json()
    assert body["villages"] == Region.objects.filter(level="village", code__startswith="520402005").count()
    assert [row["township"] for row in body["townships"]] == ["520402005"]
    camera = Camera.objects.filter(village__code__startswith="520402005").first()
    near = f"{camera.location.x},{camera.location.y}"
    features = api_client.get(reverse("camera-list"), {"near": near, "radius": 50}).json()["features"]
    assert camera.code in {f["properties"]["code"] for f in features}
    assert api_client.get(reverse("camera-list"), {"near": "east"}).status_code == 400
    assert api_client.get(reverse("camera-list"), {"near": near, "radius": 99999}).status_code == 400


def _route(village: Region) -> dict:
    x0, y0, x1, y1 = village.boundary.extent
    return {"type": "LineString", "coordinates": [[x0, y0], [(x0 + x1) / 2, (y0 + y1) / 2]]}


def test_grid_worker_logs_a_patrol_through_the_api(api_client, safety_demo):
    worker = user_for_role(Role.GRID_WORKER)
    village = Grid.objects.filter(office=worker.grid_office).first().village
    team = PreventionUnit.objects.get(region=village, kind="patrol_team")
    api_client.force_authenticate(worker)
    now = timezone.now()
    payload = {
        "client_uuid": str(uuid.uuid4()),
        "unit": team.pk,
        "started_at": (now - datetime.timedelta(hours=2)).isoformat(),
        "ended_at": now.isoformat(),
        "route": _route(village),
        "observations": "路灯损坏一处",
    }
    before = PatrolLog.objects.count()
    first = api_client.post(reverse("patrol-log-list"), payload, format="json")
    assert first.status_code == 201, first.content
    again = api_client.post(reverse("patrol-log-list"), payload, format="json")
    assert again.json()["id"] == first.json()["id"] and PatrolLog.objects.count() == before + 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ended_at": "2020-01-01T00:00:00+08:00"}, "ended_at"),
        ({"route": {"type": "Point", "coordinates": [105.9, 26.2]}}, "route"),
        ({"route": "nonsense"}, "route"),
        ({"unit": 0}, "unit"),
    ],
    ids=["ends-before-start", "point-route", "garbage-route", "unknown-unit"],
)
def test_bad_patrol_is_a_400_and_writes_nothing(api_client, safety_demo, change, field):
    worker = user_for_role(Role.GRID_WORKER)
    village = Grid.objects.filter(office=worker.grid_office).first().village
    team = PreventionUnit.objects.get(region=village, kind="patrol_team")
    api_client.force_authenticate(worker)
    payload = {
        "unit": team.pk,
        "started_at": "2021-01-01T10:00:00+08:00",
        "ended_at": "2021-01-01T12:00:00+08:00",
        "route": _route(village),
        **change,
    }
    before = PatrolLog.objects.count()
    response = api_client.post(reverse("patrol-log-list"), payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert PatrolLog.objects.count() == before


def test_a_patrol_for_a_unit_outside_scope_is_refused(api_client, safety_demo):
    worker = user_for_role(Role.GRID_WORKER)
    foreign = PreventionUnit.objects.filter(kind="patrol_team", region__code__startswith="520425").first()
    api_client.force_authenticate(worker)
    response = api_client.post(
        reverse("patrol-log-list"),
        {
            "unit": foreign.pk,
            "started_at": "2021-01-01T10:00:00+08:00",
            "ended_at": "2021-01-01T12:00:00+08:00",
            "route": _route(foreign.region),
        },
        format="json",
    )
    assert response.status_code == 400 and "unit" in response.json()


def test_only_officials_register_cells_and_outside_locations_are_400(api_client, safety_demo):
    dongguan = Region.objects.get(code="520402005")
    payload = {
        "name": "新平安小区",
        "cell_type": "estate",
        "region": "520402005",
        "location": {"type": "Point", "coordinates": list(dongguan.boundary.point_on_surface.coords)},
    }
    api_client.force_authenticate(user_for_role(Role.GRID_WORKER))
    assert api_client.post(reverse("safety-cell-list"), payload, format="json").status_code == 403
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    far = Region.objects.get(code="520425101").boundary.point_on_surface
    bad = api_client.post(
        reverse("safety-cell-list"),
        {**payload, "location": {"type": "Point", "coordinates": list(far.coords)}},
        format="json",
    )
    assert bad.status_code == 400 and "location" in bad.json()
    other_region = api_client.post(
        reverse("safety-cell-list"), {**payload, "region": "520425101"}, format="json"
    )
    assert other_region.status_code == 400 and "region" in other_region.json()
    assert not SafetyCell.objects.filter(name="新平安小区").exists()
    ok = api_client.post(reverse("safety-cell-list"), payload, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["properties"]["region"] == "520402005"


def test_evaluation_api_scores_and_rejects_out_of_range(api_client, safety_demo):
    cell = SafetyCell.objects.get(name="家运天城平安智慧小区")
    criteria = list(cell.cell_type.criteria.all())
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    scores = [{"criterion": c.pk, "score": c.max_score} for c in criteria]
    ok = api_client.post(
        reverse("safety-evaluation-list"), {"cell": cell.pk, "scores": scores}, format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["total_score"] == ok.json()["max_total"] == sum(c.max_score for c in criteria)
    before = Evaluation.objects.count()
    scores[0]["score"] = criteria[0].max_score + 1
    bad = api_client.post(
        reverse("safety-evaluation-list"), {"cell": cell.pk, "scores": scores}, format="json"
    )
    assert bad.status_code == 400 and "scores" in bad.json()
    assert Evaluation.objects.count() == before
    foreign = SafetyCell.objects.get(name="紫云自治县格凸河镇")
    response = api_client.post(
        reverse("safety-evaluation-list"), {"cell": foreign.pk, "scores": scores}, format="json"
    )
    assert response.status_code == 400 and "cell" in response.json()


def test_a_patrol_records_the_incidents_it_raised_in_scope_only(api_client, safety_demo, make_incident):
    worker = user_for_role(Role.GRID_WORKER)
    grid = Grid.objects.filter(office=worker.grid_office).first()
    team = PreventionUnit.objects.get(region=grid.village, kind="patrol_team")
    own = make_incident(grid=grid)
    foreign = make_incident(grid=Grid.objects.filter(village__code__startswith="520425").first())
    api_client.force_authenticate(worker)
    payload = {
        "unit": team.pk,
        "started_at": "2021-01-01T10:00:00+08:00",
        "ended_at": "2021-01-01T12:00:00+08:00",
        "route": _route(grid.village),
        "incidents": [own.pk, foreign.pk],
    }
    refused = api_client.post(reverse("patrol-log-list"), payload, format="json")
    assert refused.status_code == 400 and "incidents" in refused.json()
    created = api_client.post(reverse("patrol-log-list"), {**payload, "incidents": [own.pk]}, format="json")
    assert created.status_code == 201 and created.json()["properties"]["incident_count"] == 1
    assert list(PatrolLog.objects.get(pk=created.json()["id"]).incidents.all()) == [own]
