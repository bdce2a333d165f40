"""The city's grids as one GeoJSON page (``/api/grids/?within=5204&page_size=5000``, issue #14).

Platform: the request through Django's test client as a signed-in city official (middleware,
session, DRF, scope checks, the paginator's count, the features statement, the response).
Baseline: the same statements (the count and the features statement, captured from the request
with their parameters bound) run raw, their text put into an ``HttpResponse``. The ratio is what
the endpoint adds to PostgreSQL writing the page. The serializer's way (GEOS → GeoJSON per feature
in Python, then JSON encoding), which the list used before, is printed for comparison.
"""

from __future__ import annotations

import json
import statistics
import uuid

from django.db import connection
from django.http import HttpResponse
from django.test import Client
from rest_framework.mixins import ListModelMixin
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.roles import Role
from bench.harness import compare, page_queries, timed

URL = "/api/grids/"
PARAMS = {"within": "5204", "page_size": 5000}


def _official():
    from accounts.models import User
    from accounts.services import user_create
    from grids.models import Region

    username = "bench-grids-city"
    return User.objects.filter(username=username).first() or user_create(
        username=username,
        password=uuid.uuid4().hex,
        role=Role.CITY_OFFICIAL,
        region=Region.objects.get(code="5204"),
    )


def _raw(statements: list[str]) -> HttpResponse:
    """The captured count and features statements, run raw, the features' text sent as it is."""
    with connection.cursor() as cursor:
        cursor.execute(statements[0])
        count = cursor.fetchone()[0]
        cursor.execute(statements[1])
        features = cursor.fetchone()[0]
    body = f'{{"type":"FeatureCollection","count":{count},"next":null,"previous":null,"features":{features}}}'
    return HttpResponse(body, content_type="application/json")


def _serializer_view():
    """The list as it was: the same viewset, paginator and selector, serializer and JSON renderer."""
    from grids.apis import GridViewSet

    class SerializedGridViewSet(GridViewSet):
        list = ListModelMixin.list

    return SerializedGridViewSet.as_view({"get": "list"})


def run():
    user = _official()
    client = Client()
    client.force_login(user)

    def platform():
        response = client.get(URL, PARAMS)
        assert response.status_code == 200
        return response

    statements = [sql for sql in page_queries(platform) if "grids_grid" in sql]
    assert len(statements) == 2, statements
    mine, raw = json.loads(platform().content), json.loads(_raw(statements).content)
    assert mine == raw and mine["count"] == len(mine["features"]) > 1000
    size = len(platform().content)

    factory, view = APIRequestFactory(), _serializer_view()

    def serialized():
        request = factory.get(URL, PARAMS)
        force_authenticate(request, user=user)
        response = view(request)
        response.render()
        assert response.status_code == 200
        return response

    old = json.loads(serialized().content)
    assert [f["id"] for f in old["features"]] == [f["id"] for f in mine["features"]]
    serializer_ms = statistics.median(timed(serialized) for _ in range(5)) * 1000
    return [
        compare(
            f"grid list, city's {mine['count']} grids in one page (GeoJSON)",
            platform,
            lambda: _raw(statements),
            repeat=11,
            target=1.5,
            sides=(
                "test client GET /api/grids/?within=5204&page_size=5000 as a city official | the "
                "same count + features statements raw, their text in an HttpResponse"
            ),
        ),
        f"   {size / 1e6:.2f} MB; the serializer's way (same viewset and paginator, view called "
        f"directly, no middleware): {serializer_ms:.0f} ms, {len(serialized().content) / 1e6:.2f} MB",
    ]
