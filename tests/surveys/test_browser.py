"""Playwright: an official logs in, sees the city's 2017 rates, drills down to a county and
a community, and downloads the table as XLSX."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from accounts.roles import Role
from grids.models import Region
from surveys.demo import load_demo_surveys
from surveys.models import RegionMetric
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_city_official_sees_2017_rates_drills_down_and_downloads_xlsx(anshun_tree, live_server, browser):
    load_demo_surveys()
    user = user_for_role(Role.CITY_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.click("header nav a[href='/dashboard/']")
    page.wait_for_selector("body[data-map-ready='5204']", timeout=30_000)
    assert page.inner_text("[data-testid='tile-surveys.security_sense'] .num") == "97.24%"
    assert page.inner_text("[data-testid='tile-surveys.satisfaction'] .num") == "98.09%"
    with_boundary = Region.objects.filter(parent__code="5204", boundary__isnull=False).count()
    assert page.locator("#choropleth path.leaflet-interactive").count() == with_boundary

    page.click("#places-table a.drill[data-code='520402']")
    page.wait_for_selector("body[data-map-ready='520402']", timeout=30_000)
    assert page.get_attribute("[data-testid='dashboard-region']", "data-code") == "520402"
    xixiu = RegionMetric.objects.get(
        level="county",
        region__code="520402",
        month__isnull=True,
        item__metric="security_sense",
        wave__year=2017,
    )
    assert page.inner_text("[data-testid='tile-surveys.security_sense'] .num") == f"{xixiu.rate:.2f}%"

    township_link = page.locator("#places-table a.drill").first
    township_code = township_link.get_attribute("data-code")
    township_link.click()
    page.wait_for_selector(f"body[data-map-ready='{township_code}']", timeout=30_000)
    community_link = page.locator("#places-table a.drill").first
    community_code = community_link.get_attribute("data-code")
    community_link.click()
    page.wait_for_selector(f"body[data-map-ready='{community_code}']", timeout=30_000)
    community = Region.objects.get(code=community_code)
    assert page.inner_text("h1") == community.name

    with page.expect_download() as download_info:
        page.click("[data-testid='export-places']")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    rows = list(workbook.active.iter_rows(values_only=True))
    offices = RegionMetric.objects.filter(
        level="grid_office",
        region=community,
        month__isnull=True,
        item__metric="security_sense",
        wave__year=2017,
    )
    assert len(rows) == 1 + offices.count()
    assert rows[0][0] in ("区划代码", "Code")
    context.close()
