"""Hand-picked hostile values on every registered endpoint, beside the generated ones: the
values fuzzing finds rarely with a small budget (integers past bigint, NUL bytes, odd dates)."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from anshun.api.router import router
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

COLLECTIONS = [f"/api/{prefix}/" for prefix, _viewset, _basename in router.registry]
HOSTILE_QUERIES = [
    {"within": "5204\x00"},
    {"page": "99999999999999999999"},
    {"page_size": "-1"},
    {"updated_after": "2026-02-30T25:61:00"},
    {"month": "0000-13"},
    {"cell": "9" * 40},
    {"near": "nan,inf"},
    {"radius": "1e309"},
    {"year": "99999999999999999999", "month": "13"},
]


@pytest.fixture
def admin_client(api_client):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    return api_client


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_hostile_lookups_and_queries_are_refused_as_json(admin_client, collection):
    for path in (f"{collection}{'9' * 30}/", f"{collection}-1/", f"{collection}%00/"):
        response = admin_client.get(path)
        assert response.status_code in (400, 403, 404), (path, response.status_code)
        assert response["Content-Type"] == "application/json"
    for query in HOSTILE_QUERIES:
        response = admin_client.get(collection, query)
        assert response.status_code < 500, (collection, query, response.content[:200])
        assert response["Content-Type"].startswith("application/json")
