"""The grid list (/api/grids/): PostgreSQL writes the page's features, the paginator decides the
page. Its answer must be the serializer's answer (structure, ids, properties, coordinates to
1e-9), scoped the same, paged the same, refusing the same bad input, in a fixed number of queries."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from grids import selectors
from grids.apis import GridOutputSerializer
from grids.models import Grid
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

URL = "/api/grids/"
NEIGHBOUR_COUNTY = "520403"  # 平坝区, next to 西秀区 (520402)


def _serialized(actor, *, start=0, stop=None, **arguments) -> list[dict]:
    """What the serializer answers for these rows of the actor's list (the reference)."""
    rows = list(selectors.grids_visible_to(actor=actor, **arguments)[start:stop])
    return json.loads(json.dumps(GridOutputSerializer(rows, many=True).data["features"]))


def _assert_same_features(got: list[dict], expected: list[dict]) -> None:
    assert [f["id"] for f in got] == [f["id"] for f in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert list(mine) == list(theirs)  # id, type, geometry, properties: same keys, same order
        assert mine["type"] == theirs["type"] == "Feature"
        assert mine["properties"] == theirs["properties"]
        assert list(mine["properties"]) == list(theirs["properties"])
        assert mine["geometry"]["type"] == theirs["geometry"]["type"]
        _assert_close(mine["geometry"]["coordinates"], theirs["geometry"]["coordinates"])


def _assert_close(a, b) -> None:
    if isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    else:
        assert abs(a - b) <= 1e-9, (a, b)


@pytest.mark.parametrize(
    ("role", "params"),
    [
        (Role.CITY_OFFICIAL, {"within": "5204", "page_size": 5000}),
        (Role.TOWNSHIP_OFFICIAL, {"page_size": 5000}),
        (Role.GRID_WORKER, {}),
    ],
)
def test_the_page_is_the_serializers_page(api_client, role, params):
    actor = user_for_role(role)
    api_client.force_authenticate(actor)
    response = api_client.get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert list(body) == ["type", "count", "next", "previous", "features"]
    assert body["type"] == "FeatureCollection"
    arguments = {"within_code": params.get("within")}
    assert body["count"] == selectors.grids_visible_to(actor=actor, **arguments).count() > 0
    expected = _serialized(actor, stop=params.get("page_size", 500), **arguments)
    assert expected
    _assert_same_features(body["features"], expected)
    assert body["next"] is None and body["previous"] is None


def test_a_middle_page_has_the_serializers_rows_and_links(api_client):
    actor = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(actor)
    body = json.loads(api_client.get(URL, {"page": 3, "page_size": 7}).content)
    _assert_same_features(body["features"], _serialized(actor, start=14, stop=21))
    assert parse_qs(urlsplit(body["next"]).query) == {"page": ["4"], "page_size": ["7"]}
    assert parse_qs(urlsplit(body["previous"]).query) == {"page": ["2"], "page_size": ["7"]}
    assert body["count"] == Grid.objects.visible_to(actor).count()
    # Following the links walks the whole list once, in order.
    seen, url = [], f"{URL}?page_size=400"
    while url:
        page = json.loads(api_client.get(url).content)
        seen += [f["id"] for f in page["features"]]
        url = page["next"]
    assert seen == list(selectors.grids_visible_to(actor=actor).values_list("code", flat=True))


def test_a_neighbouring_countys_grids_are_not_listed_whatever_is_asked(api_client):
    actor = user_for_role(Role.COUNTY_OFFICIAL)
    api_client.force_authenticate(actor)
    assert Grid.objects.filter(village__code__startswith=NEIGHBOUR_COUNTY).exists()
    body = json.loads(api_client.get(URL, {"within": "5204", "page_size": 5000}).content)
    assert body["features"] and all(f["id"].startswith("520402") for f in body["features"])
    assert body["count"] == len(body["features"])
    for params in ({"within": NEIGHBOUR_COUNTY}, {"office": "x' OR 1=1 --"}, {"within": "%"}):
        response = api_client.get(URL, params)
        assert response.status_code == 200
        assert json.loads(response.content)["features"] == []
    # A township official asking for the city gets the township only.
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    body = json.loads(api_client.get(URL, {"within": "5204", "page_size": 5000}).content)
    assert body["features"] and all(f["id"].startswith("520402005") for f in body["features"])


def test_anonymous_gets_nothing(client):
    response = client.get(URL, {"within": "5204"})
    assert response.status_code in (401, 403)
    assert b"Feature" not in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "\x00"},
        {"page_size": "1\x00"},
        {"page": "\x00"},
        {"page_size": "１０"},  # full-width digits
        {"page": "２"},
        {"page_size": "9" * 40},
        {"page": "9" * 40},
        {"page_size": "0"},
        {"page": "-1"},
        {"page_size": "1e3"},
        {"page_size": ["5", "6"]},
        {"within": "5204\x00"},
    ],
)
def test_malformed_paging_is_a_400(api_client, params):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(URL, params)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) <= {"page", "page_size", "within"} and errors
    assert not any("grids_grid" in q["sql"] for q in queries.captured_queries)


def test_a_page_past_the_end_is_a_404_and_a_huge_size_is_capped(api_client):
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    assert api_client.get(URL, {"page": 999_999}).status_code == 404
    body = json.loads(api_client.get(URL, {"within": "5204", "page_size": 999_999_999}).content)
    assert len(body["features"]) == min(body["count"], 5000)


def test_the_browsable_api_still_renders_the_list(api_client):
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))
    response = api_client.get(URL, {"format": "api", "page_size": 3})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


def test_the_number_of_queries_does_not_grow_with_the_grids(api_client):
    api_client.force_authenticate(user_for_role(Role.TOWNSHIP_OFFICIAL))

    def get():
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(URL, {"page_size": 5000})
        assert response.status_code == 200
        return json.loads(response.content), len(queries)

    small, small_queries = get()
    template = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    village = template.village
    for n in range(40):
        rings = [[(x + 0.0001 * n, y) for x, y in ring] for ring in template.geometry[0]]
        Grid.objects.create(
            code=f"{village.code}{900 + n}", name=f"附加网格{n}", village=village, office=template.office,
            geometry=MultiPolygon(Polygon(*rings, srid=4326), srid=4326), is_demo=True,
        )  # fmt: skip
    large, large_queries = get()
    assert large["count"] == len(large["features"]) == small["count"] + 40
    assert large_queries == small_queries
