"""Pages: sign-in, the per-role home page, the map page, languages, health and API docs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from grids.models import Region
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client):
    for name in ("home", "grid-map"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_with_wrong_password_shows_an_error_and_stays_out(client):
    user = user_for_role(Role.CITY_OFFICIAL)
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()


def test_login_then_home_shows_the_jurisdiction_counts(client):
    user = user_for_role(Role.CITY_OFFICIAL)
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    html = home.content.decode()
    assert 'data-testid="grid-office-count">388<' in html
    assert "安顺市" in html


def test_home_counts_statutory_divisions_even_with_zone_areas(client):
    """The safe-cell demo adds a platform-coded township and community under the development zone."""
    from safety_cells.demo import ensure_zone_places

    ensure_zone_places()
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    html = client.get(reverse("home")).content.decode()
    for count in (">8<", ">92<", ">1231<", ">388<"):
        assert count in html


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_role_has_a_home_page_and_the_map(client, role):
    user = user_for_role(role)
    client.force_login(user)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert user.get_role_display() in home.content.decode()
    # Every role with a place on the map has the map; a department's staff have none (403).
    assert client.get(reverse("grid-map")).status_code == (200 if user.can("map.view") else 403)


def test_grid_worker_home_counts_only_their_office(client):
    user = user_for_role(Role.GRID_WORKER)
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="grid-office-count">1<' in html


def test_chinese_by_default_and_english_on_request(client):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    assert "退出" in client.get(reverse("home")).content.decode()
    # An English-locale browser still gets Chinese until the user switches.
    assert "退出" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Sign out" in client.get(reverse("home")).content.decode()


def test_map_page_uses_local_assets_and_the_tile_setting(client, settings):
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    html = client.get(reverse("grid-map")).content.decode()
    assert "/static/leaflet/leaflet.js" in html
    assert '"tileUrl": ""' in html  # tests run with no tile server
    assert '"startRegion": "520402"' in html
    for line in html.splitlines():
        if "<script" in line and "src=" in line or "<link" in line and "href=" in line:
            assert "//" not in line.split("src=")[-1].split("href=")[-1][:3], line


def test_home_page_query_count_does_not_depend_on_jurisdiction_size(client):
    counts = []
    for role in (Role.TOWNSHIP_OFFICIAL, Role.CITY_OFFICIAL):
        client.force_login(user_for_role(role))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("home")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_reports_redis_unreachable_as_degraded_not_down(client, settings):
    # Without Redis the platform still serves (anshun.cache, anshun.background): the load
    # balancer must keep sending traffic, and monitoring sees the fault.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["redis"].startswith("error")


def test_openapi_schema_and_offline_docs(client):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/regions/",
        "/api/grid-offices/",
        "/api/grids/",
        "/api/regions/{code}/children/",
    ):
        assert path in paths
    docs = client.get(reverse("api-docs")).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


def test_token_auth_for_sync_clients(api_client):
    from accounts.tokens import service_token_issue

    user = user_for_role(Role.DISPATCHER, region=Region.objects.get(code="520402"), is_service_account=True)
    _token, key = service_token_issue(actor=None, account=user, name="county sync")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api_client.get(reverse("grid-office-list"))
    assert response.status_code == 200
    assert all(f["properties"]["county"] == "520402" for f in response.json()["features"])


def test_session_api_writes_need_csrf(api_client):
    from rest_framework.test import APIClient

    csrf_client = APIClient(enforce_csrf_checks=True)
    user = user_for_role(Role.CITY_OFFICIAL)
    csrf_client.force_login(user)
    assert csrf_client.post("/api/auth/token/", {}).status_code in (400, 403)
