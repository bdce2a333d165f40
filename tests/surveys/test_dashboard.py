"""The officials' dashboard pages: tiles from every app, drill-down scoped to the viewer,
exports of every table, and a query count that does not grow with the data."""

import io

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.roles import Role
from anshun.dashboard import Tile
from grids.models import Region
from surveys.demo import loader_actor
from surveys.services.intake import import_responses
from surveys.services.rollup import run_rollup
from surveys.services.setup import indicator_set
from tests.factories import user_for_role
from tests.surveys.conftest import row, villages_in

pytestmark = pytest.mark.django_db


def _load(wave, admin, villages, per_village=3, months=("2017-11-20",)):
    rows = [row(v, answered_on=m) for v in villages for m in months for _ in range(per_village)]
    import_responses(actor=admin, wave=wave, rows=rows)
    run_rollup()


def _open(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_city_dashboard_shows_rates_children_trend_and_links(client, wave, survey_admin):
    _load(wave, survey_admin, villages_in("520402001", 2) + villages_in("520403", 1))
    response = _open(client, user_for_role(Role.CITY_OFFICIAL), "/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="tile-surveys.security_sense"' in page
    assert "100.00%" in page
    assert 'data-code="520402"' in page and 'data-code="520403"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "/dashboard/report/" in page and "/dashboard/assessment/" in page


def test_tiles_from_other_apps_are_shown(client, wave, survey_admin, monkeypatch):
    config = apps.get_app_config("incidents")
    monkeypatch.setattr(
        config, "dashboard_tiles", "tests.surveys.test_dashboard.other_app_tiles", raising=False
    )
    page = _open(client, user_for_role(Role.CITY_OFFICIAL), "/dashboard/").content.decode()
    assert 'data-testid="tile-incidents.open"' in page
    assert "42" in page


def other_app_tiles(*, actor, region):
    return [Tile(key="incidents.open", label="Open incidents", value=42, group="Incidents")]


def test_drill_down_is_scoped_to_the_viewer(client, wave, survey_admin):
    _load(wave, survey_admin, villages_in("520402005", 2) + villages_in("520403", 1))
    county = user_for_role(Role.COUNTY_OFFICIAL)  # 西秀区
    assert _open(client, county, "/dashboard/").context["region"].code == "520402"
    assert _open(client, county, "/dashboard/?region=520402005").status_code == 200
    assert _open(client, county, "/dashboard/?region=520403").status_code == 404
    assert _open(client, county, "/dashboard/?region=5204").status_code == 404
    village = villages_in("520402005", 1)[0]
    page = _open(client, county, f"/dashboard/?region={village}")
    assert page.status_code == 200
    assert page.context["places"]  # grid offices seated there, when any answered through a grid
    assert _open(client, user_for_role(Role.GRID_WORKER), "/dashboard/").status_code == 403
    assert _open(client, user_for_role(Role.AUDITOR), "/dashboard/").status_code == 403


def test_every_table_exports_to_xlsx_and_csv(client, wave, survey_admin):
    _load(wave, survey_admin, villages_in("520402001", 2))
    indicator_set(
        actor=loader_actor(), region=Region.objects.get(code="5204"), year=2017, kind="gdp", growth_pct="12.3"
    )
    city = user_for_role(Role.CITY_OFFICIAL)
    response = _open(client, city, "/dashboard/?region=520402&export=xlsx&table=places")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("520402001", rows[1][1], 100)
    trend = _open(client, city, "/dashboard/?region=520402&export=csv&table=trend")
    rows = b"".join(trend.streaming_content).decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and rows[1].startswith(wave.name)  # one row per wave, no months
    months = _open(client, city, "/dashboard/?region=520402&year=2017&export=csv&table=incidents")
    assert len(b"".join(months.streaming_content).decode("utf-8-sig").splitlines()) == 13
    assessment = _open(client, city, "/dashboard/assessment/?year=2017&export=xlsx")
    table = list(load_workbook(io.BytesIO(assessment.content)).active.iter_rows(values_only=True))
    assert table[1][0] == "5204" and table[1][-4] == 12.3


def test_report_and_assessment_pages(client, wave, survey_admin):
    _load(wave, survey_admin, villages_in("520402001", 1))
    city = user_for_role(Role.CITY_OFFICIAL)
    report = _open(client, city, "/dashboard/report/")
    assert report.status_code == 200
    assert "data-print" in report.content.decode()
    assert _open(client, city, "/dashboard/assessment/").status_code == 200


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/?region=520402", "/dashboard/report/"])
def test_dashboard_query_count_is_constant_in_data_size(client, wave, survey_admin, url):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    _load(wave, survey_admin, villages_in("520402001", 1))
    small = _count_queries(client, url)
    _load(
        wave,
        survey_admin,
        villages_in("520402", 40) + villages_in("520403", 20) + villages_in("520425", 20),
        per_village=4,
        months=("2017-11-05", "2017-12-05"),
    )
    large = _count_queries(client, url)
    assert small == large
