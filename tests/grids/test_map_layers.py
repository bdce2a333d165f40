"""The grid map layer (/api/map/grids/): bounded, simplified GeoJSON for the view, scoped like
every list, a fixed number of queries whatever the data, and a 400 (never a 500) for bad views."""

import json

import pytest
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from grids.models import Grid, Region
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

URL = "/api/map/grids/view/"
NEIGHBOUR_COUNTY = "520403"  # 平坝区, next to 西秀区 (520402)


def _bbox_of(code: str) -> str:
    grids = Grid.objects.filter(village__path__startswith=Region.objects.get(code=code).path)
    return ",".join(f"{v:.5f}" for v in grids.aggregate(e=Extent("geometry"))["e"])


def _get(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    return response, len(queries)


def test_a_county_official_gets_the_grids_in_view_simplified_by_zoom(api_client):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(official)
    village = Region.objects.get(code="520402001004")
    bbox = ",".join(f"{v:.5f}" for v in village.boundary.extent)
    response = api_client.get(URL, {"bbox": bbox, "zoom": 14})
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection" and body["count"] == len(body["features"]) > 0
    ids = {f["id"] for f in body["features"]}
    assert set(Grid.objects.filter(village=village).values_list("code", flat=True)) <= ids
    feature = next(f for f in body["features"] if f["id"].startswith("520402001004"))
    assert feature["properties"]["village"] == "520402001004"
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # Simplified for the zoom: the same grid has no more points far out than close in.
    close = json.loads(api_client.get(URL, {"bbox": bbox, "zoom": 16}).content)
    far = json.loads(api_client.get(URL, {"bbox": bbox, "zoom": 10}).content)

    def points(body, code):
        geometry = next(f["geometry"] for f in body["features"] if f["id"] == code)
        return len(json.dumps(geometry["coordinates"]))

    assert points(far, feature["id"]) < points(close, feature["id"])


def test_the_number_of_queries_does_not_grow_with_the_grids_in_view(api_client):
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    bbox = _bbox_of("520402001")
    params = {"bbox": bbox, "zoom": 12}
    small, small_queries = _get(api_client, **params)
    village = Region.objects.get(code="520402001004")
    template = Grid.objects.filter(village=village).first()
    for n in range(40):  # forty more grids in the view
        rings = [[(x + 0.0001 * n, y) for x, y in ring] for ring in template.geometry[0]]
        shifted = MultiPolygon(Polygon(*rings, srid=4326), srid=4326)
        Grid.objects.create(
            code=f"520402001004{900 + n}", name=f"附加网格{n}", village=village, office=template.office,
            geometry=shifted, is_demo=True,
        )  # fmt: skip
    large, large_queries = _get(api_client, **params)
    assert small.status_code == large.status_code == 200
    assert json.loads(large.content)["count"] == json.loads(small.content)["count"] + 40
    assert large_queries == small_queries


def test_another_countys_official_sees_none_of_my_grids_whatever_the_bbox(api_client):
    api_client.force_authenticate(
        user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=NEIGHBOUR_COUNTY))
    )
    bbox = _bbox_of("520402")  # all of 西秀区
    for zoom, extra in ((11, {}), (11, {"within": "520402"}), (12, {"office": "x"})):
        response = api_client.get(URL, {"bbox": bbox, "zoom": zoom, **extra})
        if response.status_code == 400:  # too many of their own grids in view: still nothing of mine
            assert "520402" not in response.content.decode()
            continue
        codes = [f["id"] for f in json.loads(response.content)["features"]]
        assert not [c for c in codes if c.startswith("520402")]
        assert all(c.startswith(NEIGHBOUR_COUNTY) for c in codes)
    mine = Grid.objects.filter(village__code__startswith="520402").values_list("office__code", flat=True)[0]
    body = json.loads(api_client.get(URL, {"bbox": bbox, "zoom": 12, "office": mine}).content)
    assert body["features"] == []


def test_a_grid_worker_sees_only_their_offices_grids(api_client):
    worker = user_for_role(Role.GRID_WORKER)
    api_client.force_authenticate(worker)
    body = json.loads(api_client.get(URL, {"bbox": _bbox_of("520402005"), "zoom": 12}).content)
    assert {f["id"] for f in body["features"]} == set(worker.grid_office.grids.values_list("code", flat=True))


def test_anonymous_callers_are_refused(api_client):
    response = api_client.get(URL, {"bbox": "105,25,107,27", "zoom": 9})
    assert response.status_code in (401, 403)
    assert "features" not in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"zoom": 12},
        {"bbox": "105.9,26.2,106.0,26.3"},
        {"bbox": "nan,26.2,106.0,26.3", "zoom": 12},
        {"bbox": "105.9,26.2,inf,26.3", "zoom": 12},
        {"bbox": "105.9,26.2,106.0", "zoom": 12},
        {"bbox": "105.9,26.2,106.0,26.3,1", "zoom": 12},
        {"bbox": "1e308,1e308,1e309,1e309", "zoom": 12},
        {"bbox": "106.0,26.2,105.9,26.3", "zoom": 12},  # west > east
        {"bbox": "-181,26.2,106.0,26.3", "zoom": 12},
        {"bbox": "105.9,26.2,106.0,26.3", "zoom": -1},
        {"bbox": "105.9,26.2,106.0,26.3", "zoom": 23},
        {"bbox": "105.9,26.2,106.0,26.3", "zoom": "1e1"},
        {"bbox": "105.9,26.2,106.0,26.3", "zoom": "12\x00"},
        {"bbox": "105.9,26.2\x00,106.0,26.3", "zoom": 12},
        {"bbox": "105.9,26.2,106.0,26.3", "zoom": "９"},  # a full-width digit
        {"bbox": "-180,-90,180,90", "zoom": 12},  # the world at street level
        {"bbox": "105,25,107,27", "zoom": 11},  # more than 2,000 grids
    ],
)
def test_bad_views_are_a_400_with_field_errors(api_client, params):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    response = api_client.get(URL, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) <= {"bbox", "zoom"} and body


def test_repeated_parameters_are_refused(api_client):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    response = api_client.get(f"{URL}?bbox=105.9,26.2,106.0,26.3&bbox=1,2,3,4&zoom=12")
    assert response.status_code == 400 and "bbox" in response.json()
