"""The camera list (/api/cameras/): PostgreSQL writes the page's features, the paginator decides
the page (``map_layers.features_json``, as the grid list). Its answer must be the serializer's
answer (structure, ids, properties, coordinates to 1e-9), scoped, filtered and paged the same, in
a number of queries that does not grow with the cameras."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from safety_cells import selectors
from safety_cells.apis import CameraOutputSerializer
from safety_cells.models import Camera
from tests.factories import user_for_role
from tests.grids.test_grid_api import _assert_same_features

URL = "/api/cameras/"
AWKWARD = '引号"双"\\反斜杠\n </script>&amp; \u2028 😀'


@pytest.fixture(autouse=True)
def cameras(db):
    """Two cameras in each grid of 东关街道 (the default grid office's township), one in each of a
    few other 西秀区 grids and of a neighbouring county's (out of sight), built for the test."""
    from grids.models import Grid

    grids = [
        *Grid.objects.filter(village__code__startswith="520402005").order_by("code"),
        *Grid.objects.filter(village__code__startswith="520402").exclude(village__code__startswith="520402005")
        .order_by("code")[:15],
        *Grid.objects.filter(village__code__startswith="520403").order_by("code")[:5],
    ]  # fmt: skip
    made = []
    for grid in grids:
        spot = grid.geometry.point_on_surface
        for n in range(2 if grid.village.code.startswith("520402005") else 1):
            made.append(
                Camera(
                    code=f"{grid.code}{n:02d}", name=AWKWARD if n else f"{grid.name}路口", phase=1 + n,
                    location=Point(spot.x + n * 1e-5, spot.y, srid=4326), owner="公安局",
                    status=Camera.Status.OFFLINE if n else Camera.Status.ONLINE,
                    village=grid.village, grid=grid,
                )
            )  # fmt: skip
    return Camera.objects.bulk_create(made)


def _serialized(actor, *, start=0, stop=None, **arguments) -> list[dict]:
    """What the serializer answers for these rows of the actor's list (the reference)."""
    rows = list(selectors.cameras_visible_to(actor=actor, **arguments)[start:stop])
    return json.loads(json.dumps(CameraOutputSerializer(rows, many=True).data["features"]))


@pytest.mark.parametrize(
    ("role", "params", "arguments"),
    [
        (Role.COUNTY_OFFICIAL, {"page_size": 300, "status": "online"}, {"status": "online"}),
        (Role.TOWNSHIP_OFFICIAL, {"page_size": 5000}, {}),
        (Role.GRID_WORKER, {}, {}),
    ],
)
def test_the_page_is_the_serializers_page(api_client, role, params, arguments):
    actor = user_for_role(role)
    api_client.force_authenticate(actor)
    response = api_client.get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert list(body) == ["type", "count", "count_exact", "next", "previous", "features"]
    assert body["count_exact"] is True
    assert body["type"] == "FeatureCollection"
    assert body["count"] == selectors.cameras_visible_to(actor=actor, **arguments).count() > 0
    expected = _serialized(actor, stop=params.get("page_size", 200), **arguments)
    assert expected
    _assert_same_features(body["features"], expected)
    assert isinstance(body["features"][0]["properties"]["phase"], int)


def test_a_middle_page_and_a_near_search_are_the_serializers(api_client):
    actor = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(actor)
    body = json.loads(api_client.get(URL, {"page": 3, "page_size": 7}).content)
    _assert_same_features(body["features"], _serialized(actor, start=14, stop=21))
    assert parse_qs(urlsplit(body["previous"]).query) == {"page": ["2"], "page_size": ["7"]}
    # ``next`` is a cursor: the page after it is the serializer's next seven, then back again.
    assert set(parse_qs(urlsplit(body["next"]).query)) == {"cursor", "page_size"}
    following = json.loads(api_client.get(body["next"]).content)
    _assert_same_features(following["features"], _serialized(actor, start=21, stop=28))
    assert following["count"] is None and following["count_exact"] is None
    back = json.loads(api_client.get(following["previous"]).content)
    _assert_same_features(back["features"], _serialized(actor, start=14, stop=21))
    camera = Camera.objects.filter(village__code__startswith="520402005").order_by("code").first()
    near = Point(camera.location.x, camera.location.y, srid=4326)
    body = json.loads(api_client.get(URL, {"near": f"{near.x},{near.y}", "radius": 400}).content)
    expected = _serialized(actor, near=near, metres=400)
    assert camera.pk in [f["id"] for f in expected]
    _assert_same_features(body["features"], expected)


def test_other_counties_cameras_are_not_listed_and_bad_input_is_a_400(api_client):
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    body = json.loads(api_client.get(URL, {"within": "5204", "page_size": 5000}).content)
    assert body["features"] and all(
        f["properties"]["village"].startswith("520402005") for f in body["features"]
    )
    assert json.loads(api_client.get(URL, {"within": "520403"}).content)["features"] == []
    for params in ({"near": "east"}, {"radius": "99999", "near": "106,26"}, {"page_size": "\x00"}):
        response = api_client.get(URL, params)
        assert response.status_code == 400, params
    # Numbered pages go 10,000 rows deep; deeper is a 400 that says to follow ``next``.
    assert api_client.get(URL, {"page": 999_999}).status_code == 400
    forged = api_client.get(URL, {"cursor": "W1swLDAsWyJ4IiwxXV0:forged"})
    assert forged.status_code == 400 and "cursor" in forged.json()
    response = api_client.get(URL, {"format": "api", "page_size": 3})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


def test_the_number_of_queries_does_not_grow_with_the_cameras(api_client):
    api_client.force_authenticate(user_for_role(Role.GRID_WORKER))

    def get():
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(URL, {"page_size": 5000})
        assert response.status_code == 200
        return json.loads(response.content), len(queries)

    small, small_queries = get()
    template = Camera.objects.get(pk=small["features"][0]["id"])
    Camera.objects.bulk_create(
        Camera(code=f"{template.code}X{n}", name=f"附加{n}", phase=2, location=template.location,
               owner=template.owner, village=template.village, grid=template.grid)
        for n in range(30)
    )  # fmt: skip
    large, large_queries = get()
    assert large["count"] == len(large["features"]) == small["count"] + 30
    assert large_queries == small_queries


def test_following_next_walks_every_camera_once_and_the_count_stops_at_the_cap(api_client, monkeypatch):
    """The list grows with the years (50,000 cameras at five-year volume): a client walks it by
    cursor, each camera once in the list's order, and ``count`` stops at ``COUNT_CAP``."""
    from anshun.api import pagination

    actor = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(actor)
    expected = list(selectors.cameras_visible_to(actor=actor).values_list("pk", flat=True))
    monkeypatch.setattr(pagination, "COUNT_CAP", len(expected) - 1)
    first = json.loads(api_client.get(URL, {"page_size": 6}).content)
    assert (first["count"], first["count_exact"]) == (len(expected) - 1, False)
    seen, body = [], first
    while True:
        seen += [f["id"] for f in body["features"]]
        if not body["next"]:
            break
        with CaptureQueriesContext(connection) as queries:
            body = json.loads(api_client.get(body["next"]).content)
        assert len(queries) <= 6  # session, user, scope, the page's keys, its features
    assert seen == expected
