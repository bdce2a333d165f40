"""Deeply nested JSON is a 400 on every JSON endpoint, never a 500: the API's default parser
(``anshun.api.parsers.DepthLimitedJSONParser``) and the views that name their own parsers."""

from __future__ import annotations

import json

import pytest

from accounts.roles import Role
from anshun.api.parsers import MAX_DEPTH, depth_exceeds
from anshun.api.router import router
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db
COLLECTIONS = [f"/api/{prefix}/" for prefix, _viewset, _basename in router.registry]
STACK_BREAKER = "[" * 200_000 + "]" * 200_000
OBJECT_BREAKER = '{"a":' * 50_000 + "1" + "}" * 50_000


def test_depth_is_counted_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert depth_exceeds(deep, MAX_DEPTH)
    assert not depth_exceeds([[{"a": [1]}]], MAX_DEPTH)
    assert depth_exceeds(json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)), MAX_DEPTH)
    assert not depth_exceeds(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH), MAX_DEPTH)


@pytest.fixture
def admin_api(api_client):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    return api_client


def _refused_as_json(response) -> None:
    assert response.status_code < 500, response.status_code
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]


@pytest.mark.parametrize(
    "body", [STACK_BREAKER, OBJECT_BREAKER, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)]
)
def test_deep_json_is_a_400_on_every_collection(admin_api, body):
    parsed = 0
    for collection in COLLECTIONS:
        for method in ("post", "put", "patch"):
            path = collection if method == "post" else f"{collection}1/"
            response = getattr(admin_api, method)(path, body, content_type="application/json")
            _refused_as_json(response)
            if response.status_code == 400:
                assert "nested deeper" in response.json()["detail"], (path, response.content[:200])
                parsed += 1
    assert parsed >= 3  # the endpoints that read a body did read this one, and refused it


def test_deep_json_on_the_views_with_their_own_parsers(client, admin_api):
    response = client.post("/api/auth/token/", STACK_BREAKER, content_type="application/json")
    _refused_as_json(response)
    assert response.status_code == 400 and "nested deeper" in response.json()["detail"]
    for path in ("/api/survey-responses/bulk/", "/api/survey-responses/import/"):
        response = admin_api.post(path, STACK_BREAKER, content_type="application/json")
        _refused_as_json(response)
        assert response.status_code in (400, 403, 404, 405), (path, response.status_code)
        if response.status_code == 400:
            assert "nested deeper" in response.json()["detail"]


def test_shallow_json_still_parses(admin_api):
    """The limit is far above any real body: a normal create is not refused as too deep."""
    response = admin_api.post("/api/incidents/", {"description": "x"}, format="json")
    assert response.status_code == 400 and "nested" not in response.content.decode()
