"""List endpoints answer in a fixed number of queries, whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _queries(api_client, url, params):
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url, params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("basename", ["region", "grid-office", "grid"])
@pytest.mark.parametrize("role", [Role.CITY_OFFICIAL, Role.TOWNSHIP_OFFICIAL, Role.GRID_WORKER])
def test_list_query_count_is_independent_of_page_size(api_client, basename, role):
    api_client.force_authenticate(user_for_role(role))
    url = reverse(f"{basename}-list")
    counts = {size: _queries(api_client, url, {"page_size": size}) for size in (1, 2, 50, 1000)}
    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= 4


def test_children_query_count_is_fixed(api_client):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    small = _queries(api_client, reverse("region-children", kwargs={"code": "520402005"}), {})
    large = _queries(api_client, reverse("region-children", kwargs={"code": "5204"}), {})
    assert small == large
