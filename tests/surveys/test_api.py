"""Metrics REST endpoints: role × endpoint matrix, scoping (out of scope is 404), query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from surveys.models import RegionMetric
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from tests.factories import user_for_role
from tests.surveys.conftest import a_grid_in, row, villages_in

pytestmark = pytest.mark.django_db

XIXIU_VILLAGE = "520402005001"  # in 东关街道, the default township of test users


@pytest.fixture
def figures(wave, survey_admin):
    grid = a_grid_in(XIXIU_VILLAGE)
    rows = [{**row(XIXIU_VILLAGE), "grid": grid.code, "community": ""} for _ in range(4)]
    rows += [row(v) for v in villages_in("520403", 2) for _ in range(3)]
    import_responses(actor=survey_admin, wave=wave, rows=rows)
    run_rollup()
    return grid.office


def _user(role, office):
    if role in (Role.GRID_WORKER, Role.GRID_OFFICE_HEAD):
        return user_for_role(role, office=office)
    return user_for_role(role)


# role → (may read figures, may upload)
MATRIX = {
    Role.GRID_WORKER: (False, False),
    Role.GRID_OFFICE_HEAD: (True, False),
    Role.TOWNSHIP_OFFICIAL: (True, False),
    Role.COUNTY_OFFICIAL: (True, False),
    Role.CITY_OFFICIAL: (True, True),
    Role.DISPATCHER: (False, False),
    Role.DEPARTMENT_OFFICER: (False, False),
    Role.MEDIATOR: (False, False),
    Role.LAWYER: (False, False),
    Role.CASE_OFFICER: (False, False),
    Role.AUDITOR: (True, False),
    Role.ADMIN: (True, True),
}


@pytest.mark.parametrize("role", list(Role))
def test_role_endpoint_matrix(api_client, figures, wave, role):
    may_read, may_upload = MATRIX[role]
    user = _user(role, figures)
    api_client.force_authenticate(user)
    listed = api_client.get("/api/survey-metrics/", {"month": "wave", "page_size": 500})
    # A role without ``surveys.view`` is refused the route itself, before any row is read.
    assert listed.status_code == (200 if may_read else 403)
    visible = RegionMetric.objects.visible_to(user)
    if may_read:
        rows = listed.json()["results"]
        assert {r["id"] for r in rows} == set(visible.filter(month__isnull=True).values_list("pk", flat=True))
        assert rows
    # Every row of 平坝区 is outside every Xixiu-based user's jurisdiction: 404, never the data.
    pingba = RegionMetric.objects.filter(region__path__startswith="5204/520403/").first()
    detail = api_client.get(f"/api/survey-metrics/{pingba.pk}/")
    in_scope = may_read and visible.filter(pk=pingba.pk).exists()
    assert detail.status_code == (200 if in_scope else 404 if may_read else 403)
    if may_read and role not in (Role.CITY_OFFICIAL, Role.ADMIN, Role.AUDITOR):
        assert not in_scope
    upload = api_client.post(
        "/api/survey-responses/bulk/", {"wave": wave.code, "responses": [row(XIXIU_VILLAGE)]}, format="json"
    )
    assert upload.status_code == (201 if may_upload else 403)


def test_grid_office_head_sees_only_the_offices_rows(api_client, figures):
    api_client.force_authenticate(user_for_role(Role.GRID_OFFICE_HEAD, office=figures))
    rows = api_client.get("/api/survey-metrics/").json()["results"]
    assert rows and {(r["level"], r["grid_office"]) for r in rows} == {("grid_office", figures.code)}


def test_filters_by_region_wave_month_and_metric(api_client, figures, wave):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    rows = api_client.get(
        "/api/survey-metrics/",
        {"region": "5204", "wave": wave.code, "month": "2017-11", "metric": "security_sense"},
    ).json()["results"]
    assert len(rows) == 1
    city = rows[0]
    assert (city["level"], city["month"], city["n"], city["rate"]) == ("city", "2017-11", 10, 100.0)
    assert city["counts"] == {"很安全": 10, "安全": 0, "基本安全": 0, "不太安全": 0, "不安全": 0}
    within = api_client.get("/api/survey-metrics/", {"within": "520403", "level": "village", "month": "wave"})
    assert {r["region"][:6] for r in within.json()["results"]} == {"520403"}
    assert api_client.get("/api/survey-metrics/", {"month": "not-a-month"}).json()["results"] == []


def test_metric_list_query_count_is_constant_in_page_size(api_client, figures):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    counts = []
    for size in (1, 5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get("/api/survey-metrics/", {"page_size": size})
        assert len(response.json()["results"]) == min(size, RegionMetric.objects.count())
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


def test_the_schema_documents_the_endpoints(api_client):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/survey-metrics/" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/survey-metrics/"]["get"]["parameters"]}
    assert {"wave", "level", "region", "within", "month", "metric"} <= parameters
    assert "/api/survey-responses/bulk/" in schema["paths"]
